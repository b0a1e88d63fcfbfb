"""Receipts on the desktop: right-to-left receipts drawn by Qt and printed as a raster
picture through python-escpos, the printer settings and their Test print."""

from __future__ import annotations

import threading

import pytest
from escpos.printer import Dummy
from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QMessageBox

from cashdesk.receipts import PAPER_58MM, PAPER_80MM, PrinterUnavailable, print_receipt
from tests.gui_invoices.conftest import INVOICE_NUMBER, sample_invoice
from ui.receipts import (
    Connection,
    ReceiptPrinter,
    ReceiptPrinterForm,
    ReceiptPrinterSettings,
    render_receipt_image,
    rtl_image,
)

pytestmark = pytest.mark.gui

RASTER = b"\x1dv0"     # GS v 0: a raster picture
CUT = b"\x1dV"
NATIVE_QR = b"\x1d(k"


def ink_rows(image: Image.Image) -> list[tuple[int, int, int]]:
    """(top, bottom, right edge of ink) for each band of rows holding black pixels."""
    pixels = image.convert("L").load()
    width, height = image.size
    bands, start, right = [], None, -1
    for y in range(height):
        xs = [x for x in range(width) if pixels[x, y] < 128]
        if xs and start is None:
            start, right = y, max(xs)
        elif xs:
            right = max(right, max(xs))
        elif start is not None:
            bands.append((start, y - 1, right))
            start = None
    return bands


@pytest.mark.parametrize("paper", [PAPER_58MM, PAPER_80MM], ids=["58mm", "80mm"])
def test_an_arabic_receipt_is_a_right_aligned_black_and_white_picture(qapp, arabic_receipt,
                                                                    paper, screenshots):
    image = render_receipt_image(arabic_receipt, paper.dots)
    assert image.mode == "1" and image.width == paper.dots
    assert image.height > 600
    histogram = image.convert("L").histogram()
    assert 0.03 < histogram[0] / (image.width * image.height) < 0.4   # printed, not blank
    assert sum(histogram[1:255]) == 0                                 # nothing to dither

    # Right-aligned: the labels of most lines end at the right margin.
    layout = rtl_image._Layout(paper.dots)
    right_margin = paper.dots - layout.pad - 1
    bands = [band for band in ink_rows(image) if band[1] - band[0] > 6]
    flush_right = [band for band in bands if right_margin - band[2] <= 4]
    assert len(bands) > 12
    assert len(flush_right) >= 0.7 * len(bands), (len(flush_right), len(bands))
    image.save(screenshots / f"receipt_arabic_{paper.name.replace(' ', '')}.png")


def test_arabic_letters_are_joined_by_qt(qapp):
    """Shaped text is narrower than its letters drawn one by one (isolated forms)."""
    font = QFont()
    font.setFamilies([family for family in rtl_image.receipt_font_families()
                      if "Arabic" in family])
    font.setPixelSize(28)
    metrics = QFontMetricsF(font)
    word = "الإجمالي"
    assert "Noto Naskh Arabic" in rtl_image.receipt_font_families()
    assert metrics.horizontalAdvance(word) < 0.9 * sum(metrics.horizontalAdvance(c)
                                                       for c in word)


def test_an_arabic_receipt_prints_as_raster_commands(qapp, arabic_receipt):
    printer = Dummy()
    print_receipt(printer, arabic_receipt, 48, render_image=render_receipt_image)
    output = printer.output
    assert RASTER in output
    # GS v 0 m xL xH yL yH: 576 dots = 72 bytes a row.
    header = output[output.index(RASTER) + len(RASTER):][:5]
    assert header[1] + 256 * header[2] == PAPER_80MM.dots // 8
    # The picture, then the invoice number's QR code, then the cut.
    assert output.index(RASTER) < output.index(NATIVE_QR) < output.rindex(CUT)
    assert INVOICE_NUMBER.encode() in output
    assert "الإجمالي".encode() not in output   # the text went as a picture


def test_receipts_print_off_the_gui_thread(qtbot, arabic_receipt, monkeypatch):
    threads = []
    real = rtl_image.render_receipt_qimage

    def spy(*args):
        threads.append(threading.current_thread())
        return real(*args)

    monkeypatch.setattr(rtl_image, "render_receipt_qimage", spy)
    dummy = Dummy()
    printer = ReceiptPrinter(lambda: ReceiptPrinterSettings(
        connection=Connection.DEVICE, device_path="/dev/usb/lp0", paper_mm=58),
        opener=lambda config: dummy)
    with qtbot.waitSignal(printer.sig_printed, timeout=10_000) as printed:
        printer.print_receipt(arabic_receipt)
    assert printed.args[0] is arabic_receipt
    assert threads[0] is not threading.main_thread()
    header = dummy.output[dummy.output.index(RASTER) + len(RASTER):][:5]
    assert header[1] + 256 * header[2] == PAPER_58MM.dots // 8


def test_receipts_asked_for_together_print_one_after_the_other(qtbot):
    """Two quick payments: the second receipt waits for the printer, none is lost."""
    opened, open_now = [], []
    dummies = []

    def opener(config):
        open_now.append(1)
        assert len(open_now) == 1, "the printer was opened twice at once"
        dummy = Dummy()
        closed = []

        def close() -> None:   # escpos also closes on garbage collection: count once
            if not closed:
                closed.append(True)
                open_now.pop()

        dummy.close = close   # type: ignore[method-assign]
        dummies.append(dummy)
        opened.append(config)
        return dummy

    printer = ReceiptPrinter(lambda: ReceiptPrinterSettings(
        connection=Connection.DEVICE, device_path="/dev/usb/lp0"), opener=opener)
    first = sample_invoice(number="INV-2026-000101")
    second = sample_invoice(number="INV-2026-000102")
    printed = []
    printer.sig_printed.connect(printed.append)
    printer.print_receipt(first)
    printer.print_receipt(second)
    assert printer.pending == 2
    qtbot.waitUntil(lambda: len(printed) == 2, timeout=10_000)
    assert printed == [first, second] and printer.pending == 0
    assert b"INV-2026-000101" in dummies[0].output and b"INV-2026-000102" in dummies[1].output


def test_a_receipt_that_cannot_print_says_why(qtbot):
    def absent(config):
        raise PrinterUnavailable("The receipt was not printed: the printer at /dev/usb/lp0 "
                                 "is not available. The payment is recorded.")

    printer = ReceiptPrinter(lambda: ReceiptPrinterSettings(
        connection=Connection.DEVICE, device_path="/dev/usb/lp0"), opener=absent)
    data = sample_invoice()
    with qtbot.waitSignal(printer.sig_failed, timeout=5000) as failed:
        printer.print_receipt(data)
    assert "/dev/usb/lp0" in failed.args[0] and "payment is recorded" in failed.args[0]
    assert failed.args[1] is data

    unset = ReceiptPrinter(lambda: ReceiptPrinterSettings(connection=Connection.USB))
    with qtbot.waitSignal(unset.sig_failed, timeout=5000) as failed:
        unset.print_receipt(sample_invoice())
    assert "no receipt printer is set up" in failed.args[0]


# --- settings form ---------------------------------------------------------------------
@pytest.fixture
def store(tmp_path):
    return QSettings(str(tmp_path / "cashdesk.ini"), QSettings.Format.IniFormat)


def test_settings_are_kept_in_qsettings(qtbot, store, tmp_path):
    form = ReceiptPrinterForm(store, platform="linux")
    qtbot.addWidget(form)
    assert [form.connection.itemData(i) for i in range(form.connection.count())] == \
        ["usb", "device"]
    form.vendor_id.setText("04b8")
    form.product_id.setText("0E15")
    form.paper_58.setChecked(True)
    form.auto_print.setChecked(True)
    form.print_qr.setChecked(False)
    with qtbot.waitSignal(form.sig_saved):
        form.save_button.click()

    again = QSettings(str(tmp_path / "cashdesk.ini"), QSettings.Format.IniFormat)
    loaded = ReceiptPrinterSettings.load(again)
    assert loaded == ReceiptPrinterSettings(connection=Connection.USB, usb_vendor_id="04b8",
                                            usb_product_id="0E15", paper_mm=58,
                                            auto_print=True, print_qr=False)
    config = loaded.printer_config()
    assert (config.usb_vendor_id, config.usb_product_id) == (0x04B8, 0x0E15)
    assert config.paper is PAPER_58MM and config.device_path is None

    reopened = ReceiptPrinterForm(again, platform="linux")
    qtbot.addWidget(reopened)
    assert reopened.current_settings() == loaded
    assert not reopened.native_qr.isEnabled()   # no QR, so how it is drawn is moot


def test_an_incomplete_printer_is_not_saved(qtbot, store):
    form = ReceiptPrinterForm(store, platform="linux")
    qtbot.addWidget(form)
    form.connection.setCurrentIndex(form.connection.findData("device"))
    assert form.device_path.isVisibleTo(form) and not form.vendor_id.isVisibleTo(form)
    assert form.save() is None
    assert "device file" in form.status.text()
    assert ReceiptPrinterSettings.load(store) == ReceiptPrinterSettings()
    windows = ReceiptPrinterForm(store, platform="win32")
    qtbot.addWidget(windows)
    assert windows.connection.currentData() == "windows"


@pytest.mark.parametrize("connection", ["usb", "device"])
def test_test_print_with_an_absent_printer_says_so(qtbot, store, monkeypatch, connection,
                                                   screenshots):
    """The real `open_printer`: no such USB device (or no libusb), no such device file."""
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(
        lambda *args: shown.append(args) or QMessageBox.StandardButton.Ok))
    form = ReceiptPrinterForm(store, platform="linux")
    qtbot.addWidget(form)
    form.connection.setCurrentIndex(form.connection.findData(connection))
    form.vendor_id.setText("04b8")
    form.product_id.setText("0e15")
    form.device_path.setText("/dev/usb/no-such-lp9")
    with qtbot.waitSignal(form.sig_test_failed, timeout=10_000) as failed:
        form.test_button.click()
    message = failed.args[0]
    assert shown and shown[0][0] is form and shown[0][2] == message
    assert message.startswith("No test receipt was printed:")
    where = "the USB printer 04b8:0e15" if connection == "usb" else \
        "the printer at /dev/usb/no-such-lp9"
    assert where in message
    assert "switched on and plugged in" in message
    assert "payment" not in message     # a test print has no payment to reassure about
    assert form.test_button.isEnabled()
    form.resize(640, 420)
    form.grab().save(str(screenshots / f"receipt_printer_settings_{connection}.png"))


def test_test_print_prints_a_training_sample_with_its_qr(qtbot, store, monkeypatch):
    dummy = Dummy()
    form = ReceiptPrinterForm(store, platform="linux", opener=lambda config: dummy,
                              receipt_language="en")
    qtbot.addWidget(form)
    form.connection.setCurrentIndex(form.connection.findData("device"))
    form.device_path.setText("/dev/usb/lp0")
    with qtbot.waitSignal(form.sig_test_printed, timeout=10_000):
        form.test_button.click()
    assert b"Receipt printer test" in dummy.output
    assert b"TRAINING" in dummy.output           # can never pass for a real receipt
    assert NATIVE_QR in dummy.output and b"TEST-0001" in dummy.output
    assert "printed" in form.status.text()
    assert INVOICE_NUMBER not in dummy.output.decode("latin-1")
