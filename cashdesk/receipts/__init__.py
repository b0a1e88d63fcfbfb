"""Thermal receipts (ESC/POS, python-escpos) for 58 mm and 80 mm printers.

- `receipt_lines(data, width)` (`layout.py`): the receipt as text lines, pure.
- `print_receipt(printer, data, width)` (`printing.py`): to any escpos printer; RTL
  receipts as a picture drawn by the desktop (`render_image`), `print_image` for any
  picture.
- `open_printer(config)` (`printers.py`): USB ids or a device file on Linux, a
  printer name on Windows; `PrinterUnavailable` with a message for the cashier.

The data is `cashdesk.invoices.InvoiceData`, the same values the invoice prints.
"""

from __future__ import annotations

from cashdesk.receipts.errors import PrinterUnavailable, ReceiptError, ReceiptNeedsImage
from cashdesk.receipts.layout import PAPER_58MM, PAPER_80MM, Paper, paper_for, receipt_lines
from cashdesk.receipts.printers import PrinterConfig, open_printer
from cashdesk.receipts.printing import ReceiptImageRenderer, print_image, print_receipt

__all__ = ["PAPER_58MM", "PAPER_80MM", "Paper", "PrinterConfig", "PrinterUnavailable",
           "ReceiptError", "ReceiptImageRenderer", "ReceiptNeedsImage", "open_printer",
           "paper_for", "print_image", "print_receipt", "receipt_lines"]
