"""Finding the shop's receipt printer: USB ids or a device file on Linux, a printer
name on Windows. An absent printer is `PrinterUnavailable` with a sentence the cashier
can act on; the payment is recorded either way."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from escpos.escpos import Escpos
from escpos.printer import File, Usb, Win32Raw

from cashdesk.receipts.errors import PrinterUnavailable
from cashdesk.receipts.layout import PAPER_80MM, Paper, paper_for


def _usb_id(value: int | str | None) -> int | None:
    """A USB id from 0x04b8, "04b8", "0x04B8" or 1208."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    text = value.strip().lower()
    return int(text, 16)


@dataclass(frozen=True, slots=True)
class PrinterConfig:
    """Where the receipt printer is. Exactly one of: USB ids, a device path, a Windows
    printer name. `profile` is a python-escpos capabilities profile (`TM-T88V`…),
    None for the generic one."""

    usb_vendor_id: int | None = None
    usb_product_id: int | None = None
    device_path: str | None = None        # /dev/usb/lp0 (the kernel's usblp driver)
    windows_printer: str | None = None    # as in Windows' printer list
    profile: str | None = None
    paper: Paper = PAPER_80MM
    native_qr: bool = True

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> PrinterConfig:
        """From stored settings: ids may be hex strings, paper 58/80 or 32/48."""
        return cls(usb_vendor_id=_usb_id(values.get("usb_vendor_id")),
                   usb_product_id=_usb_id(values.get("usb_product_id")),
                   device_path=values.get("device_path") or None,
                   windows_printer=values.get("windows_printer") or None,
                   profile=values.get("profile") or None,
                   paper=paper_for(values.get("paper", 80)),
                   native_qr=bool(values.get("native_qr", True)))

    def describe(self) -> str:
        if self.windows_printer:
            return f"the printer {self.windows_printer!r}"
        if self.device_path:
            return f"the printer at {self.device_path}"
        if self.usb_vendor_id is not None:
            product = (f":{self.usb_product_id:04x}" if self.usb_product_id is not None
                       else "")
            return f"the USB printer {self.usb_vendor_id:04x}{product}"
        return "the receipt printer"


def open_printer(config: PrinterConfig) -> Escpos:
    """The printer of `config`, opened; `close()` it when the receipt is printed (on
    Windows the print job is sent on close). Raises `PrinterUnavailable`."""
    chosen = sum(x is not None for x in (config.usb_vendor_id, config.device_path,
                                         config.windows_printer))
    if chosen != 1:
        raise PrinterUnavailable("No receipt printer is set up: choose a USB printer, a "
                                 "device path or a Windows printer in the settings.")
    what = config.describe()
    printer: Escpos
    if config.windows_printer is not None:
        if not Win32Raw.is_usable():
            raise PrinterUnavailable(f"Cannot print to {what}: Windows printer names work "
                                     f"only on Windows (with pywin32 installed).")
        printer = Win32Raw(config.windows_printer, profile=config.profile)
    elif config.device_path is not None:
        # Opening a missing path for writing would create a plain file (in /dev, as root)
        # and "print" into it: a device that is not there is absent, full stop.
        if not os.path.exists(config.device_path):
            raise PrinterUnavailable(_absent_message(
                what, FileNotFoundError(f"{config.device_path} does not exist")))
        printer = File(config.device_path, profile=config.profile)
    else:
        if not Usb.is_usable():
            raise PrinterUnavailable(f"Cannot reach {what}: USB printing needs pyusb.")
        printer = Usb(config.usb_vendor_id, config.usb_product_id, profile=config.profile)
    try:
        printer.open()
    except Exception as exc:  # escpos and pyusb raise a dozen unrelated types for this
        raise PrinterUnavailable(_absent_message(what, exc)) from exc
    return printer


def _absent_message(what: str, exc: Exception) -> str:
    detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    hint = "Check that it is switched on and plugged in."
    lowered = detail.lower()
    if "access denied" in lowered or "permission" in lowered or "errno 13" in lowered:
        hint = ("It is there but this user may not use it: on Linux, add a udev rule or "
                "add the user to the 'lp' group." if sys.platform != "win32"
                else "It is there but this user may not use it.")
    elif "no backend" in lowered:
        hint = "The USB library (libusb) is missing on this computer."
    return (f"The receipt was not printed: {what} is not available ({detail}). {hint} "
            f"The payment is recorded; print the receipt again when the printer is back.")
