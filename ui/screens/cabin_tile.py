"""One cabin on the till screen: its state colour, its calls and what the customer owes.

The tile is painted (not built from labels): 64 of them redraw every second on a
modest till PC. What it shows comes from `tile_model()`, a pure function of the cabin,
the live view and the time, so tests read exactly the figures on screen.

Painting is split by how often things change (benchmarks/ui.py: 64 tiles, 100 live
calls). Everything but the running figures (a connected call's duration and cost, and
the total then) is painted once into the tile's picture, and again only when something
in it changes: an event about the cabin, the size, the selection, the language. A
running figure is a small picture of its text on what lies under it, shared by every
tile ("00:37" is the same on each tile a call reaches 37 s): a tick swaps it and
repaints just its pixels. Digits have one width in the tile's fonts, so a figure keeps
its room while it runs; when its shape changes (a tenth minute, a tenth euro) the
picture is painted again. `tile_model` likewise recomputes only the connected calls on
a tick, and after an event only the calls that changed (the live state keeps the
objects of the others).

Figures: a running call's cost is `LiveView.call_charge` — `pricing.charge` on the
call's frozen rate at the server's clock, the function the server bills with; a
finished call shows the billed `price`. Nothing is computed any other way here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

import phonenumbers
from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QFrame,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cashdesk.call_state import CallState
from cashdesk.money import Money
from server_client.live import CabinState, LiveCabin, LiveCall, LiveView
from ui import theme
from ui.i18n import LRI, PDI, Formatter, isolate

# Texts are in Qt's "CabinTile" context: `self.tr()` in the widget,
# `QCoreApplication.translate("CabinTile", …)` outside it (so pyside6-lupdate finds them).


# --- what a tile shows ------------------------------------------------------------------

UNREACHABLE = "unreachable"


class CallRow(NamedTuple):
    """A call as its tile lists it (a named tuple: 64 tiles make them every second)."""

    pbx_call_id: str      # what identifies the call (its row id may not be known yet)
    state: str            # CallState value
    number: str
    destination: str
    rate: str
    duration: str
    cost: str
    live: bool

    @property
    def running(self) -> bool:
        """Connected now: its duration and cost move every second."""
        return self.live and self.state == CallState.ANSWERED


class TileModel(NamedTuple):
    """What a tile shows, as text (tests read exactly the figures on screen)."""

    cabin_id: int
    name: str
    position: int
    state: str            # CabinState value, or "unreachable"
    state_label: str
    rows: tuple[CallRow, ...]
    total: str
    due: Money | None
    payable: bool         # a session with calls, none of them live
    has_session: bool
    has_live_call: bool
    ticking: bool         # an answered call: redraw every second
    stale: bool


def state_label(state: str) -> str:
    # One translation looked up, not a table of five: this runs for every tile drawn.
    if state == CabinState.FREE:
        return QCoreApplication.translate("CabinTile", "Free")
    if state == CabinState.IN_USE:
        return QCoreApplication.translate("CabinTile", "In use")
    if state == CabinState.AWAITING_PAYMENT:
        return QCoreApplication.translate("CabinTile", "To pay")
    if state == CabinState.DISABLED:
        return QCoreApplication.translate("CabinTile", "Disabled")
    if state == UNREACHABLE:
        return QCoreApplication.translate("CabinTile", "No line")
    return state


def call_state_label(state: str) -> str:
    state = CallState(state)
    if state is CallState.DIALING:
        return QCoreApplication.translate("CabinTile", "Dialing")
    if state is CallState.RINGING:
        return QCoreApplication.translate("CabinTile", "Ringing")
    if state is CallState.ANSWERED:
        return QCoreApplication.translate("CabinTile", "Connected")
    if state is CallState.ENDED:
        return QCoreApplication.translate("CabinTile", "Ended")
    if state is CallState.FAILED:
        return QCoreApplication.translate("CabinTile", "Not answered")
    if state is CallState.CUT:
        return QCoreApplication.translate("CabinTile", "Cut")
    return str(state)


@functools.lru_cache(maxsize=512)
def _rate(fmt: Formatter, per_minute: Decimal, currency: str) -> str:
    return fmt.rate(Money.of(per_minute, currency))


def _row(call: LiveCall, seconds: int, cost: Money, fmt: Formatter) -> CallRow:
    rate = _rate(fmt, call.rate.price_per_minute, call.price.currency) \
        if call.rate is not None else ""
    duration = fmt.duration(seconds) if call.answered_at is not None else \
        call_state_label(call.state)
    return CallRow(pbx_call_id=call.pbx_call_id, state=str(call.state),
                   number=display_number(call.number or call.dialed_number),
                   destination=call.destination or "?", rate=rate, duration=duration,
                   cost=fmt.money(cost), live=call.is_live)


def _moved(old: CallRow, call: LiveCall, figures: tuple[int, Money], fmt: Formatter) -> CallRow:
    """`old`, the row of the same call, with its duration and cost now: what `_row`
    makes, without the rest again."""
    seconds, cost = figures
    return CallRow(old.pbx_call_id, old.state, old.number, old.destination, old.rate,
                   fmt.duration(seconds) if call.answered_at is not None else old.duration,
                   fmt.money(cost), old.live)


def call_row(call: LiveCall, view: LiveView, now: datetime, fmt: Formatter) -> CallRow:
    server_now = view.server_now(now)
    return _row(call, call.talk_ms(server_now) // 1000, call.charge_at(server_now).amount,
                fmt)


@functools.lru_cache(maxsize=2048)
def display_number(number: str) -> str:
    """A dialed number grouped the international way (`+212 6 12 34 56 78`), or as it
    came when it cannot be parsed."""
    digits = number.lstrip("+")
    if not digits.isdigit():
        return number
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


#: PBX call id → (the call, the formatter, (talk seconds, cost) then, its row). Not the
#: call's row id: the server may show a call before it has one.
RowCache = dict[str, tuple[LiveCall, Formatter, tuple[int, Money], CallRow]]


@dataclass(frozen=True, slots=True)
class _Basis:
    """What a tick needs of a cabin's last full model: the connected calls (their row
    and whether they are in the session) and what the session's other calls add up to."""

    cabin: LiveCabin
    fmt: Formatter
    conditions: tuple[bool, bool]   # the view's stale flag, the switch down
    model: TileModel
    settled: Decimal
    running: tuple[tuple[int, LiveCall, bool], ...]


class ModelCache:
    """What `tile_model` keeps for one tile between calls: each call's row while the
    call, its talk seconds and its cost are the same, the session's leading finished
    calls with their rows and sum, and the last model. A tick (the same cabin, a later
    time) then recomputes only the connected calls; an event (another cabin object)
    goes over the calls after the finished ones and rebuilds the rows that changed."""

    def __init__(self) -> None:
        self.rows: RowCache = {}
        self.basis: _Basis | None = None
        # The leading finished calls of the cabin, their rows and what they add up to.
        self.finished: tuple[LiveCall, ...] = ()
        self.finished_fmt: Formatter | None = None
        self.finished_rows: tuple[CallRow, ...] = ()
        self.finished_total = Decimal(0)
        # The last tick's running costs and what the customer owed then.
        self.costs: tuple[Money, ...] = ()
        self.due: tuple[Money, str] | None = None


def _conditions(view: LiveView) -> tuple[bool, bool]:
    return view.stale, view.switch is not None and not view.switch.connected


def tile_model(cabin: LiveCabin, view: LiveView, now: datetime, fmt: Formatter,
               cache: ModelCache | None = None) -> TileModel:
    """What the tile shows of `cabin` at the desk's `now`. `cache` (one per tile) makes
    it cheap; the answer is the same with or without it."""
    conditions = _conditions(view)
    server_now = view.server_now(now)
    if cache is not None:
        basis = cache.basis
        if basis is not None and basis.cabin is cabin and basis.fmt is fmt and \
                basis.conditions == conditions:
            return _ticked(basis, server_now, cache)
    stale, switch_down = conditions
    state = str(cabin.state)
    if switch_down and cabin.state in (CabinState.FREE, CabinState.IN_USE):
        state = UNREACHABLE
    calls = cabin.calls
    session = cabin.session
    in_session = {call.pbx_call_id for call in session.calls} \
        if session is not None and cabin.pending else set()
    rows_cache = cache.rows if cache is not None else None
    rows: list[CallRow] = []
    running = []
    settled = total = Decimal(0)
    live = False
    first = 0
    if cache is not None and cache.finished_fmt is fmt:
        # The session's first calls, finished, are the same objects as last time (the
        # live state keeps the calls that did not change): their rows and sum too.
        finished = cache.finished
        count = len(finished)
        if count <= len(calls) and all(a is b for a, b in zip(finished, calls)):
            rows.extend(cache.finished_rows)
            settled = total = cache.finished_total
            first = count
    # Without pending calls (dialing, ringing) every call is the session's.
    everyone = not cabin.pending
    for index in range(first, len(calls)):
        call = calls[index]
        answered = call.state is CallState.ANSWERED
        hit = rows_cache.get(call.pbx_call_id) if rows_cache is not None else None
        # Events rebuild the call objects: equal ones show the same row.
        if hit is not None and not (hit[1] is fmt and (hit[0] is call or hit[0] == call)):
            hit = None
        if hit is not None and not answered:
            # Not connected: its figures do not move with the time.
            cost, row = hit[2][1], hit[3]
        else:
            # What `view.talk_seconds` and `view.call_charge` answer, once.
            cost = call.charge_at(server_now).amount
            figures = (call.talk_ms(server_now) // 1000, cost)
            if hit is not None and hit[2] == figures:
                row = hit[3]
            else:
                row = _moved(hit[3], call, figures, fmt) if hit is not None else \
                    _row(call, figures[0], cost, fmt)
                if rows_cache is not None:
                    rows_cache[call.pbx_call_id] = (call, fmt, figures, row)
        rows.append(row)
        live = live or row.live
        counted = everyone or call.pbx_call_id in in_session
        if answered:
            running.append((index, call, counted))
        if counted:
            # `view.due()`: the session's calls' charges at the same instant.
            total += cost.amount
            if not answered:
                settled += cost.amount
    if rows_cache is not None and len(rows_cache) > len(calls):
        for gone in rows_cache.keys() - {call.pbx_call_id for call in calls}:
            del rows_cache[gone]
    if cache is not None:
        count = 0
        for call in calls:
            if not call.state.is_final or not (everyone or call.pbx_call_id in in_session):
                break
            count += 1
        if count != len(cache.finished) or cache.finished_fmt is not fmt or first < count:
            cache.finished, cache.finished_fmt = calls[:count], fmt
            cache.finished_rows = tuple(rows[:count])
            cache.finished_total = sum((cache.rows[call.pbx_call_id][2][1].amount
                                        for call in calls[:count]), Decimal(0))
    due = None if session is None else Money(total, session.total.currency)
    model = TileModel(
        cabin_id=cabin.id, name=cabin.name, position=cabin.position, state=state,
        state_label=state_label(state), rows=tuple(rows),
        total=fmt.money(due) if due is not None else "",
        due=due, payable=bool(calls) and not live and session is not None,
        has_session=session is not None, has_live_call=live,
        ticking=bool(running) and not stale, stale=stale)
    if cache is not None:
        cache.basis = _Basis(cabin, fmt, conditions, model, settled, tuple(running))
        cache.costs, cache.due = (), None
    return model


def _ticked(basis: _Basis, server_now: datetime, cache: ModelCache) -> TileModel:
    """`basis.model` at a later time: only the connected calls' rows and the total
    (what the full pass answers, as a test checks, at a fraction of its cost)."""
    model = basis.model
    if not basis.running:
        return model
    fmt = basis.fmt
    rows_cache = cache.rows
    rows = list(model.rows)
    costs = []
    for index, call, in_session in basis.running:
        cost = call.charge_at(server_now).amount
        figures = (call.talk_ms(server_now) // 1000, cost)
        if in_session:
            costs.append(cost)
        hit = rows_cache.get(call.pbx_call_id)
        if hit is None or hit[0] is not call or hit[1] is not fmt:
            rows[index] = row = _row(call, figures[0], cost, fmt)
        elif hit[2] == figures:
            rows[index] = hit[3]
            continue
        else:
            rows[index] = row = _moved(hit[3], call, figures, fmt)
        rows_cache[call.pbx_call_id] = (call, fmt, figures, row)
    due, total = model.due, model.total
    if due is not None:
        # Costs move by whole increments, most ticks leave the total as it was.
        if cache.due is not None and tuple(costs) == cache.costs:
            due, total = cache.due
        else:
            amount = basis.settled
            for cost in costs:
                amount += cost.amount
            due = Money(amount, due.currency)
            total = fmt.money(due)
            cache.costs, cache.due = tuple(costs), (due, total)
    return TileModel(model.cabin_id, model.name, model.position, model.state,
                     model.state_label, tuple(rows), total, due, model.payable,
                     model.has_session, model.has_live_call, model.ticking, model.stale)


STATE_COLOURS = {
    str(CabinState.FREE): theme.FREE,
    str(CabinState.IN_USE): theme.IN_USE,
    str(CabinState.AWAITING_PAYMENT): theme.AWAITING,
    str(CabinState.DISABLED): theme.DISABLED,
    UNREACHABLE: theme.UNREACHABLE,
}


# --- painting: the cached picture and the running figures ---------------------------------

_SHAPES = str.maketrans("0123456789", "0000000000")


def _shape(text: str) -> str:
    """A figure's shape: its text with every digit the same. Digits have one width in
    the tile's font, so texts of one shape take the same room."""
    return text.translate(_SHAPES)


def _static_key(model: TileModel, first: int) -> tuple[object, ...]:
    """Everything the cached picture shows when it lists the rows from `first`: the
    model without the running figures' digits (their shapes stay, since they set the
    room the texts around them get)."""
    ticking = model.ticking
    rows = tuple((row.pbx_call_id, row.state, row.number, row.destination, row.rate,
                  _shape(row.duration), _shape(row.cost)) if ticking and row.running else row
                 for row in model.rows[first:])
    return (model.name, model.position, model.state, model.state_label, model.has_session,
            model.stale, ticking, len(model.rows), rows,
            _shape(model.total) if ticking else model.total)


# Painting constants (Qt's enums are Python objects: combining them on every paint
# costs more than the drawing they describe).
START = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
END = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
CENTER = Qt.AlignmentFlag.AlignCenter
ELIDE = Qt.TextElideMode.ElideRight
NO_PEN = Qt.PenStyle.NoPen
RTL = Qt.LayoutDirection.RightToLeft
ANTIALIASING = QPainter.RenderHint.Antialiasing
SOURCE = QPainter.CompositionMode.CompositionMode_Source
SOURCE_OVER = QPainter.CompositionMode.CompositionMode_SourceOver
WHITE = QColor("#ffffff")
DISC = QColor(255, 255, 255, 235)
VEIL = QColor(238, 241, 245, 110)
#: Room around a running figure's text that its damage rectangle covers.
FIGURE_MARGIN = 4


class Figure:
    """A running figure: where it goes on the tile, and what lies under it."""

    __slots__ = ("background", "colour", "corner", "damage", "font", "kind", "look", "rect",
                 "row")

    def __init__(self, kind: str, row: int, rect: QRect, font: QFont, colour: QColor,
                 damage: QRect) -> None:
        self.kind = kind            # "duration" | "cost" | "total"
        self.row = row              # index in the model's rows (-1: the total)
        self.rect = rect            # where it is drawn (end-aligned), mirrored if RTL
        self.font = font
        self.colour = colour
        self.damage = damage        # the pixels its texts of this shape cover
        self.corner = damage.topLeft()
        self.background: QPixmap | None = None   # the picture there (without the figure)
        self.look: tuple[object, ...] = ()   # all that its picture depends on but the text

    def text(self, model: TileModel) -> str:
        if self.kind == "total":
            return model.total
        row = model.rows[self.row]
        return row.cost if self.kind == "cost" else LRI + row.duration + PDI


#: Running figures' texts painted on what lies under them, shared by the tiles (most
#: figures lie on the plain card, and "00:37" comes back on every tile a call reaches
#: 37 s): painting one is a copy, not a text layout.
_FIGURE_TEXTS: dict[tuple[object, ...], QPixmap] = {}
_FIGURE_TEXTS_LIMIT = 3000


def _figure_text(figure: Figure, text: str, rtl: bool) -> QPixmap:
    key = (figure.look, text)
    picture = _FIGURE_TEXTS.get(key)
    if picture is None:
        if len(_FIGURE_TEXTS) >= _FIGURE_TEXTS_LIMIT:
            _FIGURE_TEXTS.clear()
        assert figure.background is not None
        picture = QPixmap(figure.background)
        p = QPainter(picture)
        if rtl:
            p.setLayoutDirection(RTL)
        p.setFont(figure.font)
        p.setPen(figure.colour)
        # Its end is the end of the figure's rectangle: the text lands where drawing it
        # in that rectangle would put it.
        p.drawText(QRect(0, 0, figure.damage.width(), figure.damage.height()), END, text)
        p.end()
        _FIGURE_TEXTS[key] = picture
    return picture


class _Look:
    """The tile's fonts and their metrics (QFont and QFontMetrics are not free to make)."""

    def __init__(self, compact: bool) -> None:
        self.compact = compact
        self.badge = theme.font(9 if compact else 10, bold=True)
        self.name = theme.font(10.5 if compact else 12.5, bold=True)
        self.state = theme.font(8.5 if compact else 9.5, bold=True)
        self.empty = theme.font(10 if compact else 12)
        self.small = theme.font(8.5 if compact else 9)
        self.number = theme.font(11, bold=True)
        self.cost = theme.font(11, bold=True)
        self.total = theme.font(13 if compact else 19, bold=True)
        self.label = theme.font(8 if compact else 9, bold=True)
        self.name_fm = QFontMetrics(self.name)
        self.state_fm = QFontMetrics(self.state)
        self.small_fm = QFontMetrics(self.small)
        self.number_fm = QFontMetrics(self.number)
        self.cost_fm = QFontMetrics(self.cost)
        self.total_fm = QFontMetrics(self.total)
        #: id(font) → QFont.key(), for the fonts of running figures.
        self.keys = {id(font): font.key() for font in (self.small, self.cost, self.total)}


@functools.lru_cache(maxsize=8)
def _look(app_font: str, compact: bool) -> _Look:
    return _Look(compact)


@functools.lru_cache(maxsize=128)
def _frame(width: int, height: int, header: int, band: int, selected: bool,
           ratio: float) -> QPixmap:
    """The card and its coloured header band on the grid's background, shared by the
    tiles of one size and state."""
    pixmap = QPixmap(max(1, round(width * ratio)), max(1, round(height * ratio)))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(theme.CANVAS)
    p = QPainter(pixmap)
    p.setRenderHint(ANTIALIASING)
    outer = QRect(1, 1, width - 2, height - 2)
    p.setPen(QPen(theme.BRAND if selected else theme.LINE, 3 if selected else 1))
    p.setBrush(theme.CARD)
    p.drawRoundedRect(outer.adjusted(1, 1, -1, -1), 9, 9)
    p.setPen(NO_PEN)
    p.setBrush(QColor.fromRgba(band))
    p.drawRoundedRect(QRect(3, 3, width - 6, header), 7, 7)
    p.drawRect(QRect(3, 3 + header - 8, width - 6, 8))
    p.end()
    return pixmap


def _device(rect: QRect, ratio: float) -> QRect:
    """`rect` of a widget in the pixels of a pixmap of device pixel ratio `ratio`."""
    if ratio == 1:
        return rect
    return QRectF(rect.x() * ratio, rect.y() * ratio, rect.width() * ratio,
                  rect.height() * ratio).toAlignedRect()


# --- the widget ------------------------------------------------------------------------

class InvoiceBar(QFrame):
    """The bar revealed at the tile's right border: "invoice" for this payment."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("InvoiceBar")
        self.setAutoFillBackground(True)
        self.setStyleSheet("#InvoiceBar { background: #1f3a5f; border-radius: 6px; }"
                           "QCheckBox { color: white; font-weight: bold; font-size: 10pt; }"
                           "QCheckBox::indicator { width: 18px; height: 18px; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 6, 4, 6)
        self.check = QCheckBox(self)
        self.check.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.check, 0, Qt.AlignmentFlag.AlignHCenter)
        self.label = QToolButton(self)
        self.label.setAutoRaise(True)
        self.label.setStyleSheet("color: white; font-size: 9pt; font-weight: bold;")
        self.label.setIcon(theme.icon(theme.invoice_pixmap(18, "#ffffff")))
        self.label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.label.clicked.connect(self.check.toggle)
        layout.addWidget(self.label, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)


class CabinTile(QWidget):
    """A cabin. Signals carry the cabin id."""

    sig_pay = Signal(int)
    sig_history = Signal(int)
    sig_selected = Signal(int)
    sig_invoice = Signal(int, bool)

    HEADER = 34
    COMPACT_HEADER = 26
    ROW = 38
    FOOTER = 46
    BAR = 30
    BAR_HOT_ZONE = 16

    def __init__(self, cabin: LiveCabin, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cabin = cabin
        self.model: TileModel | None = None
        self.selected = False
        #: Paint events so far and the last one's rectangle (the benchmark and the tests
        #: count repaints).
        self.paint_count = 0
        self.painted = QRect()
        self.setMouseTracking(True)
        # The picture covers every pixel, the grid's colour in the rounded corners:
        # nothing under the tile is painted again when it changes.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setMinimumSize(140, 60)
        self._rtl = self.layoutDirection() == RTL

        self.pay_button = QToolButton(self)
        self.pay_button.setObjectName("TilePay")
        self.pay_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.pay_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.pay_button.setAutoRaise(True)
        self.pay_button.setStyleSheet(
            "QToolButton#TilePay { background: #2e7d32; border-radius: 8px; color: white;"
            " font-weight: bold; font-size: 11pt; padding: 2px 8px; }"
            "QToolButton#TilePay:hover { background: #1b5e20; }"
            "QToolButton#TilePay:disabled { background: #a5b9a6; }")
        self.pay_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.pay_button.clicked.connect(lambda: self.sig_pay.emit(self.cabin.id))

        self.history_button = QToolButton(self)
        self.history_button.setAutoRaise(True)
        self.history_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.history_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.history_button.setIcon(theme.icon(theme.history_pixmap(18, "#ffffff")))
        self.history_button.setStyleSheet("QToolButton { border: none; }"
                                          "QToolButton:hover { background: rgba(255,255,255,40);"
                                          " border-radius: 4px; }")
        self.history_button.clicked.connect(lambda: self.sig_history.emit(self.cabin.id))

        self._pay_icon_size = 0
        self._models = ModelCache()
        # The picture: everything but the running figures; where those go and their
        # texts (as of the model `_drawn`); and what it was painted from (the static key
        # of the model, and the model's basis: its later ticks change only figures).
        self._picture: QPixmap | None = None
        self._drawn: TileModel | None = None
        self._figures: list[Figure] = []
        self._texts: list[QPixmap] = []     # the figures' texts as of `_drawn`
        self._key: tuple[object, ...] = ()
        self._keyed: TileModel | None = None    # the model `_key` was just made for
        self._basis: _Basis | None = None
        self._canvas: QPixmap | None = None     # the picture's pixmap, kept
        self._ratio = 1.0                       # its device pixel ratio
        self._look: _Look | None = None
        # Frames with their header, by what they show (the state changes, not calls).
        self._heads: dict[tuple[object, ...], QPixmap] = {}
        self.invoice_bar = InvoiceBar(self)
        self.invoice_bar.hide()
        self.invoice_bar.check.toggled.connect(self._invoice_toggled)
        self.retranslate()

    # --- data ----------------------------------------------------------------------------
    @property
    def invoice(self) -> bool:
        return self.invoice_bar.check.isChecked()

    def set_invoice(self, on: bool) -> None:
        self.invoice_bar.check.setChecked(on)

    def toggle_invoice(self) -> None:
        """From the keyboard: toggle, and show the bar a moment so it is seen."""
        self.invoice_bar.check.toggle()
        self._show_bar(True)

    def _invoice_toggled(self, on: bool) -> None:
        self._repaint_all()
        self.sig_invoice.emit(self.cabin.id, on)

    def show_cabin(self, cabin: LiveCabin, view: LiveView, now: datetime,
                   fmt: Formatter) -> None:
        """Show `cabin` at the desk's `now`: after an event, or once a second for its
        running calls. Repaints only what changed."""
        self.cabin = cabin
        old = self.model
        model = tile_model(cabin, view, now, fmt, self._models)
        if model is old:
            return
        self.model = model
        if old is not None and old.has_session and not model.has_session:
            self.set_invoice(False)  # a paid session takes its invoice choice with it
        # Pay follows the session (not on every tick).
        if old is None or (old.has_session, old.payable, old.stale) != \
                (model.has_session, model.payable, model.stale):
            self._show_pay()
        if old is None or (old.name, old.state_label) != (model.name, model.state_label):
            # A tight tile may have no room for the state's label.
            self.setToolTip(f"{model.name} — {model.state_label}")
        if self._picture is None:
            return   # painted whole at the next paint event, from this model
        basis = self._models.basis
        moved = self._moved_figures(model) if basis is self._basis else None
        if moved is None:
            # An event (or a figure's new shape): more may have changed than figures.
            self._basis = basis
            key = _static_key(model, self._first_shown(len(model.rows)))
            if key != self._key:
                self._key, self._keyed = key, model   # the picture needs it next
                self._repaint_all()
                return
            drawn = self._drawn
            assert drawn is not None   # set with the picture
            moved = [index for index, figure in enumerate(self._figures)
                     if figure.text(drawn) != figure.text(model)]
        # Only running figures moved: only their pixels are repainted.
        for index in moved:
            figure = self._figures[index]
            self._texts[index] = _figure_text(figure, figure.text(model), self._rtl)
            self.update(figure.damage)
        self._drawn = model

    def _moved_figures(self, model: TileModel) -> list[int] | None:
        """The figures whose text `model` changes, when it is a later tick of the model
        painted (same basis: nothing else changed); None when one changes its shape."""
        drawn = self._drawn
        assert drawn is not None   # set with the picture
        moved = []
        for index, figure in enumerate(self._figures):
            before, after = figure.text(drawn), figure.text(model)
            if before != after:
                if _shape(before) != _shape(after):
                    return None
                moved.append(index)
        return moved

    def _repaint_all(self) -> None:
        self._picture = None
        self.update()

    def _restyle(self) -> None:
        """Fonts, language or direction changed: nothing painted before stays."""
        self._look = self._keyed = None
        self._heads.clear()
        self._repaint_all()

    # --- keyboard and mouse ------------------------------------------------------------
    def set_selected(self, selected: bool) -> None:
        if selected != self.selected:
            self.selected = selected
            self._repaint_all()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.sig_selected.emit(self.cabin.id)
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.model is not None and self.model.has_session:
            self.sig_pay.emit(self.cabin.id)

    def _at_end_border(self, pos: QPoint) -> bool:
        if self._rtl:
            return pos.x() <= self.BAR_HOT_ZONE
        return pos.x() >= self.width() - self.BAR_HOT_ZONE

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._at_end_border(event.position().toPoint()):
            self._show_bar(True)
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._show_bar(False)
        super().leaveEvent(event)

    def _show_bar(self, show: bool) -> None:
        if show and (self.model is None or not self.model.has_session):
            show = False
        if show != self.invoice_bar.isVisible():
            self.invoice_bar.setVisible(show)
            self.invoice_bar.raise_()
            self._repaint_all()   # the calls make room for the bar

    def changeEvent(self, event: QEvent) -> None:
        kind = event.type()
        if kind == QEvent.Type.LanguageChange:
            self.retranslate()
            self._place_children()   # "Pay" → "Encaisser": the button's width follows
            self._restyle()
        elif kind == QEvent.Type.LayoutDirectionChange:
            self._rtl = self.layoutDirection() == RTL
            self._place_children()
            self._restyle()
        elif kind == QEvent.Type.FontChange:
            self._restyle()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self.pay_button.setText(self.tr("Pay"))
        self.pay_button.setToolTip(self.tr("Pay this cabin (Enter)"))
        self.history_button.setToolTip(self.tr("Past sessions of this cabin (H)"))
        self.invoice_bar.check.setToolTip(self.tr("Invoice for this payment (I)"))
        self.invoice_bar.label.setToolTip(self.tr("Invoice for this payment (I)"))

    def resizeEvent(self, event: object) -> None:
        self._place_children()
        self._keyed = None      # the rows it has room for may differ
        self._repaint_all()

    # --- geometry --------------------------------------------------------------------------
    @property
    def compact(self) -> bool:
        """Room for one call only: the latest."""
        return self.height() < 150

    @property
    def tight(self) -> bool:
        """64 cabins on a 1366×768 till: one line for the latest call, one for Pay and
        the total (they would overlap otherwise)."""
        return self.height() < 90

    def _header_height(self) -> int:
        return self.COMPACT_HEADER if self.compact else self.HEADER

    def _areas(self) -> tuple[QRect, QRect]:
        """The calls' area and the footer's (Pay, total), left to right."""
        w, h = self.width(), self.height()
        header = self._header_height()
        if self.tight:
            body = QRect(10, 3 + header + 2, w - 20, 16)
            return body, QRect(10, body.bottom() + 1, w - 20, h - 3 - body.bottom() - 1)
        footer = 30 if self.compact else self.FOOTER
        return (QRect(10, 3 + header + 4, w - 20, h - header - footer - 10),
                QRect(10, h - footer - 2, w - 20, footer))

    def _first_shown(self, count: int) -> int:
        """The first of `count` rows the tile has room for (the latest are shown)."""
        if self.compact:
            return max(0, count - 1)
        fits = max(1, self._areas()[0].height() // self.ROW)
        if count <= fits:
            return 0
        return count - (fits - 1) if fits > 1 else count - 1

    def _visual(self, rect: QRect) -> QRect:
        if not self._rtl:
            return rect
        return QStyle.visualRect(RTL, self.rect(), rect)

    def _place_children(self) -> None:
        """The buttons' and the invoice bar's places (size, direction, language)."""
        w, h = self.width(), self.height()
        header = self._header_height()
        size = header - 8
        self.history_button.setGeometry(self._visual(QRect(w - size - 6, 4, size, size)))
        self.history_button.setIconSize(QSize(size - 6, size - 6))
        footer = self._areas()[1]
        if self.tight:
            bh, bw, top = footer.height(), 34, footer.top()
        else:
            bh, top = footer.height() - 10, footer.top() + 7
            bw = bh + 10
        if self.compact:
            self.pay_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        else:
            self.pay_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            bw = max(84, QFontMetrics(self.pay_button.font()).horizontalAdvance(
                self.pay_button.text()) + bh + 22)
        if self._pay_icon_size != bh:
            self._pay_icon_size = bh
            self.pay_button.setIcon(theme.icon(theme.pay_pixmap(bh, "#ffffff", "#2e7d32")))
            icon = bh - 6 if bh > 20 else bh - 2
            self.pay_button.setIconSize(QSize(icon, icon))
        self.pay_button.setGeometry(self._visual(QRect(8, top, bw, bh)))
        self.invoice_bar.setGeometry(self._visual(QRect(w - self.BAR - 3, header + 3,
                                                        self.BAR, h - header - 6)))
        self._show_pay()

    def _show_pay(self) -> None:
        """Pay: shown with a session, usable when no call runs and the tile is live."""
        model = self.model
        payable = model is not None and model.has_session
        self.pay_button.setVisible(payable)
        if model is not None and payable:
            self.pay_button.setEnabled(model.payable and not model.stale)
            self.pay_button.setToolTip(self.tr("Pay this cabin (Enter)") if model.payable else
                                       self.tr("A call is still running in this cabin"))

    # --- painting ----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        self.paint_count += 1
        if self._picture is None:
            self._paint_picture()
        picture = self._picture
        assert picture is not None
        area = self.painted = event.rect()
        p = QPainter(self)
        p.drawPixmap(area, picture, area if self._ratio == 1 else _device(area, self._ratio))
        for figure, text in zip(self._figures, self._texts):
            if figure.damage.intersects(area):
                p.drawPixmap(figure.corner, text)
        p.end()

    def _figure(self, kind: str, row: int, rect: QRect, font: QFont, text_width: int,
                colour: QColor, figures: list[Figure]) -> None:
        """A running figure drawn end-aligned in `rect`, and the pixels its text (and any
        of the same shape: digits have one width) covers: the end of `rect`, at the
        left when the tile is right to left (the painter mirrors the alignment)."""
        width = min(rect.width(), text_width + FIGURE_MARGIN)
        left = rect.left() if self._rtl else rect.right() - width + 1
        figures.append(Figure(kind, row, rect, font, colour,
                              QRect(left, rect.top(), width, rect.height())))

    def _paint_picture(self) -> None:
        """Paint the tile into its picture, all but the running figures: where they go is
        kept, with what lies under them, and their texts are made."""
        model = self.model
        w, h = self.width(), self.height()
        ratio = self._ratio = self.devicePixelRatioF()
        compact = self.compact
        look = self._look
        if look is None or look.compact is not compact:
            look = self._look = _look(QApplication.font().key(), compact)
        head = self._paint_head(model, look, ratio)
        figures: list[Figure] = []
        self._figures = figures
        self._texts = []
        self._drawn = model
        if model is None:
            self._picture = head
            return
        if self._keyed is not model:
            self._key = _static_key(model, self._first_shown(len(model.rows)))
        self._keyed = None
        self._basis = self._models.basis
        # The tile's own pixmap, painted over (a new one is an allocation and a copy).
        picture = self._canvas
        if picture is None or picture.size() != head.size() or \
                picture.devicePixelRatio() != ratio:
            picture = self._canvas = QPixmap(head.size())
            picture.setDevicePixelRatio(ratio)
        p = QPainter(picture)
        p.setCompositionMode(SOURCE)
        p.drawPixmap(0, 0, head)
        p.setCompositionMode(SOURCE_OVER)
        if self._rtl:
            # The painter mirrors AlignLeft/AlignRight itself when it is right-to-left (no
            # AlignAbsolute): "start" is AlignLeft in both directions. Swapping them here
            # too put Arabic totals under the Pay button and costs next to the call icon.
            p.setLayoutDirection(RTL)

        # calls
        header = self._header_height()
        body, footer = self._areas()
        if self.invoice_bar.isVisible():
            body.setWidth(body.width() - self.BAR)
        dim = model.stale
        ink = theme.MUTED if dim else theme.INK
        if not model.rows:
            if self.tight:   # all the room under the band
                body = QRect(10, 3 + header, body.width(), h - 6 - header)
            p.setPen(theme.MUTED)
            p.setFont(look.empty)
            text = self.tr("Ready") if model.state == CabinState.FREE else ""
            if model.state == CabinState.DISABLED:
                text = self.tr("Out of service")
            elif model.state == UNREACHABLE:
                text = self.tr("Switch unreachable")
            p.drawText(self._visual(body), CENTER, text)
        elif compact:
            self._paint_compact_row(p, body, model, look, ink, figures)
        else:
            self._paint_rows(p, body, model, look, ink, figures)

        # footer: total
        if model.has_session:
            frect = self._visual(footer)
            if model.ticking:
                self._figure("total", -1, frect, look.total,
                             look.total_fm.horizontalAdvance(model.total), ink, figures)
            else:
                p.setFont(look.total)
                p.setPen(ink)
                p.drawText(frect, END, model.total)
            if not compact:
                tw = look.total_fm.horizontalAdvance(model.total)
                p.setFont(look.label)
                p.setPen(theme.MUTED)
                lrect = QRect(10, footer.top(), w - 20 - tw - 10, footer.height())
                p.drawText(self._visual(lrect), END, self.tr("TOTAL"))
        if dim:
            p.setRenderHint(ANTIALIASING)
            p.setPen(NO_PEN)
            p.setBrush(VEIL)
            p.drawRoundedRect(QRect(2, 2, w - 4, h - 4), 9, 9)
        p.end()
        self._picture = picture
        for figure in figures:
            background = figure.background = picture.copy(_device(figure.damage, ratio))
            under = background.toImage()
            figure.look = (hash(bytes(under.constBits())), under.width(), under.height(),
                           look.keys[id(figure.font)], figure.colour.rgba(), self._rtl, ratio)
        self._texts = [_figure_text(figure, figure.text(model), self._rtl)
                       for figure in figures]

    def _paint_head(self, model: TileModel | None, look: _Look, ratio: float) -> QPixmap:
        """The card, its band in the state's colour, the cabin's number, name and state:
        kept while none of them changes (calls come and go under it)."""
        w, h = self.width(), self.height()
        header = self._header_height()
        band = STATE_COLOURS.get(model.state if model else "", theme.DISABLED)
        if model is not None and model.stale:
            band = theme.STALE
        frame = _frame(w, h, header, band.rgba(), self.selected, ratio)
        if model is None:
            return frame
        state_text = model.state_label.upper() if not model.stale else self.tr("Stale").upper()
        key = (frame.cacheKey(), model.position, model.name, state_text, self.invoice,
               self._rtl, look)
        head = self._heads.get(key)
        if head is not None:
            return head
        head = QPixmap(frame)
        p = QPainter(head)
        p.setRenderHint(ANTIALIASING)
        if self._rtl:
            p.setLayoutDirection(RTL)

        # the cabin's number in a disc, then its name, then the state
        disc = header - 10
        disc_rect = self._visual(QRect(9, 3 + (header - disc) // 2, disc, disc))
        p.setPen(NO_PEN)
        p.setBrush(DISC)
        p.drawEllipse(disc_rect)
        p.setPen(band)
        p.setFont(look.badge)
        p.drawText(disc_rect, CENTER, str(model.position))

        p.setPen(WHITE)
        history_w = header - 2
        name_left = 9 + disc + 8
        room = w - name_left - history_w - 14
        state_w = look.state_fm.horizontalAdvance(state_text) + 6
        if self.compact and look.name_fm.horizontalAdvance(model.name) + state_w > room:
            # No room for both: the name (the band's colour, the calls and the Pay button
            # say the state; the tooltip says it too). "Cabi…" helped nobody.
            state_text, state_w = "", 0
        else:
            p.setFont(look.state)
            state_rect = self._visual(QRect(w - history_w - state_w - 10, 3, state_w, header))
            p.drawText(state_rect, END, state_text)
        if self.invoice:
            inv = theme.invoice_pixmap(16, "#ffffff")
            x = w - history_w - state_w - 30
            p.drawPixmap(self._visual(QRect(x, 3 + (header - 16) // 2, 16, 16)), inv)
            state_w += 22
        p.setFont(look.name)
        name_rect = self._visual(QRect(name_left, 3, room - state_w, header))
        name = look.name_fm.elidedText(model.name, ELIDE, name_rect.width())
        p.drawText(name_rect, START, name)
        p.end()
        if len(self._heads) >= 4:   # a tile goes back and forth between a few states
            self._heads.clear()
        self._heads[key] = head
        return head

    def _paint_rows(self, p: QPainter, body: QRect, model: TileModel, look: _Look,
                    ink: QColor, figures: list[Figure]) -> None:
        rows = model.rows
        first = self._first_shown(len(rows))
        fits = max(1, body.height() // self.ROW)
        y = body.top()
        small_fm = look.small_fm
        if first and fits > 1:
            p.setFont(look.small)
            p.setPen(theme.MUTED)
            p.drawText(self._visual(QRect(body.left(), y, body.width(), self.ROW // 2)),
                       START, self.tr("+ %n earlier call(s)", "", first))
            y += self.ROW // 2
        for index in range(first, len(rows)):
            row = rows[index]
            running = model.ticking and row.running
            icon = theme.call_icon(row.state, 20)
            p.drawPixmap(self._visual(QRect(body.left(), y + 2, 20, 20)), icon)
            text_left = body.left() + 26
            width = body.right() - text_left
            cost_w = look.cost_fm.horizontalAdvance(row.cost) + 4
            cost_rect = self._visual(QRect(text_left, y, width, 22))
            cost_ink = ink if row.live or row.state == "ended" else theme.MUTED
            if running:
                self._figure("cost", index, cost_rect, look.cost, cost_w - 4, cost_ink,
                             figures)
            else:
                p.setFont(look.cost)
                p.setPen(cost_ink)
                p.drawText(cost_rect, END, row.cost)
            p.setFont(look.number)
            p.setPen(ink)
            number = look.number_fm.elidedText(row.number, ELIDE, width - cost_w - 6)
            p.drawText(self._visual(QRect(text_left, y, width - cost_w - 6, 22)),
                       START, LRI + number + PDI)
            duration = LRI + row.duration + PDI
            dur_w = small_fm.horizontalAdvance(row.duration) + 8
            dur_rect = self._visual(QRect(text_left, y + 18, width, 16))
            if running:
                self._figure("duration", index, dur_rect, look.small,
                             small_fm.horizontalAdvance(duration),
                             theme.CALL_COLOURS["answered"], figures)
            else:
                p.setFont(look.small)
                p.setPen(theme.MUTED)
                p.drawText(dur_rect, END, duration)
            p.setFont(look.small)
            p.setPen(theme.MUTED)
            detail = isolate(row.destination) + ("  ·  " + row.rate if row.rate else "")
            detail = small_fm.elidedText(detail, ELIDE, width - dur_w - 4)
            p.drawText(self._visual(QRect(text_left, y + 18, width - dur_w - 4, 16)),
                       START, detail)
            y += self.ROW

    def _paint_compact_row(self, p: QPainter, body: QRect, model: TileModel, look: _Look,
                           ink: QColor, figures: list[Figure]) -> None:
        index = len(model.rows) - 1
        row = model.rows[index]
        y = body.top()
        line = min(18, body.height())
        size = 14 if line < 18 else 16
        icon = theme.call_icon(row.state, size)
        p.drawPixmap(self._visual(QRect(body.left(), y + (line - size) // 2, size, size)),
                     icon)
        left = body.left() + size + 4
        width = body.right() - left
        small_fm = look.small_fm
        duration = LRI + row.duration + PDI
        text_w = small_fm.horizontalAdvance(duration)
        dur_w = text_w + 6
        dur_rect = self._visual(QRect(left, y, width, line))
        dur_ink = theme.CALL_COLOURS["answered"] if row.state == "answered" else theme.MUTED
        p.setFont(look.small)
        if model.ticking and row.running:
            self._figure("duration", index, dur_rect, look.small, text_w, dur_ink, figures)
        else:
            p.setPen(dur_ink)
            p.drawText(dur_rect, END, duration)
        p.setPen(ink)
        text = isolate(row.destination) if len(model.rows) == 1 else \
            f"{isolate(row.destination)} {LRI}(+{len(model.rows) - 1}){PDI}"
        if small_fm.horizontalAdvance(text) > width - dur_w:
            text = small_fm.elidedText(text, ELIDE, width - dur_w)
        p.drawText(self._visual(QRect(left, y, width - dur_w, line)), START, text)
