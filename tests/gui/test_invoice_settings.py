"""The admin's invoice settings against the real server: loaded and saved off the GUI
thread, the server's refusals shown under their field, the logo's checks, the preview of
the next invoice number, the keys, and the Settings menu kept from operators."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog

from cashdesk.invoices import format_invoice_number
from cashdesk.money import Money
from cashdesk.server.api.invoice_settings import MAX_LOGO_BYTES
from server_client.client import ServerClient, new_idempotency_key
from server_client.errors import Forbidden
from tests.client.conftest import PASSWORD
from ui.i18n import Formatter
from ui.live_bridge import LiveBridge
from ui.screens import invoice_settings
from ui.screens.invoice_settings import (
    LOGO_MAX_BYTES,
    InvoiceSettingsDialog,
    vat_for_wire,
)
from ui.screens.main_window import MainWindow
from ui.screens.receipt_printer_dialog import ReceiptPrinterDialog
from ui.workers import Operations

pytestmark = pytest.mark.gui

MARCH_2026 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
SHOP = {"company_name": "Taxiphone de la Gare", "address": "12 rue de la Paix\n75002 Paris",
        "tax_id": "FR40123456824", "vat_rate": "5.5", "prices_include_vat": True,
        "footer": "Merci de votre visite", "number_prefix": "INV-", "number_with_year": True,
        "number_padding": 6, "next_number": 42, "language": "fr"}


def picture(width: int = 480, height: int = 160, fmt: str = "PNG") -> bytes:
    """A logo: the shop's name on its brand colour."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#1f3a5f"))
    painter = QPainter(image)
    painter.setPen(QColor("#ffffff"))
    font = QFont("Noto Sans", height // 4)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(image.rect(), Qt.AlignmentFlag.AlignCenter, "TAXIPHONE")
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    assert image.save(buffer, fmt)
    return bytes(data)


class Requests:
    """Every HTTP request the client sends, with the thread it was sent from."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[tuple[str, str, bytes | None, str]] = []
        send = requests.Session.send

        def watched(session, request, **kwargs):  # type: ignore[no-untyped-def]
            self.sent.append((request.method, request.path_url, request.body,
                              threading.current_thread().name))
            return send(session, request, **kwargs)

        monkeypatch.setattr(requests.Session, "send", watched)

    def puts(self) -> list[dict]:
        import json

        return [json.loads(body) for method, _, body, _ in self.sent if method == "PUT"]

    def on_gui_thread(self) -> list[str]:
        main = threading.main_thread().name
        return [f"{method} {path}" for method, path, _, thread in self.sent if thread == main]


@pytest.fixture
def admin(connect) -> ServerClient:  # type: ignore[no-untyped-def]
    return connect("admin_a")


@pytest.fixture
def operations() -> Iterator[Operations]:
    """Kept for the whole test: an `Operations` without a parent, whose last reference
    is held by a delivery still waiting for its deferred delete, is deleted by that
    delete, with the delivery inside it (a crash). The desk's own has a parent."""
    runner = Operations()
    yield runner
    runner.wait()


def open_dialog(qtbot, client: ServerClient, operations: Operations,  # type: ignore[no-untyped-def]
                language: str = "en") -> InvoiceSettingsDialog:
    dialog = InvoiceSettingsDialog(client, operations, formatter=Formatter(language, PARIS),
                                   clock=lambda: MARCH_2026)
    qtbot.addWidget(dialog)
    dialog.open()
    with qtbot.waitSignal(dialog.sig_loaded, timeout=10_000):
        dialog.load()
    return dialog


def plain(text: str) -> str:
    """Without the Unicode isolates `fill()` puts around values."""
    return text.translate({ord(c): None for c in "\u2066\u2067\u2068\u2069"})


def replace_text(qtbot, widget, text: str) -> None:  # type: ignore[no-untyped-def]
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClicks(widget, text)


# --- load, edit, save --------------------------------------------------------------------

def test_the_form_shows_the_servers_settings_and_saves_what_changed(qtbot, desk_app, admin,
                                                                     operations, monkeypatch):
    logo = picture()
    admin.update_invoice_settings(**SHOP, logo=logo)
    http = Requests(monkeypatch)
    dialog = open_dialog(qtbot, admin, operations, language="fr")
    # as the server has them; the VAT rate with the French decimal comma
    assert dialog.company_name.text() == "Taxiphone de la Gare"
    assert dialog.address.toPlainText() == "12 rue de la Paix\n75002 Paris"
    assert dialog.tax_id.text() == "FR40123456824"
    assert dialog.vat_rate.text() == "5,5"
    assert dialog.prices_include_vat.isChecked()
    assert dialog.footer.toPlainText() == "Merci de votre visite"
    assert dialog.language.currentData() == "fr"
    assert dialog.logo == logo and not dialog.logo_preview.pixmap().isNull()
    assert dialog.preview_number == "INV-2026-000042"
    assert "INV-2026-000042" in dialog.preview.text()
    assert dialog.changes() == {}

    # the admin edits with the keyboard
    replace_text(qtbot, dialog.company_name, "Taxiphone Belleville")
    replace_text(qtbot, dialog.vat_rate, "7,25")
    dialog.prices_include_vat.setFocus()
    qtbot.keyClick(dialog.prices_include_vat, Qt.Key.Key_Space)
    replace_text(qtbot, dialog.number_prefix, "F-")
    dialog.number_with_year.setFocus()
    qtbot.keyClick(dialog.number_with_year, Qt.Key.Key_Space)
    replace_text(qtbot, dialog.number_padding, "4")
    replace_text(qtbot, dialog.next_number, "7")
    dialog.language.setCurrentIndex(dialog.language.findData("ar"))
    dialog.footer.setFocus()
    dialog.footer.selectAll()
    qtbot.keyClicks(dialog.footer, "Shukran")
    qtbot.keyClick(dialog.footer, Qt.Key.Key_Return)   # a new line, not Save
    qtbot.keyClicks(dialog.footer, "Merci")
    assert dialog.isVisible()
    qtbot.mouseClick(dialog.remove_logo_button, Qt.MouseButton.LeftButton)
    assert dialog.logo is None and dialog.logo_preview.text() == "No logo"
    assert dialog.preview_number == "F-0007"

    # Enter saves (from a one-line field) and closes
    dialog.tax_id.setFocus()
    with qtbot.waitSignal(dialog.sig_saved, timeout=10_000):
        qtbot.keyClick(dialog.tax_id, Qt.Key.Key_Return)
    assert not dialog.isVisible() and dialog.result() == QDialog.DialogCode.Accepted
    # only what changed was sent (the tax id and address stayed), off the GUI thread
    assert len(http.puts()) == 1
    assert set(http.puts()[0]) == {"company_name", "vat_rate", "prices_include_vat",
                                   "number_prefix", "number_with_year", "number_padding",
                                   "next_number", "language", "footer", "logo"}
    assert http.on_gui_thread() == []
    assert admin.invoice_settings() == {
        "company_name": "Taxiphone Belleville", "address": "12 rue de la Paix\n75002 Paris",
        "tax_id": "FR40123456824", "vat_rate": "7.25", "prices_include_vat": False,
        "logo": None, "footer": "Shukran\nMerci", "number_prefix": "F-",
        "number_with_year": False, "number_padding": 4, "next_number": 7, "language": "ar"}


def test_a_chosen_logo_is_read_off_the_gui_thread_checked_and_saved(qtbot, desk_app, admin,
                                                                   operations, tmp_path,
                                                                   monkeypatch):
    assert LOGO_MAX_BYTES == MAX_LOGO_BYTES     # the desk refuses what the server would
    threads = []
    read = invoice_settings.read_logo_file

    def spy(path: str):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread())
        return read(path)

    monkeypatch.setattr(invoice_settings, "read_logo_file", spy)
    dialog = open_dialog(qtbot, admin, operations)
    assert dialog.logo is None and dialog.logo_preview.text() == "No logo"
    jpeg = tmp_path / "logo.jpg"
    jpeg.write_bytes(picture(600, 200, "JPEG"))

    # through the file dialog, as the admin does it
    qtbot.mouseClick(dialog.choose_logo_button, Qt.MouseButton.LeftButton)
    chooser = dialog.file_dialog
    assert isinstance(chooser, QFileDialog) and chooser.isVisible()
    chooser.selectFile(str(jpeg))
    with qtbot.waitSignal(dialog.sig_logo_changed, timeout=10_000):
        chooser.accept()
    assert dialog.logo == jpeg.read_bytes()
    assert threads and threading.main_thread() not in threads
    preview = dialog.logo_preview.pixmap()
    assert preview.width() == invoice_settings.LOGO_PREVIEW.width()  # scaled to its box
    assert dialog.field_error("logo") == ""

    # too big: said plainly, with the limit, and the chosen logo stays
    big = tmp_path / "photo.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(700 * 1024))
    with qtbot.waitSignal(dialog.sig_logo_changed, timeout=10_000):
        dialog.read_logo(str(big))
    message = plain(dialog.field_error("logo"))
    assert "701 KB" in message and "at most 512 KB" in message, message
    assert dialog.logo == jpeg.read_bytes()
    # not a picture
    text = tmp_path / "logo.png"
    text.write_text("not a picture")
    with qtbot.waitSignal(dialog.sig_logo_changed, timeout=10_000):
        dialog.read_logo(str(text))
    assert "not a PNG or JPEG picture" in dialog.field_error("logo")
    # gone
    with qtbot.waitSignal(dialog.sig_logo_changed, timeout=10_000):
        dialog.read_logo(str(tmp_path / "gone.png"))
    assert "could not be read" in dialog.field_error("logo")

    with qtbot.waitSignal(dialog.sig_saved, timeout=10_000):
        dialog.save()
    assert base64.b64decode(admin.invoice_settings()["logo"]) == jpeg.read_bytes()


def test_a_value_the_server_refuses_is_explained_under_its_field(qtbot, desk_app, admin,
                                                                 operations, operator_client,
                                                                 paid_cabin):
    dialog = open_dialog(qtbot, admin, operations)
    replace_text(qtbot, dialog.vat_rate, "150")
    with qtbot.waitSignal(dialog.sig_failed, timeout=10_000) as failed:
        qtbot.keyClick(dialog.vat_rate, Qt.Key.Key_Return)
    assert failed.args[0] == "must be at most 100"            # the server's own words
    assert dialog.field_error("vat_rate") == "must be at most 100"
    assert dialog.errors["vat_rate"].isVisible()
    assert dialog.isVisible() and dialog.vat_rate.hasFocus()
    assert dialog.vat_rate.text() == "150"                     # the edit is kept
    assert admin.invoice_settings()["vat_rate"] == "0"
    # something that is not a number never reaches the server
    replace_text(qtbot, dialog.vat_rate, ",")
    dialog.save()
    assert "Enter the VAT rate in percent" in dialog.field_error("vat_rate")
    replace_text(qtbot, dialog.vat_rate, "20")

    # Once an invoice is issued, the numbering cannot move: the server says why.
    operator_client.pay(paid_cabin.id, Money.of("2", "EUR"), new_idempotency_key(),
                        invoice=True)
    replace_text(qtbot, dialog.next_number, "500")
    with qtbot.waitSignal(dialog.sig_failed, timeout=10_000):
        qtbot.keyClick(dialog.next_number, Qt.Key.Key_Return)
    assert dialog.field_error("vat_rate") == ""
    assert "invoices are issued" in dialog.field_error("next_number")
    assert dialog.next_number.hasFocus()
    assert admin.invoice_settings()["vat_rate"] == "0"        # nothing was half-saved
    # put back, the rest saves
    replace_text(qtbot, dialog.next_number, "2")
    with qtbot.waitSignal(dialog.sig_saved, timeout=10_000):
        qtbot.keyClick(dialog.next_number, Qt.Key.Key_Return)
    assert admin.invoice_settings()["vat_rate"] == "20"


def test_a_server_out_of_reach_is_said_and_can_be_retried(qtbot, desk_app, admin, operations):
    dialog = InvoiceSettingsDialog(ServerClient("http://127.0.0.1:9", token="x"), operations)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.sig_failed, timeout=10_000) as failed:
        dialog.load()
    assert failed.args[0].startswith("The invoice settings could not be loaded:")
    assert "cannot be reached" in dialog.error.text()
    assert not dialog.save_button.isEnabled() and dialog.retry_button.isVisible()
    assert not dialog.company_name.isEnabled()
    dialog.client = admin
    with qtbot.waitSignal(dialog.sig_loaded, timeout=10_000):
        qtbot.mouseClick(dialog.retry_button, Qt.MouseButton.LeftButton)
    assert dialog.save_button.isEnabled() and not dialog.error.isVisible()


# --- the number preview ----------------------------------------------------------------------

def test_the_number_preview_follows_prefix_year_and_padding(qtbot, desk_app, operations):
    dialog = InvoiceSettingsDialog(ServerClient("http://127.0.0.1:9"), operations,
                                   clock=lambda: MARCH_2026)
    qtbot.addWidget(dialog)
    dialog.show_settings(dict(SHOP, logo=None))
    assert dialog.preview_number == "INV-2026-000042"
    dialog.number_padding.setValue(3)
    assert dialog.preview_number == "INV-2026-042"
    dialog.number_with_year.setChecked(False)
    assert dialog.preview_number == "INV-042"
    dialog.number_prefix.setText("F")
    dialog.next_number.setValue(12345)
    assert dialog.preview_number == "F12345"
    dialog.number_padding.setValue(0)
    dialog.next_number.setValue(7)
    assert dialog.preview_number == "F7"
    assert dialog.preview.text() == "Next invoice: \u2068F7\u2069"
    # exactly what the server's numbering prints
    for prefix, year, padding, number in (("INV-", True, 6, 42), ("", False, 0, 1),
                                          ("A/", True, 12, 999_999_999)):
        dialog.number_prefix.setText(prefix)
        dialog.number_with_year.setChecked(year)
        dialog.number_padding.setValue(padding)
        dialog.next_number.setValue(number)
        assert dialog.preview_number == format_invoice_number(
            number, prefix=prefix, with_year=year, padding=padding, year=2026)


def test_vat_rates_are_read_in_every_way_a_keyboard_writes_them():
    assert vat_for_wire("5,5") == vat_for_wire("5.5") == vat_for_wire("٥٫٥") == "5.5"
    assert vat_for_wire("20 %") == vat_for_wire("20,00") == "20"
    assert vat_for_wire("0") == "0"
    assert vat_for_wire("") is None and vat_for_wire("vingt") is None
    assert vat_for_wire("1,2,3") is None


# --- keys -------------------------------------------------------------------------------------

def test_tab_walks_the_form_in_order_and_esc_cancels(qtbot, desk_app, admin, operations,
                                                      monkeypatch):
    admin.update_invoice_settings(company_name="Taxiphone de la Gare", logo=picture())
    http = Requests(monkeypatch)
    dialog = open_dialog(qtbot, admin, operations)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=2000)
    assert dialog.company_name.hasFocus()
    seen = [QApplication.focusWidget()]
    for _ in range(12):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    assert seen == [dialog.company_name, dialog.address, dialog.tax_id, dialog.vat_rate,
                    dialog.prices_include_vat, dialog.choose_logo_button,
                    dialog.remove_logo_button, dialog.number_prefix, dialog.number_with_year,
                    dialog.number_padding, dialog.next_number, dialog.language,
                    dialog.footer]
    # Alt+letter reaches a field by its label
    qtbot.keyClick(dialog, Qt.Key.Key_T, Qt.KeyboardModifier.AltModifier)
    assert dialog.tax_id.hasFocus()

    qtbot.keyClicks(dialog.tax_id, "FR99")
    qtbot.keyClick(dialog.tax_id, Qt.Key.Key_Escape)
    assert not dialog.isVisible() and dialog.result() == QDialog.DialogCode.Rejected
    assert http.puts() == []
    assert admin.invoice_settings()["tax_id"] == ""


def test_ctrl_enter_saves_from_the_address_box(qtbot, desk_app, admin, operations):
    dialog = open_dialog(qtbot, admin, operations)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=2000)
    dialog.address.setFocus()
    dialog.address.insertPlainText("1 place du Marché")    # QTest types ASCII only
    qtbot.keyClick(dialog.address, Qt.Key.Key_Return)
    qtbot.keyClicks(dialog.address, "Lyon")
    with qtbot.waitSignal(dialog.sig_saved, timeout=10_000):
        qtbot.keyClick(dialog.address, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert admin.invoice_settings()["address"] == "1 place du Marché\nLyon"


# --- the Settings menu ------------------------------------------------------------------------

def main_window(qtbot, client: ServerClient, languages,  # type: ignore[no-untyped-def]
                operations: Operations) -> MainWindow:
    window = MainWindow(client, operations, LiveBridge(), languages,
                        formatter=languages.formatter("Europe/Paris"), clock=lambda: MARCH_2026)
    qtbot.addWidget(window)
    return window


def test_the_settings_menu_is_for_admins_only(qtbot, desk_app, connect, operations):
    operator = connect()
    window = main_window(qtbot, operator, desk_app, operations)
    assert not window.settings_menu.menuAction().isVisible()      # before any login
    window.start_session(operator.login("operator_a", PASSWORD), connect=False)
    assert not window.settings_menu.menuAction().isVisible()
    assert window.settings_menu.menuAction() not in [
        action for action in window.menuBar().actions() if action.isVisible()]
    with pytest.raises(Forbidden):                     # and the server says no anyway
        operator.update_invoice_settings(company_name="Mine now")

    admin = connect()
    window = main_window(qtbot, admin, desk_app, operations)
    window.start_session(admin.login("admin_a", PASSWORD), connect=False)
    window.show()
    assert window.settings_menu.menuAction().isVisible()
    assert window.settings_menu.title() == "Se&ttings"
    assert [action.text() for action in window.settings_menu.actions()] == \
        ["&Invoice settings…", "&Receipt printer…"]

    window.invoice_settings_action.trigger()
    dialog = window.settings_dialog
    assert isinstance(dialog, InvoiceSettingsDialog) and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.loaded is not None, timeout=10_000)
    replace_text(qtbot, dialog.company_name, "Taxiphone Belleville")
    with qtbot.waitSignal(dialog.finished, timeout=10_000):
        dialog.save()
    assert window.settings_dialog is None
    assert window.toast.text() == "Invoice settings saved."
    assert admin.invoice_settings()["company_name"] == "Taxiphone Belleville"

    window.printer_settings_action.trigger()
    printer = window.settings_dialog
    assert isinstance(printer, ReceiptPrinterDialog) and printer.isVisible()
    assert printer.form.save_button.isDefault()
    qtbot.keyClick(printer, Qt.Key.Key_Escape)
    assert window.settings_dialog is None

    # the shift ends: the menu goes with it
    with qtbot.waitSignal(window.sig_logged_off, timeout=10_000):
        window.log_off()
    assert not window.settings_menu.menuAction().isVisible()


# --- screenshot -------------------------------------------------------------------------------

def test_screenshot_of_the_invoice_settings(qtbot, desk_app, admin, operations, screenshots):
    admin.update_invoice_settings(**SHOP, logo=picture())
    dialog = open_dialog(qtbot, admin, operations)
    dialog.resize(1000, 680)
    qtbot.wait(50)
    image = dialog.grab()
    assert image.width() >= 1000
    image.save(str(screenshots / "invoice_settings.png"))
