"""First run on a new till: create the shop and its admin.

The desk does not touch the database: the wizard collects the answers and
`cashdesk-server init` (a subprocess, in a worker thread) creates the shop.
"""

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

from ui import theme
from ui.i18n import BABEL_LOCALES, LANGUAGES, fill
from ui.workers import Operations

CURRENCIES = ("EUR", "USD", "GBP", "MAD", "DZD", "TND", "XOF", "CHF", "CAD")
TIMEZONES = ("Europe/Paris", "Europe/Madrid", "Europe/London", "Europe/Brussels",
             "Africa/Casablanca", "Africa/Algiers", "Africa/Tunis", "Africa/Dakar",
             "America/New_York", "America/Montreal", "UTC")
MIN_PASSWORD = 10


class FirstRunDialog(QDialog):
    sig_created = Signal(str)

    def __init__(self, operations: Operations,
                 create: Callable[..., str], *, language: str = "en",
                 parent: QWidget | None = None) -> None:
        """`create(shop=, currency=, locale=, timezone=, admin=, password=)` runs
        `cashdesk-server init` (blocking; it runs in a worker)."""
        super().__init__(parent)
        self.operations = operations
        self.create = create
        self.language = language
        self.busy = False
        self.setMinimumWidth(520)
        self.setWindowIcon(theme.app_icon())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 22, 28, 20)
        layout.setSpacing(12)
        self.title = QLabel(self)
        self.title.setObjectName("Title")
        self.intro = QLabel(self)
        self.intro.setObjectName("Subtitle")
        self.intro.setWordWrap(True)
        layout.addWidget(self.title)
        layout.addWidget(self.intro)
        card = QFrame(self)
        card.setObjectName("Card")
        form = QFormLayout(card)
        form.setContentsMargins(18, 16, 18, 16)
        form.setVerticalSpacing(10)
        self.shop = QLineEdit(card)
        self.currency = QComboBox(card)
        self.currency.addItems(CURRENCIES)
        self.currency.setEditable(True)
        self.timezone = QComboBox(card)
        self.timezone.addItems(TIMEZONES)
        self.timezone.setEditable(True)
        self.admin = QLineEdit("admin", card)
        self.password = QLineEdit(card)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.again = QLineEdit(card)
        self.again.setEchoMode(QLineEdit.EchoMode.Password)
        self.labels = [QLabel(card) for _ in range(6)]
        for label, field in zip(self.labels, (self.shop, self.currency, self.timezone,
                                               self.admin, self.password, self.again)):
            label.setObjectName("FieldLabel")
            form.addRow(label, field)
        layout.addWidget(card)
        self.error = theme.error_label(self)
        layout.addWidget(self.error)
        self.progress = theme.busy_bar(self)
        layout.addWidget(self.progress)
        buttons = QHBoxLayout()
        self.cancel = QPushButton(self)
        self.cancel.clicked.connect(self.reject)
        self.create_button = QPushButton(self)
        self.create_button.setObjectName("Primary")
        self.create_button.setDefault(True)
        self.create_button.clicked.connect(self.submit)
        buttons.addWidget(self.cancel)
        buttons.addStretch(1)
        buttons.addWidget(self.create_button)
        layout.addLayout(buttons)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("New shop"))
        self.title.setText(self.tr("Welcome"))
        self.intro.setText(self.tr("This till has no shop yet. Name it and choose the "
                                   "owner's login; cashiers are added later by the owner."))
        for label, text in zip(self.labels, (self.tr("Shop name"), self.tr("Currency"),
                                             self.tr("Time zone"), self.tr("Owner's login"),
                                             self.tr("Password"), self.tr("Password again"))):
            label.setText(text)
        self.cancel.setText(self.tr("Quit"))
        self.create_button.setText(self.tr("Create the shop"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def submit(self) -> None:
        if self.busy:
            return
        shop, admin = self.shop.text().strip(), self.admin.text().strip()
        password = self.password.text()
        if not shop or not admin:
            return self._fail(self.tr("Name the shop and the owner's login."))
        if len(password) < MIN_PASSWORD:
            return self._fail(self.tr("The password needs at least %n characters.", "",
                                      MIN_PASSWORD))
        if password != self.again.text():
            return self._fail(self.tr("The two passwords differ."))
        self.busy = True
        self.error.hide()
        self.progress.show()
        self.create_button.setEnabled(False)
        values = dict(shop=shop, currency=self.currency.currentText().strip().upper(),
                      locale=BABEL_LOCALES.get(self.language, "en"),
                      timezone=self.timezone.currentText().strip(), admin=admin,
                      password=password)
        self.operations.run(lambda: self.create(**values), on_done=self._done,
                            on_failed=self._failed, label="init")

    def _done(self, message: str) -> None:
        self.busy = False
        self.progress.hide()
        self.sig_created.emit(message)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.busy = False
        self.progress.hide()
        self.create_button.setEnabled(True)
        self._fail(fill(self.tr("The shop could not be created: %1"), str(exc)))

    def _fail(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()


__all__ = ["LANGUAGES", "FirstRunDialog", "Qt"]
