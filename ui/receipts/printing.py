"""Printing receipts from the desktop, off the GUI thread.

`ReceiptPrinter.print_receipt(data)` opens the printer the settings name, prints
through `cashdesk.receipts.print_receipt` (right-to-left receipts drawn by
`render_receipt_image`) and closes it, on the thread pool; `sig_printed` or
`sig_failed(message)` follow on the GUI thread. The pay flow calls it after a Pay
when `ReceiptPrinterSettings.auto_print` is on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from escpos.escpos import Escpos
from PySide6.QtCore import QCoreApplication, QObject, Signal

from cashdesk.invoices.data import CallLine, InvoiceData, ShopDetails
from cashdesk.invoices.vat import vat_breakdown
from cashdesk.money import Money
from cashdesk.receipts import PrinterConfig, PrinterUnavailable, ReceiptError, open_printer
from cashdesk.receipts import print_receipt as escpos_print_receipt
from ui.invoices.background import run_in_background
from ui.receipts.rtl_image import render_receipt_image
from ui.receipts.settings import ReceiptPrinterSettings, SettingsProblem

PrinterOpener = Callable[[PrinterConfig], Escpos]


def print_now(data: InvoiceData, settings: ReceiptPrinterSettings,
              opener: PrinterOpener = open_printer) -> None:
    """Print the receipt of `data` as `settings` say. Blocking: run off the GUI thread.

    Raises `SettingsProblem` (no printer chosen), `PrinterUnavailable` (absent, or
    gone while printing) or another `ReceiptError`.
    """
    config = settings.printer_config()
    printer = opener(config)
    try:
        escpos_print_receipt(printer, data, config.paper, qr=settings.print_qr,
                             native_qr=config.native_qr, render_image=render_receipt_image)
    finally:
        try:
            printer.close()    # on Windows the job is sent to the spooler here
        except Exception as exc:  # escpos backends raise assorted types on close
            raise PrinterUnavailable(
                f"The receipt printer stopped responding ({exc}).") from exc


# Texts are written in QCoreApplication.translate("ReceiptPrinter", "…") calls, where
# pyside6-lupdate finds them (a _tr(text) helper hid them from the .ts files).


def sample_receipt(language: str = "en", currency: str = "EUR",
                   now: datetime | None = None) -> InvoiceData:
    """A short receipt to test the printer with: one call, an invoice number (so the QR
    code prints too), marked as training so it can never pass for a real one."""
    moment = (now or datetime.now().astimezone()).replace(microsecond=0)
    price = Money.of("1.50", currency)
    received = Money.of("2", currency)
    call = CallLine(started_at=moment - timedelta(minutes=5), number="0033123456789",
                    destination=QCoreApplication.translate("ReceiptPrinter", "Test call"),
                    duration_seconds=185,
                    rate_per_minute=Money.of("0.50", currency), price=price)
    return InvoiceData(
        shop=ShopDetails(
            name=QCoreApplication.translate("ReceiptPrinter", "Receipt printer test"),
            address=QCoreApplication.translate("ReceiptPrinter",
                                               "If you can read this, the printer works.")),
        number="TEST-0001", issued_at=moment,
        operator=QCoreApplication.translate("ReceiptPrinter", "Test"),
        cabin=QCoreApplication.translate("ReceiptPrinter", "Cabin 1"),
        calls=(call,), totals=vat_breakdown(price, Decimal(0), prices_include_vat=True),
        received=received, change=received - price, language=language, locale=language,
        training=True)


def failure_message(exc: BaseException) -> str:
    """What to tell the cashier when a receipt did not print."""
    if isinstance(exc, SettingsProblem):
        return QCoreApplication.translate(
            "ReceiptPrinter", "The receipt was not printed: no receipt printer is set up. "
            "Choose it in the receipt printer settings. The payment is recorded.")
    if isinstance(exc, ReceiptError):
        return str(exc)   # cashdesk.receipts writes these for the cashier
    return QCoreApplication.translate(
        "ReceiptPrinter", "The receipt was not printed: %1. The payment is recorded.").replace(
        "%1", str(exc) or type(exc).__name__)


class ReceiptPrinter(QObject):
    """Prints receipts on the thread pool, one after the other (a printer opens once at
    a time), and says how each went. Receipts asked for while one prints wait their
    turn: two quick payments both get their receipt."""

    #: A receipt was printed (its `InvoiceData`).
    sig_printed = Signal(object)
    #: A receipt was not printed: the message for the cashier, and its `InvoiceData`.
    sig_failed = Signal(str, object)

    def __init__(self, settings: Callable[[], ReceiptPrinterSettings] = ReceiptPrinterSettings.load,
                 parent: QObject | None = None, *, opener: PrinterOpener = open_printer) -> None:
        super().__init__(parent)
        self._settings = settings
        self._opener = opener
        self._waiting: deque[tuple[InvoiceData, ReceiptPrinterSettings]] = deque()
        self._printing = False

    @property
    def busy(self) -> bool:
        return self._printing

    @property
    def pending(self) -> int:
        """Receipts printing or waiting to."""
        return len(self._waiting) + int(self._printing)

    def print_receipt(self, data: InvoiceData,
                      settings: ReceiptPrinterSettings | None = None) -> None:
        """Print `data` with `settings` (read now, by default), after any receipt
        already printing."""
        self._waiting.append((data, settings if settings is not None else self._settings()))
        self._next()

    def _next(self) -> None:
        if self._printing or not self._waiting:
            return
        data, settings = self._waiting.popleft()
        self._printing = True
        opener = self._opener
        run_in_background(self, lambda: print_now(data, settings, opener),
                          lambda _: self._done(data),
                          lambda exc: self._failed(data, exc))

    def _done(self, data: InvoiceData) -> None:
        self._printing = False
        self.sig_printed.emit(data)
        self._next()

    def _failed(self, data: InvoiceData, exc: BaseException) -> None:
        self._printing = False
        self.sig_failed.emit(failure_message(exc), data)
        self._next()
