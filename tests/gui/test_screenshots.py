"""Screens rendered offscreen to artifacts/screenshots/, for a person to look at.

The main window is a real training server's (`demo = true`): its shop, rates and
simulated customers, half an hour of an afternoon stepped on the test's clock with the
till taking each customer's money, one cabin added and one taken out of service — 12
cabins in every state."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest
from PySide6.QtWidgets import QApplication

from cashdesk.server import demo
from server_client.client import ServerClient, new_idempotency_key
from server_client.events import EventStream
from server_client.live import CabinState, LiveState
from tests.gui.live_server import TrainingServer, training_logins
from tests.gui.protocol import RATES, Shop, live_state, mixed_shop
from tests.gui.test_desk import cashier, feed, make_window, paying_window
from tests.gui.test_live_desk import close_desk, live_and_current, open_desk
from ui.screens.login import LoginDialog
from ui.workers import Operations

pytestmark = pytest.mark.gui


def mixed_window(qtbot, languages):  # type: ignore[no-untyped-def]
    """A shop in every state at once, fed protocol messages (no server needed)."""
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


@pytest.fixture
def training(qtbot, desk_app, config, clock, capsys) -> Iterator:  # type: ignore[no-untyped-def, type-arg]
    """The desk logged in at a training server's till, after an afternoon's customers."""
    server = TrainingServer(config, clock).start()
    logins = training_logins(capsys.readouterr().out)
    admin = ServerClient(server.url)
    admin.login(demo.ADMIN, logins[demo.ADMIN])
    # Two cabins nobody calls from yet: one new, one out of service.
    admin.create_cabin("Cabin 11", "training-extra-11", position=11)
    out = admin.create_cabin("Cabin 12", "training-extra-12", position=12).cabin.id
    admin.update_cabin(out, enabled=False)
    till = ServerClient(server.url)
    login = till.login(demo.CASHIER, logins[demo.CASHIER])
    window, bridge = open_desk(qtbot, desk_app, till, clock.now,
                               stream_factory=partial(EventStream, clock=clock.now))
    try:
        window.start_session(login)
        window.ticker.stop()
        qtbot.waitUntil(lambda: live_and_current(window), timeout=10_000)
        # Customers come and go; the till takes each one's money when they are done,
        # but for the last few minutes (those customers are still at the till).
        for minute in range(30):
            server.customers_for(60)
            for cabin in till.live().cabins if minute < 26 else ():
                if cabin.state is CabinState.AWAITING_PAYMENT and cabin.session:
                    till.pay(cabin.id, cabin.session.total, new_idempotency_key())
        seq = till.live().seq
        qtbot.waitUntil(lambda: window.view.seq == seq, timeout=10_000)
        window.tick()
        window.grid.select_number(2)
        QApplication.processEvents()
        yield window
    finally:
        close_desk(window, bridge)
        admin.close()
        till.close()
        server.stop()


def test_main_window_with_12_cabins(training, screenshots):
    window = training
    states = {tile.model.state for tile in window.grid.tiles.values()}
    busy = sum(state == "in_use" for state in
               (tile.model.state for tile in window.grid.tiles.values()))
    assert f"{busy} in use" in window.detail_label.text()
    assert len(window.grid.tiles) == 12 and window.training
    assert {"free", "in_use", "awaiting_payment", "disabled"} <= states, states
    assert window.grab().save(str(screenshots / "main_window_12_cabins.png"))


def test_main_window_with_64_cabins(qtbot, desk_app, screenshots):
    """The most a 1366×768 till shows: tiles of one line for the call, one for Pay and
    the total, nothing overlapping."""
    shop = Shop()
    shop.add_cabins(64)
    state = LiveState()
    state.load(shop.snapshot(), shop.now)
    destinations = list(RATES)
    for index in range(40):
        call_id, events = shop.dial(index + 1, destinations[index % len(destinations)])
        events += shop.answer(call_id)
        shop.advance(7)
        if index % 3 == 0:
            events += shop.hang_up(call_id)
        for event in events:
            state.apply(event)
    window, bridge, _ = make_window(qtbot, ServerClient("http://127.0.0.1:9"), desk_app,
                                    lambda: shop.now, training=True)
    window.start_session(cashier(shop.now), connect=False)
    window.show()
    feed(qtbot, bridge, state)
    window.show_connection("live", "")
    QApplication.processEvents()
    tile = window.grid.tiles[1]
    assert tile.tight and tile.model.state == "awaiting_payment"
    # the call's line and the Pay button do not overlap
    body, footer = tile._areas()
    assert body.bottom() < footer.top() <= tile.pay_button.geometry().top()
    assert window.grab().save(str(screenshots / "main_window_64_cabins.png"))


def settled(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Re-labelled widgets ask for a new layout: let it happen before the picture."""
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(10)


def test_main_window_in_arabic_right_to_left(qtbot, training, desk_app, screenshots):
    window = training
    desk_app.switch("ar")   # at the till, without logging off
    settled(qtbot)
    assert QApplication.layoutDirection().name == "RightToLeft"
    assert window.keys_label.text().startswith("المفاتيح")   # Arabic, not English
    assert window.grab().save(str(screenshots / "main_window_arabic_rtl.png"))


def test_main_window_in_french(qtbot, training, desk_app, screenshots):
    window = training
    desk_app.switch("fr")
    settled(qtbot)
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
