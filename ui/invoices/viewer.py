"""The invoice, full screen: read it, zoom, print it on a system printer, save it.

`InvoiceViewer(pdf, title)` owns the PDF's bytes. The page view is QtPdf's `QPdfView`,
which renders pages on its own worker thread; the document is loaded here from
memory (well under a millisecond for an invoice). Printing and saving run on the
thread pool (`ui.invoices.pdf`); the print and file dialogs, which must, run here.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QCoreApplication,
    QEvent,
    QIODevice,
    QMargins,
    QObject,
    QStandardPaths,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QGuiApplication,
    QKeySequence,
    QPalette,
)
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QAbstractPrintDialog, QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.invoices.background import run_in_background
from ui.invoices.elided import ElidedLabel
from ui.invoices.pdf import PrintOutcome, print_pdf, write_atomically

ZOOM_STEP = 1.25
ZOOM_MIN = 0.25
ZOOM_MAX = 4.0


def file_name_for(title: str) -> str:
    """A safe file name for an invoice titled `title` ("Invoice INV-2026/42" →
    "Invoice INV-2026-42.pdf")."""
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "-", title).strip(" .-") or "invoice"
    return name if name.lower().endswith(".pdf") else f"{name}.pdf"


class InvoiceViewer(QDialog):
    """A full-screen dialog showing one invoice PDF, with Print and Save As.

    Keys: Esc closes, Ctrl+P prints, Ctrl+S saves, Ctrl++ / Ctrl+- zoom, Ctrl+0 fits
    the width, Page Up / Page Down and the arrows scroll.
    """

    #: The job finished: pages printed, and whether a PDF file got the invoice itself.
    sig_printed = Signal(object)
    #: The invoice was written to this path.
    sig_saved = Signal(str)
    #: Printing or saving failed; the message was shown to the cashier.
    sig_failed = Signal(str)

    _last_directory: str | None = None   # where the last invoice was saved, per run

    def __init__(self, pdf: bytes, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pdf = bytes(pdf)
        self._title = title
        self._printer: QPrinter | None = None
        self._busy = False
        self.setWindowTitle(title)
        self.setObjectName("invoiceViewer")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        self._buffer = QBuffer(self)
        self._buffer.setData(QByteArray(self._pdf))
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document = QPdfDocument(self)
        self.document.load(self._buffer)

        self.view = QPdfView(self)
        self.view.setObjectName("invoicePages")
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setPageSpacing(24)
        self.view.setDocumentMargins(QMargins(24, 24, 24, 24))
        # The whole page at first: an invoice is usually one page, and full screen that
        # is large enough to read; zoom is a click away. QPdfView's own "fit in view"
        # leaves out the top and bottom margins (the page overflows by them, with a
        # scroll bar), so the whole-page fit is computed here (`_fit_whole_page`).
        self._whole_page = True
        # QPdfView paints around the pages with the Dark role: a neutral grey makes the
        # white page stand out, as in every PDF reader.
        palette = self.view.palette()
        palette.setColor(QPalette.ColorRole.Dark, QColor("#5f6368"))
        self.view.setPalette(palette)
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self._build()
        self.view.viewport().installEventFilter(self)
        self.view.zoomFactorChanged.connect(self._show_zoom)
        self.view.zoomModeChanged.connect(self._show_zoom)
        if self.document.status() != QPdfDocument.Status.Ready:
            self.print_button.setEnabled(False)

    # --- layout -------------------------------------------------------------------
    def _build(self) -> None:
        self._title_label = ElidedLabel(self._title, self)
        self._title_label.setObjectName("invoiceTitle")
        font = self._title_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self._title_label.setFont(font)

        self.zoom_out_button = self._button(QKeySequence.StandardKey.ZoomOut, self.zoom_out)
        self.zoom_in_button = self._button(QKeySequence.StandardKey.ZoomIn, self.zoom_in)
        # Ctrl+= as well: on most keyboards "+" needs Shift.
        extra_zoom = QAction(self)
        extra_zoom.setShortcut(QKeySequence("Ctrl+="))
        extra_zoom.triggered.connect(self.zoom_in)
        self.addAction(extra_zoom)
        self._zoom_label = QLabel(self)
        self._zoom_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("0000 %"))
        self._zoom_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.fit_width_button = self._button(QKeySequence("Ctrl+0"), self.fit_width)
        self.fit_page_button = self._button(QKeySequence("Ctrl+9"), self.fit_page)
        self.save_button = self._button(QKeySequence.StandardKey.Save, self.save_as)
        self.print_button = self._button(QKeySequence.StandardKey.Print, self.print_)
        self.close_button = self._button(None, self.reject)

        # Top: what it is and what to do with it. Bottom: how it is shown.
        top = QHBoxLayout()
        top.setContentsMargins(16, 10, 16, 10)
        top.setSpacing(8)
        top.addWidget(self._title_label, 1)
        for widget in (self.save_button, self.print_button, self.close_button):
            top.addWidget(widget)

        self._status = ElidedLabel("", self)
        self._status.setObjectName("invoiceStatus")
        bottom = QHBoxLayout()
        bottom.setContentsMargins(16, 6, 16, 6)
        bottom.setSpacing(6)
        bottom.addWidget(self._status, 1)
        for control in (self.zoom_out_button, self._zoom_label, self.zoom_in_button,
                        self.fit_width_button, self.fit_page_button):
            bottom.addWidget(control)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)
        order = [self.view, self.save_button, self.print_button, self.close_button,
                 self.zoom_out_button, self.zoom_in_button, self.fit_width_button,
                 self.fit_page_button]
        for first, second in itertools.pairwise(order):
            self.setTabOrder(first, second)
        self.retranslate()
        for button in (self.zoom_out_button, self.zoom_in_button):
            button.setFixedWidth(button.sizeHint().height() + 8)
        self.view.setFocus()

    def _button(self, key: QKeySequence | QKeySequence.StandardKey | None,
                slot: object) -> QPushButton:
        button = QPushButton(self)
        button.setAutoDefault(False)   # Enter in the page view must not print
        # Kept aside: QAbstractButton.setText() replaces the shortcut with the text's
        # mnemonic, so `retranslate` sets it again after each text.
        button.setProperty("invoiceShortcut", QKeySequence(key) if key is not None
                          else QKeySequence())
        button.clicked.connect(slot)
        return button

    def retranslate(self) -> None:
        """Every visible text, again (Qt sends LanguageChange when the language changes)."""
        self.view.setAccessibleName(self.tr("Invoice pages"))
        for button, text, tip in (
                (self.zoom_out_button, self.tr("−"), self.tr("Zoom out")),
                (self.zoom_in_button, self.tr("+"), self.tr("Zoom in")),
                (self.fit_width_button, self.tr("Fit width"),
                 self.tr("Fit the page width to the window")),
                (self.fit_page_button, self.tr("Whole page"), self.tr("Show whole pages")),
                (self.save_button, self.tr("Save as…"),
                 self.tr("Save the invoice as a PDF file")),
                (self.print_button, self.tr("Print…"), self.tr("Print the invoice")),
                (self.close_button, self.tr("Close"), self.tr("Close the invoice (Esc)"))):
            button.setText(text)
            button.setShortcut(button.property("invoiceShortcut"))
            button.setAccessibleName(tip)
            shown = button.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            button.setToolTip(f"{tip} ({shown})" if shown else tip)
        if not self._busy:
            self._status.setText(self._idle_text())
        self._show_zoom()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _idle_text(self) -> str:
        if self.document.status() != QPdfDocument.Status.Ready:
            return self.tr("This invoice cannot be shown: the file is damaged.")
        count = self.document.pageCount()
        if count == 1:
            return self.tr("1 page")
        return self.tr("%n pages", "", count)

    def present(self) -> None:
        """Show full screen and take the keyboard."""
        self.showFullScreen()
        self.raise_()
        self.activateWindow()
        self.view.setFocus()

    # --- zoom ---------------------------------------------------------------------
    def zoom_in(self) -> None:
        self._set_zoom(self._current_factor() * ZOOM_STEP)

    def zoom_out(self) -> None:
        self._set_zoom(self._current_factor() / ZOOM_STEP)

    def _set_zoom(self, factor: float) -> None:
        self._whole_page = False
        self.view.setZoomMode(QPdfView.ZoomMode.Custom)
        self.view.setZoomFactor(max(ZOOM_MIN, min(ZOOM_MAX, factor)))
        self._show_zoom()

    def _points_to_pixels(self) -> float:
        # QPdfView's scale at zoom 1: the primary screen's logical dpi over 72.
        screen = QGuiApplication.primaryScreen()
        return (screen.logicalDotsPerInch() if screen is not None else 96.0) / 72.0

    def _current_factor(self) -> float:
        """The zoom factor on screen, whatever the mode (QPdfView reports its factor
        only in Custom mode)."""
        if self.view.zoomMode() != QPdfView.ZoomMode.FitToWidth:
            return self.view.zoomFactor()
        size = self.document.pagePointSize(0)
        if size.isEmpty():
            return 1.0
        margins = self.view.documentMargins()
        width = self.view.viewport().width() - margins.left() - margins.right()
        return max(ZOOM_MIN, width / (size.width() * self._points_to_pixels()))

    def _fit_whole_page(self) -> None:
        """Zoom so the largest page fits the view, margins included."""
        widest = tallest = 0.0
        for page in range(self.document.pageCount()):
            size = self.document.pagePointSize(page)
            widest, tallest = max(widest, size.width()), max(tallest, size.height())
        if not widest or not tallest:
            return
        margins = self.view.documentMargins()
        viewport = self.view.viewport().size()
        scale = self._points_to_pixels()
        # QPdfView's document: margins, then each page followed by the page spacing
        # (qpdfview.cpp, calculateDocumentLayout). Two pixels spare for its rounding.
        width = (viewport.width() - margins.left() - margins.right() - 2) / (widest * scale)
        height = (viewport.height() - margins.top() - margins.bottom() -
                  self.view.pageSpacing() - 2) / (tallest * scale)
        self.view.setZoomMode(QPdfView.ZoomMode.Custom)
        self.view.setZoomFactor(max(ZOOM_MIN, min(ZOOM_MAX, width, height)))

    def fit_width(self) -> None:
        self._whole_page = False
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self._show_zoom()

    def fit_page(self) -> None:
        self._whole_page = True
        self._fit_whole_page()
        self._show_zoom()

    @property
    def fit(self) -> str | None:
        """"page", "width", or None for a chosen zoom."""
        if self._whole_page:
            return "page"
        return "width" if self.view.zoomMode() == QPdfView.ZoomMode.FitToWidth else None

    def zoom_percent(self) -> int:
        return round(self._current_factor() * 100)

    def _show_zoom(self, *_: object) -> None:
        self._zoom_label.setText(self.tr("%1 %").replace("%1", str(self.zoom_percent())))
        factor = self._current_factor()
        self.zoom_out_button.setEnabled(factor > ZOOM_MIN + 1e-6)
        self.zoom_in_button.setEnabled(factor < ZOOM_MAX - 1e-6)
        self.fit_width_button.setEnabled(self.fit != "width")
        self.fit_page_button.setEnabled(self.fit != "page")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The viewport changes size with the window and when scroll bars come and go.
        if watched is self.view.viewport() and event.type() == QEvent.Type.Resize:
            if self._whole_page:
                self._fit_whole_page()
            self._show_zoom()
        return super().eventFilter(watched, event)

    # --- print --------------------------------------------------------------------
    def printer(self) -> QPrinter:
        """The printer this viewer prints on; kept, so the dialog remembers choices."""
        if self._printer is None:
            self._printer = QPrinter(QPrinter.PrinterMode.HighResolution)
            self._printer.setDocName(self._title)
        return self._printer

    def print_(self) -> None:
        """Ask where to print (the system's print dialog), then print off the GUI thread."""
        if self._busy:
            return
        printer = self.printer()
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle(self.tr("Print invoice"))
        dialog.setMinMax(1, max(1, self.document.pageCount()))
        dialog.setOption(QAbstractPrintDialog.PrintDialogOption.PrintToFile, True)
        dialog.setOption(QAbstractPrintDialog.PrintDialogOption.PrintPageRange, True)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.print_to(printer)

    def print_to(self, printer: QPrinter) -> None:
        """Print on `printer` as configured, off the GUI thread; `sig_printed` when done.
        Do not touch `printer` until then."""
        if self._busy:
            return
        self._set_busy(True, self.tr("Printing…"))
        pdf = self._pdf
        run_in_background(self, lambda: print_pdf(pdf, printer), self._printed,
                          self._print_failed)

    def _printed(self, outcome: PrintOutcome) -> None:
        if outcome.copied_pdf:
            text = self.tr("The invoice was saved as a PDF file.")
        else:
            text = self.tr("The invoice was sent to the printer.")
        self._set_busy(False, text)
        self.sig_printed.emit(outcome)

    def _print_failed(self, exc: BaseException) -> None:
        message = self.tr("The invoice was not printed: %1").replace("%1", str(exc))
        self._set_busy(False, message)
        QMessageBox.warning(self, self.tr("Print invoice"), message)
        self.sig_failed.emit(message)

    # --- save ---------------------------------------------------------------------
    def suggested_path(self) -> str:
        folder = InvoiceViewer._last_directory or QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation)
        return str(Path(folder) / file_name_for(self._title))

    def save_as(self) -> None:
        """Ask for a file name, then write the invoice exactly as issued, off the GUI
        thread."""
        if self._busy:
            return
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Save invoice"),
                                              self.suggested_path(),
                                              self.tr("PDF files (*.pdf)"))
        if not path:
            return
        if not path.lower().endswith(".pdf"):
            path += ".pdf"
        InvoiceViewer._last_directory = str(Path(path).parent)
        self._set_busy(True, self.tr("Saving…"))
        pdf = self._pdf
        target = Path(path)

        def save() -> str:
            write_atomically(target, pdf)
            return str(target)

        run_in_background(self, save, self._saved, self._save_failed)

    def _saved(self, path: str) -> None:
        self._set_busy(False, self.tr("Saved as %1").replace("%1", path))
        self.sig_saved.emit(path)

    def _save_failed(self, exc: BaseException) -> None:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        message = self.tr("The invoice was not saved: %1").replace("%1", detail)
        self._set_busy(False, message)
        QMessageBox.warning(self, self.tr("Save invoice"), message)
        self.sig_failed.emit(message)

    # --- state --------------------------------------------------------------------
    def _set_busy(self, busy: bool, text: str) -> None:
        self._busy = busy
        self.print_button.setEnabled(
            not busy and self.document.status() == QPdfDocument.Status.Ready)
        self.save_button.setEnabled(not busy)
        self._status.setText(text)
        if busy:
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def pdf(self) -> bytes:
        return self._pdf


def open_invoice(fetch: Callable[[], bytes], title: str, parent: QWidget) -> None:
    """Download an invoice with `fetch()` off the GUI thread (for example
    `lambda: client.invoice_pdf(transaction_id)`), then show it full screen. A failed
    download is told to the cashier in a message box over `parent`."""

    def show(pdf: bytes) -> None:
        InvoiceViewer(pdf, title, parent).present()

    def failed(exc: BaseException) -> None:
        QMessageBox.warning(parent, QCoreApplication.translate("InvoiceViewer", "Invoice"),
                            QCoreApplication.translate(
                                "InvoiceViewer", "The invoice could not be opened: %1")
                            .replace("%1", str(exc)))

    run_in_background(parent, fetch, show, failed)
