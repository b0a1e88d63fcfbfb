"""The cabins on the till screen: a grid that fits 1 to 64 tiles on a 1366×768 till
and uses larger screens, the selected cabin, and the once-a-second tick of running
calls.

Only what changed is redrawn: a `Diff` names the cabins an event touched, and the tick
redraws only tiles with an answered call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QGridLayout, QScrollArea, QSizePolicy, QWidget

from server_client.live import Diff, LiveView
from ui.i18n import Formatter
from ui.screens.cabin_tile import CabinTile

Clock = Callable[[], datetime]

#: A tile's smallest useful size and the shape the grid aims for.
MIN_TILE = QSize(150, 64)
IDEAL_RATIO = 1.45   # width / height of a tile with room for a few calls
SPACING = 10


def spacing_for(count: int) -> int:
    """Tighter gaps when many tiles share the screen."""
    return SPACING if count <= 24 else 6


def best_columns(count: int, width: int, height: int) -> int:
    """The column count whose tiles come closest to the ideal shape while all
    `count` tiles fit in `width` × `height` (scrolling only when they cannot)."""
    if count <= 0:
        return 1
    best, best_score = 1, -math.inf
    gap = spacing_for(count)
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        tile_w = (width - gap * (cols - 1)) / cols
        tile_h = (height - gap * (rows - 1)) / rows
        if tile_w < MIN_TILE.width():
            break
        fits = tile_h >= MIN_TILE.height()
        ratio = tile_w / max(tile_h, 1)
        # closeness to the ideal shape, then area; an overflow only as a last resort
        score = -abs(math.log(ratio / IDEAL_RATIO)) + (0 if fits else -100)
        score -= (cols * rows - count) * 0.15  # few empty cells
        if score > best_score:
            best, best_score = cols, score
    return best


class CabinGrid(QScrollArea):
    sig_pay = Signal(int)
    sig_history = Signal(int)
    sig_selection = Signal(int)

    def __init__(self, formatter: Formatter, clock: Clock | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.formatter = formatter
        self.clock = clock or (lambda: datetime.now(UTC))
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.canvas = QWidget()
        self.canvas.setObjectName("GridCanvas")
        self.canvas.setStyleSheet("#GridCanvas { background: #eef1f5; }")
        self.layout_ = QGridLayout(self.canvas)
        self.layout_.setContentsMargins(SPACING, SPACING, SPACING, SPACING)
        self.layout_.setSpacing(SPACING)
        self.setWidget(self.canvas)
        self.tiles: dict[int, CabinTile] = {}
        self.order: list[int] = []
        self.view: LiveView | None = None
        self.selected: int | None = None
        self._columns = 0

    # --- state -------------------------------------------------------------------------
    def apply(self, view: LiveView, diff: Diff) -> None:
        """Show `view`; redraw the cabins `diff` names (all of them after a snapshot)."""
        self.view = view
        now = self.clock()
        ids = [cabin.id for cabin in view.cabins]
        if ids != self.order:
            self._rebuild(view)
            changed = set(ids)
        elif diff.everything or diff.switch:
            changed = set(ids)
        else:
            changed = set(diff.cabins)
        for cabin in view.cabins:
            if cabin.id in changed:
                self.tiles[cabin.id].show_cabin(cabin, view, now, self.formatter)

    def tick(self) -> None:
        """Once a second: running calls' durations and costs."""
        view = self.view
        if view is None or view.stale:
            return
        now = self.clock()
        for cabin in view.cabins:
            tile = self.tiles.get(cabin.id)
            if tile is not None and tile.model is not None and tile.model.ticking:
                tile.show_cabin(cabin, view, now, self.formatter)

    def refresh_all(self) -> None:
        """Re-render every tile (language or formatter changed)."""
        if self.view is not None:
            self.apply(self.view, Diff(everything=True))

    def set_formatter(self, formatter: Formatter) -> None:
        self.formatter = formatter
        self.refresh_all()

    def _rebuild(self, view: LiveView) -> None:
        for tile in self.tiles.values():
            self.layout_.removeWidget(tile)
            tile.deleteLater()
        self.tiles = {}
        self.order = [cabin.id for cabin in view.cabins]
        for cabin in view.cabins:
            tile = CabinTile(cabin, self.canvas)
            tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            tile.sig_pay.connect(self.sig_pay)
            tile.sig_history.connect(self.sig_history)
            tile.sig_selected.connect(self.select)
            self.tiles[cabin.id] = tile
        if self.selected not in self.tiles:
            self.selected = None
        self._columns = 0
        self._relayout()

    def _relayout(self) -> None:
        viewport = self.viewport().size()
        gap = spacing_for(len(self.order))
        self.layout_.setSpacing(gap)
        self.layout_.setContentsMargins(gap, gap, gap, gap)
        cols = best_columns(len(self.order), viewport.width() - 2 * gap,
                            viewport.height() - 2 * gap)
        if cols == self._columns:
            return
        self._columns = cols
        for tile in self.tiles.values():
            self.layout_.removeWidget(tile)
        for index, cabin_id in enumerate(self.order):
            self.layout_.addWidget(self.tiles[cabin_id], index // cols, index % cols)
        rows = math.ceil(len(self.order) / cols) if self.order else 0
        for r in range(self.layout_.rowCount()):
            self.layout_.setRowStretch(r, 1 if r < rows else 0)
        for c in range(self.layout_.columnCount()):
            self.layout_.setColumnStretch(c, 1 if c < cols else 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._relayout()

    @property
    def columns(self) -> int:
        return self._columns

    # --- selection ----------------------------------------------------------------------
    def select(self, cabin_id: int | None) -> None:
        if cabin_id is not None and cabin_id not in self.tiles:
            return
        if self.selected is not None and self.selected in self.tiles:
            self.tiles[self.selected].set_selected(False)
        self.selected = cabin_id
        if cabin_id is not None:
            tile = self.tiles[cabin_id]
            tile.set_selected(True)
            self.ensureWidgetVisible(tile)
            self.sig_selection.emit(cabin_id)

    def select_number(self, number: int) -> bool:
        """Select the cabin shown as `number` (its position), else the number-th tile."""
        view = self.view
        if view is None:
            return False
        for cabin in view.cabins:
            if cabin.position == number:
                self.select(cabin.id)
                return True
        if 1 <= number <= len(self.order):
            self.select(self.order[number - 1])
            return True
        return False

    def move_selection(self, dx: int, dy: int) -> None:
        if not self.order:
            return
        if self.selected is None:
            self.select(self.order[0])
            return
        if self.layoutDirection() == Qt.LayoutDirection.RightToLeft:
            dx = -dx
        index = self.order.index(self.selected)
        cols = max(1, self._columns)
        new = index + dx + dy * cols
        if 0 <= new < len(self.order):
            self.select(self.order[new])

    def selected_tile(self) -> CabinTile | None:
        return self.tiles.get(self.selected) if self.selected is not None else None
