"""The cash desk's screens against the real server (login, Pay, history), their tiles
fed with the protocol's messages (tests/gui/protocol.py) where a test needs a shop in
a given state at once. The tiles following the server's own /live and /events, a call
from dialing to Pay, and the server killed and restarted: tests/gui/test_live_desk.py."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import func, select

from cashdesk.auth.roles import Role
from cashdesk.money import Money
from cashdesk.store.database import session_factory
from cashdesk.store.models import Shift, Transaction
from server_client.client import ServerClient
from server_client.live import EVERYTHING, Diff, Event, LiveState
from server_client.models import Login, UserRef
from tests.client.conftest import PASSWORD
from tests.gui.protocol import Shop, live_state
from ui.live_bridge import LiveBridge
from ui.screens.login import LoginDialog
from ui.screens.main_window import MainWindow
from ui.workers import Operations

pytestmark = pytest.mark.gui


def transactions(engine) -> int:  # type: ignore[no-untyped-def]
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(Transaction)) or 0


def make_window(qtbot, client, languages, clock, training=False):  # type: ignore[no-untyped-def]
    operations = Operations()
    bridge = LiveBridge()
    window = MainWindow(client, operations, bridge, languages,
                        formatter=languages.formatter("Europe/Paris"), training=training,
                        clock=clock)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    return window, bridge, operations


def activate(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """Shortcuts reach only the active window."""
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)


def cashier(now) -> Login:  # type: ignore[no-untyped-def]
    return Login(token="t", expires_at=now, shift_id=1,
                 user=UserRef(1, "olga", "Olga", Role.OPERATOR, 1))


def feed(qtbot, bridge: LiveBridge, state: LiveState, diff: Diff = EVERYTHING) -> None:
    with qtbot.waitSignal(bridge.sig_state, timeout=2000):
        bridge.publish(state.view(), diff)


def log_in(qtbot, client: ServerClient, username: str = "operator_a") -> Login:  # type: ignore[no-untyped-def]
    operations = Operations()
    dialog = LoginDialog(client, operations)
    qtbot.addWidget(dialog)
    activate(qtbot, dialog)
    dialog.set_server_state(True)
    qtbot.keyClicks(dialog.username, username)
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.login is not None or dialog.error.isVisible(),
                    timeout=10_000) if dialog.busy else None
    assert dialog.busy or dialog.login is not None, (dialog.status.text(), dialog.error.text())
    assert dialog.login is not None, dialog.error.text()
    return dialog.login


# --- login and shifts ------------------------------------------------------------------

def test_login_starts_a_shift_and_log_off_ends_it(qtbot, desk_app, connect, sqlite_engine,
                                                  paid_cabin):
    client = connect()
    login = log_in(qtbot, client)
    assert login.user.username == "operator_a" and login.shift_id is not None
    window, _bridge, _ = make_window(qtbot, client, desk_app, lambda: paid_cabin.now)
    window.start_session(login, connect=False)
    activate(qtbot, window)
    assert "Olga" in window.operator_label.text()

    with qtbot.waitSignal(window.sig_logged_off, timeout=10_000):
        qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert client.token is None
    assert "Nobody" in window.operator_label.text()
    with session_factory(sqlite_engine)() as session:
        shift = session.get_one(Shift, login.shift_id)
        assert shift.closed_at is not None
    # the next shift logs in with its own name
    again = log_in(qtbot, client, "admin_a")
    assert again.user.username == "admin_a"


def test_a_wrong_password_is_said_plainly(qtbot, desk_app, connect):
    dialog = LoginDialog(connect(), Operations())
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.set_server_state(True)
    qtbot.keyClicks(dialog.username, "operator_a")
    qtbot.keyClicks(dialog.password, "nope-nope-nope")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=10_000)
    assert "Wrong user name or password" in dialog.error.text()


# --- tiles follow the events ---------------------------------------------------------------

def test_the_grid_fits_64_cabins_on_a_till_screen(qtbot, desk_app):
    shop = Shop()
    shop.add_cabins(64)
    state = LiveState()
    state.load(shop.snapshot(), shop.now)
    window, bridge, _ = make_window(qtbot, ServerClient("http://127.0.0.1:9"), desk_app,
                                    lambda: shop.now)
    window.show()
    feed(qtbot, bridge, state)
    qtbot.waitUntil(lambda: window.grid.tiles[64].isVisible())
    QApplication.processEvents()
    viewport = window.grid.viewport().rect()
    for tile in window.grid.tiles.values():
        geometry = tile.geometry()
        assert geometry.width() >= 140 and geometry.height() >= 60
        assert geometry.bottom() <= viewport.bottom() + 2, "no scrolling at 1366×768"


# --- pay ------------------------------------------------------------------------------------

def paying_window(qtbot, desk_app, client, paid_cabin):  # type: ignore[no-untyped-def]
    window, bridge, _operations = make_window(qtbot, client, desk_app, lambda: paid_cabin.now)
    login = Login(token=client.token or "", expires_at=paid_cabin.now + timedelta(hours=8),
                  user=client.me().user, shift_id=None)  # type: ignore[arg-type]
    window.start_session(login, connect=False)
    state = LiveState()
    state.load(paid_cabin.snapshot(), paid_cabin.now)
    window.show()
    feed(qtbot, bridge, state)
    return window, bridge, state


def test_pay_with_change_frees_the_cabin(qtbot, desk_app, operator_client, paid_cabin,
                                         sqlite_engine):
    window, bridge, state = paying_window(qtbot, desk_app, operator_client, paid_cabin)
    activate(qtbot, window)
    window.grid.select(paid_cabin.id)
    qtbot.keyClick(window, Qt.Key.Key_Return)
    dialog = window.pay_dialog
    assert dialog is not None and dialog.due == Money.of("2.00", "EUR")
    assert dialog.due_figure.text() == "€2.00"
    qtbot.keyClicks(dialog.received, "5,00")
    assert dialog.change_figure.text() == "€3.00"
    with qtbot.waitSignal(window.sig_paid, timeout=10_000) as paid:
        qtbot.keyClick(dialog.received, Qt.Key.Key_Return)
    result = paid.args[0]
    assert result.change == Money.of("3.00", "EUR") and result.amount_due == \
        Money.of("2.00", "EUR")
    assert transactions(sqlite_engine) == 1
    # the server's cabin event frees the tile
    state.apply(Event(kind="cabin", seq=1, instance="real-server",
                      data={"id": paid_cabin.id, "name": "Cabin 1", "position": 1, "site": "",
                            "enabled": True, "state": "free", "session": None}))
    feed(qtbot, bridge, state, Diff(cabins=frozenset({paid_cabin.id})))
    tile = window.grid.tiles[paid_cabin.id]
    assert tile.model.state == "free" and not tile.model.has_session
    assert "paid" in window.toast.text() and "€3.00" in window.toast.text()


def test_received_less_than_due_is_refused_and_nothing_is_taken(
        qtbot, desk_app, operator_client, paid_cabin, sqlite_engine):
    window, _, _ = paying_window(qtbot, desk_app, operator_client, paid_cabin)
    dialog = window.open_pay(paid_cabin.id)
    qtbot.keyClicks(dialog.received, "1.50")
    assert dialog.change_caption.text() == "STILL MISSING"
    assert dialog.change_figure.text() == "€0.50"
    qtbot.mouseClick(dialog.pay_button, Qt.MouseButton.LeftButton)
    assert dialog.error.isVisible() and "Not enough cash" in dialog.error.text()
    assert dialog.requests_sent == 0 and dialog.isVisible()
    assert transactions(sqlite_engine) == 0


def test_a_double_clicked_pay_pays_once(qtbot, desk_app, operator_client, paid_cabin,
                                        sqlite_engine, monkeypatch):
    posts: list[str] = []
    original = requests.Session.send

    def counting(self, request, **kwargs):  # type: ignore[no-untyped-def]
        if request.method == "POST" and request.url.endswith("/pay"):
            posts.append(request.body)
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", counting)
    window, _, _ = paying_window(qtbot, desk_app, operator_client, paid_cabin)
    dialog = window.open_pay(paid_cabin.id)
    qtbot.keyClicks(dialog.received, "2")
    with qtbot.waitSignal(dialog.sig_paid, timeout=10_000):
        qtbot.mouseDClick(dialog.pay_button, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(dialog.pay_button, Qt.MouseButton.LeftButton)
        dialog.pay()  # and Enter once more, for good measure
    assert len(posts) == 1
    assert transactions(sqlite_engine) == 1
    # a retry with the dialog's key is answered with the first payment, not a second one
    again = operator_client.pay(paid_cabin.id, Money.of("2", "EUR"), dialog.idempotency_key)
    assert again.replayed and again.transaction_id == dialog.result.transaction_id
    assert transactions(sqlite_engine) == 1


def test_a_live_call_cannot_be_paid_by_mistake(qtbot, desk_app):
    shop = Shop()
    shop.add_cabins(1)
    first = shop.snapshot()
    call_id, events = shop.dial(1, "France")
    events += shop.answer(call_id)
    shop.advance(42)
    state = live_state(first, events)
    window, bridge, _ = make_window(qtbot, ServerClient("http://127.0.0.1:9"), desk_app,
                                    lambda: shop.now)
    window.login = cashier(shop.now)
    feed(qtbot, bridge, state)
    dialog = window.open_pay(1)
    assert dialog.live_warning.isVisible() and "still running" in dialog.live_warning.text()
    assert not dialog.pay_button.isEnabled()
    qtbot.keyClicks(dialog.received, "50")
    dialog.pay()
    assert dialog.requests_sent == 0 and "still running" in dialog.error.text()
    # the call ends: the dialog follows and Pay is offered with the billed figure
    for event in shop.hang_up(call_id):
        state.apply(event)
    feed(qtbot, bridge, state, Diff(cabins=frozenset({1})))
    assert not dialog.live_warning.isVisible() and dialog.pay_button.isEnabled()
    assert dialog.due == shop.due(1)


# --- keyboard ------------------------------------------------------------------------------

def test_the_keyboard_selects_pays_toggles_invoice_and_opens_history(
        qtbot, desk_app, operator_client, paid_cabin):
    window, _, _ = paying_window(qtbot, desk_app, operator_client, paid_cabin)
    activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_1)
    assert window.grid.selected == paid_cabin.id
    qtbot.keyClick(window, Qt.Key.Key_I)
    assert window.grid.tiles[paid_cabin.id].invoice
    qtbot.keyClick(window, Qt.Key.Key_F1)
    qtbot.keyClick(window, Qt.Key.Key_Return)
    assert window.pay_dialog is not None and window.pay_dialog.invoice_check.isChecked()
    qtbot.keyClick(window.pay_dialog, Qt.Key.Key_Escape)
    assert window.pay_dialog is None or not window.pay_dialog.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_H)
    history = window.history_dialog
    assert history is not None
    qtbot.waitUntil(lambda: not history.loading, timeout=10_000)
    assert "(H)" in window.grid.tiles[paid_cabin.id].history_button.toolTip()
    assert "Ctrl+L" in window.logoff_action.toolTip()


# --- no network on the GUI thread ---------------------------------------------------------

def test_no_network_call_runs_on_the_gui_thread(qtbot, desk_app, connect, paid_cabin,
                                                sqlite_engine, monkeypatch):
    seen: list[tuple[str, str]] = []
    send, sock_connect = requests.Session.send, socket.socket.connect

    def watched_send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((f"{request.method} {request.path_url}", threading.current_thread().name))
        return send(self, request, **kwargs)

    def watched_connect(self, address):  # type: ignore[no-untyped-def]
        seen.append((f"connect {address}", threading.current_thread().name))
        return sock_connect(self, address)

    monkeypatch.setattr(requests.Session, "send", watched_send)
    monkeypatch.setattr(socket.socket, "connect", watched_connect)
    main = threading.main_thread().name

    client = connect()
    login = log_in(qtbot, client)                      # login
    window, bridge, operations = make_window(qtbot, client, desk_app, lambda: paid_cabin.now)
    window.start_session(login, connect=False)
    state = LiveState()
    state.load(paid_cabin.snapshot(), paid_cabin.now)
    window.show()
    feed(qtbot, bridge, state)
    history = window.open_history(paid_cabin.id)      # history
    qtbot.waitUntil(lambda: not history.loading, timeout=10_000)
    history.close()
    dialog = window.open_pay(paid_cabin.id)           # pay
    qtbot.keyClicks(dialog.received, "10")
    with qtbot.waitSignal(window.sig_paid, timeout=10_000):
        qtbot.keyClick(dialog.received, Qt.Key.Key_Return)
    with qtbot.waitSignal(window.sig_logged_off, timeout=10_000):  # log off
        window.log_off()
    operations.wait()
    assert len(seen) >= 4, seen
    on_gui = [call for call, thread in seen if thread == main]
    assert on_gui == [], f"network calls on the GUI thread: {on_gui}"
    assert transactions(sqlite_engine) == 1
    assert Decimal("8.00") == dialog.result.change.amount
