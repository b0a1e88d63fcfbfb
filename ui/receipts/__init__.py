"""Receipts on the desktop: the receipt printer's settings (`QSettings`), the settings
form with a Test print, printing off the GUI thread, and right-to-left receipts drawn
by Qt for `cashdesk.receipts.print_receipt(render_image=…)`.

- `ReceiptPrinterSettings.load()` / `.save()`: where the printer is, 58/80 mm,
  `auto_print` after Pay, `print_qr`.
- `ReceiptPrinterForm`: the settings screen, with Save and Test print.
- `ReceiptPrinter(parent).print_receipt(invoice_data)`: print after a Pay.
- `render_receipt_image(data, dots) -> PIL.Image`: Arabic/Urdu receipts as a picture.
"""

from ui.receipts.form import ReceiptPrinterForm
from ui.receipts.printing import ReceiptPrinter, failure_message, print_now, sample_receipt
from ui.receipts.rtl_image import render_receipt_image
from ui.receipts.settings import Connection, ReceiptPrinterSettings, SettingsProblem

__all__ = ["Connection", "ReceiptPrinter", "ReceiptPrinterForm", "ReceiptPrinterSettings",
           "SettingsProblem", "failure_message", "print_now", "render_receipt_image",
           "sample_receipt"]
