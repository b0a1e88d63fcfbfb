"""Where the receipt printer is and how receipts print, kept in `QSettings`.

Plain values with no widget: the pay flow reads `ReceiptPrinterSettings.load()` to
know whether to print after Pay; the settings form edits and saves them.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QSettings

from cashdesk.receipts import PrinterConfig, paper_for

GROUP = "receipt_printer"
_USB_ID = re.compile(r"^(0x)?[0-9a-f]{1,4}$", re.IGNORECASE)


class Connection(StrEnum):
    USB = "usb"            # USB vendor and product ids (python-escpos Usb, libusb)
    DEVICE = "device"      # a device file, e.g. /dev/usb/lp0 (Linux usblp driver)
    WINDOWS = "windows"    # a printer of Windows' printer list (raw spooling)


def connections_for(platform: str = sys.platform) -> tuple[Connection, ...]:
    """The ways a receipt printer can be reached on `platform`, the usual one first."""
    if platform == "win32":
        return (Connection.WINDOWS, Connection.USB)
    return (Connection.USB, Connection.DEVICE)


class SettingsProblem(ValueError):
    """The settings cannot name a printer; `field` says which entry to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class ReceiptPrinterSettings:
    connection: Connection = connections_for()[0]
    usb_vendor_id: str = ""      # hex, as printed by lsusb: 04b8
    usb_product_id: str = ""
    device_path: str = ""
    windows_printer: str = ""
    paper_mm: int = 80           # 58 or 80
    auto_print: bool = False     # print a receipt after every Pay
    print_qr: bool = True        # the invoice number as a QR code under the receipt
    native_qr: bool = True       # the printer draws the QR code (else sent as a picture)

    def printer_config(self) -> PrinterConfig:
        """The `cashdesk.receipts` config for the chosen connection only.

        Raises `SettingsProblem` (field name and an English sentence; the form shows
        its own translated text per field) when the chosen connection is incomplete.
        """
        paper = paper_for(self.paper_mm)
        if self.connection == Connection.USB:
            for field, value in (("usb_vendor_id", self.usb_vendor_id),
                                 ("usb_product_id", self.usb_product_id)):
                if not _USB_ID.match(value.strip()):
                    raise SettingsProblem(field, "a USB id is 1 to 4 hexadecimal digits")
            return PrinterConfig(usb_vendor_id=int(self.usb_vendor_id.strip(), 16),
                                 usb_product_id=int(self.usb_product_id.strip(), 16),
                                 paper=paper, native_qr=self.native_qr)
        if self.connection == Connection.DEVICE:
            if not self.device_path.strip():
                raise SettingsProblem("device_path", "no device path")
            return PrinterConfig(device_path=self.device_path.strip(), paper=paper,
                                 native_qr=self.native_qr)
        if not self.windows_printer.strip():
            raise SettingsProblem("windows_printer", "no printer name")
        return PrinterConfig(windows_printer=self.windows_printer.strip(), paper=paper,
                             native_qr=self.native_qr)

    @classmethod
    def load(cls, settings: QSettings | None = None,
             platform: str = sys.platform) -> ReceiptPrinterSettings:
        """From `settings` (the application's own by default); defaults where unset,
        the usual connection of `platform` when none (or one it lacks) is stored."""
        store = settings if settings is not None else QSettings()
        choices = connections_for(platform)
        default = cls(connection=choices[0])

        def value(name: str) -> object:
            return store.value(f"{GROUP}/{name}", getattr(default, name))

        def text(name: str) -> str:
            return str(value(name) or "")

        try:
            connection = Connection(text("connection"))
        except ValueError:
            connection = default.connection
        if connection not in choices:
            connection = default.connection
        try:
            paper_mm = 58 if int(text("paper_mm")) == 58 else 80
        except ValueError:
            paper_mm = 80
        return cls(connection=connection, usb_vendor_id=text("usb_vendor_id"),
                   usb_product_id=text("usb_product_id"), device_path=text("device_path"),
                   windows_printer=text("windows_printer"), paper_mm=paper_mm,
                   auto_print=_bool(value("auto_print")), print_qr=_bool(value("print_qr")),
                   native_qr=_bool(value("native_qr")))

    def save(self, settings: QSettings | None = None) -> None:
        store = settings if settings is not None else QSettings()
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            store.setValue(f"{GROUP}/{name}",
                           str(value) if isinstance(value, Connection) else value)


def _bool(value: object) -> bool:
    # INI files and some registries give back "true"/"false" strings.
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
