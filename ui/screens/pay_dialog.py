"""Pay: the amount due, the cash received, the change, and one press that takes it.

Rules the cashier can rely on:
- the amount due is the server's figure (the session's billed calls); while a call is
  still live the dialog says so and Pay is off, so a running call is never paid short;
- received < due is refused here with a clear sentence, before anything is sent;
- Pay sends an idempotency key made once when the dialog opens: a double click, or a
  retry after the server did not answer, takes the money once;
- Enter pays, Esc cancels (not while a payment is on its way).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cashdesk.money import Money, MoneyError
from server_client.client import ServerClient, new_idempotency_key
from server_client.errors import (
    ApiError,
    Conflict,
    InsufficientCash,
    ServerUnavailable,
    Unauthorized,
)
from server_client.live import LiveCabin, LiveView
from server_client.models import PaymentResult
from ui import theme
from ui.i18n import Formatter, fill, ltr, parse_cash
from ui.live_bridge import LiveBridge
from ui.screens.cabin_tile import display_number
from ui.workers import Operations

#: Banknotes a customer typically hands over, per currency (the rest: these).
NOTES: dict[str, tuple[int, ...]] = {
    "EUR": (5, 10, 20, 50, 100),
    "USD": (1, 5, 10, 20, 50, 100),
    "GBP": (5, 10, 20, 50),
    "MAD": (20, 50, 100, 200),
    "DZD": (200, 500, 1000, 2000),
    "TND": (10, 20, 50),
    "XOF": (1000, 2000, 5000, 10000),
}
DEFAULT_NOTES = (5, 10, 20, 50, 100)


def quick_notes(currency: str, due: Money, count: int = 4) -> list[Money]:
    """The notes worth offering: those that cover the amount due, smallest first."""
    notes = [Money.of(n, currency) for n in NOTES.get(currency, DEFAULT_NOTES)]
    covering = [note for note in notes if note >= due]
    return covering[:count] if covering else notes[-count:]


class PayDialog(QDialog):
    sig_paid = Signal(object)  # PaymentResult

    def __init__(self, cabin: LiveCabin, view: LiveView, *, client: ServerClient,
                 operations: Operations, bridge: LiveBridge | None, formatter: Formatter,
                 invoice: bool = False, training: bool = False,
                 clock: Callable[[], datetime] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PayDialog")
        self.cabin = cabin
        self.view = view
        self.client = client
        self.operations = operations
        self.fmt = formatter
        self.training = training
        self.clock = clock or (lambda: datetime.now(UTC))
        self.currency = view.shop.currency if view.shop else "EUR"
        self.idempotency_key = new_idempotency_key()
        self.session_id = cabin.session.id if cabin.session else None
        self.in_flight = False
        self.requests_sent = 0
        self.result: PaymentResult | None = None
        self.due: Money | None = None
        self.setModal(True)
        self.setMinimumWidth(520)

        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.training_banner = QLabel(self)
        self.training_banner.setObjectName("TrainingBanner")
        self.training_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.training_banner.setVisible(training)
        root.addWidget(self.training_banner)

        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(24, 18, 24, 20)
        layout.setSpacing(12)
        root.addWidget(body)

        self.title = QLabel(self)
        self.title.setObjectName("Title")
        layout.addWidget(self.title)
        self.calls_label = QLabel(self)
        self.calls_label.setObjectName("Subtitle")
        self.calls_label.setWordWrap(True)
        layout.addWidget(self.calls_label)

        self.live_warning = QLabel(self)
        self.live_warning.setObjectName("Warning")
        self.live_warning.setWordWrap(True)
        self.live_warning.hide()
        layout.addWidget(self.live_warning)

        card = QFrame(self)
        card.setObjectName("Card")
        grid = QGridLayout(card)
        grid.setContentsMargins(18, 14, 18, 14)
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(6)
        self.due_caption = QLabel(card)
        self.due_caption.setObjectName("FieldLabel")
        self.due_figure = QLabel(card)
        self.due_figure.setObjectName("DueFigure")
        self.received_caption = QLabel(card)
        self.received_caption.setObjectName("FieldLabel")
        self.received = QLineEdit(card)
        self.received.setObjectName("CashField")
        self.received.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.received.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
        self.received.textChanged.connect(self._update_change)
        self.change_caption = QLabel(card)
        self.change_caption.setObjectName("FieldLabel")
        self.change_figure = QLabel(card)
        self.change_figure.setObjectName("ChangeFigure")
        grid.addWidget(self.due_caption, 0, 0)
        grid.addWidget(self.due_figure, 1, 0)
        grid.addWidget(self.received_caption, 0, 1)
        grid.addWidget(self.received, 1, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        layout.addWidget(card)

        notes_row = QHBoxLayout()
        notes_row.setSpacing(8)
        self.exact_button = QPushButton(self)
        self.exact_button.setObjectName("QuickCash")
        self.exact_button.clicked.connect(self._exact)
        notes_row.addWidget(self.exact_button)
        self.note_buttons: list[QPushButton] = []
        for _ in range(4):
            button = QPushButton(self)
            button.setObjectName("QuickCash")
            button.clicked.connect(lambda _=False, b=button: self._note(b))
            notes_row.addWidget(button)
            self.note_buttons.append(button)
        layout.addLayout(notes_row)

        change_card = QFrame(self)
        change_card.setObjectName("Card")
        change_layout = QHBoxLayout(change_card)
        change_layout.setContentsMargins(18, 10, 18, 10)
        change_layout.addWidget(self.change_caption)
        change_layout.addStretch(1)
        change_layout.addWidget(self.change_figure)
        layout.addWidget(change_card)

        self.invoice_check = QCheckBox(self)
        self.invoice_check.setChecked(invoice)
        layout.addWidget(self.invoice_check)

        self.error = theme.error_label(self)
        layout.addWidget(self.error)
        self.progress = theme.busy_bar(self)
        layout.addWidget(self.progress)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton(self)
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.reject)
        self.pay_button = QPushButton(self)
        self.pay_button.setObjectName("PayButton")
        self.pay_button.setDefault(True)
        self.pay_button.setIcon(theme.icon(theme.pay_pixmap(28, "#ffffff", "#2e7d32")))
        self.pay_button.clicked.connect(self.pay)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.pay_button)
        layout.addLayout(buttons)
        QShortcut(QKeySequence(Qt.Key.Key_I | Qt.KeyboardModifier.AltModifier), self,
                  self.invoice_check.toggle)

        if bridge is not None:
            bridge.sig_state.connect(self._live_changed)
        self.retranslate()
        self._show_cabin(cabin, view)
        self.received.setFocus()

    # --- text ----------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Pay"))
        self.training_banner.setText(self.tr("TRAINING — no real money is taken"))
        self.due_caption.setText(self.tr("AMOUNT DUE"))
        self.received_caption.setText(self.tr("CASH RECEIVED"))
        self.change_caption.setText(self.tr("CHANGE TO GIVE"))
        self.exact_button.setText(self.tr("Exact"))
        self.exact_button.setToolTip(self.tr("The customer gives the exact amount"))
        self.invoice_check.setText(self.tr("Print an invoice (Alt+I)"))
        self.cancel_button.setText(self.tr("Cancel (Esc)"))
        self.pay_button.setText(self.tr("Pay (Enter)"))
        self.received.setPlaceholderText(self.fmt.plain_amount(Money.zero(self.currency)))
        self.title.setText(fill(self.tr("Pay — %1"), self.cabin.name))
        self._show_cabin(self.cabin, self.view)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # --- the cabin ---------------------------------------------------------------------
    def _live_changed(self, view: LiveView, diff: object) -> None:
        cabin = view.cabin(self.cabin.id)
        if cabin is not None and not self.in_flight and self.result is None:
            self._show_cabin(cabin, view)

    def _show_cabin(self, cabin: LiveCabin, view: LiveView) -> None:
        self.cabin, self.view = cabin, view
        session = cabin.session
        if session is None or (self.session_id is not None and session.id != self.session_id):
            self.due = None
            self.due_figure.setText("—")
            self.live_warning.setText(self.tr("Nothing to pay: this session is closed "
                                              "(paid at another desk?)."))
            self.live_warning.show()
            self.calls_label.setText("")
            self._update_change()
            return
        live = session.live_calls
        self.due = view.due(cabin, self.clock())
        self.due_figure.setText(self.fmt.money(self.due))
        answered = sum(1 for c in session.calls if c.answered_at is not None)
        self.calls_label.setText(
            self.tr("%n call(s)", "", len(session.calls)) + " · " +
            self.tr("%n answered", "", answered) + " · " +
            fill(self.tr("opened at %1"), self.fmt.time(session.opened_at)))
        if live:
            self.live_warning.setText(fill(self.tr(
                "A call is still running in this cabin (%1). It cannot be paid until it "
                "ends."), ltr(display_number(live[0].number or live[0].dialed_number))))
        self.live_warning.setVisible(bool(live))
        if view.stale:
            self.live_warning.setText(self.tr("The connection to the server is lost: "
                                              "the figures may be out of date."))
            self.live_warning.show()
        for button, note in zip(self.note_buttons, quick_notes(self.currency, self.due)):
            button.setText(self.fmt.money(note))
            button.setProperty("amount", str(note.amount))
            button.setToolTip(fill(self.tr("Received: %1"), self.fmt.money(note)))
        self._update_change()

    @property
    def has_live_call(self) -> bool:
        session = self.cabin.session
        return session is not None and bool(session.live_calls)

    # --- cash ------------------------------------------------------------------------------
    def _exact(self) -> None:
        if self.due is not None:
            self.received.setText(self.fmt.plain_amount(self.due))
        self.received.setFocus()

    def _note(self, button: QPushButton) -> None:
        amount = button.property("amount")
        if amount:
            self.received.setText(self.fmt.plain_amount(Money.of(Decimal(amount),
                                                                  self.currency)))
        self.received.setFocus()

    def received_amount(self) -> Money | None:
        try:
            return parse_cash(self.received.text(), self.currency)
        except MoneyError:
            return None

    def _update_change(self) -> None:
        received = self.received_amount()
        short = False
        if self.due is None or received is None:
            self.change_figure.setText("—")
        elif received < self.due:
            short = True
            self.change_figure.setText(self.fmt.money(self.due - received))
        else:
            self.change_figure.setText(self.fmt.money(received - self.due))
        # The caption says which figure it is: a sentence in the big figure did not fit
        # in longer languages ("il manque 0,44 €" was cut off).
        self.change_caption.setText(self.tr("STILL MISSING") if short
                                    else self.tr("CHANGE TO GIVE"))
        self.change_figure.setProperty("short", "true" if short else "false")
        self.change_figure.style().unpolish(self.change_figure)
        self.change_figure.style().polish(self.change_figure)
        self.pay_button.setEnabled(not self.in_flight and self.due is not None
                                   and not self.has_live_call and not self.view.stale)
        if not short and self.error.isVisible() and received is not None:
            self.error.hide()

    def _fail(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    # --- paying ----------------------------------------------------------------------------
    def pay(self) -> None:
        """Enter or the Pay button. Refused here when the cash does not cover the due;
        otherwise sent once (the button is off while it is on its way)."""
        if self.in_flight or self.result is not None:
            return
        if self.due is None:
            self._fail(self.tr("There is nothing to pay in this cabin."))
            return
        if self.has_live_call:
            self._fail(self.tr("A call is still running: wait until it ends."))
            return
        received = self.received_amount()
        if received is None:
            self._fail(fill(self.tr("Type the cash received (for example %1)."),
                            ltr(self.fmt.plain_amount(self.due))))
            self.received.setFocus()
            return
        if received < self.due:
            self._fail(fill(self.tr("Not enough cash: received %1, due %2. Nothing was taken."),
                            self.fmt.money(received), self.fmt.money(self.due)))
            self.received.setFocus()
            self.received.selectAll()
            return
        self.error.hide()
        self.in_flight = True
        self.requests_sent += 1
        self.pay_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self.progress.show()
        cabin_id, key, session_id = self.cabin.id, self.idempotency_key, self.session_id
        invoice = self.invoice_check.isChecked()
        client = self.client
        self.operations.run(
            lambda: client.pay(cabin_id, received, key, invoice=invoice,
                               session_id=session_id),
            on_done=self._paid, on_failed=self._pay_failed, label="pay")

    def _paid(self, result: PaymentResult) -> None:
        self.in_flight = False
        self.result = result
        self.progress.hide()
        self.sig_paid.emit(result)
        self.accept()

    def _pay_failed(self, exc: BaseException) -> None:
        self.in_flight = False
        self.progress.hide()
        self.cancel_button.setEnabled(True)
        if isinstance(exc, InsufficientCash):
            if exc.amount_due is not None:
                self.due = exc.amount_due
                self.due_figure.setText(self.fmt.money(exc.amount_due))
            self._fail(fill(self.tr("The server says %1 is due: more cash is needed."),
                            self.fmt.money(self.due or exc.received)))
        elif isinstance(exc, Conflict) and exc.code == "call_still_live":
            self._fail(self.tr("A call is still running: wait until it ends."))
        elif isinstance(exc, Conflict) and exc.code in ("nothing_to_pay", "payment_conflict"):
            self._fail(self.tr("This session was already paid (at another desk?). "
                               "Nothing was taken."))
            self.due = None
        elif isinstance(exc, Conflict) and exc.code == "shift_closed":
            self._fail(self.tr("Your shift is closed: log in again to take payments."))
        elif isinstance(exc, Unauthorized):
            self._fail(self.tr("Your login has ended: log in again."))
        elif isinstance(exc, ServerUnavailable):
            self._fail(self.tr("The server did not answer. Press Pay again: the payment "
                               "will be taken only once."))
        elif isinstance(exc, ApiError):
            self._fail(exc.message)
        else:
            self._fail(fill(self.tr("Payment failed: %1"), str(exc)))
        self._update_change()

    def reject(self) -> None:
        if self.in_flight:
            return  # the money is on its way: wait for the answer
        super().reject()
