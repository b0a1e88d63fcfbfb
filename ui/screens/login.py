"""The login: who takes the till now. An operator's login opens their shift; the
language chosen here applies at once to the whole desk (Arabic right-to-left)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from server_client.client import ServerClient
from server_client.errors import ServerUnavailable, TooManyAttempts, Unauthorized
from server_client.models import Login
from ui import theme
from ui.i18n import LANGUAGES, aligned
from ui.workers import Operations

#: A message shown on the login: a text, or a function that writes it in the current
#: language (so a language chosen while it shows re-writes it at once).
Message = str | Callable[[], str]


def _text(message: Message) -> str:
    return message() if callable(message) else message


class LoginDialog(QDialog):
    sig_logged_in = Signal(object)   # Login
    sig_language = Signal(str)       # language code chosen

    def __init__(self, client: ServerClient, operations: Operations, *, language: str = "en",
                 training: bool = False, shop_name: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LoginDialog")
        self.client = client
        self.operations = operations
        self.training = training
        self.shop_name = shop_name
        self.server_ready = False
        self.server_message: Message = ""
        self.error_message: Message = ""
        self.busy = False
        self.login: Login | None = None
        self.setMinimumWidth(460)
        self.setWindowIcon(theme.app_icon())

        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.training_banner = QLabel(self)
        self.training_banner.setObjectName("TrainingBanner")
        self.training_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.training_banner.setWordWrap(True)  # translations run longer than English
        self.training_banner.setVisible(training)
        root.addWidget(self.training_banner)

        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(32, 26, 32, 24)
        layout.setSpacing(14)
        root.addWidget(body)

        brand = QHBoxLayout()
        logo = QLabel(self)
        logo.setPixmap(theme.app_icon().pixmap(52, 52))
        brand.addWidget(logo)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        self.title = QLabel(self)
        self.title.setObjectName("Title")
        self.subtitle = QLabel(self)
        self.subtitle.setObjectName("Subtitle")
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        brand.addLayout(titles, 1)
        layout.addLayout(brand)

        card = QFrame(self)
        card.setObjectName("Card")
        form = QFormLayout(card)
        form.setContentsMargins(20, 18, 20, 18)
        form.setVerticalSpacing(12)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeading | Qt.AlignmentFlag.AlignVCenter)
        self.language = QComboBox(card)
        for code, name in LANGUAGES.items():
            self.language.addItem(name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(language)))
        self.language.currentIndexChanged.connect(
            lambda _: self.sig_language.emit(self.language.currentData()))
        self.username = QLineEdit(card)
        self.username.setObjectName("Username")
        self.password = QLineEdit(card)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.username.returnPressed.connect(self.password.setFocus)
        self.password.returnPressed.connect(self.submit)
        self.language_label = QLabel(card)
        self.username_label = QLabel(card)
        self.password_label = QLabel(card)
        for label in (self.language_label, self.username_label, self.password_label):
            label.setObjectName("FieldLabel")
        form.addRow(self.language_label, self.language)
        form.addRow(self.username_label, self.username)
        form.addRow(self.password_label, self.password)
        layout.addWidget(card)

        self.status = QLabel(self)
        self.status.setObjectName("Info")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.error = theme.error_label(self)
        layout.addWidget(self.error)
        self.progress = theme.busy_bar(self, visible=True)
        layout.addWidget(self.progress)

        buttons = QHBoxLayout()
        self.quit_button = QPushButton(self)
        self.quit_button.setAutoDefault(False)
        self.quit_button.clicked.connect(self.reject)
        self.login_button = QPushButton(self)
        self.login_button.setObjectName("Primary")
        self.login_button.setDefault(True)
        self.login_button.clicked.connect(self.submit)
        buttons.addWidget(self.quit_button)
        buttons.addStretch(1)
        buttons.addWidget(self.login_button)
        layout.addLayout(buttons)
        self.retranslate()
        self._update_state()
        self.username.setFocus()

    # --- text ------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Cash desk — log in"))
        self.title.setText(self.tr("Cash desk"))
        self.subtitle.setText(aligned(self.shop_name, self.layoutDirection()) if self.shop_name
                              else self.tr("Log in to start your shift"))
        self.training_banner.setText(self.tr("TRAINING SHOP — practice only, no real money"))
        self.language_label.setText(self.tr("Language"))
        self.username_label.setText(self.tr("User name"))
        self.password_label.setText(self.tr("Password"))
        self.login_button.setText(self.tr("Log in (Enter)"))
        self.quit_button.setText(self.tr("Quit"))
        self.error.setText(_text(self.error_message))
        self._update_state()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.LanguageChange, QEvent.Type.LayoutDirectionChange):
            self.retranslate()
        super().changeEvent(event)

    # --- the server --------------------------------------------------------------------
    def set_server_state(self, ready: bool, message: Message = "") -> None:
        self.server_ready = ready
        self.server_message = message
        self._update_state()

    def set_shop(self, name: str, training: bool) -> None:
        self.shop_name = name
        self.training = training
        self.training_banner.setVisible(training)
        self.retranslate()

    def _update_state(self) -> None:
        if self.busy:
            self.status.setText(self.tr("Logging in…"))
        elif self.server_ready:
            self.status.setText(self.tr("Connected to the server."))
        else:
            self.status.setText(_text(self.server_message) or self.tr("Starting the server…"))
        self.progress.setVisible(self.busy or not self.server_ready)
        self.login_button.setEnabled(self.server_ready and not self.busy)

    # --- logging in -----------------------------------------------------------------------
    def submit(self) -> None:
        if self.busy or not self.server_ready:
            return
        username, password = self.username.text().strip(), self.password.text()
        if not username or not password:
            self._show_error(lambda: self.tr("Type your user name and password."))
            return
        self.busy = True
        self.error.hide()
        self._update_state()
        client = self.client
        self.operations.run(lambda: client.login(username, password), on_done=self._done,
                            on_failed=self._failed, label="login")

    def _done(self, login: Login) -> None:
        self.busy = False
        self.login = login
        self.password.clear()
        self._update_state()
        self.sig_logged_in.emit(login)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.busy = False
        self._update_state()
        if isinstance(exc, TooManyAttempts):
            seconds = exc.retry_after or 60
            self._show_error(lambda: self.tr("Too many failed attempts. Wait %n second(s).",
                                             "", seconds))
        elif isinstance(exc, Unauthorized):
            self._show_error(lambda: self.tr("Wrong user name or password."))
            self.password.selectAll()
            self.password.setFocus()
        elif isinstance(exc, ServerUnavailable):
            self._show_error(lambda: self.tr("The server cannot be reached. "
                                             "It will be retried."))
        else:
            self._show_error(str(exc))

    def _show_error(self, message: Message) -> None:
        self.error_message = message
        self.error.setText(_text(message))
        self.error.show()

    def reset(self, message: Message = "") -> None:
        """Ready for the next shift."""
        self.login = None
        self.username.clear()
        self.password.clear()
        self.error_message = message
        self.error.setText(_text(message))
        self.error.setVisible(bool(self.error.text()))
        self.username.setFocus()
