"""The admin's invoice settings: what the shop's invoices and receipts say about the
shop (company, address, tax id, VAT, logo, footer) and how invoice numbers look.

The settings live on the server (`GET/PUT /invoice-settings`); this dialog loads them
and saves what changed through `Operations`, off the GUI thread, as it reads a chosen
logo file. The server validates; when it refuses a value its sentence is shown under
the field it names, and the dialog stays open with the admin's edits.

Keys: Tab walks the fields in reading order, Enter saves (Ctrl+Enter in the address
and footer boxes, where Enter starts a new line), Esc cancels.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QLocale, QRegularExpression, QSize, Qt, Signal
from PySide6.QtGui import (
    QImage,
    QKeySequence,
    QPixmap,
    QRegularExpressionValidator,
    QShortcut,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cashdesk.invoices.labels import LANGUAGES as INVOICE_LANGUAGE_CODES
from cashdesk.invoices.number_format import format_invoice_number
from server_client.client import ServerClient
from server_client.errors import ApiError
from ui import theme
from ui.i18n import LANGUAGES, Formatter, fill
from ui.workers import Operations

Clock = Callable[[], datetime]
Settings = dict[str, Any]

# The server's limit on a logo (cashdesk.server.api.invoice_settings.MAX_LOGO_BYTES; a
# test keeps the two equal). Checked here too so a big photo is refused before upload.
LOGO_MAX_BYTES = 512 * 1024
# What reportlab draws on the invoice; the server refuses anything else.
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
LOGO_PREVIEW = QSize(220, 84)
# Each invoice language by its own name (never translated: an Urdu speaker looks for
# "اردو", not for its French name).
INVOICE_LANGUAGES: dict[str, str] = {code: {**LANGUAGES, "ur": "اردو"}.get(code, code)
                                     for code in INVOICE_LANGUAGE_CODES}
# The server caps these (cashdesk.server.api.invoice_settings.FIELDS).
MAX_PADDING = 12
MAX_NEXT_NUMBER = 999_999_999        # a QSpinBox holds 32 bits; the server allows more

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_VAT_TYPED = QRegularExpression(r"[0-9٠-٩۰-۹]{0,3}([.,٫][0-9٠-٩۰-۹]{0,4})?")
_VAT_WIRE = re.compile(r"\d{1,3}(\.\d{1,4})?")


# --- values ---------------------------------------------------------------------------

def number_preview(prefix: str, with_year: bool, padding: int, next_number: int,
                   year: int) -> str:
    """The next invoice's number as the server will print it."""
    return format_invoice_number(next_number, prefix=prefix, with_year=with_year,
                                 padding=padding, year=year)


def vat_for_display(wire: str, decimal_point: str) -> str:
    """The server's "5.5" as the locale writes it ("5,5")."""
    return wire.replace(".", decimal_point)


def vat_for_wire(text: str) -> str | None:
    """What the admin typed ("5,5", "5.5", "٥٫٥", "20 %") as the server's decimal text,
    or None when it is not a number at all (the server judges the range)."""
    cleaned = (text.strip().translate(_DIGITS).replace("%", "").replace(" ", "")
               .replace("\u00a0", "").replace("٫", ".").replace(",", "."))
    if not _VAT_WIRE.fullmatch(cleaned):
        return None
    return _normal(cleaned)


def _normal(decimal_text: str) -> str:
    try:
        value = Decimal(decimal_text)
    except InvalidOperation:
        return decimal_text
    return f"{value.normalize():f}"


class LogoProblem(Exception):
    """A chosen logo file the server would refuse: `kind` is "too_large" (with `size`),
    "not_an_image" or "unreadable" (with the system's reason)."""

    def __init__(self, kind: str, *, size: int = 0, reason: str = "") -> None:
        super().__init__(kind)
        self.kind = kind
        self.size = size
        self.reason = reason


@dataclass(frozen=True)
class Logo:
    data: bytes
    preview: QImage       # already scaled to the preview box (made off the GUI thread)


def decode_logo(data: bytes) -> Logo:
    """Check and scale a logo. Runs in a worker: a QImage (not a QPixmap) may be made
    off the GUI thread."""
    if len(data) > LOGO_MAX_BYTES:
        raise LogoProblem("too_large", size=len(data))
    image = QImage.fromData(data)
    if not data.startswith(_IMAGE_MAGIC) or image.isNull():
        raise LogoProblem("not_an_image")
    preview = image.scaled(LOGO_PREVIEW, Qt.AspectRatioMode.KeepAspectRatio,
                           Qt.TransformationMode.SmoothTransformation)
    return Logo(data, preview)


def read_logo_file(path: str) -> Logo:
    """The logo in the file at `path`, checked. Blocking (disk): run it in a worker."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > LOGO_MAX_BYTES:    # do not read a 20 MB photo to refuse it
            raise LogoProblem("too_large", size=size)
        data = file.read_bytes()
    except OSError as exc:
        raise LogoProblem("unreadable", reason=exc.strerror or str(exc)) from exc
    return decode_logo(data)


def _loaded(settings: Settings) -> tuple[Settings, Logo | None]:
    """The server's settings with their logo decoded (worker side)."""
    logo = None
    if settings.get("logo"):
        try:
            logo = decode_logo(base64.b64decode(settings["logo"]))
        except (LogoProblem, binascii.Error, ValueError):
            logo = None      # a logo the desk cannot show is still kept on the server
    return settings, logo


# --- the dialog -------------------------------------------------------------------------

class InvoiceSettingsDialog(QDialog):
    """Load with `load()`; Save sends the fields that changed."""

    sig_loaded = Signal(object)      # the server's settings (wire form)
    sig_saved = Signal(object)       # the settings the server answered after saving
    sig_failed = Signal(str)         # a message shown (loading or saving)
    sig_logo_changed = Signal()      # a chosen file was read, or refused (field_error("logo"))

    def __init__(self, client: ServerClient, operations: Operations, *,
                 formatter: Formatter | None = None, clock: Clock | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("InvoiceSettingsDialog")
        self.client = client
        self.operations = operations
        self.fmt = formatter or Formatter()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.loaded: Settings | None = None
        self.logo: bytes | None = None
        self.loading = False
        self.saving = False
        self.reading_logo = False
        self._logo_image: QImage | None = None
        self._state = ""                 # "loading", "saving", "load_failed", "" (shown)
        self.preview_number = ""         # the next invoice's number, as previewed
        self.file_dialog: QFileDialog | None = None
        self.setWindowIcon(theme.app_icon())
        self.resize(980, 680)
        self._build()
        self.retranslate()
        self._set_enabled(False)

    # --- layout ---------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 16)
        layout.setSpacing(10)
        self.title = QLabel(self)
        self.title.setObjectName("Title")
        self.subtitle = QLabel(self)
        self.subtitle.setObjectName("Subtitle")
        self.subtitle.setWordWrap(True)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)

        self.cards = QWidget(self)
        columns = QHBoxLayout(self.cards)
        columns.setContentsMargins(0, 4, 0, 0)
        columns.setSpacing(16)
        self.shop_card, shop_form, self.shop_heading = self._card()
        self.number_card, number_form, self.number_heading = self._card()
        columns.addWidget(self.shop_card, 1)
        columns.addWidget(self.number_card, 1)
        layout.addWidget(self.cards, 1)
        self.labels: dict[str, QLabel] = {}
        self.errors: dict[str, QLabel] = {}
        self.widgets: dict[str, QWidget] = {}
        self._forms: dict[str, QFormLayout] = {}

        # the shop, as its invoices name it
        self.company_name = QLineEdit(self.shop_card)
        self.company_name.setMaxLength(200)
        self.address = self._text_box(self.shop_card)
        self.tax_id = QLineEdit(self.shop_card)
        self.tax_id.setMaxLength(60)
        self.vat_rate = QLineEdit(self.shop_card)
        self.vat_rate.setValidator(QRegularExpressionValidator(_VAT_TYPED, self.vat_rate))
        self.vat_rate.setMaximumWidth(110)
        self.vat_rate.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.percent = QLabel("%", self.shop_card)
        self.prices_include_vat = QCheckBox(self.shop_card)
        vat_row = QHBoxLayout()
        vat_row.setSpacing(6)
        vat_row.addWidget(self.vat_rate)
        vat_row.addWidget(self.percent)
        vat_row.addSpacing(16)
        vat_row.addWidget(self.prices_include_vat)
        vat_row.addStretch(1)

        self.logo_preview = QLabel(self.shop_card)
        self.logo_preview.setObjectName("LogoPreview")
        self.logo_preview.setFixedSize(LOGO_PREVIEW + QSize(12, 12))
        self.logo_preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.choose_logo_button = QPushButton(self.shop_card)
        self.choose_logo_button.clicked.connect(self.choose_logo)
        self.remove_logo_button = QPushButton(self.shop_card)
        self.remove_logo_button.clicked.connect(self.remove_logo)
        self.logo_hint = QLabel(self.shop_card)
        self.logo_hint.setObjectName("Info")
        self.logo_hint.setWordWrap(True)
        logo_buttons = QVBoxLayout()
        logo_buttons.setSpacing(6)
        logo_buttons.addWidget(self.choose_logo_button)
        logo_buttons.addWidget(self.remove_logo_button)
        logo_buttons.addStretch(1)
        logo_box = QHBoxLayout()
        logo_box.setSpacing(12)
        logo_box.addWidget(self.logo_preview)
        logo_box.addLayout(logo_buttons)
        logo_box.addStretch(1)

        self._row(shop_form, "company_name", self.company_name)
        self._row(shop_form, "address", self.address)
        self._row(shop_form, "tax_id", self.tax_id)
        self._row(shop_form, "vat_rate", vat_row, focus=self.vat_rate)
        self._attach("prices_include_vat", shop_form, self.prices_include_vat)
        # The hint is a row of its own: a wrapped label inside a nested layout is given
        # the height of one line by QFormLayout, and overlaps what follows.
        self._row(shop_form, "logo", logo_box, focus=self.choose_logo_button,
                  below=self.logo_hint)

        # how invoices are numbered, their language and footer
        self.number_prefix = QLineEdit(self.number_card)
        self.number_prefix.setMaxLength(20)
        self.number_with_year = QCheckBox(self.number_card)
        # No arrow buttons (the theme hides them: Fusion's clash with its rounded fields):
        # the number is typed, or stepped with the Up and Down keys and the wheel.
        self.number_padding = QSpinBox(self.number_card)
        self.number_padding.setRange(0, MAX_PADDING)
        self.number_padding.setMaximumWidth(90)
        self.next_number = QSpinBox(self.number_card)
        self.next_number.setRange(1, MAX_NEXT_NUMBER)
        self.next_number.setMaximumWidth(160)
        self.next_number.setGroupSeparatorShown(False)
        for spin in (self.number_padding, self.next_number):
            spin.setObjectName("NumberField")
            spin.setLocale(QLocale.c())     # Western digits in every language (ui.i18n)
        self.next_number_hint = QLabel(self.number_card)
        self.next_number_hint.setObjectName("Info")
        self.next_number_hint.setWordWrap(True)
        self.preview = QLabel(self.number_card)
        self.preview.setObjectName("NumberPreview")
        self.preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.language = QComboBox(self.number_card)
        for code, name in INVOICE_LANGUAGES.items():
            self.language.addItem(name, code)
        self.footer = self._text_box(self.number_card)

        self._row(number_form, "number_prefix", self.number_prefix)
        number_form.addRow("", self.number_with_year)
        self._attach("number_with_year", number_form, self.number_with_year)
        self._row(number_form, "number_padding", self.number_padding)
        self._row(number_form, "next_number", self.next_number)
        number_form.addRow("", self.next_number_hint)
        number_form.addRow("", self.preview)
        self._row(number_form, "language", self.language)
        self._row(number_form, "footer", self.footer)

        for signal in (self.number_prefix.textChanged, self.number_with_year.toggled,
                       self.number_padding.valueChanged, self.next_number.valueChanged):
            signal.connect(self._update_preview)

        # state and buttons
        self.error = theme.error_label(self)
        layout.addWidget(self.error)
        self.progress = theme.busy_bar(self)
        layout.addWidget(self.progress)
        buttons = QHBoxLayout()
        self.status = QLabel(self)
        self.status.setObjectName("Info")
        self.cancel_button = QPushButton(self)
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.reject)
        self.retry_button = QPushButton(self)
        self.retry_button.setAutoDefault(False)
        self.retry_button.clicked.connect(self.load)
        self.retry_button.hide()
        self.save_button = QPushButton(self)
        self.save_button.setObjectName("Primary")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)

        # Enter in the multi-line boxes starts a new line; Ctrl+Enter saves from anywhere.
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.activated.connect(self.save)
        for text_box in (self.address, self.footer):
            text_box.setTabChangesFocus(True)

        order = [self.company_name, self.address, self.tax_id, self.vat_rate,
                 self.prices_include_vat, self.choose_logo_button, self.remove_logo_button,
                 self.number_prefix, self.number_with_year, self.number_padding,
                 self.next_number, self.language, self.footer, self.retry_button,
                 self.cancel_button, self.save_button]
        for first, second in itertools.pairwise(order):
            self.setTabOrder(first, second)

    def _card(self) -> tuple[QFrame, QFormLayout, QLabel]:
        card = QFrame(self)
        card.setObjectName("Card")
        column = QVBoxLayout(card)
        column.setContentsMargins(18, 14, 18, 14)
        column.setSpacing(8)
        heading = QLabel(card)
        heading.setObjectName("CardHeading")
        column.addWidget(heading)
        form = QFormLayout()
        form.setVerticalSpacing(6)
        form.setHorizontalSpacing(12)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeading | Qt.AlignmentFlag.AlignVCenter)
        column.addLayout(form)
        column.addStretch(1)
        return card, form, heading

    def _text_box(self, parent: QWidget) -> QPlainTextEdit:
        box = QPlainTextEdit(parent)
        box.setObjectName("TextBox")
        lines = box.fontMetrics().lineSpacing()
        box.setFixedHeight(lines * 3 + 22)
        return box

    def _row(self, form: QFormLayout, name: str, field: QWidget | Any, *,
             focus: QWidget | None = None, below: QWidget | None = None) -> None:
        label = QLabel(form.parentWidget())
        label.setObjectName("FieldLabel")
        label.setBuddy(focus or field)
        self.labels[name] = label
        form.addRow(label, field)
        if below is not None:
            form.addRow("", below)
        self._attach(name, form, focus or field)

    def _attach(self, name: str, form: QFormLayout, widget: QWidget) -> None:
        """The server's message about `name` shows in a row under it, hidden until then."""
        error = QLabel(form.parentWidget())
        error.setObjectName("FieldError")
        error.setWordWrap(True)
        form.addRow("", error)
        form.setRowVisible(error, False)
        self.errors[name] = error
        self.widgets[name] = widget
        self._forms[name] = form

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Invoice settings"))
        self.title.setText(self.tr("Invoice settings"))
        self.subtitle.setText(self.tr("What the shop's invoices and receipts say about it. "
                                      "Invoices already issued keep what they were "
                                      "printed with."))
        self.shop_heading.setText(self.tr("The shop"))
        self.number_heading.setText(self.tr("Invoices"))
        texts = {"company_name": self.tr("&Company name"),
                 "address": self.tr("&Address"),
                 "tax_id": self.tr("&Tax id"),
                 "vat_rate": self.tr("&VAT rate"),
                 "logo": self.tr("Logo"),
                 "number_prefix": self.tr("Number &prefix"),
                 "number_padding": self.tr("&Digits"),
                 "next_number": self.tr("&Next number"),
                 "language": self.tr("&Language"),
                 "footer": self.tr("&Footer")}
        for name, text in texts.items():
            self.labels[name].setText(text)
        self.company_name.setPlaceholderText(self.tr("As registered, e.g. Taxiphone de la Gare"))
        self.address.setPlaceholderText(self.tr("Street, town — one line each"))
        self.tax_id.setPlaceholderText(self.tr("e.g. FR40123456824"))
        self.vat_rate.setPlaceholderText(vat_for_display("20", self.fmt.decimal_point()))
        self.prices_include_vat.setText(self.tr("Prices include VAT"))
        self.prices_include_vat.setToolTip(self.tr(
            "Ticked: the rates are what customers pay, VAT included. Unticked: VAT is "
            "added on top of them."))
        self.choose_logo_button.setText(self.tr("C&hoose…"))
        self.remove_logo_button.setText(self.tr("&Remove"))
        self.logo_hint.setText(fill(self.tr("A PNG or JPEG picture of at most %1 KB, printed "
                                            "at the top of every invoice."),
                                    self.fmt.count(LOGO_MAX_BYTES // 1024)))
        self.number_prefix.setPlaceholderText(self.tr("e.g. INV-"))
        self.number_with_year.setText(self.tr("Put the &year in the number"))
        self.number_padding.setToolTip(self.tr("The number is padded with zeros to this "
                                               "many digits (0: no padding)."))
        self.next_number_hint.setText(self.tr("It can change only until the first invoice "
                                              "is issued: numbers must have no gaps."))
        self.footer.setPlaceholderText(self.tr("e.g. Thank you for your visit"))
        self.language.setToolTip(self.tr("The language invoices and receipts are printed in"))
        self.cancel_button.setText(self.tr("Cancel (Esc)"))
        self.retry_button.setText(self.tr("Try again"))
        self.save_button.setText(self.tr("Save (Enter)"))
        self._update_logo()
        self._update_preview()
        self._update_state()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # --- loading ----------------------------------------------------------------------
    def load(self) -> None:
        """Ask the server for the settings (in a worker); the fields fill when they come."""
        if self.loading or self.saving:
            return
        self.loading = True
        self.error.hide()
        self.retry_button.hide()
        self._set_enabled(False)
        self._state = "loading"
        self._update_state()
        client = self.client
        self.operations.run(lambda: _loaded(client.invoice_settings()),
                            on_done=self._guard(self._loaded), on_failed=self._guard(
                                self._load_failed), label="invoice settings")

    def _loaded(self, answer: tuple[Settings, Logo | None]) -> None:
        settings, logo = answer
        self.loading = False
        self.show_settings(settings, logo)
        self._set_enabled(True)
        self._state = ""
        self._update_state()
        self.company_name.setFocus()
        self.sig_loaded.emit(settings)

    def _load_failed(self, exc: BaseException) -> None:
        self.loading = False
        self._state = "load_failed"
        self._update_state()
        message = fill(self.tr("The invoice settings could not be loaded: %1"), str(exc))
        self._show_error(message)
        self.retry_button.show()
        self.retry_button.setFocus()
        self.sig_failed.emit(message)

    def show_settings(self, settings: Settings, logo: Logo | None = None) -> None:
        """Fill the fields with the server's `settings` (its wire form)."""
        self.loaded = dict(settings)
        self.company_name.setText(str(settings.get("company_name", "")))
        self.address.setPlainText(str(settings.get("address", "")))
        self.tax_id.setText(str(settings.get("tax_id", "")))
        self.vat_rate.setText(vat_for_display(str(settings.get("vat_rate", "0")),
                                              self.fmt.decimal_point()))
        self.prices_include_vat.setChecked(bool(settings.get("prices_include_vat", True)))
        self.footer.setPlainText(str(settings.get("footer", "")))
        self.number_prefix.setText(str(settings.get("number_prefix", "")))
        self.number_with_year.setChecked(bool(settings.get("number_with_year", True)))
        self.number_padding.setValue(int(settings.get("number_padding", 6)))
        self.next_number.setValue(int(settings.get("next_number", 1)))
        language = str(settings.get("language", "en"))
        if self.language.findData(language) < 0:    # set through the API: keep it
            self.language.addItem(language, language)
        self.language.setCurrentIndex(self.language.findData(language))
        self.logo = logo.data if logo is not None else (
            base64.b64decode(settings["logo"]) if settings.get("logo") else None)
        self._logo_image = logo.preview if logo is not None else None
        self._update_logo()
        self._clear_errors()

    # --- values -------------------------------------------------------------------------
    def values(self) -> Settings:
        """What the fields say, in the server's terms (`vat_rate` None: not a number)."""
        return {
            "company_name": self.company_name.text().strip(),
            "address": self.address.toPlainText().strip(),
            "tax_id": self.tax_id.text().strip(),
            "vat_rate": vat_for_wire(self.vat_rate.text()),
            "prices_include_vat": self.prices_include_vat.isChecked(),
            "logo": self.logo,
            "footer": self.footer.toPlainText().strip(),
            "number_prefix": self.number_prefix.text().strip(),
            "number_with_year": self.number_with_year.isChecked(),
            "number_padding": self.number_padding.value(),
            "next_number": self.next_number.value(),
            "language": str(self.language.currentData()),
        }

    def changes(self) -> Settings:
        """The fields that differ from what the server has (a PUT leaves the rest)."""
        loaded = self.loaded or {}
        changed: Settings = {}
        for name, value in self.values().items():
            if name == "logo":
                before = base64.b64decode(loaded["logo"]) if loaded.get("logo") else None
                if value != before:
                    changed[name] = value
            elif name == "vat_rate":
                if value is None or value != _normal(str(loaded.get(name, ""))):
                    changed[name] = value
            elif value != loaded.get(name):
                changed[name] = value
        return changed

    def _update_preview(self) -> None:
        year = self.clock().astimezone(self.fmt.timezone).year
        number = number_preview(self.number_prefix.text().strip(),
                                self.number_with_year.isChecked(), self.number_padding.value(),
                                self.next_number.value(), year)
        self.preview.setText(fill(self.tr("Next invoice: %1"), number))
        self.preview_number = number

    # --- the logo -------------------------------------------------------------------------
    def choose_logo(self) -> None:
        """A file dialog (its own window, the desk keeps running); the file is read in a
        worker once chosen."""
        if self.reading_logo or self.saving:
            return
        dialog = QFileDialog(self, self.tr("Choose the logo"))
        dialog.setObjectName("LogoFileDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters([self.tr("Images (*.png *.jpg *.jpeg)")])
        dialog.fileSelected.connect(self.read_logo)
        dialog.finished.connect(dialog.deleteLater)
        self.file_dialog = dialog
        dialog.open()

    def read_logo(self, path: str) -> None:
        """Read the logo at `path` off the GUI thread, check it and show it."""
        if not path or self.reading_logo:
            return
        self.reading_logo = True
        self._show_field_error("logo", "")
        self.choose_logo_button.setEnabled(False)
        self.operations.run(lambda: read_logo_file(path), on_done=self._guard(self._logo_read),
                            on_failed=self._guard(self._logo_refused), label="logo")

    def _logo_read(self, logo: Logo) -> None:
        self.reading_logo = False
        self.choose_logo_button.setEnabled(True)
        self.logo = logo.data
        self._logo_image = logo.preview
        self._update_logo()
        self.sig_logo_changed.emit()

    def _logo_refused(self, exc: BaseException) -> None:
        self.reading_logo = False
        self.choose_logo_button.setEnabled(True)
        if isinstance(exc, LogoProblem) and exc.kind == "too_large":
            text = fill(self.tr("This picture is %1 KB; a logo can be at most %2 KB. Save it "
                                "smaller (about 600 pixels wide is plenty) and choose it "
                                "again."), self.fmt.count(-(-exc.size // 1024)),
                        self.fmt.count(LOGO_MAX_BYTES // 1024))
        elif isinstance(exc, LogoProblem) and exc.kind == "not_an_image":
            text = self.tr("This file is not a PNG or JPEG picture. Choose a logo saved as "
                           "PNG or JPEG.")
        else:
            reason = exc.reason if isinstance(exc, LogoProblem) else str(exc)
            text = fill(self.tr("The file could not be read: %1"), reason)
        self._show_field_error("logo", text)
        self.choose_logo_button.setFocus()
        self.sig_logo_changed.emit()

    def remove_logo(self) -> None:
        self.logo = None
        self._logo_image = None
        self._show_field_error("logo", "")
        self._update_logo()
        self.choose_logo_button.setFocus()

    def _update_logo(self) -> None:
        if self._logo_image is not None:
            self.logo_preview.setPixmap(QPixmap.fromImage(self._logo_image))
        else:
            self.logo_preview.setPixmap(QPixmap())
            self.logo_preview.setText(self.tr("No logo") if self.logo is None
                                      else self.tr("A logo the desk cannot show"))
        self.remove_logo_button.setEnabled(self.logo is not None and not self.saving
                                           and self.loaded is not None)

    # --- saving -----------------------------------------------------------------------------
    def save(self) -> None:
        """Send what changed; close when the server has it. Nothing changed: close."""
        if self.loaded is None or self.loading or self.saving or self.reading_logo:
            return
        self._clear_errors()
        changes = self.changes()
        if "vat_rate" in changes and changes["vat_rate"] is None:
            self._show_field_error("vat_rate", fill(
                self.tr("Enter the VAT rate in percent, e.g. %1 (0 when the shop charges no "
                        "VAT)."), vat_for_display("5.5", self.fmt.decimal_point())))
            self.vat_rate.setFocus()
            return
        if not changes:
            self.accept()
            return
        self.saving = True
        self._set_enabled(False)
        self._state = "saving"
        self._update_state()
        client = self.client
        self.operations.run(lambda: client.update_invoice_settings(**changes),
                            on_done=self._guard(self._saved),
                            on_failed=self._guard(self._save_failed), label="invoice settings")

    def _saved(self, settings: Settings) -> None:
        self.saving = False
        self.loaded = dict(settings)
        self._state = ""
        self._set_enabled(True)
        self._update_state()
        self.sig_saved.emit(settings)
        self.accept()

    def _save_failed(self, exc: BaseException) -> None:
        self.saving = False
        self._state = ""
        self._set_enabled(True)
        self._update_state()
        field = exc.field if isinstance(exc, ApiError) else None
        if field in self.errors:
            assert field is not None
            message = str(exc).removeprefix(f"{field}: ")
            self._show_field_error(field, message)
            self.widgets[field].setFocus()
        else:
            message = fill(self.tr("The settings were not saved: %1"), str(exc))
            self._show_error(message)
            self.save_button.setFocus()
        self.sig_failed.emit(message)

    def reject(self) -> None:
        # A save under way finishes first: closing now would leave the admin unsure
        # whether it was taken.
        if self.saving:
            return
        super().reject()

    # --- state ------------------------------------------------------------------------------
    def _guard(self, slot: Callable[[Any], None]) -> Callable[[Any], None]:
        """A result that arrives after the dialog was deleted is dropped."""
        def deliver(value: Any) -> None:
            if shiboken6.isValid(self):
                slot(value)
        return deliver

    def _set_enabled(self, enabled: bool) -> None:
        self.cards.setEnabled(enabled)
        self.save_button.setEnabled(enabled and self.loaded is not None)
        self._update_logo()

    def _update_state(self) -> None:
        busy = self._state in ("loading", "saving")
        self.progress.setVisible(busy)
        self.status.setText({"loading": self.tr("Loading the invoice settings…"),
                             "saving": self.tr("Saving…")}.get(self._state, ""))

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def _show_field_error(self, name: str, text: str) -> None:
        label = self.errors[name]
        label.setText(text)
        self._forms[name].setRowVisible(label, bool(text))
        if text:
            self._fit_height()

    def _fit_height(self) -> None:
        """Grow to show a wrapped message whole: a window's minimum size leaves out the
        height its wrapped labels need at its width, so the fields would overlap."""
        layout = self.layout()
        if layout is not None:
            layout.activate()
        needed = self.heightForWidth(self.width())
        if needed > self.height():
            self.resize(self.width(), needed)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit_height()

    def field_error(self, name: str) -> str:
        """The message shown under field `name` ("" if none)."""
        label = self.errors[name]
        return label.text() if self._forms[name].isRowVisible(label) else ""

    def _clear_errors(self) -> None:
        self._show_error("")
        for name in self.errors:
            self._show_field_error(name, "")
