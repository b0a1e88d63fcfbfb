"""Issuing an invoice for a real payment, on SQLite and PostgreSQL, and reading the PDF
back: every field, every call line and every total must be what the database says."""

from __future__ import annotations

import dataclasses
import io
import json
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_time
from PIL import Image
from pypdf import PdfReader
from sqlalchemy.orm import Session

from cashdesk.clock import FakeClock
from cashdesk.invoices import (
    TotalMismatch,
    invoice_data_for,
    issue_invoice,
    render_invoice_pdf,
)
from cashdesk.money import Money
from cashdesk.store.models import Invoice, InvoiceSettings
from tests.invoices.factories import call_specs, make_paid
from tests.invoices.pdftext import find_run, page_count, pdf_lines, screenshot

_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})


def plain(text: str) -> str:
    return " ".join(text.translate(_SPACES).split())


def duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else \
        f"{rest // 60}:{rest % 60:02d}"


def test_invoice_shows_every_field_call_and_total(session: Session, clock: FakeClock):
    paid = make_paid(session, clock, specs=call_specs(50), footer="Thank you!\nSee you soon.")
    clock.advance(30)
    invoice = issue_invoice(session, clock, paid.transaction)
    session.flush()

    assert invoice.number == "INV-2026-000001" and invoice.sequence == 1
    assert paid.transaction.invoice_id == invoice.id
    session.expire(paid.settings)
    assert paid.settings.next_number == 2
    assert invoice.pdf is not None and invoice.pdf.startswith(b"%PDF")
    lines = pdf_lines(invoice.pdf)
    text = "\n".join(lines)
    money = lambda amount: plain(Money(amount, "EUR").format("en"))

    # Header: the shop, the invoice, who and where.
    for expected in ("Taxiphone de la Gare", "12 rue de la Paix", "75002 Paris",
                     "Tax ID: FR40123456824", "Invoice", "INV-2026-000001", "Samira Benali",
                     "Cabin 1", "Thank you!", "See you soon."):
        assert expected in lines, expected
    issued = invoice.created_at.astimezone(ZoneInfo("Europe/Paris"))
    assert plain(f"{format_date(issued, 'medium', locale='en')} "
                 f"{format_time(issued, 'short', locale='en')}") in lines
    assert find_run(lines, ["Invoice no.", "INV-2026-000001"]) >= 0
    assert find_run(lines, ["Operator", "Samira Benali"]) >= 0
    assert find_run(lines, ["Cabin", "Cabin 1"]) >= 0

    # Every answered call, in order, in the shop's time zone (Paris is UTC+1 in January).
    assert len(paid.calls) == 50
    assert lines.count("Date / time") == page_count(invoice.pdf) == 2  # header repeated
    position = 0
    for call in paid.calls:
        local = call.started_at.astimezone(issued.tzinfo)
        row = [plain(f"{format_date(local, 'short', locale='en')} "
                     f"{format_time(local, 'short', locale='en')}"),
               call.dialed_number, call.destination, duration(call.billed_seconds),
               money(call.price_per_minute), money(call.price)]
        found = find_run(lines, row, position)
        assert found >= 0, f"call row {row} missing or out of order"
        position = found + len(row)
    assert "1/5/26 10:00 AM" in lines  # the first call: 09:00 UTC
    assert "1:02:05" in lines          # the call over an hour
    assert "0033100000000" not in text  # the unanswered call costs nothing, is not listed

    # Totals: VAT included at 20 %, net rounded once, VAT by difference.
    gross = sum((c.price for c in paid.calls), Decimal(0))
    assert gross == paid.transaction.amount_due
    net = (gross / Decimal("1.2")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert find_run(lines, ["Total excl. VAT", money(net)]) >= 0
    assert find_run(lines, ["VAT 20%", money(gross - net)]) >= 0
    assert find_run(lines, ["Total", money(gross)]) >= 0
    assert find_run(lines, ["Cash received", money(paid.transaction.received)]) >= 0
    assert find_run(lines, ["Change", money(paid.transaction.change)]) >= 0
    assert paid.transaction.change == Decimal(10)

    # The settings as they were, for the record.
    snapshot = json.loads(invoice.settings_snapshot)
    assert snapshot["company_name"] == "Taxiphone de la Gare"
    assert Decimal(snapshot["vat_rate"]) == 20 and snapshot["prices_include_vat"] is True
    assert snapshot["currency"] == "EUR" and snapshot["timezone"] == "Europe/Paris"
    assert PdfReader(io.BytesIO(invoice.pdf)).metadata.title == "INV-2026-000001"
    screenshot(invoice.pdf, "invoice-en")


def test_prices_without_vat_in_french(session: Session, clock: FakeClock):
    # The shop's rates exclude VAT, and the pay endpoint charged net + VAT.
    paid = make_paid(session, clock, language="fr", locale="fr_FR", vat_rate="5.5",
                     prices_include_vat=True, footer="Merci de votre visite")
    net = paid.transaction.amount_due
    vat = (net * Decimal("0.055")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    paid.settings.prices_include_vat = False
    paid.transaction.amount_due = net + vat
    paid.transaction.received = net + vat + 5
    paid.transaction.change = Decimal(5)
    session.flush()

    lines = pdf_lines(issue_invoice(session, clock, paid.transaction).pdf or b"")
    fr = lambda amount: plain(Money(amount, "EUR").format("fr_FR"))
    assert "Facture" in lines and "Merci de votre visite" in lines
    assert find_run(lines, ["Opérateur", "Samira Benali"]) >= 0
    assert find_run(lines, ["Total HT", fr(net)]) >= 0
    assert find_run(lines, ["TVA 5,5 %", fr(vat)]) >= 0
    assert find_run(lines, ["Total TTC", fr(net + vat)]) >= 0
    assert find_run(lines, ["Monnaie rendue", "5,00 €"]) >= 0
    assert "Durée" in lines and "Tarif / min" in lines


def test_an_invoice_never_says_other_than_the_cash_taken(session: Session, clock: FakeClock):
    paid = make_paid(session, clock)
    paid.settings.prices_include_vat = False  # but the payment charged the bare prices
    session.flush()
    with pytest.raises(TotalMismatch, match="an invoice cannot differ from the cash taken"):
        issue_invoice(session, clock, paid.transaction)
    session.refresh(paid.settings)
    assert paid.settings.next_number == 1  # no number was spent on it
    assert paid.transaction.invoice_id is None


def test_issuing_twice_gives_the_same_invoice(session: Session, clock: FakeClock):
    paid = make_paid(session, clock)
    first = issue_invoice(session, clock, paid.transaction)
    again = issue_invoice(session, clock, paid.transaction)
    assert again.id == first.id
    assert session.get_one(InvoiceSettings, paid.shop.callshop.id).next_number == 2


def test_a_failure_while_issuing_gives_the_number_back(session: Session, clock: FakeClock,
                                                       monkeypatch: pytest.MonkeyPatch):
    paid = make_paid(session, clock)

    def broken(data: object) -> bytes:
        raise RuntimeError("disk full")

    monkeypatch.setattr("cashdesk.invoices.issuing.render_invoice_pdf", broken)
    with pytest.raises(RuntimeError):
        issue_invoice(session, clock, paid.transaction)
    # The payment is intact and can be committed without an invoice; no number spent.
    assert session.get_one(InvoiceSettings, paid.shop.callshop.id).next_number == 1
    assert paid.transaction.invoice_id is None
    monkeypatch.undo()
    assert issue_invoice(session, clock, paid.transaction).sequence == 1


def test_training_payment_spends_no_real_number(session: Session, clock: FakeClock):
    paid = make_paid(session, clock, training=True)
    invoice = issue_invoice(session, clock, paid.transaction)
    assert invoice.number == f"TRAINING-{paid.transaction.id}"
    assert invoice.sequence == -paid.transaction.id
    assert session.get_one(InvoiceSettings, paid.shop.callshop.id).next_number == 1
    assert "TRAINING - not a valid invoice" in pdf_lines(invoice.pdf or b"")


def test_reprint_data_keeps_the_settings_of_the_day(session: Session, clock: FakeClock):
    paid = make_paid(session, clock)
    invoice = issue_invoice(session, clock, paid.transaction)
    paid.settings.company_name = "New Name Ltd"
    paid.settings.vat_rate = Decimal(0)
    session.flush()
    data = invoice_data_for(session, paid.transaction)
    assert data.shop.name == "Taxiphone de la Gare"
    assert data.number == invoice.number and data.totals.rate == 20
    assert data.issued_at == invoice.created_at


def test_logo_is_drawn_and_a_broken_logo_is_skipped(session: Session, clock: FakeClock):
    picture = io.BytesIO()
    Image.new("RGB", (300, 120), (20, 90, 160)).save(picture, format="PNG")
    paid = make_paid(session, clock)
    paid.settings.logo = picture.getvalue()
    session.flush()
    data = invoice_data_for(session, paid.transaction, number="X-1")
    assert len(PdfReader(io.BytesIO(render_invoice_pdf(data))).pages[0].images) == 1

    broken = dataclasses.replace(data, shop=dataclasses.replace(data.shop, logo=b"junk"))
    pdf = render_invoice_pdf(broken)
    assert "Taxiphone de la Gare" in pdf_lines(pdf)
    assert len(PdfReader(io.BytesIO(pdf)).pages[0].images) == 0


def test_invoice_rows_are_stored(session: Session, clock: FakeClock):
    paid = make_paid(session, clock)
    invoice = issue_invoice(session, clock, paid.transaction)
    session.commit()
    session.expunge_all()
    stored = session.get_one(Invoice, invoice.id)
    assert stored.callshop_id == paid.shop.callshop.id
    assert stored.pdf == invoice.pdf and stored.number == "INV-2026-000001"
