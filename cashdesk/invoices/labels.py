"""The fixed words printed on invoices and receipts, per language.

A small dict per language rather than gettext catalogs: the invoice has some twenty
labels, the server must print them in the *shop's* invoice language whatever the
process locale is, and a dict needs no compile step in `bootstrap.py` or the
PyInstaller build. Babel still does everything locale-dependent that is not a fixed
word: money, dates, times, percentages (see `formatting.py`). A language without a
table here prints in English; its money and dates are still formatted by Babel.

Placeholders use `str.format`: `{rate}` is the formatted VAT rate, `{page}` the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_EN = {
    "invoice": "Invoice",
    "receipt": "Receipt",
    "number": "Invoice no.",
    "date": "Date",
    "operator": "Operator",
    "cabin": "Cabin",
    "tax_id": "Tax ID",
    "calls": "Calls",
    "col_time": "Date / time",
    "col_number": "Number",
    "col_destination": "Destination",
    "col_duration": "Duration",
    "col_rate": "Rate / min",
    "col_price": "Price",
    "net": "Total excl. VAT",
    "vat": "VAT {rate}",
    "total": "Total",
    "received": "Cash received",
    "change": "Change",
    "page": "Page {page}",
    "training": "TRAINING - not a valid invoice",
}

_FR = {
    "invoice": "Facture",
    "receipt": "Reçu",
    "number": "Facture n°",
    "date": "Date",
    "operator": "Opérateur",
    "cabin": "Cabine",
    "tax_id": "N° TVA",
    "calls": "Appels",
    "col_time": "Date / heure",
    "col_number": "Numéro",
    "col_destination": "Destination",
    "col_duration": "Durée",
    "col_rate": "Tarif / min",
    "col_price": "Prix",
    "net": "Total HT",
    "vat": "TVA {rate}",
    "total": "Total TTC",
    "received": "Espèces reçues",
    "change": "Monnaie rendue",
    "page": "Page {page}",
    "training": "FORMATION - facture non valable",
}

_ES = {
    "invoice": "Factura",
    "receipt": "Recibo",
    "number": "Factura n.º",
    "date": "Fecha",
    "operator": "Operador",
    "cabin": "Cabina",
    "tax_id": "NIF",
    "calls": "Llamadas",
    "col_time": "Fecha / hora",
    "col_number": "Número",
    "col_destination": "Destino",
    "col_duration": "Duración",
    "col_rate": "Tarifa / min",
    "col_price": "Importe",
    "net": "Base imponible",
    "vat": "IVA {rate}",
    "total": "Total",
    "received": "Efectivo recibido",
    "change": "Cambio",
    "page": "Página {page}",
    "training": "FORMACIÓN - factura no válida",
}

_AR = {
    "invoice": "فاتورة",
    "receipt": "إيصال",
    "number": "رقم الفاتورة",
    "date": "التاريخ",
    "operator": "أمين الصندوق",
    "cabin": "الكابينة",
    "tax_id": "الرقم الضريبي",
    "calls": "المكالمات",
    "col_time": "التاريخ والوقت",
    "col_number": "الرقم",
    "col_destination": "الوجهة",
    "col_duration": "المدة",
    "col_rate": "سعر الدقيقة",
    "col_price": "السعر",
    "net": "المجموع قبل الضريبة",
    "vat": "ضريبة القيمة المضافة {rate}",
    "total": "الإجمالي",
    "received": "المبلغ المستلم نقدا",
    "change": "الباقي",
    "page": "صفحة {page}",
    "training": "تدريب - ليست فاتورة صالحة",
}

_UR = {
    "invoice": "انوائس",
    "receipt": "رسید",
    "number": "انوائس نمبر",
    "date": "تاریخ",
    "operator": "کیشیئر",
    "cabin": "کیبن",
    "tax_id": "ٹیکس نمبر",
    "calls": "کالز",
    "col_time": "تاریخ اور وقت",
    "col_number": "نمبر",
    "col_destination": "منزل",
    "col_duration": "دورانیہ",
    "col_rate": "فی منٹ ریٹ",
    "col_price": "قیمت",
    "net": "ٹیکس کے بغیر کل",
    "vat": "سیلز ٹیکس {rate}",
    "total": "کل رقم",
    "received": "وصول شدہ نقد",
    "change": "بقایا",
    "page": "صفحہ {page}",
    "training": "تربیت - درست انوائس نہیں",
}

LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "en": MappingProxyType(_EN),
    "fr": MappingProxyType(_FR),
    "es": MappingProxyType(_ES),
    "ar": MappingProxyType(_AR),
    "ur": MappingProxyType(_UR),
})

LANGUAGES = tuple(LABELS)


def labels_for(language: str) -> Mapping[str, str]:
    """The labels of `language` ("fr", "fr_FR", "ar-MA"…), English if there are none."""
    base = (language or "en").replace("-", "_").split("_")[0].lower()
    return LABELS.get(base, LABELS["en"])
