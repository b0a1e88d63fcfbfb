"""Thermal receipts: the layout as text, the ESC/POS byte stream on python-escpos's
Dummy printer, pictures for right-to-left receipts, and absent printers."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from escpos.printer import Dummy
from PIL import Image

from cashdesk.invoices import CallLine, InvoiceData, ShopDetails, vat_breakdown
from cashdesk.money import Money, money_sum
from cashdesk.receipts import (
    PAPER_58MM,
    PAPER_80MM,
    PrinterConfig,
    PrinterUnavailable,
    ReceiptNeedsImage,
    open_printer,
    print_image,
    print_receipt,
    receipt_lines,
)

CUT = b"\x1dV"            # GS V: cut the paper
NATIVE_QR = b"\x1d(k"     # GS ( k: the printer's own QR code
RASTER_IMAGE = b"\x1dv0"  # GS v 0: a raster picture


def receipt(*, language: str = "en", locale: str = "en", number: str = "INV-2026-000042",
            calls: int = 3, training: bool = False) -> InvoiceData:
    zone = ZoneInfo("Europe/Paris")
    start = datetime(2026, 1, 5, 10, 0, tzinfo=zone)
    lines = tuple(CallLine(start + timedelta(minutes=10 * i), f"0033612345{i:03d}",
                           ("France - Mobile", "Maroc - Orange with a long operator name")[i % 2],
                           65 + 60 * i, Money.of("0.15", "EUR"),
                           Money.of(f"{1 + i}.25", "EUR")) for i in range(calls))
    total = money_sum([line.price for line in lines], "EUR")
    received = Money.of("20", "EUR")
    return InvoiceData(
        shop=ShopDetails("Taxiphone de la Gare", "12 rue de la Paix\n75002 Paris",
                         "FR40123456824"),
        number=number, issued_at=start + timedelta(hours=1), operator="Samira",
        cabin="Cabin 3", calls=lines,
        totals=vat_breakdown(total, Decimal(20), prices_include_vat=True),
        received=received, change=received - total, footer="Thank you for your visit",
        language=language, locale=locale, training=training)


@pytest.mark.parametrize("paper", [PAPER_58MM, PAPER_80MM], ids=["58mm", "80mm"])
def test_layout_fits_the_paper(paper):
    lines = receipt_lines(receipt(), paper)
    for line in lines:
        assert len(line.text) <= (paper.columns // 2 if line.large else paper.columns), line
    texts = [line.text for line in lines]
    assert texts[0].startswith("Taxiphone")
    wanted = [
        f"{'Invoice no.':<{paper.columns - 15}}INV-2026-000042",
        f"{'Cabin':<{paper.columns - 7}}Cabin 3",
        f"{'Operator':<{paper.columns - 6}}Samira",
        f"{'Total':<{paper.columns - 5}}€6.75",
        f"{'Cash received':<{paper.columns - 6}}€20.00",
        f"{'Change':<{paper.columns - 6}}€13.25",
    ]
    for line in wanted:
        assert line in texts, line
    assert f"{'10:00 AM 0033612345000':<{paper.columns - 4}}1:05" in texts
    assert "Thank you for your visit" in texts
    assert any(text.startswith("Date") and text.endswith("Jan 5, 2026 11:00 AM")
               for text in texts)
    if paper is PAPER_80MM:
        assert any("€0.15/min" in text for text in texts)


@pytest.mark.parametrize("width", [32, 48])
def test_escpos_stream_has_the_lines_the_qr_and_the_cut(width):
    printer = Dummy()
    print_receipt(printer, receipt(), width)
    out = printer.output
    for text in ("Taxiphone", "Gare", "12 rue de la Paix", "Tax ID: FR40123456824",
                 "INV-2026-000042", "Cabin 3", "Samira", "0033612345000", "0033612345002",
                 "France - Mobile", "1:05", "3:05", "Total", "6.75", "Cash received", "20.00",
                 "Change", "13.25", "Thank you for your visit"):
        assert text.encode() in out, text
    assert out.count(b"\n" + b"-" * width + b"\n") >= 3
    qr = out.index(NATIVE_QR)
    assert b"1P0INV-2026-000042" in out[qr:]   # store the data, then print it
    assert out.rstrip(b"\x00").endswith(CUT + b"\x00") or CUT in out[qr:]
    assert out.index(b"Thank you") < qr < out.rindex(CUT)


def test_qr_as_a_picture_and_no_qr_without_an_invoice():
    printer = Dummy()
    print_receipt(printer, receipt(), 32, native_qr=False)
    assert RASTER_IMAGE in printer.output and NATIVE_QR not in printer.output

    printer = Dummy()
    print_receipt(printer, receipt(number=""), 32)
    assert b"Receipt" in printer.output
    assert NATIVE_QR not in printer.output and CUT in printer.output


def test_training_receipt_says_so():
    printer = Dummy()
    print_receipt(printer, receipt(training=True), 48)
    assert b"TRAINING - not a valid invoice" in printer.output


def test_right_to_left_receipts_are_printed_as_a_picture():
    data = receipt(language="ar", locale="ar_MA")
    with pytest.raises(ReceiptNeedsImage, match="picture"):
        print_receipt(Dummy(), data, 48)

    asked: list[int] = []

    def draw(what: InvoiceData, dots: int) -> Image.Image:  # the desktop draws it with Qt
        asked.append(dots)
        assert what is data
        return Image.new("1", (dots, 400), 1)

    printer = Dummy()
    print_receipt(printer, data, 48, render_image=draw)
    assert asked == [576]
    out = printer.output
    assert RASTER_IMAGE in out and NATIVE_QR in out and CUT in out
    assert out.index(RASTER_IMAGE) < out.index(NATIVE_QR) < out.rindex(CUT)
    assert b"Taxiphone" not in out  # no text was sent


def test_print_image_centres_and_cuts():
    printer = Dummy()
    print_image(printer, Image.new("RGB", (200, 50), "black"), 58)
    out = printer.output
    header = out.index(RASTER_IMAGE)
    # GS v 0 m xL xH: the picture is sent as wide as the roll (384 dots = 48 bytes).
    assert out[header + 4:header + 6] == (48).to_bytes(2, "little")
    assert CUT in out[header:]


def test_an_absent_printer_is_a_clear_message(tmp_path):
    missing = tmp_path / "lp0"
    with pytest.raises(PrinterUnavailable) as error:
        open_printer(PrinterConfig(device_path=str(missing)))
    message = str(error.value)
    assert str(missing) in message and "not available" in message
    assert "The payment is recorded" in message

    with pytest.raises(PrinterUnavailable, match="04b8:0e28 is not available"):
        open_printer(PrinterConfig(usb_vendor_id=0x04B8, usb_product_id=0x0E28))
    with pytest.raises(PrinterUnavailable, match="No receipt printer is set up"):
        open_printer(PrinterConfig())


def test_a_device_file_printer_receives_the_receipt(tmp_path):
    device = tmp_path / "lp0"
    device.touch()
    printer = open_printer(PrinterConfig.from_mapping({"device_path": str(device),
                                                      "paper": 58}))
    try:
        print_receipt(printer, receipt(), 32)
    finally:
        printer.close()
    written = device.read_bytes()
    assert b"INV-2026-000042" in written and CUT in written


def test_config_from_settings():
    config = PrinterConfig.from_mapping({"usb_vendor_id": "0x04b8", "usb_product_id": "0202",
                                         "paper": 58, "native_qr": False})
    assert (config.usb_vendor_id, config.usb_product_id) == (0x04B8, 0x0202)
    assert config.paper is PAPER_58MM and config.native_qr is False
