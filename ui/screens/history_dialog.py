"""A cabin's past sessions: when, which calls, who took the money, how much, and
whether an invoice was issued (the invoice itself opens with the invoice screens:
`sig_open_invoice` carries the transaction id)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from server_client.client import ServerClient
from server_client.models import Page, PastSession
from ui import theme
from ui.i18n import LRI, PDI, Formatter, fill, isolate, ltr
from ui.screens.cabin_tile import call_state_label, display_number
from ui.workers import Operations

PAGE = 30
TRANSACTION = Qt.ItemDataRole.UserRole + 1


class HistoryDialog(QDialog):
    sig_open_invoice = Signal(int)  # transaction id

    COLUMNS = 6

    def __init__(self, cabin_id: int, cabin_name: str, *, client: ServerClient,
                 operations: Operations, formatter: Formatter, training: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("HistoryDialog")
        self.cabin_id = cabin_id
        self.cabin_name = cabin_name
        self.client = client
        self.operations = operations
        self.fmt = formatter
        self.sessions: list[PastSession] = []
        self.total = 0
        self.loading = False
        self.resize(860, 560)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(10)
        self.training_banner = QLabel(self)
        self.training_banner.setObjectName("TrainingBanner")
        self.training_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.training_banner.setVisible(training)
        layout.addWidget(self.training_banner)
        self.title = QLabel(self)
        self.title.setObjectName("Title")
        layout.addWidget(self.title)
        self.summary = QLabel(self)
        self.summary.setObjectName("Subtitle")
        layout.addWidget(self.summary)

        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(self.COLUMNS)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setRootIsDecorated(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column in (0, 2, 3, 4, 5):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemActivated.connect(self._activated)
        layout.addWidget(self.tree, 1)

        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.error = QLabel(self)
        self.error.setObjectName("Error")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)

        buttons = QHBoxLayout()
        self.more_button = QPushButton(self)
        self.more_button.clicked.connect(self.load_more)
        self.more_button.hide()
        buttons.addWidget(self.more_button)
        buttons.addStretch(1)
        self.close_button = QPushButton(self)
        self.close_button.setObjectName("Primary")
        self.close_button.clicked.connect(self.accept)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Cabin history"))
        self.training_banner.setText(self.tr("TRAINING — sessions of the training shop"))
        self.title.setText(fill(self.tr("History — %1"), self.cabin_name))
        self.tree.setHeaderLabels([self.tr("When"), self.tr("Calls"), self.tr("Duration"),
                                   self.tr("Amount"), self.tr("Operator"),
                                   self.tr("Invoice")])
        self.more_button.setText(self.tr("Load older sessions"))
        self.close_button.setText(self.tr("Close (Esc)"))
        self._update_summary()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # --- loading -------------------------------------------------------------------------
    def load(self) -> None:
        """Load the newest sessions (off the GUI thread)."""
        self.sessions = []
        self.tree.clear()
        self._fetch(0)

    def load_more(self) -> None:
        self._fetch(len(self.sessions))

    def _fetch(self, offset: int) -> None:
        if self.loading:
            return
        self.loading = True
        self.progress.show()
        self.error.hide()
        client, cabin_id = self.client, self.cabin_id
        self.operations.run(lambda: client.cabin_sessions(cabin_id, offset=offset, limit=PAGE),
                            on_done=self._loaded, on_failed=self._failed, label="history")

    def _loaded(self, page: Page[PastSession]) -> None:
        self.loading = False
        self.progress.hide()
        self.total = page.total
        for session in page.items:
            self.sessions.append(session)
            self.tree.addTopLevelItem(self._session_item(session))
        self.more_button.setVisible(len(self.sessions) < self.total)
        if self.tree.topLevelItemCount() and self.tree.currentItem() is None:
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        self._update_summary()
        self.tree.setFocus()

    def _failed(self, exc: BaseException) -> None:
        self.loading = False
        self.progress.hide()
        self.error.setText(fill(self.tr("The history could not be loaded: %1"), str(exc)))
        self.error.show()

    def _update_summary(self) -> None:
        if not self.sessions and not self.loading:
            self.summary.setText(self.tr("No paid session yet."))
        else:
            self.summary.setText(self.tr("%n paid session(s)", "", self.total))

    # --- rows ------------------------------------------------------------------------------
    def _session_item(self, session: PastSession) -> QTreeWidgetItem:
        fmt = self.fmt
        seconds = sum(call.duration_seconds or 0 for call in session.calls)
        answered = sum(1 for call in session.calls if call.answered_at is not None)
        # The date in its locale's own direction (Arabic dates carry RLMs between day,
        # month and year: forced left-to-right they came out as "510:00 2026/1/").
        when = (f"{isolate(fmt.date_time(session.opened_at))} – "
                f"{ltr(fmt.time(session.closed_at))}")
        item = QTreeWidgetItem([
            when,
            self.tr("%n call(s)", "", len(session.calls)) + " · " +
            self.tr("%n answered", "", answered),
            fmt.duration(seconds), fmt.money(session.amount_due),
            session.operator.display_name or session.operator.username,
            session.invoice.number if session.invoice else ""])
        bold = theme.font(11.5, bold=True)
        for column in range(self.COLUMNS):
            item.setFont(column, bold)
        item.setTextAlignment(3, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setData(0, TRANSACTION, session.transaction_id)
        item.setToolTip(3, fill(self.tr("Received %1, change %2"),
                                fmt.money(session.received), fmt.money(session.change)))
        if session.invoice is not None:
            item.setIcon(5, theme.icon(theme.invoice_pixmap(18)))
            item.setToolTip(5, fill(self.tr("Invoice %1 — press Enter to open it"),
                                    session.invoice.number))
        for call in session.calls:
            child = QTreeWidgetItem([
                LRI + fmt.time(call.started_at) + PDI,
                (f"{LRI}{display_number(call.number or call.dialed_number)}{PDI}  "
                 f"{isolate(call.destination)}"),
                fmt.duration(call.duration_seconds or 0) if call.answered_at
                else call_state_label(call.state),
                fmt.money(call.price), "", ""])
            child.setIcon(0, theme.icon(theme.call_icon(str(call.state), 16)))
            child.setTextAlignment(3, Qt.AlignmentFlag.AlignRight
                                   | Qt.AlignmentFlag.AlignVCenter)
            child.setData(0, TRANSACTION, session.transaction_id)
            child.setToolTip(1, fill(self.tr("%1 per minute"),
                                     fmt.money(call.price_per_minute)))
            item.addChild(child)
        return item

    def _activated(self, item: QTreeWidgetItem, column: int) -> None:
        transaction_id = item.data(0, TRANSACTION)
        session = next((s for s in self.sessions if s.transaction_id == transaction_id), None)
        if session is not None and session.invoice is not None:
            self.sig_open_invoice.emit(int(transaction_id))
        elif item.childCount():
            item.setExpanded(not item.isExpanded())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.tree.currentItem():
            self._activated(self.tree.currentItem(), 0)
            return
        super().keyPressEvent(event)
