"""Arabic and Urdu invoices: letters joined (shaped), lines right to left, and text that
reads back in logical order, as typed. Rendered pages go to artifacts/screenshots/ for
a person to look at."""

from __future__ import annotations

import io
import unicodedata

from pypdf import PdfReader
from sqlalchemy.orm import Session

from cashdesk.clock import FakeClock
from cashdesk.invoices import issue_invoice
from cashdesk.invoices.labels import labels_for
from tests.invoices.factories import CallSpec, make_paid
from tests.invoices.pdftext import screenshot

ARABIC_CALLS = [
    CallSpec("00212612345678", "المغرب - اتصالات", "0.0900", 312),
    CallSpec("0021321234567", "الجزائر - موبيليس", "0.1200", 75),
    CallSpec("0033612345678", "France - Mobile", "0.1500", 1261),
]


def logical_text(pdf: bytes) -> str:
    """The PDF's text with Arabic presentation forms folded back to letters (NFKC):
    a shaped glyph is the same letter in its joined form."""
    raw = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return unicodedata.normalize("NFKC", raw)


def raw_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_arabic_invoice_reads_in_logical_order(session: Session, clock: FakeClock):
    paid = make_paid(session, clock, specs=ARABIC_CALLS, language="ar", locale="ar_MA",
                     timezone="Africa/Casablanca", currency="MAD",
                     company_name="مخدع الهاتف النور", address="شارع محمد الخامس\nالدار البيضاء",
                     tax_id="MA-001234", operator_name="سميرة بنعلي", cabin_name="كابينة 2",
                     footer="شكرا لزيارتكم")
    invoice = issue_invoice(session, clock, paid.transaction)
    pdf = invoice.pdf or b""
    text = logical_text(pdf)
    labels = labels_for("ar")

    # Shaped: the page holds joined forms (Arabic Presentation Forms-B), not bare letters.
    assert any("\ufe70" <= char <= "\ufeff" for char in raw_text(pdf))
    # …and every word reads back as it was typed, never reversed.
    words = ["مخدع الهاتف النور", "شارع محمد الخامس", "الدار البيضاء", "سميرة بنعلي",
             "كابينة", "شكرا لزيارتكم", "اتصالات", "موبيليس",
             labels["invoice"], labels["number"], labels["operator"], labels["cabin"],
             labels["total"], labels["received"], labels["change"], labels["col_destination"],
             labels["col_rate"], "ضريبة القيمة المضافة"]
    for word in words:
        assert word in text, word
        assert word[::-1] not in text
    # Numbers and Latin text keep their left-to-right order inside the Arabic page.
    for latin in ("INV-2026-000001", "00212612345678", "0033612345678", "France - Mobile",
                  "MA-001234", "5:12", "21:01"):
        assert latin in text, latin

    fonts = {str(font["/BaseFont"]) for font in _fonts(pdf)}
    assert any("NotoNaskhArabic" in name for name in fonts), fonts

    png = screenshot(pdf, "invoice-ar", dpi=130)
    assert png.stat().st_size > 10_000


def test_urdu_invoice(session: Session, clock: FakeClock):
    paid = make_paid(session, clock, language="ur", locale="ur_PK", timezone="Asia/Karachi",
                     currency="PKR", vat_rate="18", company_name="النور کال سینٹر",
                     address="مال روڈ، لاہور", operator_name="عمران",
                     footer="آپ کی آمد کا شکریہ")
    pdf = issue_invoice(session, clock, paid.transaction).pdf or b""
    text = logical_text(pdf)
    for word in ("النور کال سینٹر", "مال روڈ", "لاہور", "عمران", "آپ کی آمد کا شکریہ",
                 labels_for("ur")["invoice"], labels_for("ur")["change"]):
        assert word in text, word
    screenshot(pdf, "invoice-ur", dpi=130)


def _fonts(pdf: bytes) -> list:  # type: ignore[type-arg]
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    return list(page["/Resources"]["/Font"].get_object().values())
