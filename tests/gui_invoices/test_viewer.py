"""The full-screen invoice viewer: printing (to a PDF file and rasterised page by
page), Save As, zoom, keyboard, and that the slow parts leave the GUI thread."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QColor, QImage, QKeySequence, QPageRanges
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

from tests.gui_invoices.conftest import INVOICE_NUMBER
from ui.invoices import InvoiceViewer
from ui.invoices import pdf as pdf_module
from ui.invoices import viewer as viewer_module
from ui.invoices.viewer import open_invoice

pytestmark = pytest.mark.gui
TITLE = f"Invoice {INVOICE_NUMBER}"
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(page.extract_text() for page in reader.pages).translate(_SPACES)


def pdf_printer(path: Path) -> QPrinter:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    return printer


@pytest.fixture
def viewer(qtbot, invoice_pdf):
    dialog = InvoiceViewer(invoice_pdf, TITLE)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    qtbot.addWidget(dialog)
    dialog.resize(1280, 860)
    dialog.show()
    return dialog


def test_printing_to_a_pdf_file_keeps_the_invoice_text(qtbot, viewer, tmp_path):
    target = tmp_path / "printed.pdf"
    with qtbot.waitSignal(viewer.sig_printed, timeout=10_000) as printed:
        viewer.print_to(pdf_printer(target))
    assert printed.args[0].copied_pdf and printed.args[0].pages == 1
    text = pdf_text(target.read_bytes())
    for expected in (INVOICE_NUMBER, "Taxiphone de la Gare", "€11.00", "€9.17", "€1.83",
                     "€20.00", "€9.00"):
        assert expected in text, expected
    assert not viewer.busy and viewer.print_button.isEnabled()


def test_pages_are_rasterised_for_a_printer_off_the_gui_thread(qtbot, tmp_path, monkeypatch,
                                                              long_invoice_pdf):
    """A printer that is not a whole-document PDF file gets each page rendered by QtPdf
    at its resolution. Print page 2 of a two-page invoice to a PDF file (a page range,
    so the rasterising path runs), then compare the printout with QtPdf's rendering."""
    threads = []
    real_paint = pdf_module._paint_pages

    def paint_pages(*args):
        threads.append(threading.current_thread())
        return real_paint(*args)

    monkeypatch.setattr(pdf_module, "_paint_pages", paint_pages)
    viewer = InvoiceViewer(long_invoice_pdf, TITLE)
    qtbot.addWidget(viewer)
    assert viewer.document.pageCount() == 2
    target = tmp_path / "raster.pdf"
    printer = pdf_printer(target)
    printer.setPageRanges(QPageRanges.fromString("2"))
    with qtbot.waitSignal(viewer.sig_printed, timeout=15_000) as printed:
        viewer.print_to(printer)
    assert printed.args[0] == pdf_module.PrintOutcome(pages=1, copied_pdf=False)
    assert threads and threads[0] is not threading.main_thread()

    printed_pdf = target.read_bytes()
    reader = PdfReader(io.BytesIO(printed_pdf))
    assert len(reader.pages) == 1
    images = list(reader.pages[0].images)
    assert len(images) == 1                                       # one picture per page
    assert images[0].image.width == round(595.2756 * pdf_module.MAX_PRINT_DPI / 72)
    # The same page, at the same place and size: page 2 re-rendered from the printout
    # matches page 2 of the invoice, and does not match page 1.
    page_two = pdf_module.render_page(long_invoice_pdf, 1, 400)
    copy = pdf_module.render_page(printed_pdf, 0, 400)
    assert page_two.size() == copy.size()
    assert mean_difference(page_two, copy) < 3.0                 # grey levels out of 255
    assert mean_difference(pdf_module.render_page(long_invoice_pdf, 0, 400), copy) > 10.0


def mean_difference(first: QImage, second: QImage) -> float:
    a = first.convertToFormat(QImage.Format.Format_Grayscale8)
    b = second.convertToFormat(QImage.Format.Format_Grayscale8)
    total = count = 0
    for y in range(0, a.height(), 2):
        for x in range(0, a.width(), 2):
            total += abs(QColor(a.pixel(x, y)).value() - QColor(b.pixel(x, y)).value())
            count += 1
    return total / count


def test_the_print_button_goes_through_the_system_print_dialog(qtbot, viewer, tmp_path,
                                                              monkeypatch):
    target = tmp_path / "from-dialog.pdf"
    seen = {}

    class FakePrintDialog:
        def __init__(self, printer, parent):
            seen["printer"], seen["parent"] = printer, parent

        def setWindowTitle(self, title):
            seen["title"] = title

        def setMinMax(self, low, high):
            seen["range"] = (low, high)

        def setOption(self, *args):
            pass

        def exec(self):
            # What the cashier does in the dialog: choose "Print to file (PDF)".
            seen["printer"].setOutputFormat(QPrinter.OutputFormat.PdfFormat)
            seen["printer"].setOutputFileName(str(target))
            return QDialog.DialogCode.Accepted

    monkeypatch.setattr(viewer_module, "QPrintDialog", FakePrintDialog)
    with qtbot.waitSignal(viewer.sig_printed, timeout=10_000):
        qtbot.keyClick(viewer, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert seen["parent"] is viewer and seen["range"] == (1, 1)
    assert seen["printer"] is viewer.printer()
    assert INVOICE_NUMBER in pdf_text(target.read_bytes())


def test_a_cancelled_print_dialog_prints_nothing(qtbot, viewer, monkeypatch):
    class Cancelled:
        def __init__(self, *args):
            pass

        def __getattr__(self, name):
            return lambda *args: None

        def exec(self):
            return QDialog.DialogCode.Rejected

    monkeypatch.setattr(viewer_module, "QPrintDialog", Cancelled)
    started = []
    monkeypatch.setattr(viewer, "print_to", lambda printer: started.append(printer))
    viewer.print_button.click()
    assert started == []


def test_save_as_writes_the_exact_bytes_off_the_gui_thread(qtbot, viewer, tmp_path,
                                                           monkeypatch, invoice_pdf):
    asked = {}

    def get_save_file_name(parent, caption, directory, file_filter):
        asked.update(parent=parent, directory=directory, filter=file_filter)
        return str(tmp_path / "facture 42"), file_filter   # no suffix typed

    threads = []
    real_write = viewer_module.write_atomically

    def write(path, data):
        threads.append(threading.current_thread())
        real_write(path, data)

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(get_save_file_name))
    monkeypatch.setattr(viewer_module, "write_atomically", write)
    with qtbot.waitSignal(viewer.sig_saved, timeout=5000) as saved:
        qtbot.keyClick(viewer, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    path = Path(saved.args[0])
    assert path == tmp_path / "facture 42.pdf"
    assert path.read_bytes() == invoice_pdf
    assert threads[0] is not threading.main_thread()
    assert asked["parent"] is viewer
    assert asked["directory"].endswith(f"{TITLE}.pdf")
    assert "*.pdf" in asked["filter"]
    assert list(tmp_path.iterdir()) == [path]   # no temporary file left behind
    # The next Save As starts in the same folder.
    assert Path(viewer.suggested_path()).parent == tmp_path


def test_a_failed_save_is_told_to_the_cashier(qtbot, viewer, tmp_path, monkeypatch):
    missing = tmp_path / "no such folder" / "invoice.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args: (str(missing), "")))
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning",
                        staticmethod(lambda *args: warnings.append(args)))
    with qtbot.waitSignal(viewer.sig_failed, timeout=5000) as failed:
        viewer.save_button.click()
    assert "not saved" in failed.args[0]
    assert warnings and warnings[0][0] is viewer and "not saved" in warnings[0][2]
    assert not missing.exists() and viewer.save_button.isEnabled()


def test_zoom_and_keyboard(qtbot, viewer, screenshots):
    # Opens on the whole page, which fits: nothing to scroll.
    assert viewer.fit == "page" and not viewer.fit_page_button.isEnabled()
    qtbot.waitUntil(lambda: viewer.view.verticalScrollBar().maximum() == 0)
    fitted = viewer.zoom_percent()
    assert 40 < fitted < 100
    qtbot.keyClick(viewer, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert viewer.fit is None
    assert viewer.zoom_percent() == pytest.approx(fitted * 1.25, abs=2)
    assert viewer.view.verticalScrollBar().maximum() > 0
    viewer.zoom_out_button.click()
    viewer.zoom_out_button.click()
    assert viewer.zoom_percent() == pytest.approx(fitted / 1.25, abs=2)
    for _ in range(20):
        viewer.zoom_out()
    assert viewer.zoom_percent() == 25 and not viewer.zoom_out_button.isEnabled()
    # A button's shortcut "animates" a click: it lands some 100 ms later.
    qtbot.keyClick(viewer, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: viewer.fit == "width")
    assert viewer.view.zoomMode() == QPdfView.ZoomMode.FitToWidth
    assert viewer.zoom_percent() > fitted
    viewer.fit_page_button.click()
    assert viewer.fit == "page" and viewer.zoom_percent() == fitted
    viewer.resize(1000, 700)   # the whole page stays whole when the window changes
    qtbot.waitUntil(lambda: viewer.zoom_percent() < fitted)
    assert viewer.view.verticalScrollBar().maximum() == 0
    viewer.resize(1280, 860)
    qtbot.waitUntil(lambda: viewer.zoom_percent() == fitted)

    # Every button can be reached with Tab and has a name for screen readers.
    for button in (viewer.save_button, viewer.print_button, viewer.close_button,
                   viewer.zoom_in_button, viewer.zoom_out_button, viewer.fit_width_button):
        assert button.focusPolicy() & Qt.FocusPolicy.TabFocus
        assert button.accessibleName()
        assert not button.autoDefault()

    # QPdfView renders on its own thread: wait until the page is on screen.
    def page_drawn() -> bool:
        shot = viewer.view.viewport().grab().toImage()
        text = sum(shot.pixelColor(x, y).lightness() < 60
                   for y in range(0, shot.height(), 3) for x in range(0, shot.width(), 3))
        return text > 50   # black text on the page, not the blank page placeholder

    qtbot.waitUntil(page_drawn, timeout=5000)
    viewer.grab().save(str(screenshots / "invoice_viewer.png"))
    with qtbot.waitSignal(viewer.rejected):
        qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    assert not viewer.isVisible()


def test_a_language_change_keeps_texts_and_shortcuts(qtbot, viewer, tmp_path, monkeypatch):
    QCoreApplication.sendEvent(viewer, QEvent(QEvent.Type.LanguageChange))
    assert viewer.print_button.text() and viewer.save_button.text()
    # setText() drops a button's shortcut; the viewer sets it again.
    assert viewer.print_button.shortcut() == QKeySequence(QKeySequence.StandardKey.Print)
    assert viewer.save_button.shortcut() == QKeySequence(QKeySequence.StandardKey.Save)
    assert "(" in viewer.print_button.toolTip()   # the shortcut is named in the tip


def test_open_invoice_downloads_then_shows_it(qtbot, invoice_pdf, monkeypatch):
    parent = QWidget()
    qtbot.addWidget(parent)
    threads = []

    def fetch() -> bytes:
        threads.append(threading.current_thread())
        return invoice_pdf

    open_invoice(fetch, TITLE, parent)
    qtbot.waitUntil(lambda: parent.findChild(InvoiceViewer) is not None, timeout=5000)
    viewer = parent.findChild(InvoiceViewer)
    assert viewer.isFullScreen() and viewer.pdf == invoice_pdf
    assert threads[0] is not threading.main_thread()
    viewer.close()

    warnings = []
    monkeypatch.setattr(QMessageBox, "warning",
                        staticmethod(lambda *args: warnings.append(args)))

    def offline() -> bytes:
        raise ConnectionError("server unreachable")

    open_invoice(offline, TITLE, parent)
    qtbot.waitUntil(lambda: bool(warnings), timeout=5000)
    assert warnings[0][0] is parent and "server unreachable" in warnings[0][2]
