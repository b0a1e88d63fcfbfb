"""Screens rendered offscreen to artifacts/screenshots/, for a person to look at."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from server_client.client import ServerClient
from tests.gui.protocol import live_state, mixed_shop
from tests.gui.test_desk import activate, cashier, feed, make_window, paying_window
from ui.screens.login import LoginDialog
from ui.workers import Operations

pytestmark = pytest.mark.gui


def mixed_window(qtbot, languages):  # type: ignore[no-untyped-def]
    shop, first, events = mixed_shop(12)
    state = live_state(first, events)
    window, bridge, _ = make_window(qtbot, ServerClient("http://127.0.0.1:9"), languages,
                                    lambda: shop.now, training=True)
    window.start_session(cashier(shop.now), connect=False)
    window.show()
    feed(qtbot, bridge, state)
    window.show_connection("live", "")
    window.grid.select_number(2)
    QApplication.processEvents()
    return window


def test_main_window_with_12_cabins(qtbot, desk_app, screenshots):
    window = mixed_window(qtbot, desk_app)
    assert window.grab().save(str(screenshots / "main_window_12_cabins.png"))


def test_main_window_in_arabic_right_to_left(qtbot, desk_app, screenshots):
    desk_app.switch("ar")
    window = mixed_window(qtbot, desk_app)
    assert QApplication.layoutDirection().name == "RightToLeft"
    assert window.keys_label.text().startswith("المفاتيح")   # Arabic, not English
    assert window.grab().save(str(screenshots / "main_window_arabic_rtl.png"))


def test_main_window_in_french(qtbot, desk_app, screenshots):
    desk_app.switch("fr")
    window = mixed_window(qtbot, desk_app)
    assert window.windowTitle() == "Caisse"
    assert window.grab().save(str(screenshots / "main_window_french.png"))


@pytest.mark.parametrize("code, name", [("fr", "french"), ("ar", "arabic")])
def test_pay_dialog_translated(qtbot, desk_app, screenshots, code, name):
    desk_app.switch(code)
    window = mixed_window(qtbot, desk_app)
    cabin = next(c for c in window.view.cabins if c.state == "awaiting_payment")
    dialog = window.open_pay(cabin.id)
    qtbot.keyClicks(dialog.received, "5")
    QApplication.processEvents()
    assert dialog.grab().save(str(screenshots / f"pay_dialog_{name}.png"))
    dialog.received.setText("0")
    dialog.pay()   # too little: the refusal shows, nothing is sent
    QApplication.processEvents()
    assert dialog.requests_sent == 0 and dialog.error.isVisible()
    assert dialog.grab().save(str(screenshots / f"pay_dialog_{name}_short.png"))


@pytest.mark.parametrize("code, name", [("fr", "french"), ("es", "spanish"), ("ar", "arabic")])
def test_login_translated(qtbot, desk_app, screenshots, code, name):
    desk_app.switch(code)
    dialog = LoginDialog(ServerClient("http://127.0.0.1:9"), Operations(), training=True,
                         language=code, shop_name="Callshop Belleville")
    qtbot.addWidget(dialog)
    dialog.set_server_state(True)
    dialog.show()
    dialog.username.setText("olga")
    dialog.submit()   # no password: the error line shows too
    QApplication.processEvents()
    assert dialog.grab().save(str(screenshots / f"login_{name}.png"))


def test_login(qtbot, desk_app, screenshots):
    dialog = LoginDialog(ServerClient("http://127.0.0.1:9"), Operations(), training=True,
                         shop_name="Callshop Belleville")
    qtbot.addWidget(dialog)
    dialog.set_server_state(True)
    dialog.show()
    dialog.username.setText("olga")
    QApplication.processEvents()
    assert dialog.grab().save(str(screenshots / "login.png"))


def test_pay_dialog(qtbot, desk_app, operator_client, paid_cabin, screenshots):
    window, _, _ = paying_window(qtbot, desk_app, operator_client, paid_cabin)
    dialog = window.open_pay(paid_cabin.id)
    qtbot.keyClicks(dialog.received, "5")
    QApplication.processEvents()
    assert dialog.grab().save(str(screenshots / "pay_dialog.png"))


@pytest.mark.parametrize("code, name", [("en", "cabin_history"),
                                        ("ar", "cabin_history_arabic"),
                                        ("fr", "cabin_history_french")])
def test_cabin_history(qtbot, desk_app, operator_client, paid_cabin, screenshots, code, name):
    desk_app.switch(code)
    window, _, _ = paying_window(qtbot, desk_app, operator_client, paid_cabin)
    dialog = window.open_pay(paid_cabin.id)
    qtbot.keyClicks(dialog.received, "10")
    with qtbot.waitSignal(dialog.sig_paid, timeout=10_000):
        dialog.invoice_check.setChecked(True)
        dialog.pay()
    history = window.open_history(paid_cabin.id)
    qtbot.waitUntil(lambda: not history.loading, timeout=10_000)
    assert history.sessions and history.sessions[0].invoice is not None
    history.tree.expandAll()
    with qtbot.waitSignal(history.sig_open_invoice) as opened:
        history._activated(history.tree.topLevelItem(0), 0)
    assert opened.args[0] == history.sessions[0].transaction_id
    QApplication.processEvents()
    assert history.grab().save(str(screenshots / f"{name}.png"))
