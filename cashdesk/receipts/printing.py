"""Sending a receipt to an ESC/POS printer (python-escpos).

`print_receipt` works with any `escpos` printer object: `Usb`, `File`, `Win32Raw`
from `open_printer`, or `Dummy` in tests.

Right-to-left receipts. Most thermal printers have no Arabic code page and none
shapes Arabic letters, so an Arabic or Urdu receipt is sent as a picture. Rendering
that picture is the desktop's job (Qt lays out RTL text properly; this package must
not import Qt): pass `render_image`, a function `(data, width_in_dots) -> PIL.Image`,
and `print_receipt` prints the picture, then the QR code and the cut. The desktop
can equally call `print_image` with a picture of anything (a reprint, a test page).
Pictures are centred here, on a strip as wide as the roll.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import qrcode
from escpos.constants import QR_ECLEVEL_M
from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError, USBNotFoundError
from PIL import Image

from cashdesk.invoices.data import InvoiceData
from cashdesk.receipts.errors import PrinterUnavailable, ReceiptNeedsImage
from cashdesk.receipts.layout import Align, Paper, paper_for, receipt_lines

#: Draws the whole receipt of `data` as a black-and-white picture `dots` wide.
ReceiptImageRenderer: TypeAlias = Callable[[InvoiceData, int], Image.Image]

QR_MODULE_SIZE = 5   # dots per QR module: ~25 mm wide for an invoice number, easy to scan

# Errors that mean "the printer went away", not a bug in what we sent.
_DEVICE_ERRORS: tuple[type[BaseException], ...] = (OSError, DeviceNotFoundError,
                                                   USBNotFoundError)


def print_receipt(printer: Escpos, data: InvoiceData, width: Paper | int, *,
                  qr: bool = True, native_qr: bool = True,
                  render_image: ReceiptImageRenderer | None = None) -> None:
    """Print the receipt of `data` on `printer`, `width` 32/48 columns (58/80 mm), and cut.

    With `qr` and an invoice number, a QR code of the number follows the text
    (`native_qr`: the printer draws it, GS ( k; otherwise it is sent as a picture,
    for printers without QR support). Right-to-left languages need `render_image`
    (`ReceiptNeedsImage` otherwise). A printer that disappears mid-receipt raises
    `PrinterUnavailable`.
    """
    paper = paper_for(width)
    if data.right_to_left and render_image is None:
        raise ReceiptNeedsImage(
            "Arabic and Urdu receipts are printed as a picture, and none was given: "
            "print from the cash desk, which draws it")
    try:
        if render_image is not None and data.right_to_left:
            printer.image(centred(render_image(data, paper.dots), paper.dots))
        else:
            _print_text(printer, data, paper)
        if qr and data.number:
            printer.ln()
            if native_qr:
                # The printer draws it, where the justification says.
                printer.set(align="center")
                printer.qr(data.number, ec=QR_ECLEVEL_M, size=QR_MODULE_SIZE, native=True)
                printer.set(align="left")
            else:
                printer.image(centred(qr_image(data.number), paper.dots))
        printer.cut()
    except _DEVICE_ERRORS as exc:
        raise PrinterUnavailable(
            f"The receipt printer stopped responding while printing ({exc}). The payment "
            f"is recorded; check the printer and print the receipt again.") from exc


def print_image(printer: Escpos, image: Image.Image | str, width: Paper | int, *,
                cut: bool = True) -> None:
    """Print a picture (a PIL image or an image file's path) centred on the roll, and cut.

    A picture wider than the roll is scaled down to fit; the desktop should draw it at
    `paper_for(width).dots` wide to begin with.
    """
    paper = paper_for(width)
    picture = image if isinstance(image, Image.Image) else Image.open(image)
    try:
        printer.image(centred(picture, paper.dots))
        if cut:
            printer.cut()
    except _DEVICE_ERRORS as exc:
        raise PrinterUnavailable(
            f"The receipt printer stopped responding while printing ({exc}).") from exc


def qr_image(content: str) -> Image.Image:
    """A QR code of `content` as a picture, for printers that cannot draw one."""
    code = qrcode.QRCode(version=None, box_size=QR_MODULE_SIZE, border=1,
                         error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(content)
    code.make(fit=True)
    picture: Image.Image = code.make_image().get_image()
    return picture


def centred(picture: Image.Image, dots: int) -> Image.Image:
    """`picture` on a white strip exactly `dots` wide (python-escpos centres only when
    the printer profile knows its width, which the generic profile does not)."""
    picture = picture.convert("RGB")
    if picture.width > dots:
        height = max(1, round(picture.height * dots / picture.width))
        return picture.resize((dots, height), Image.Resampling.LANCZOS)
    strip = Image.new("RGB", (dots, picture.height), "white")
    strip.paste(picture, ((dots - picture.width) // 2, 0))
    return strip


def _print_text(printer: Escpos, data: InvoiceData, paper: Paper) -> None:
    printer.set_with_default()
    style: tuple[Align, bool, bool] | None = None
    for line in receipt_lines(data, paper):
        wanted = (line.align, line.bold, line.large)
        if wanted != style:
            printer.set(align=line.align.value, bold=line.bold, double_width=line.large,
                        double_height=line.large, normal_textsize=not line.large)
            style = wanted
        printer.textln(line.text)
    printer.set_with_default()
