"""One cabin on the till screen: its state colour, its calls and what the customer owes.

The tile is painted (not built from labels): 64 of them redraw every second on a
modest till PC, and painting a handful of texts is far cheaper than laying out dozens
of widgets. What it shows comes from `tile_model()`, a pure function of the cabin,
the live view and the time, so tests read exactly the figures on screen.

Figures: a running call's cost is `LiveView.call_charge` — `pricing.charge` on the
call's frozen rate at the server's clock, the function the server bills with; a
finished call shows the billed `price`. Nothing is computed any other way here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
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


@dataclass(frozen=True)
class CallRow:
    call_id: int
    state: str            # CallState value
    number: str
    destination: str
    rate: str
    duration: str
    cost: str
    live: bool


@dataclass(frozen=True)
class TileModel:
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
    return {
        CabinState.FREE: QCoreApplication.translate("CabinTile", "Free"),
        CabinState.IN_USE: QCoreApplication.translate("CabinTile", "In use"),
        CabinState.AWAITING_PAYMENT: QCoreApplication.translate("CabinTile", "To pay"),
        CabinState.DISABLED: QCoreApplication.translate("CabinTile", "Disabled"),
        UNREACHABLE: QCoreApplication.translate("CabinTile", "No line"),
    }.get(state, state)


def call_state_label(state: str) -> str:
    return {
        CallState.DIALING: QCoreApplication.translate("CabinTile", "Dialing"),
        CallState.RINGING: QCoreApplication.translate("CabinTile", "Ringing"),
        CallState.ANSWERED: QCoreApplication.translate("CabinTile", "Connected"),
        CallState.ENDED: QCoreApplication.translate("CabinTile", "Ended"),
        CallState.FAILED: QCoreApplication.translate("CabinTile", "Not answered"),
        CallState.CUT: QCoreApplication.translate("CabinTile", "Cut"),
    }.get(CallState(state), state)


def call_row(call: LiveCall, view: LiveView, now: datetime, fmt: Formatter) -> CallRow:
    charge = view.call_charge(call, now)
    seconds = view.talk_seconds(call, now)
    rate = fmt.rate(Money.of(call.rate.price_per_minute, call.price.currency)) \
        if call.rate is not None else ""
    duration = fmt.duration(seconds) if call.answered_at is not None else \
        call_state_label(call.state)
    return CallRow(call_id=call.id, state=str(call.state),
                   number=display_number(call.number or call.dialed_number), destination=call.destination or "?", rate=rate,
                   duration=duration, cost=fmt.money(charge.amount), live=call.is_live)


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


RowCache = dict[int, tuple[LiveCall, Formatter, CallRow]]


def tile_model(cabin: LiveCabin, view: LiveView, now: datetime, fmt: Formatter,
               cache: RowCache | None = None) -> TileModel:
    """`cache` keeps the rows of finished calls: they never change, and a busy
    cabin's session can hold dozens of them."""
    switch_down = view.switch is not None and not view.switch.connected
    state = str(cabin.state)
    if switch_down and cabin.state in (CabinState.FREE, CabinState.IN_USE):
        state = UNREACHABLE
    calls = cabin.calls
    if cache is None:
        rows = tuple(call_row(call, view, now, fmt) for call in calls)
    else:
        built = []
        for call in calls:
            hit = cache.get(call.id)
            # Events rebuild the call objects, so compare what a final row shows.
            if hit is not None and hit[1] is fmt and hit[0].state is call.state and \
                    hit[0].price == call.price and hit[0].ended_at == call.ended_at:
                built.append(hit[2])
                continue
            row = call_row(call, view, now, fmt)
            if call.state.is_final:
                cache[call.id] = (call, fmt, row)
            built.append(row)
        rows = tuple(built)
    due = view.due(cabin, now)
    live = any(call.is_live for call in calls)
    return TileModel(
        cabin_id=cabin.id, name=cabin.name, position=cabin.position, state=state,
        state_label=state_label(state), rows=rows,
        total=fmt.money(due) if due is not None else "",
        due=due, payable=bool(calls) and not live and cabin.session is not None,
        has_session=cabin.session is not None, has_live_call=live,
        ticking=any(call.state is CallState.ANSWERED for call in calls) and not view.stale,
        stale=view.stale)


STATE_COLOURS = {
    str(CabinState.FREE): theme.FREE,
    str(CabinState.IN_USE): theme.IN_USE,
    str(CabinState.AWAITING_PAYMENT): theme.AWAITING,
    str(CabinState.DISABLED): theme.DISABLED,
    UNREACHABLE: theme.UNREACHABLE,
}


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
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, False)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setMinimumSize(140, 60)

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
        self._rows: RowCache = {}
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
        self.update()
        self.sig_invoice.emit(self.cabin.id, on)

    def show_cabin(self, cabin: LiveCabin, view: LiveView, now: datetime,
                   fmt: Formatter) -> None:
        self.cabin = cabin
        old = self.model
        if cabin.session is None:
            self._rows.clear()
        self.model = model = tile_model(cabin, view, now, fmt, self._rows)
        if old is not None and old.has_session and not model.has_session:
            self.set_invoice(False)  # a paid session takes its invoice choice with it
        # Children move only when what they show changes (not on every tick).
        if old is None or (old.has_session, old.payable, old.stale) != \
                (model.has_session, model.payable, model.stale):
            self._place_children()
        self.update()

    # --- keyboard and mouse ------------------------------------------------------------
    def set_selected(self, selected: bool) -> None:
        if selected != self.selected:
            self.selected = selected
            self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.sig_selected.emit(self.cabin.id)
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.model is not None and self.model.has_session:
            self.sig_pay.emit(self.cabin.id)

    def _at_end_border(self, pos: QPoint) -> bool:
        if self.layoutDirection() == Qt.LayoutDirection.RightToLeft:
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

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        elif event.type() == QEvent.Type.LayoutDirectionChange:
            self._place_children()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self.pay_button.setText(self.tr("Pay"))
        self.pay_button.setToolTip(self.tr("Pay this cabin (Enter)"))
        self.history_button.setToolTip(self.tr("Past sessions of this cabin (H)"))
        self.invoice_bar.check.setToolTip(self.tr("Invoice for this payment (I)"))
        self.invoice_bar.label.setToolTip(self.tr("Invoice for this payment (I)"))

    def resizeEvent(self, event: object) -> None:
        self._place_children()

    # --- geometry --------------------------------------------------------------------------
    @property
    def compact(self) -> bool:
        return self.height() < 150

    def _header_height(self) -> int:
        return self.COMPACT_HEADER if self.compact else self.HEADER

    def _footer_height(self) -> int:
        return 30 if self.compact else self.FOOTER

    def _visual(self, rect: QRect) -> QRect:
        return QStyle.visualRect(self.layoutDirection(), self.rect(), rect)

    def _place_children(self) -> None:
        w, h = self.width(), self.height()
        header = self._header_height()
        footer = self._footer_height()
        size = header - 8
        self.history_button.setGeometry(self._visual(QRect(w - size - 6, 4, size, size)))
        self.history_button.setIconSize(QSize(size - 6, size - 6))
        payable = self.model is not None and self.model.has_session
        self.pay_button.setVisible(payable)
        if payable:
            bh = footer - 10
            if self.compact:
                self.pay_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
                bw = bh + 10
            else:
                self.pay_button.setToolButtonStyle(
                    Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
                bw = max(84, QFontMetrics(self.pay_button.font()).horizontalAdvance(
                    self.pay_button.text()) + bh + 22)
            if self._pay_icon_size != bh:
                self._pay_icon_size = bh
                self.pay_button.setIcon(theme.icon(theme.pay_pixmap(bh, "#ffffff", "#2e7d32")))
                self.pay_button.setIconSize(QSize(bh - 6, bh - 6))
            self.pay_button.setGeometry(self._visual(QRect(8, h - footer + 5, bw, bh)))
            model = self.model
            assert model is not None
            self.pay_button.setEnabled(model.payable and not model.stale)
            self.pay_button.setToolTip(self.tr("Pay this cabin (Enter)") if model.payable else
                                       self.tr("A call is still running in this cabin"))
        self.invoice_bar.setGeometry(self._visual(QRect(w - self.BAR - 3, header + 3,
                                                        self.BAR, h - header - 6)))

    # --- painting ----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        model = self.model
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        p.setLayoutDirection(self.layoutDirection())
        w, h = self.width(), self.height()
        outer = QRect(1, 1, w - 2, h - 2)
        band = STATE_COLOURS.get(model.state if model else "", theme.DISABLED)
        if model is not None and model.stale:
            band = theme.STALE

        # card
        p.setPen(QPen(theme.BRAND if self.selected else theme.LINE, 3 if self.selected else 1))
        p.setBrush(theme.CARD)
        p.drawRoundedRect(outer.adjusted(1, 1, -1, -1), 9, 9)

        # header band
        header = self._header_height()
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(band)
        top = QRect(3, 3, w - 6, header)
        p.drawRoundedRect(top, 7, 7)
        p.drawRect(QRect(3, 3 + header - 8, w - 6, 8))
        if model is None:
            p.end()
            return

        # The painter mirrors AlignLeft/AlignRight itself when it is right-to-left (no
        # AlignAbsolute): "start" is AlignLeft in both directions. Swapping them here too
        # put Arabic totals under the Pay button and costs next to the call icon.
        align_start = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        align_end = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

        compact = self.compact
        badge_font = theme.font(9 if compact else 10, bold=True)
        name_font = theme.font(10.5 if compact else 12.5, bold=True)
        state_font = theme.font(8.5 if compact else 9.5, bold=True)

        # the cabin's number in a disc, then its name, then the state
        disc = header - 10
        disc_rect = self._visual(QRect(9, 3 + (header - disc) // 2, disc, disc))
        p.setBrush(QColor(255, 255, 255, 235))
        p.drawEllipse(disc_rect)
        p.setPen(band)
        p.setFont(badge_font)
        p.drawText(disc_rect, Qt.AlignmentFlag.AlignCenter, str(model.position))

        p.setPen(QColor("#ffffff"))
        history_w = header - 2
        state_text = model.state_label.upper() if not model.stale else self.tr("Stale").upper()
        p.setFont(state_font)
        state_w = QFontMetrics(state_font).horizontalAdvance(state_text) + 6
        state_rect = self._visual(QRect(w - history_w - state_w - 10, 3, state_w, header))
        p.drawText(state_rect, align_end, state_text)
        if self.invoice:
            inv = theme.invoice_pixmap(16, "#ffffff")
            x = w - history_w - state_w - 30
            p.drawPixmap(self._visual(QRect(x, 3 + (header - 16) // 2, 16, 16)), inv)
            state_w += 22
        p.setFont(name_font)
        name_left = 9 + disc + 8
        name_rect = self._visual(QRect(name_left, 3, w - name_left - history_w - state_w - 14,
                                       header))
        name = QFontMetrics(name_font).elidedText(model.name, Qt.TextElideMode.ElideRight,
                                                  name_rect.width())
        p.drawText(name_rect, align_start, name)

        # calls
        footer = self._footer_height()
        body = QRect(10, 3 + header + 4, w - 20 - (self.BAR if self.invoice_bar.isVisible()
                                                   else 0), h - header - footer - 10)
        dim = model.stale
        ink = theme.MUTED if dim else theme.INK
        if not model.rows:
            p.setPen(theme.MUTED)
            p.setFont(theme.font(10 if compact else 12))
            text = self.tr("Ready") if model.state == CabinState.FREE else ""
            if model.state == CabinState.DISABLED:
                text = self.tr("Out of service")
            elif model.state == UNREACHABLE:
                text = self.tr("Switch unreachable")
            p.drawText(self._visual(body), Qt.AlignmentFlag.AlignCenter, text)
        elif compact:
            self._paint_compact_row(p, body, model, ink, align_start, align_end)
        else:
            self._paint_rows(p, body, model, ink, align_start, align_end)

        # footer: total
        if model.has_session:
            total_font = theme.font(13 if compact else 19, bold=True)
            label_font = theme.font(8 if compact else 9, bold=True)
            frect = QRect(10, h - footer - 2, w - 20, footer)
            p.setFont(total_font)
            p.setPen(ink)
            p.drawText(self._visual(frect), align_end, model.total)
            if not compact:
                tw = QFontMetrics(total_font).horizontalAdvance(model.total)
                p.setFont(label_font)
                p.setPen(theme.MUTED)
                lrect = QRect(10, h - footer - 2, w - 20 - tw - 10, footer)
                p.drawText(self._visual(lrect), align_end, self.tr("TOTAL"))
        if dim:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(238, 241, 245, 110))
            p.drawRoundedRect(outer.adjusted(1, 1, -1, -1), 9, 9)
        p.end()

    def _paint_rows(self, p: QPainter, body: QRect, model: TileModel, ink: QColor,
                    align_start: Qt.AlignmentFlag, align_end: Qt.AlignmentFlag) -> None:
        fits = max(1, body.height() // self.ROW)
        rows = model.rows
        hidden = 0
        if len(rows) > fits:
            hidden = len(rows) - (fits - 1)
            rows = rows[-(fits - 1):] if fits > 1 else rows[-1:]
        y = body.top()
        small = theme.font(9)
        number_font = theme.font(11, bold=True)
        cost_font = theme.font(11, bold=True)
        fm_cost = QFontMetrics(cost_font)
        if hidden and fits > 1:
            p.setFont(small)
            p.setPen(theme.MUTED)
            p.drawText(self._visual(QRect(body.left(), y, body.width(), self.ROW // 2)),
                       align_start, self.tr("+ %n earlier call(s)", "", hidden))
            y += self.ROW // 2
        for row in rows:
            icon = theme.call_icon(row.state, 20)
            p.drawPixmap(self._visual(QRect(body.left(), y + 2, 20, 20)), icon)
            text_left = body.left() + 26
            width = body.right() - text_left
            cost_w = fm_cost.horizontalAdvance(row.cost) + 4
            p.setFont(cost_font)
            p.setPen(ink if row.live or row.state == "ended" else theme.MUTED)
            p.drawText(self._visual(QRect(text_left, y, width, 22)), align_end, row.cost)
            p.setFont(number_font)
            p.setPen(ink)
            number = QFontMetrics(number_font).elidedText(
                row.number, Qt.TextElideMode.ElideRight, width - cost_w - 6)
            p.drawText(self._visual(QRect(text_left, y, width - cost_w - 6, 22)),
                       align_start, LRI + number + PDI)
            p.setFont(small)
            p.setPen(theme.MUTED)
            duration = LRI + row.duration + PDI
            dur_w = QFontMetrics(small).horizontalAdvance(row.duration) + 8
            if row.live and row.state == "answered":
                p.setPen(theme.CALL_COLOURS["answered"])
            p.drawText(self._visual(QRect(text_left, y + 18, width, 16)), align_end, duration)
            p.setPen(theme.MUTED)
            detail = isolate(row.destination) + ("  ·  " + row.rate if row.rate else "")
            detail = QFontMetrics(small).elidedText(detail, Qt.TextElideMode.ElideRight,
                                                    width - dur_w - 4)
            p.drawText(self._visual(QRect(text_left, y + 18, width - dur_w - 4, 16)),
                       align_start, detail)
            y += self.ROW

    def _paint_compact_row(self, p: QPainter, body: QRect, model: TileModel, ink: QColor,
                           align_start: Qt.AlignmentFlag,
                           align_end: Qt.AlignmentFlag) -> None:
        row = model.rows[-1]
        y = body.top()
        icon = theme.call_icon(row.state, 16)
        p.drawPixmap(self._visual(QRect(body.left(), y + 1, 16, 16)), icon)
        left = body.left() + 20
        width = body.right() - left
        small = theme.font(8.5)
        p.setFont(small)
        p.setPen(theme.CALL_COLOURS["answered"] if row.state == "answered" else theme.MUTED)
        dur_w = QFontMetrics(small).horizontalAdvance(row.duration) + 6
        p.drawText(self._visual(QRect(left, y, width, 18)), align_end, LRI + row.duration + PDI)
        p.setPen(ink)
        text = isolate(row.destination) if len(model.rows) == 1 else \
            f"{isolate(row.destination)} {LRI}(+{len(model.rows) - 1}){PDI}"
        text = QFontMetrics(small).elidedText(text, Qt.TextElideMode.ElideRight,
                                              width - dur_w)
        p.drawText(self._visual(QRect(left, y, width - dur_w, 18)), align_start, text)
