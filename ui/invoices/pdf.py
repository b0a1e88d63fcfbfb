"""Rendering, printing and saving a PDF's pages with QtPdf, from any thread.

QtPdf serialises every PDFium call behind one process-wide mutex (`QPdfMutexLocker`
in qpdfdocument.cpp), and loading from a random-access device such as a `QBuffer`
completes synchronously. So each function here opens its *own* `QPdfDocument` from
the bytes, in the calling thread, and drops it there: no document crosses threads,
and no worker needs an event loop. Qt allows a `QPainter` on a `QImage` or a
`QPrinter` in a worker thread ("Painting in threads", Qt's thread-support notes), so
printing runs off the GUI thread too; only the print *dialog* must be on it.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrinter

#: Pages are rasterised for a printer at its own resolution, but never finer than this:
#: 300 dpi is print quality for text and rules, and an A4 page at 1200 dpi would be a
#: 550 MB image.
MAX_PRINT_DPI = 300


class PdfError(Exception):
    """The bytes are not a PDF QtPdf can open, or the printer refused the job."""


class _OpenPdf:
    """A `QPdfDocument` over in-memory bytes, for the life of a `with` block."""

    def __init__(self, pdf: bytes) -> None:
        self._buffer = QBuffer()
        self._buffer.setData(QByteArray(pdf))
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document = QPdfDocument()
        self.document.load(self._buffer)
        if self.document.status() != QPdfDocument.Status.Ready or \
                self.document.pageCount() < 1:
            error = self.document.error()
            self.close()
            raise PdfError(f"not a readable PDF ({error.name})")

    def close(self) -> None:
        self.document.close()
        self._buffer.close()

    def __enter__(self) -> QPdfDocument:
        return self.document

    def __exit__(self, *exc: object) -> None:
        self.close()


def page_count(pdf: bytes) -> int:
    with _OpenPdf(pdf) as document:
        return document.pageCount()


def render_page(pdf: bytes, page: int, width: int) -> QImage:
    """Page `page` (from 0) as an opaque image `width` pixels wide, on white."""
    with _OpenPdf(pdf) as document:
        return _render(document, page, _scaled(document.pagePointSize(page), width=width))


def _scaled(points: QSizeF, *, width: int | None = None, dpi: float | None = None) -> QSize:
    if dpi is not None:
        factor = dpi / 72.0
    else:
        assert width is not None
        factor = width / max(points.width(), 1.0)
    return QSize(max(1, round(points.width() * factor)), max(1, round(points.height() * factor)))


def _render(document: QPdfDocument, page: int, size: QSize) -> QImage:
    image = document.render(page, size, format=QImage.Format.Format_RGB32,
                            fillColor=QColor(Qt.GlobalColor.white))
    if image.isNull():
        raise PdfError(f"page {page + 1} could not be rendered")
    return image


@dataclass(frozen=True, slots=True)
class PrintOutcome:
    pages: int              # pages sent (per copy)
    copied_pdf: bool        # a PDF file was asked for: the invoice itself was written


def pages_to_print(printer: QPrinter, count: int) -> list[int]:
    """The pages (from 0) the print dialog's range selects, all of them by default."""
    ranges = printer.pageRanges()
    if ranges.isEmpty():
        return list(range(count))
    return [page for page in range(count) if ranges.contains(page + 1)]


def print_pdf(pdf: bytes, printer: QPrinter) -> PrintOutcome:
    """Print `pdf` on `printer`, configured by a print dialog. Blocking: run off the GUI
    thread, and leave `printer` alone until it returns.

    Pages are rendered by QtPdf at the printer's resolution (at most `MAX_PRINT_DPI`)
    and placed at actual size on the paper (shrunk only if the paper is smaller).
    Printing the whole invoice to a PDF *file* writes the invoice's own bytes instead:
    a copy that keeps its text searchable, rather than a picture of it.
    """
    with _OpenPdf(pdf) as document:
        pages = pages_to_print(printer, document.pageCount())
        if not pages:
            raise PdfError("the chosen page range has no pages of this invoice")
        to_file = printer.outputFormat() == QPrinter.OutputFormat.PdfFormat
        if to_file and printer.outputFileName() and len(pages) == document.pageCount():
            write_atomically(Path(printer.outputFileName()), pdf)
            return PrintOutcome(pages=len(pages), copied_pdf=True)
        copies = 1 if printer.supportsMultipleCopies() else max(1, printer.copyCount())
        _paint_pages(document, printer, pages, copies)
        return PrintOutcome(pages=len(pages), copied_pdf=False)


def _paint_pages(document: QPdfDocument, printer: QPrinter, pages: list[int],
                 copies: int) -> None:
    resolution = printer.resolution()
    dpi = min(resolution, MAX_PRINT_DPI)
    layout = printer.pageLayout()
    paper = QRectF(layout.fullRectPixels(resolution))
    if not printer.fullPage():
        # The painter's origin is the printable area's corner: place pages on the paper.
        paper.translate(-QRectF(layout.paintRectPixels(resolution)).topLeft())
    painter = QPainter()
    if not painter.begin(printer):
        raise PdfError("the printer did not accept the job")
    try:
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        first = True
        for _ in range(copies):
            for page in pages:
                if not first and not printer.newPage():
                    raise PdfError("the printer refused a new page")
                first = False
                points = document.pagePointSize(page)
                image = _render(document, page, _scaled(points, dpi=dpi))
                painter.drawImage(_actual_size(points, resolution, paper), image)
    finally:
        painter.end()


def _actual_size(points: QSizeF, resolution: int, paper: QRectF) -> QRectF:
    """Where a page of `points` goes on `paper` (device pixels): its real size from the
    top left corner, or scaled down to fit, centred, when the paper is smaller."""
    width = points.width() * resolution / 72.0
    height = points.height() * resolution / 72.0
    scale = min(1.0, paper.width() / width, paper.height() / height)
    width, height = width * scale, height * scale
    left = paper.left() + (paper.width() - width) / 2 if scale < 1.0 else paper.left()
    top = paper.top() + (paper.height() - height) / 2 if scale < 1.0 else paper.top()
    return QRectF(left, top, width, height)


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder, so a full
    disk or a crash never leaves half an invoice under the chosen name. Blocking."""
    path = Path(path)
    try:
        mode = path.stat().st_mode & 0o777   # replacing a file: keep who may read it
    except OSError:
        mode = 0o644                         # mkstemp's 0600 would hide it from others
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part",
                                     dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
