"""Right-to-left receipts (Arabic, Urdu) drawn by Qt as a black-and-white picture.

Thermal printers have no Arabic shaping, so `cashdesk.receipts.print_receipt` prints
these receipts as a picture and asks the desktop to draw it: pass
`render_receipt_image` as its `render_image`. Qt's text engine (HarfBuzz) joins the
letters and orders mixed Arabic/Latin text; lines are right-aligned, label on the
right and amount on the left, as an Arabic receipt reads.

Safe on a worker thread (Qt supports QPainter on a QImage there), which is where
receipts print; a `QGuiApplication` must exist.
"""

from __future__ import annotations

import sys
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QGuiApplication,
    QImage,
    QPainter,
    QTextCharFormat,
    QTextLayout,
    QTextOption,
)

from cashdesk.invoices.data import InvoiceData
from cashdesk.invoices.formatting import Formatter
from cashdesk.invoices.labels import labels_for

#: Grey levels darker than this print black. Text is drawn antialiased then cut here,
#: so strokes stay smooth but no grey pixel is left for the printer to dither.
INK_THRESHOLD = 150

_FONT_FILES = ("NotoNaskhArabic-Regular.ttf", "NotoNaskhArabic-Bold.ttf",
               "NotoSans-Regular.ttf", "NotoSans-Bold.ttf")
_fonts_lock = threading.Lock()
_families: list[str] | None = None


def fonts_dir() -> Path:
    """`resources/fonts` of the source tree or of the PyInstaller bundle (the same
    place `cashdesk.invoices.text` reads, without importing reportlab here)."""
    bundle = getattr(sys, "_MEIPASS", None)
    root = Path(bundle) if bundle else Path(__file__).resolve().parents[2]
    return root / "resources" / "fonts"


def receipt_font_families() -> list[str]:
    """The bundled families (Noto Naskh Arabic, Noto Sans), registered with Qt once
    per process."""
    global _families
    with _fonts_lock:
        if _families is None:
            found: list[str] = []
            for name in _FONT_FILES:
                font_id = QFontDatabase.addApplicationFont(str(fonts_dir() / name))
                for family in QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 \
                        else []:
                    if family not in found:
                        found.append(family)
            _families = found or ["Noto Naskh Arabic", "Noto Sans"]
        return list(_families)


# Arabic, Arabic Supplement, Extended-A, Presentation Forms A and B.
_ARABIC = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF),
           (0xFE70, 0xFEFF))
#: Naskh's letters are small beside Noto Sans at the same size (as in the PDF invoice).
ARABIC_SCALE = 1.15


def _is_arabic(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _ARABIC)


def _direction(text: str) -> Qt.LayoutDirection:
    """The paragraph direction of `text` from its first strong character (Unicode's
    rule P2), right to left when it has none: a line of digits reads in the receipt's
    direction."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return Qt.LayoutDirection.LeftToRight
        if kind in ("R", "AL"):
            return Qt.LayoutDirection.RightToLeft
    return Qt.LayoutDirection.RightToLeft


def _ltr(text: str) -> str:
    """`text` as a left-to-right isolate, placed as one block in a right-to-left line."""
    return f"\u2066{text}\u2069"


def _arabic_runs(text: str) -> list[tuple[int, int]]:
    """(start, length) of the Arabic runs of `text`, spaces between Arabic words
    included, so a phrase keeps one font size."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    last = -1
    for index, char in enumerate(text):
        if _is_arabic(char):
            if start is None:
                start = index
            last = index
        elif start is not None and not char.isspace():
            runs.append((start, last - start + 1))
            start = None
    if start is not None:
        runs.append((start, last - start + 1))
    return runs


@dataclass(frozen=True, slots=True)
class _Style:
    latin: QFont       # Noto Sans first: Latin letters, digits and punctuation
    arabic: QFont      # Noto Naskh Arabic first, a little larger


class _Layout:
    """Measures then draws: `_draw` runs twice, first without a painter for the height.

    Text is laid out with `QTextLayout` (HarfBuzz shaping, Unicode bidi), the Arabic
    runs in Naskh and the rest in Noto Sans; labels sit on the right and amounts on
    the left, whatever each string's own direction.
    """

    def __init__(self, dots: int) -> None:
        self.dots = dots
        self.pad = max(6, dots // 48)
        self.width = dots - 2 * self.pad
        self.gap = max(8, dots // 32)
        self.y = float(self.pad)
        self.painter: QPainter | None = None
        body_px = 24 if dots < 500 else 26
        self.body = self._style(body_px, bold=False)
        self.bold = self._style(body_px, bold=True)
        self.large = self._style(round(body_px * 1.35), bold=True)
        self.total = self._style(round(body_px * 1.2), bold=True)

    @staticmethod
    def _style(pixels: int, *, bold: bool) -> _Style:
        families = receipt_font_families()
        latin, arabic = QFont(), QFont()
        latin.setFamilies(sorted(families, key=lambda f: "Arabic" in f))
        arabic.setFamilies(sorted(families, key=lambda f: "Arabic" not in f))
        latin.setPixelSize(pixels)
        arabic.setPixelSize(round(pixels * ARABIC_SCALE))
        for font in (latin, arabic):
            font.setBold(bold)
            font.setHintingPreference(QFont.HintingPreference.PreferFullHinting)
        return _Style(latin, arabic)

    @staticmethod
    def _text_layout(text: str, style: _Style, width: float, align: Qt.AlignmentFlag,
                     direction: Qt.LayoutDirection | None = None
                     ) -> tuple[QTextLayout, float, float]:
        """`text` laid out in `width`: the layout, its height and its widest line.
        The paragraph direction is `direction`, or found from the text."""
        layout = QTextLayout(text, style.latin)
        option = QTextOption(align | Qt.AlignmentFlag.AlignAbsolute)
        option.setTextDirection(direction if direction is not None else _direction(text))
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        formats = []
        for start, length in _arabic_runs(text):
            char_format = QTextCharFormat()
            char_format.setFont(style.arabic)
            run = QTextLayout.FormatRange()
            run.start = start
            run.length = length
            run.format = char_format
            formats.append(run)
        layout.setFormats(formats)
        layout.beginLayout()
        height = widest = 0.0
        while True:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(width)
            line.setPosition(QPointF(0, height))
            height += line.height()
            widest = max(widest, line.naturalTextWidth())
        layout.endLayout()
        return layout, max(height, QFontMetricsF(style.latin).height()), widest

    def _put(self, layout: QTextLayout, x: float) -> None:
        if self.painter is not None:
            layout.draw(self.painter, QPointF(x, self.y))

    def natural_width(self, text: str, style: _Style) -> float:
        return self._text_layout(text, style, 100_000, Qt.AlignmentFlag.AlignLeft)[2]

    def centred(self, text: str, style: _Style | None = None) -> None:
        layout, height, _ = self._text_layout(text, style or self.body, self.width,
                                              Qt.AlignmentFlag.AlignHCenter)
        self._put(layout, self.pad)
        self.y += height

    def banner(self, text: str) -> None:
        """White on black, full width: the training warning."""
        inner = self.width - 2 * self.gap
        layout, height, _ = self._text_layout(text, self.bold, inner,
                                              Qt.AlignmentFlag.AlignHCenter)
        box = height + self.gap
        if self.painter is not None:
            self.painter.fillRect(QRectF(self.pad, self.y, self.width, box),
                                  Qt.GlobalColor.black)
            self.painter.setPen(Qt.GlobalColor.white)
            layout.draw(self.painter, QPointF(self.pad + self.gap, self.y + self.gap / 2))
            self.painter.setPen(Qt.GlobalColor.black)
        self.y += box + self.gap / 2

    def pair(self, label: str, value: str, style: _Style | None = None) -> None:
        """`label` against the right edge (wrapped if long), `value` against the left.

        Labels are laid out right to left whatever their script, so a call line reads
        time, then number, from the right in Arabic and Urdu alike."""
        style = style or self.body
        value_width = min(self.natural_width(value, style) + 1, self.width * 0.55)
        label_width = self.width - value_width - self.gap
        label_layout, label_height, _ = self._text_layout(
            label, style, label_width, Qt.AlignmentFlag.AlignRight,
            Qt.LayoutDirection.RightToLeft)
        value_layout, value_height, _ = self._text_layout(value, style, value_width,
                                                          Qt.AlignmentFlag.AlignLeft)
        # Same baseline for both first lines: Naskh's line is taller than Noto Sans'.
        label_ascent = label_layout.lineAt(0).ascent()
        value_ascent = value_layout.lineAt(0).ascent()
        baseline = max(label_ascent, value_ascent)
        top = self.y
        self.y = top + baseline - label_ascent
        self._put(label_layout, self.pad + value_width + self.gap)
        self.y = top + baseline - value_ascent
        self._put(value_layout, self.pad)
        self.y = top + max(label_height + baseline - label_ascent,
                           value_height + baseline - value_ascent)

    def rule(self) -> None:
        self.y += self.gap / 2
        if self.painter is not None:
            self.painter.fillRect(QRectF(self.pad, self.y, self.width, 2),
                                  Qt.GlobalColor.black)
        self.y += 2 + self.gap / 2

    def space(self, amount: float | None = None) -> None:
        self.y += self.gap / 2 if amount is None else amount


def _draw(data: InvoiceData, layout: _Layout) -> None:
    labels = labels_for(data.language)
    fmt = Formatter(data.locale)
    if data.training:
        layout.banner(labels["training"])
    layout.centred(data.shop.name, layout.large)
    for line in data.shop.address.splitlines():
        if line.strip():
            layout.centred(line)
    if data.shop.tax_id:
        layout.centred(f"{labels['tax_id']}: {data.shop.tax_id}")
    layout.rule()
    if data.number:
        layout.pair(labels["number"], data.number, layout.bold)
    else:
        layout.centred(labels["receipt"], layout.bold)
    layout.pair(labels["date"], fmt.date_time(data.issued_at))
    layout.pair(labels["cabin"], data.cabin)
    layout.pair(labels["operator"], data.operator)
    layout.rule()
    # No rate per minute here (the text receipt has it on 80 mm): a third line per call
    # in two scripts made the picture hard to read; the invoice lists the rates.
    for index, call in enumerate(data.calls):
        if index:
            layout.space(layout.gap / 3)
        # Each field isolated left to right (LRI … PDI): "10:00 AM" beside a number
        # would otherwise merge into one run and come out as "AM 0033… 10:00".
        layout.pair(f"{_ltr(fmt.time(call.started_at))}  {_ltr(call.number)}",
                    fmt.duration(call.duration_seconds))
        layout.pair(call.destination, fmt.money(call.price))
    layout.rule()
    totals = data.totals
    if totals.rate:
        layout.pair(labels["net"], fmt.money(totals.net))
        layout.pair(labels["vat"].format(rate=fmt.percent(totals.rate)), fmt.money(totals.vat))
    layout.pair(labels["total"], fmt.money(totals.gross), layout.total)
    layout.pair(labels["received"], fmt.money(data.received))
    layout.pair(labels["change"], fmt.money(data.change))
    if data.footer.strip():
        layout.rule()
        for line in data.footer.splitlines():
            if line.strip():
                layout.centred(line)
    layout.space(layout.pad)


def render_receipt_qimage(data: InvoiceData, dots: int) -> QImage:
    """The receipt as an 8-bit grey `QImage`, `dots` wide, black on white."""
    if QGuiApplication.instance() is None:
        raise RuntimeError("drawing a receipt needs a QGuiApplication (fonts)")
    measure = _Layout(dots)
    _draw(data, measure)
    image = QImage(dots, max(1, round(measure.y)), QImage.Format.Format_Grayscale8)
    image.fill(Qt.GlobalColor.white)
    layout = _Layout(dots)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.setPen(Qt.GlobalColor.black)
        layout.painter = painter
        _draw(data, layout)
    finally:
        painter.end()
    return image


def to_pil(image: QImage, threshold: int | None = INK_THRESHOLD) -> Image.Image:
    """A grey `QImage` as a PIL image: pure black and white (mode "1") at `threshold`,
    or the grey levels ("L") with `threshold=None`."""
    grey = image.convertToFormat(QImage.Format.Format_Grayscale8)
    raw = bytes(grey.constBits())   # rows padded to bytesPerLine
    picture = Image.frombuffer("L", (grey.width(), grey.height()), raw, "raw", "L",
                               grey.bytesPerLine(), 1).copy()
    if threshold is None:
        return picture
    lut: Callable[[int], int] = lambda level: 0 if level < threshold else 255
    return picture.point(lut, mode="1")


def render_receipt_image(data: InvoiceData, dots: int) -> Image.Image:
    """`cashdesk.receipts.ReceiptImageRenderer`: the receipt of `data` as a
    black-and-white PIL image exactly `dots` wide (384 for 58 mm, 576 for 80 mm)."""
    return to_pil(render_receipt_qimage(data, dots))
