"""Labels for every language, locales, and the wire form of `InvoiceData`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from cashdesk.invoices import CallLine, InvoiceData, ShopDetails, is_right_to_left, vat_breakdown
from cashdesk.invoices.data import invoice_locale
from cashdesk.invoices.labels import LABELS, labels_for
from cashdesk.money import Money


def sample() -> InvoiceData:
    zone = ZoneInfo("Africa/Casablanca")
    total = Money.of("4.20", "MAD")
    return InvoiceData(
        shop=ShopDetails("النور", "Rue 1\nCasablanca", "MA-1", logo=b"\x89PNG..."),
        number="INV-2026-000007", issued_at=datetime(2026, 3, 1, 18, 5, tzinfo=zone),
        operator="Samira", cabin="Cabine 2",
        calls=(CallLine(datetime(2026, 3, 1, 17, 40, tzinfo=zone), "00212612345678",
                        "Maroc", 150, Money.of("0.0125", "MAD"), total),),
        totals=vat_breakdown(total, Decimal(20), prices_include_vat=True),
        received=Money.of("5", "MAD"), change=Money.of("0.80", "MAD"), footer="Merci",
        language="ar", locale="ar_MA")


def test_every_language_has_every_label():
    for language, table in LABELS.items():
        assert set(table) == set(LABELS["en"]), language
        assert all(text.strip() for text in table.values()), language
        assert "{rate}" in table["vat"] and "{page}" in table["page"]


def test_language_fallbacks_and_direction():
    assert labels_for("fr_FR")["invoice"] == "Facture"
    assert labels_for("ar-MA")["invoice"] == "فاتورة"
    assert labels_for("de")["invoice"] == "Invoice"
    assert [is_right_to_left(x) for x in ("ar", "ur", "fr", "en", "xx")] == \
        [True, True, False, False, False]
    assert invoice_locale("ar", "fr_MA") == "ar_MA"
    assert invoice_locale("fr", "en_US") == "fr"


def test_wire_round_trip():
    data = sample()
    again = InvoiceData.from_wire(data.to_wire())
    assert again == data
    assert again.issued_at.tzinfo == ZoneInfo("Africa/Casablanca")
    assert data.to_wire()["calls"][0]["rate_per_minute"] == "0.0125"
