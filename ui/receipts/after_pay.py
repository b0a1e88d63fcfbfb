"""A receipt after every payment, when the receipt printer settings ask for one.

`AutoReceipt.after_payment(result)` fetches what the receipt prints from the server
(`client.receipt(transaction_id)`, in a worker), and hands it to `ReceiptPrinter`,
which prints on the thread pool. The payment is recorded before any of this starts: a
receipt that cannot be fetched or printed only earns the cashier a clear message
(`sig_failed`), shown by `ReceiptBanner` until it is dismissed or the next receipt
prints.

The settings are read once (QSettings at start) and again through `reload()` when the
receipt printer form saves them, never on each payment.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from cashdesk.invoices.data import InvoiceData
from cashdesk.receipts import open_printer
from server_client.client import ServerClient
from server_client.models import PaymentResult
from ui.i18n import fill
from ui.receipts.printing import PrinterOpener, ReceiptPrinter
from ui.receipts.settings import ReceiptPrinterSettings
from ui.workers import Operations


class AutoReceipt(QObject):
    """Prints the receipt of each payment when `settings.auto_print` is on."""

    sig_printed = Signal(object)     # the InvoiceData printed
    sig_failed = Signal(str)         # what to tell the cashier (the payment is recorded)

    def __init__(self, client: ServerClient, operations: Operations,
                 parent: QObject | None = None, *,
                 settings: ReceiptPrinterSettings | None = None,
                 opener: PrinterOpener = open_printer) -> None:
        super().__init__(parent)
        self.client = client
        self.operations = operations
        self.settings = settings if settings is not None else ReceiptPrinterSettings.load()
        self.printer = ReceiptPrinter(lambda: self.settings, self, opener=opener)
        self.printer.sig_printed.connect(self.sig_printed)
        self.printer.sig_failed.connect(lambda message, _data: self.sig_failed.emit(message))

    def reload(self, settings: ReceiptPrinterSettings | None = None) -> None:
        """Take the settings just saved (or read them again from QSettings)."""
        self.settings = settings if settings is not None else ReceiptPrinterSettings.load()

    def after_payment(self, result: PaymentResult) -> bool:
        """Print `result`'s receipt if the settings say so; True when one is on its way."""
        settings = self.settings
        if not settings.auto_print:
            return False
        client = self.client
        transaction_id = result.transaction_id
        number = result.invoice.number if result.invoice is not None else ""

        def fetch() -> InvoiceData:
            data = InvoiceData.from_wire(client.receipt(transaction_id))
            # The receipt names the payment's invoice (and prints it as a QR code).
            return dataclasses.replace(data, number=number) if number and not data.number \
                else data

        self.operations.run(fetch, on_done=self._guard(
            lambda data: self.printer.print_receipt(data, settings)),
            on_failed=self._guard(self._not_fetched), label="receipt")
        return True

    def _not_fetched(self, exc: BaseException) -> None:
        self.sig_failed.emit(fill(QCoreApplication.translate(
            "AutoReceipt", "The receipt was not printed: it could not be fetched from the "
            "server (%1). The payment is recorded."), str(exc)))

    def _guard(self, slot: Any) -> Any:
        def deliver(value: Any) -> None:
            if shiboken6.isValid(self):
                slot(value)
        return deliver


class ReceiptBanner(QFrame):
    """A receipt that did not print: said plainly across the window until dismissed
    (a toast could vanish while the cashier counts change)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReceiptBanner")
        row = QHBoxLayout(self)
        row.setContentsMargins(18, 6, 12, 6)
        row.setSpacing(12)
        self.label = QLabel(self)
        self.label.setObjectName("ReceiptBannerText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss_button = QPushButton(self)
        self.dismiss_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)   # the grid keeps the keys
        self.dismiss_button.clicked.connect(self.hide)
        row.addWidget(self.label, 1)
        row.addWidget(self.dismiss_button)
        self.hide()
        self.retranslate()

    def show_message(self, text: str) -> None:
        self.label.setText(text)
        self.show()

    @property
    def message(self) -> str:
        return self.label.text() if not self.isHidden() else ""

    def retranslate(self) -> None:
        self.dismiss_button.setText(self.tr("OK"))
        self.dismiss_button.setToolTip(self.tr("Hide this message"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
