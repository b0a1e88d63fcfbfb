"""The receipt printer settings form: where the printer is, paper width, automatic
printing after Pay, the QR code, and a Test print button.

`ReceiptPrinterForm(settings=None)` edits `ReceiptPrinterSettings` kept in
`QSettings` (the application's own unless one is given); Save writes them. Test print
prints `sample_receipt()` with what is on screen, saved or not, off the GUI thread,
and tells the cashier plainly when the printer is not there.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QEvent, QLocale, QSettings, Signal
from PySide6.QtGui import QPalette, QRegularExpressionValidator
from PySide6.QtPrintSupport import QPrinterInfo
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from cashdesk.invoices.labels import LANGUAGES
from cashdesk.receipts import PrinterConfig, open_printer
from ui.invoices.background import run_in_background
from ui.receipts.printing import PrinterOpener, ReceiptPrinter, sample_receipt
from ui.receipts.settings import (
    Connection,
    ReceiptPrinterSettings,
    SettingsProblem,
    connections_for,
)

_HEX_ID = r"(0[xX])?[0-9A-Fa-f]{1,4}"


class ReceiptPrinterForm(QWidget):
    """Receipt printer settings, with Save and Test print."""

    sig_saved = Signal(object)           # the ReceiptPrinterSettings written
    sig_test_printed = Signal()
    sig_test_failed = Signal(str)        # the message shown

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None, *,
                 platform: str = sys.platform, opener: PrinterOpener = open_printer,
                 receipt_language: str | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("receiptPrinterForm")
        self._store = settings
        self._platform = platform
        self._connections = connections_for(platform)
        self._language = receipt_language or _ui_language()
        self._printer = ReceiptPrinter(self.current_settings, self, opener=opener)
        self._printer.sig_printed.connect(self._test_printed)
        self._printer.sig_failed.connect(self._test_failed)
        self._tested = PrinterConfig()
        self._build()
        self.load()
        if Connection.WINDOWS in self._connections:
            # Asking the spooler can wait on network printers: not on the GUI thread.
            run_in_background(self, QPrinterInfo.availablePrinterNames,
                              self._list_windows_printers, lambda exc: None)

    def _list_windows_printers(self, names: list[str]) -> None:
        typed = self.windows_printer.currentText()
        self.windows_printer.clear()
        self.windows_printer.addItems(sorted(names))
        self.windows_printer.setEditText(typed)

    # --- layout -------------------------------------------------------------------
    def _build(self) -> None:
        self.connection = QComboBox(self)
        for kind in self._connections:
            self.connection.addItem("", kind.value)
        self.connection.currentIndexChanged.connect(self._show_connection_fields)

        hex_id = QRegularExpressionValidator(_HEX_ID, self)
        self.vendor_id = QLineEdit(self)
        self.vendor_id.setValidator(hex_id)
        self.product_id = QLineEdit(self)
        self.product_id.setValidator(hex_id)
        self._usb_hint = QLabel(self)
        self._usb_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.device_path = QLineEdit(self)
        self.device_path.setPlaceholderText("/dev/usb/lp0")
        self.windows_printer = QComboBox(self)
        self.windows_printer.setEditable(True)

        self.paper_58 = QRadioButton(self)
        self.paper_80 = QRadioButton(self)
        self._paper = QButtonGroup(self)
        self._paper.addButton(self.paper_58, 58)
        self._paper.addButton(self.paper_80, 80)
        paper_row = QHBoxLayout()
        paper_row.addWidget(self.paper_58)
        paper_row.addWidget(self.paper_80)
        paper_row.addStretch(1)

        self.auto_print = QCheckBox(self)
        self.print_qr = QCheckBox(self)
        self.native_qr = QCheckBox(self)
        self.print_qr.toggled.connect(self.native_qr.setEnabled)

        self._labels = {name: QLabel(self) for name in
                        ("connection", "vendor", "product", "device", "windows", "paper")}
        for name, buddy in (("connection", self.connection), ("vendor", self.vendor_id),
                            ("product", self.product_id), ("device", self.device_path),
                            ("windows", self.windows_printer), ("paper", self.paper_58)):
            self._labels[name].setBuddy(buddy)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.form.addRow(self._labels["connection"], self.connection)
        self.form.addRow(self._labels["vendor"], self.vendor_id)
        self.form.addRow(self._labels["product"], self.product_id)
        self.form.addRow("", self._usb_hint)
        self.form.addRow(self._labels["device"], self.device_path)
        self.form.addRow(self._labels["windows"], self.windows_printer)
        self.form.addRow(self._labels["paper"], paper_row)
        self.form.addRow("", self.auto_print)
        self.form.addRow("", self.print_qr)
        self.form.addRow("", self.native_qr)

        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setObjectName("receiptPrinterStatus")
        self.test_button = QPushButton(self)
        self.test_button.clicked.connect(self.test_print)
        self.save_button = QPushButton(self)
        self.save_button.clicked.connect(self.save)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.save_button)

        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.retranslate()

    def retranslate(self) -> None:
        """Every visible text, again (Qt sends LanguageChange when the language changes)."""
        names = {Connection.USB: self.tr("USB printer (vendor and product id)"),
                 Connection.DEVICE: self.tr("Device file (Linux)"),
                 Connection.WINDOWS: self.tr("Windows printer")}
        for index in range(self.connection.count()):
            self.connection.setItemText(index, names[Connection(self.connection.itemData(index))])
        texts = {"connection": self.tr("Printer &connection:"),
                 "vendor": self.tr("USB &vendor id:"),
                 "product": self.tr("USB &product id:"),
                 "device": self.tr("&Device file:"),
                 "windows": self.tr("&Windows printer:"),
                 "paper": self.tr("Paper width:")}
        for name, text in texts.items():
            self._labels[name].setText(text)
        self.vendor_id.setPlaceholderText(self.tr("e.g. 04b8"))
        self.product_id.setPlaceholderText(self.tr("e.g. 0e15"))
        self._usb_hint.setText(self.tr("As “lsusb” lists it: ID vendor:product"))
        editor = self.windows_printer.lineEdit()
        if editor is not None:
            editor.setPlaceholderText(self.tr("Name in Windows' printer list"))
        self.paper_58.setText(self.tr("58 mm"))
        self.paper_80.setText(self.tr("80 mm"))
        self.auto_print.setText(self.tr("Print a receipt after every payment"))
        self.print_qr.setText(self.tr("Print the invoice number as a QR code"))
        self.native_qr.setText(self.tr("The printer draws QR codes itself"))
        self.native_qr.setToolTip(self.tr("Untick if the QR code comes out as garbage: it "
                                          "is then sent as a picture."))
        self.test_button.setText(self.tr("&Test print"))
        self.test_button.setToolTip(self.tr("Print a sample receipt with these settings"))
        self.save_button.setText(self.tr("&Save"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _show_connection_fields(self) -> None:
        kind = self._kind()
        rows = {Connection.USB: (self.vendor_id, self.product_id, self._usb_hint),
                Connection.DEVICE: (self.device_path,),
                Connection.WINDOWS: (self.windows_printer,)}
        for connection, widgets in rows.items():
            for widget in widgets:
                self.form.setRowVisible(widget, connection == kind)

    def _kind(self) -> Connection:
        return Connection(self.connection.currentData())

    # --- values -------------------------------------------------------------------
    def current_settings(self) -> ReceiptPrinterSettings:
        """What the form says now, saved or not."""
        return ReceiptPrinterSettings(
            connection=self._kind(),
            usb_vendor_id=self.vendor_id.text().strip(),
            usb_product_id=self.product_id.text().strip(),
            device_path=self.device_path.text().strip(),
            windows_printer=self.windows_printer.currentText().strip(),
            paper_mm=58 if self.paper_58.isChecked() else 80,
            auto_print=self.auto_print.isChecked(),
            print_qr=self.print_qr.isChecked(),
            native_qr=self.native_qr.isChecked())

    def set_settings(self, values: ReceiptPrinterSettings) -> None:
        index = self.connection.findData(values.connection.value)
        self.connection.setCurrentIndex(max(0, index))
        self.vendor_id.setText(values.usb_vendor_id)
        self.product_id.setText(values.usb_product_id)
        self.device_path.setText(values.device_path)
        self.windows_printer.setEditText(values.windows_printer)
        (self.paper_58 if values.paper_mm == 58 else self.paper_80).setChecked(True)
        self.auto_print.setChecked(values.auto_print)
        self.print_qr.setChecked(values.print_qr)
        self.native_qr.setChecked(values.native_qr)
        self.native_qr.setEnabled(values.print_qr)
        self._show_connection_fields()

    def load(self) -> None:
        self.set_settings(ReceiptPrinterSettings.load(self._store, self._platform))

    def save(self) -> ReceiptPrinterSettings | None:
        """Write the settings if they name a printer; otherwise say what is missing."""
        values = self.current_settings()
        if not self._check(values):
            return None
        values.save(self._store)
        if self._store is not None:
            self._store.sync()
        self.status.setText(self.tr("Saved."))
        self.sig_saved.emit(values)
        return values

    def _check(self, values: ReceiptPrinterSettings) -> bool:
        try:
            values.printer_config()
        except SettingsProblem as problem:
            fields = {"usb_vendor_id": (self.vendor_id, self.tr("Enter the printer's USB "
                                                                "vendor id (4 hex digits).")),
                      "usb_product_id": (self.product_id, self.tr("Enter the printer's USB "
                                                                  "product id (4 hex digits).")),
                      "device_path": (self.device_path, self.tr("Enter the printer's device "
                                                                "file, e.g. /dev/usb/lp0.")),
                      "windows_printer": (self.windows_printer, self.tr("Enter the printer's "
                                                                        "name."))}
            widget, text = fields[problem.field]
            self.status.setText(text)
            widget.setFocus()
            return False
        return True

    # --- test print ---------------------------------------------------------------
    def test_print(self) -> None:
        """Print a sample receipt with the settings on screen, off the GUI thread."""
        values = self.current_settings()
        if not self._check(values) or self._printer.busy:
            return
        self.test_button.setEnabled(False)
        self.status.setText(self.tr("Printing a test receipt…"))
        self._tested = values.printer_config()
        self._printer.print_receipt(sample_receipt(self._language), values)

    def _test_printed(self, _: object) -> None:
        self.test_button.setEnabled(True)
        self.status.setText(self.tr("The test receipt was printed."))
        self.sig_test_printed.emit()

    def _test_failed(self, detail: str, _: object) -> None:
        self.test_button.setEnabled(True)
        message = self._absent_message(self._tested, detail)
        self.status.setText(self.tr("The test receipt was not printed."))
        QMessageBox.warning(self, self.tr("Receipt printer"), message)
        self.sig_test_failed.emit(message)

    def _absent_message(self, config: PrinterConfig, detail: str) -> str:
        # cashdesk.receipts words its messages for a payment ("the payment is
        # recorded"); a test print has none, so keep only its diagnosis.
        detail = detail.split(" The payment is recorded")[0].strip()
        prefix = "The receipt was not printed: "
        detail = detail.removeprefix(prefix)
        where = {Connection.USB: self.tr("the USB printer %1"),
                 Connection.DEVICE: self.tr("the printer at %1"),
                 Connection.WINDOWS: self.tr("the Windows printer “%1”")}
        if config.windows_printer:
            printer = where[Connection.WINDOWS].replace("%1", config.windows_printer)
        elif config.device_path:
            printer = where[Connection.DEVICE].replace("%1", config.device_path)
        else:
            printer = where[Connection.USB].replace(
                "%1", f"{config.usb_vendor_id or 0:04x}:{config.usb_product_id or 0:04x}")
        return (self.tr("No test receipt was printed: %1 cannot be reached.\n\n"
                        "Check that it is switched on and plugged in, and that the settings "
                        "below name it.").replace("%1", printer)
                + "\n\n" + self.tr("Details: %1").replace("%1", detail))


def _ui_language() -> str:
    """The receipt language for a test print: the desktop's, if receipts speak it."""
    language = QLocale().name().split("_")[0]
    return language if language in LANGUAGES else "en"

