"""The look of the cash desk: state colours, fonts, the QSS theme and painted icons.

One palette for the whole product, so a colour means the same on a tile, in the
header and in the pay dialog. Icons are drawn with QPainter (no image files to lose,
crisp at any size) and cached per size.
"""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontDatabase,
    QIcon,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
)
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QWidget

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
QSS = RESOURCES / "theme" / "cashdesk.qss"
FONTS = RESOURCES / "fonts"

# --- the palette -------------------------------------------------------------------------
INK = QColor("#1d2433")
MUTED = QColor("#5f6b7a")
LINE = QColor("#d5dbe3")
CANVAS = QColor("#eef1f5")
CARD = QColor("#ffffff")
BRAND = QColor("#1f3a5f")

#: Tile states: (band colour, text on the band).
FREE = QColor("#2e7d32")
IN_USE = QColor("#1565c0")
AWAITING = QColor("#e65100")
DISABLED = QColor("#8a94a3")
UNREACHABLE = QColor("#c62828")
STALE = QColor("#9aa3ae")
TRAINING = QColor("#7b1fa2")
PAY = QColor("#2e7d32")
WARNING = QColor("#b26a00")
ERROR = QColor("#c62828")

#: Call states → colour of their icon.
CALL_COLOURS = {
    "dialing": QColor("#6d4c41"),
    "ringing": QColor("#f9a825"),
    "answered": QColor("#2e7d32"),
    "ended": QColor("#607d8b"),
    "failed": QColor("#9e9e9e"),
    "cut": QColor("#c62828"),
}


def error_label(parent: QWidget) -> QLabel:
    """The red line a screen shows its refusals in (styled by the "Error" rule of the
    theme), hidden until there is something to say."""
    label = QLabel(parent)
    label.setObjectName("Error")
    label.setWordWrap(True)
    label.hide()
    return label


def busy_bar(parent: QWidget, *, visible: bool = False) -> QProgressBar:
    """An indeterminate bar shown while a screen waits for the server."""
    bar = QProgressBar(parent)
    bar.setRange(0, 0)
    bar.setTextVisible(False)
    bar.setVisible(visible)
    return bar


def load_fonts() -> str:
    """Register the bundled Noto fonts (Latin and Arabic) and answer the family."""
    family = "Noto Sans"
    for name in ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "NotoNaskhArabic-Regular.ttf",
                 "NotoNaskhArabic-Bold.ttf"):
        path = FONTS / name
        if path.exists():
            QFontDatabase.addApplicationFont(str(path))
    return family


def apply(app: QApplication) -> None:
    family = load_fonts()
    font = QFont(family, 11)
    font.setFamilies([family, "Noto Naskh Arabic"])
    app.setFont(font)
    app.setStyle("Fusion")
    if QSS.exists():
        app.setStyleSheet(QSS.read_text(encoding="utf-8"))


def font(size: float, bold: bool = False) -> QFont:
    result = QFont(QApplication.font())
    result.setPointSizeF(size)
    result.setBold(bold)
    return result


# --- icons --------------------------------------------------------------------------------

def _canvas(size: int) -> tuple[QPixmap, QPainter]:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    return pixmap, painter


def _handset(painter: QPainter, r: QRectF, colour: QColor, angle: float = 0.0) -> None:
    """A telephone handset in `r`."""
    painter.save()
    painter.translate(r.center())
    painter.rotate(angle)
    s = min(r.width(), r.height()) / 2
    path = QPainterPath()
    path.moveTo(-0.85 * s, -0.45 * s)
    path.cubicTo(-0.85 * s, -0.85 * s, -0.35 * s, -0.85 * s, -0.35 * s, -0.55 * s)
    path.lineTo(-0.45 * s, -0.25 * s)
    path.cubicTo(-0.2 * s, 0.15 * s, 0.05 * s, 0.35 * s, 0.25 * s, 0.45 * s)
    path.lineTo(0.55 * s, 0.35 * s)
    path.cubicTo(0.85 * s, 0.35 * s, 0.85 * s, 0.85 * s, 0.45 * s, 0.85 * s)
    path.cubicTo(-0.2 * s, 0.85 * s, -0.85 * s, 0.2 * s, -0.85 * s, -0.45 * s)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawPath(path)
    painter.restore()


@functools.lru_cache(maxsize=128)
def call_icon(state: str, size: int = 20) -> QPixmap:
    """The icon of a call state: dialing (dots), ringing (waves), connected (a filled
    handset in a green disc), ended (grey handset down), failed, cut (red cross)."""
    colour = CALL_COLOURS.get(state, MUTED)
    pixmap, p = _canvas(size)
    r = QRectF(0, 0, size, size)
    if state == "answered":
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        p.drawEllipse(r.adjusted(0.5, 0.5, -0.5, -0.5))
        _handset(p, r.adjusted(size * 0.2, size * 0.2, -size * 0.2, -size * 0.2), CARD)
    elif state == "ringing":
        _handset(p, r.adjusted(0, size * 0.2, -size * 0.3, 0), colour)
        pen = QPen(colour, max(1.5, size / 12))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        for k in (0.35, 0.6):
            box = QRectF(size * (1 - k) - size * 0.05, size * 0.05, size * k, size * k)
            p.drawArc(box, 0 * 16, 90 * 16)
    elif state == "dialing":
        _handset(p, r.adjusted(0, size * 0.25, -size * 0.3, 0), colour)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        d = size * 0.14
        for i in range(3):
            p.drawEllipse(QRectF(size * 0.55 + i * d * 1.15 - d, size * 0.12, d, d))
    elif state == "cut":
        _handset(p, r.adjusted(0, 0, -size * 0.25, -size * 0.25), CALL_COLOURS["ended"],
                 angle=135)
        pen = QPen(colour, max(2.0, size / 8))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        a = size * 0.58
        b = size * 0.92
        p.drawLine(QPointF(a, a), QPointF(b, b))
        p.drawLine(QPointF(b, a), QPointF(a, b))
    else:  # ended, failed
        _handset(p, r.adjusted(size * 0.05, size * 0.05, -size * 0.05, -size * 0.05),
                 colour, angle=135)
        if state == "failed":
            pen = QPen(colour, max(1.5, size / 10))
            p.setPen(pen)
            p.drawLine(QPointF(size * 0.1, size * 0.9), QPointF(size * 0.9, size * 0.1))
    p.end()
    return pixmap


@functools.lru_cache(maxsize=32)
def pay_pixmap(size: int = 28, colour: str = PAY.name(),
               background: str = CARD.name()) -> QPixmap:
    """A banknote: the Pay icon (`background` shows through its middle)."""
    pixmap, p = _canvas(size)
    c = QColor(colour)
    bg = QColor(background)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(c)
    note = QRectF(size * 0.06, size * 0.22, size * 0.88, size * 0.56)
    p.drawRoundedRect(note, size * 0.08, size * 0.08)
    p.setBrush(bg)
    p.drawEllipse(note.center(), size * 0.15, size * 0.15)
    p.setBrush(c)
    p.drawEllipse(note.center(), size * 0.07, size * 0.07)
    p.setBrush(bg)
    for x in (note.left() + size * 0.1, note.right() - size * 0.1):
        p.drawEllipse(QPointF(x, note.center().y()), size * 0.04, size * 0.04)
    p.end()
    return pixmap


@functools.lru_cache(maxsize=32)
def invoice_pixmap(size: int = 18, colour: str = BRAND.name()) -> QPixmap:
    """A sheet with lines: sessions that have an invoice."""
    pixmap, p = _canvas(size)
    c = QColor(colour)
    p.setPen(QPen(c, max(1.2, size / 14)))
    p.setBrush(CARD)
    sheet = QPolygonF([QPointF(size * 0.2, size * 0.08), QPointF(size * 0.62, size * 0.08),
                       QPointF(size * 0.82, size * 0.28), QPointF(size * 0.82, size * 0.92),
                       QPointF(size * 0.2, size * 0.92)])
    p.drawPolygon(sheet)
    for i in range(3):
        y = size * (0.42 + i * 0.16)
        p.drawLine(QPointF(size * 0.32, y), QPointF(size * 0.7, y))
    p.end()
    return pixmap


@functools.lru_cache(maxsize=32)
def history_pixmap(size: int = 18, colour: str = MUTED.name()) -> QPixmap:
    """A clock face with a back arrow: the cabin's past sessions."""
    pixmap, p = _canvas(size)
    c = QColor(colour)
    pen = QPen(c, max(1.4, size / 12))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    box = QRectF(size * 0.12, size * 0.12, size * 0.76, size * 0.76)
    p.drawArc(box, 120 * 16, 300 * 16)
    centre = box.center()
    p.drawLine(centre, QPointF(centre.x(), box.top() + size * 0.16))
    p.drawLine(centre, QPointF(centre.x() + size * 0.16, centre.y()))
    p.setBrush(c)
    p.setPen(Qt.PenStyle.NoPen)
    tip = QPointF(box.left() + size * 0.06, box.top() + size * 0.14)
    p.drawPolygon(QPolygonF([tip, tip + QPointF(size * 0.22, size * 0.02),
                             tip + QPointF(size * 0.04, size * 0.22)]))
    p.end()
    return pixmap


@functools.lru_cache(maxsize=16)
def dot_pixmap(colour: str, size: int = 12) -> QPixmap:
    pixmap, p = _canvas(size)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(QColor(colour)))
    p.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    p.end()
    return pixmap


def icon(pixmap: QPixmap) -> QIcon:
    return QIcon(pixmap)


def app_icon() -> QIcon:
    pixmap, p = _canvas(64)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(BRAND)
    p.drawRoundedRect(QRectF(2, 2, 60, 60), 12, 12)
    _handset(p, QRectF(14, 14, 36, 36), CARD)
    p.end()
    return QIcon(pixmap)

