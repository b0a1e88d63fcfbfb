"""The receipt printer settings (`ui.receipts.ReceiptPrinterForm`) in a dialog of the
Settings menu: Save keeps them on this PC and closes, Test print prints a sample, Esc
closes without saving."""

from __future__ import annotations

import sys

from PySide6.QtCore import QEvent, QSettings, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from cashdesk.receipts import open_printer
from ui import theme
from ui.receipts import ReceiptPrinterForm, ReceiptPrinterSettings
from ui.receipts.printing import PrinterOpener


class ReceiptPrinterDialog(QDialog):
    sig_saved = Signal(object)       # the ReceiptPrinterSettings written

    def __init__(self, parent: QWidget | None = None, *, settings: QSettings | None = None,
                 platform: str = sys.platform, opener: PrinterOpener = open_printer) -> None:
        super().__init__(parent)
        self.setObjectName("ReceiptPrinterDialog")
        self.setWindowIcon(theme.app_icon())
        self.setMinimumWidth(620)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 16)
        layout.setSpacing(10)
        self.title = QLabel(self)
        self.title.setObjectName("Title")
        self.subtitle = QLabel(self)
        self.subtitle.setObjectName("Subtitle")
        self.subtitle.setWordWrap(True)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        self.form = ReceiptPrinterForm(settings, self, platform=platform, opener=opener)
        self.form.save_button.setObjectName("Primary")
        self.form.save_button.setDefault(True)       # Enter saves
        self.form.sig_saved.connect(self._saved)
        layout.addWidget(self.form, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.close_button = QPushButton(self)
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self.reject)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Receipt printer"))
        self.title.setText(self.tr("Receipt printer"))
        self.subtitle.setText(self.tr("The thermal printer of this till. These settings are "
                                      "kept on this computer."))
        self.close_button.setText(self.tr("Close without saving (Esc)"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _saved(self, settings: ReceiptPrinterSettings) -> None:
        self.sig_saved.emit(settings)
        self.accept()
