"""Languages: chosen at the login, applied at once to the login and to the main window
already open (no restart); Arabic lays the desk out right to left; numbers, dates and
money follow the language; values inside sentences keep their order right to left."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFont, QTextLayout, QTextOption
from PySide6.QtWidgets import QApplication

from cashdesk.money import Money
from server_client.client import ServerClient
from tests.gui.test_screenshots import mixed_window
from ui.i18n import FSI, LRI, PDI, Formatter, fill, isolate, ltr
from ui.screens.login import LoginDialog
from ui.workers import Operations

pytestmark = pytest.mark.gui

RTL = Qt.LayoutDirection.RightToLeft
LTR = Qt.LayoutDirection.LeftToRight
ISOLATES = dict.fromkeys(map(ord, FSI + LRI + PDI))

#: What the cashier reads in each language (a few texts of each screen).
SEEN = {
    "en": {"login": "Log in (Enter)", "language": "Language", "title": "Cash desk",
           "menu": "&Cabin", "keys": "Keys:", "credit": "Credit", "cabins": "12 cabins",
           "free": "Free", "to_pay": "To pay", "pay": "Pay", "per_minute": "/min"},
    "fr": {"login": "Se connecter (Entrée)", "language": "Langue", "title": "Caisse",
           "menu": "&Cabine", "keys": "Touches\u00a0:", "credit": "Crédit",
           "cabins": "12 cabines", "free": "Libre", "to_pay": "À payer",
           "pay": "Encaisser", "per_minute": "/min"},
    "es": {"login": "Iniciar sesión (Intro)", "language": "Idioma", "title": "Caja",
           "menu": "&Cabina", "keys": "Teclas:", "credit": "Crédito", "cabins": "12 cabinas",
           "free": "Libre", "to_pay": "A cobrar", "pay": "Cobrar", "per_minute": "/min"},
    "ar": {"login": "تسجيل الدخول (Enter)", "language": "اللغة", "title": "الصندوق",
           "menu": "&كابينة", "keys": "المفاتيح:", "credit": "الرصيد",
           "cabins": "12 كابينة", "free": "متاحة", "to_pay": "للدفع", "pay": "دفع",
           "per_minute": "/دقيقة"},
}


def plain(text: str) -> str:
    return text.translate(ISOLATES)


def choose(qtbot, dialog: LoginDialog, code: str) -> None:  # type: ignore[no-untyped-def]
    """The cashier picks a language in the login's list; Qt delivers the change."""
    dialog.language.setCurrentIndex(dialog.language.findData(code))
    qtbot.waitUntil(lambda: dialog.login_button.text() == SEEN[code]["login"], timeout=3000)
    QApplication.processEvents()


def login_dialog(qtbot, languages) -> LoginDialog:  # type: ignore[no-untyped-def]
    dialog = LoginDialog(ServerClient("http://127.0.0.1:9"), Operations(),
                         language=languages.code, training=True)
    dialog.sig_language.connect(languages.switch)   # as ui.app.Desk wires it
    qtbot.addWidget(dialog)
    dialog.set_server_state(True)
    dialog.show()
    return dialog


def assert_reads(code: str, dialog: LoginDialog, window) -> None:  # type: ignore[no-untyped-def]
    seen = SEEN[code]
    assert dialog.login_button.text() == seen["login"]
    assert dialog.language_label.text() == seen["language"]
    assert dialog.title.text() == seen["title"]
    assert window.windowTitle() == seen["title"]
    assert window.cabin_menu.title() == seen["menu"]
    assert window.keys_label.text().startswith(seen["keys"])
    assert plain(window.balance_label.text()).startswith(seen["credit"])
    assert window.detail_label.text().startswith(seen["cabins"])
    models = [tile.model for tile in window.grid.tiles.values()]
    labels = {model.state: model.state_label for model in models}
    assert labels["free"] == seen["free"] and labels["awaiting_payment"] == seen["to_pay"]
    payable = next(t for t in window.grid.tiles.values() if t.model.has_session)
    assert payable.pay_button.text() == seen["pay"]
    # the window formats for the new language too: its formatter, the credit, the rates
    assert window.formatter.language == code
    credit = window.formatter.money(window.view.balance.available)
    assert credit == window.view.balance.available.format(window.formatter.babel_locale)
    assert plain(window.balance_label.text()).endswith(credit)
    rates = [plain(row.rate) for model in models for row in model.rows if row.rate]
    assert rates and all(rate.endswith(seen["per_minute"]) for rate in rates)


@pytest.mark.parametrize("code", ["fr", "es", "ar"])
def test_the_language_chosen_at_the_login_applies_at_once(qtbot, desk_app, code):
    """The main window of the last shift is still open behind the login: it re-labels
    itself with the login, without a restart, and comes back to English the same way."""
    window = mixed_window(qtbot, desk_app)
    dialog = login_dialog(qtbot, desk_app)
    assert_reads("en", dialog, window)
    assert window.detail_label.text().startswith("12 cabins ·")  # not "12 cabin(s)"

    choose(qtbot, dialog, code)
    assert desk_app.code == code
    assert_reads(code, dialog, window)
    direction = RTL if code == "ar" else LTR
    assert QApplication.layoutDirection() == direction
    assert dialog.layoutDirection() == direction and window.layoutDirection() == direction

    choose(qtbot, dialog, "en")
    assert_reads("en", dialog, window)
    assert QApplication.layoutDirection() == LTR == window.layoutDirection()


def test_french_money_rates_and_figures_on_the_tiles(qtbot, desk_app):
    desk_app.switch("fr")
    window = mixed_window(qtbot, desk_app)
    rows = [row for tile in window.grid.tiles.values() for row in tile.model.rows]
    assert rows
    for row in rows:
        assert re.fullmatch(r"\d+,\d{2} €", row.cost.replace("\xa0", " ")), row.cost
        if row.rate:
            assert re.fullmatch(r"\d+,\d{2,4} €/min", plain(row.rate).replace("\xa0", " "))
    total = next(t.model.total for t in window.grid.tiles.values() if t.model.total)
    assert total.endswith("€") and "," in total


def test_arabic_lays_the_whole_desk_out_right_to_left(qtbot, desk_app):
    desk_app.switch("ar")
    window = mixed_window(qtbot, desk_app)
    assert QApplication.layoutDirection() == RTL
    assert window.layoutDirection() == RTL == window.grid.layoutDirection()
    assert all(tile.layoutDirection() == RTL for tile in window.grid.tiles.values())

    def x(widget) -> int:  # type: ignore[no-untyped-def]
        return widget.mapTo(window, QPoint(0, 0)).x()

    # the header starts at the right: the shop's name, then the indicators to its left
    assert x(window.shop_label) > x(window.server_indicator) > x(window.operator_label)
    # the first cabin is the rightmost of the first row; on a tile Pay moves to the
    # right (where a line starts) and the history button to the left
    first, second = (window.grid.tiles[cabin_id] for cabin_id in window.grid.order[:2])
    assert x(first) > x(second)
    payable = next(t for t in window.grid.tiles.values() if t.model.has_session)
    assert payable.pay_button.geometry().center().x() > payable.width() / 2
    assert payable.history_button.geometry().center().x() < payable.width() / 2
    # and the texts are Arabic
    assert window.keys_label.text().startswith("المفاتيح")
    assert window.training_banner.text().startswith("وضع التدريب")


def test_a_message_on_the_login_is_rewritten_in_the_new_language(qtbot, desk_app):
    dialog = login_dialog(qtbot, desk_app)
    qtbot.mouseClick(dialog.login_button, Qt.MouseButton.LeftButton)  # nothing typed
    assert dialog.error.text() == "Type your user name and password."
    dialog.set_server_state(False, lambda: dialog.tr("Starting the server…"))
    choose(qtbot, dialog, "es")
    assert dialog.error.text() == "Escriba su usuario y su contraseña."
    assert dialog.status.text() == "Iniciando el servidor…"


# --- numbers, money, dates ----------------------------------------------------------------

MOMENT = datetime(2025, 11, 26, 13, 5, tzinfo=UTC)


@pytest.mark.parametrize("code, money, rate, count, date, point", [
    ("en", "€1,234.50", "€0.1234/min", "12,345", "11/26/25 14:05", "."),
    ("fr", "1 234,50 €", "0,1234 €/min", "12 345", "26/11/2025 14:05", ","),
    ("es", "1.234,50 €", "0,1234 €/min", "12.345", "26/11/25 14:05", ","),
    ("ar", "\u200f1,234.50 €", "\u200f0.1234 €/دقيقة", "12,345",
     "26\u200f/11\u200f/2025 14:05", "."),
])
def test_numbers_money_and_dates_follow_the_language(desk_app, code, money, rate, count,
                                                    date, point):
    desk_app.switch(code)
    fmt = desk_app.formatter("Europe/Paris")

    def spaces(text: str) -> str:
        return plain(text).replace("\u202f", " ").replace("\xa0", " ")

    assert spaces(fmt.money(Money.of("1234.5", "EUR"))) == money
    assert spaces(fmt.rate(Money.of("0.1234", "EUR"))) == rate
    assert spaces(fmt.count(12345)) == count
    assert fmt.date_time(MOMENT) == date
    assert fmt.decimal_point() == point
    assert fmt.plain_amount(Money.of("2.5", "EUR")) == f"2{point}50"
    # one set of digits on the screen: Western digits in Arabic too, as %n shows them
    for text in (fmt.money(Money.of("1234.5", "EUR")), fmt.count(12345),
                 fmt.date_time(MOMENT)):
        assert not re.search("[\u0660-\u0669\u06f0-\u06f9]", text)


def test_a_shop_time_zone_shows_local_times(desk_app):
    fmt = Formatter("fr", ZoneInfo("Africa/Casablanca"))
    assert fmt.time(MOMENT) == "14:05"


# --- right to left: values keep their order ---------------------------------------------

def visual_x(text: str, sub: str, direction: Qt.LayoutDirection = RTL) -> float:
    """Where the caret between the first two characters of `sub` is drawn when `text`
    is laid out as a paragraph of `direction` (as a label or a tile draws it). The two
    characters read in one direction, so this says where `sub` landed on the line."""
    layout = QTextLayout(text, QFont("Noto Sans", 11))
    option = QTextOption()
    option.setTextDirection(direction)
    layout.setTextOption(option)
    layout.beginLayout()
    line = layout.createLine()
    line.setLineWidth(4000)
    layout.endLayout()
    x, _ = line.cursorToX(text.index(sub) + 1)
    return float(x)


def test_a_rate_in_a_right_to_left_line_stays_amount_then_per_minute(qapp):
    """The reported bug: "€0.12/min" on an Arabic-layout tile read "min/€ 0.12"."""
    bare = "€0.12/min"
    assert visual_x(bare, "mi") < visual_x(bare, "€0")      # the bug, as it was
    rate = Formatter("en").rate(Money.of("0.12", "EUR"))
    assert visual_x(rate, "€0") < visual_x(rate, "mi")      # "€0.12/min", left to right
    # beside a destination, on a tile: "France · €0.12/min" keeps the rate whole
    detail = isolate("France") + "  ·  " + rate
    assert visual_x(detail, "€0") < visual_x(detail, "mi")
    assert visual_x(detail, "Fr") > visual_x(detail, "€0")  # the destination first


def test_an_arabic_rate_reads_amount_first_from_the_right(qapp):
    rate = isolate(fill("%1/دقيقة", "\u200f0.12\xa0€"))
    assert visual_x(rate, "0.") > visual_x(rate, "دق")       # the amount at the right
    assert visual_x(rate, "0.") < visual_x(rate, "12")       # its digits in order


def test_numbers_in_arabic_sentences_keep_their_digits_in_order(qapp):
    sentence = fill("لا تزال هناك مكالمة جارية في هذه الكابينة (%1).",
                    ltr("+212 6 12 34 56 78"))
    assert visual_x(sentence, "+2") < visual_x(sentence, "78")
    keys = "المفاتيح: \u20661–64\u2069 أو F1–F12"             # as cashdesk_ar.ts has it
    assert visual_x(keys, "1–") < visual_x(keys, "64")
    bare = "المفاتيح: 1–64 أو"
    assert visual_x(bare, "1–") > visual_x(bare, "64")       # "64–1" without the isolate


def test_fill_is_one_pass_and_isolates_each_value():
    assert plain(fill("%1 paid — change %2", "Cabin %2", "€3.00")) == \
        "Cabin %2 paid — change €3.00"
    assert fill("Credit %1", "€5") == f"Credit {FSI}€5{PDI}"
    assert fill("%1 and %3", "a") == f"{FSI}a{PDI} and %3"   # a missing value stays visible
    assert ltr("+33 6") == f"{LRI}+33 6{PDI}"
