"""Desktop invoices and receipts, offscreen: sample invoices rendered by the real
`cashdesk.invoices.render_invoice_pdf`, and a place for screenshots."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

# `ui` keeps None alive against PySide6 6.12's reference leak on void calls under
# CPython 3.11 (see ui/__init__.py): imported before any Qt work.
import ui  # noqa: F401
from cashdesk.invoices import CallLine, InvoiceData, ShopDetails, vat_breakdown
from cashdesk.money import Money, money_sum

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"

INVOICE_NUMBER = "INV-2026-000042"


def sample_invoice(*, language: str = "en", locale: str = "en", calls: int = 4,
                   number: str = INVOICE_NUMBER, training: bool = False) -> InvoiceData:
    zone = ZoneInfo("Europe/Paris")
    start = datetime(2026, 1, 5, 10, 0, tzinfo=zone)
    destinations = ("France - Mobile", "Maroc - Orange", "Sénégal - Fixe", "Pakistan Mobile")
    lines = tuple(CallLine(start + timedelta(minutes=12 * i), f"00212661{i:06d}",
                           destinations[i % 4], 65 + 97 * i, Money.of("0.15", "EUR"),
                           Money.of(f"{1 + i}.25", "EUR")) for i in range(calls))
    total = money_sum([line.price for line in lines], "EUR")
    received = Money.of("20", "EUR")
    return InvoiceData(
        shop=ShopDetails("Taxiphone de la Gare", "12 rue de la Paix\n75002 Paris",
                         "FR40123456824"),
        number=number, issued_at=start + timedelta(hours=1), operator="Samira Benali",
        cabin="Cabin 3", calls=lines,
        totals=vat_breakdown(total, Decimal(20), prices_include_vat=True),
        received=received, change=received - total, footer="Thank you for your visit",
        language=language, locale=locale, training=training)


@pytest.fixture(scope="session")
def invoice() -> InvoiceData:
    return sample_invoice()


@pytest.fixture(scope="session")
def invoice_pdf(invoice: InvoiceData) -> bytes:
    from cashdesk.invoices import render_invoice_pdf

    return render_invoice_pdf(invoice)


@pytest.fixture(scope="session")
def long_invoice_pdf() -> bytes:
    """Forty calls: two pages."""
    from cashdesk.invoices import render_invoice_pdf

    return render_invoice_pdf(sample_invoice(calls=40))


@pytest.fixture(scope="session")
def arabic_receipt() -> InvoiceData:
    return sample_invoice(language="ar", locale="ar_MA", calls=3)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
