"""The desk against the real server, live: its tiles follow the server's /live snapshot
and /events socket (the desk's own `EventStream` in its `QThread`), calls go through
the real tracker, rater and database, and Pay goes through the UI.

- a scripted PBX in the server's process, the server's and the desk's clocks one
  `FakeClock`: a call dialing → ringing → connected → ended shows each state, its
  running cost every second is `pricing.charge`, the last figure is exactly the price
  in the database, and Pay through the UI takes exactly that, the tile freed by the
  server's own event;
- `cashdesk-server serve` as a process with a PBX that outlives it: SIGKILLed while
  the desk is connected, the desk says so (indicator, banner, grey tiles that stop
  ticking, Pay disabled); started again on the same port and file, the desk
  reconnects by itself and its tiles are exactly the new server's /live.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from cashdesk.money import Money
from cashdesk.rating.pricing import charge
from server_client.client import ServerClient
from server_client.events import ConnectionStatus, EventStream
from tests.client.conftest import PASSWORD, World
from tests.gui.conftest import SCREENSHOTS
from tests.gui.live_server import (
    FRANCE,
    FRANCE_SELL,
    MOROCCO,
    UK,
    PeerPbx,
    ScriptedServer,
    ServerProcess,
    cdr,
    furnish,
    transactions,
)
from tests.gui.test_desk import activate, log_in
from ui.live_bridge import LiveBridge
from ui.screens.cabin_tile import tile_model
from ui.screens.main_window import MainWindow
from ui.workers import Operations

pytestmark = pytest.mark.gui

LIVE = ConnectionStatus.LIVE
WAIT_MS = 10_000


def open_desk(qtbot, languages, client, clock, stream_factory=EventStream):  # type: ignore[no-untyped-def]
    bridge = LiveBridge(stream_factory=stream_factory)
    window = MainWindow(client, Operations(), bridge, languages,
                        formatter=languages.formatter("Europe/Paris"), clock=clock)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    return window, bridge


def close_desk(window, bridge) -> None:  # type: ignore[no-untyped-def]
    """Stop the desk's stream and wait for its threads (none may outlive a test)."""
    window.ticker.stop()
    bridge.stop()
    assert bridge.wait_stopped(10_000)
    window.operations.wait(10_000)
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while datetime.now(UTC) < deadline and _stream_threads():
        QApplication.processEvents()
        threading.Event().wait(0.02)
    assert _stream_threads() == []


def _stream_threads() -> list[str]:
    return [t.name for t in threading.enumerate()
            if t.name.startswith(("server_client.", "cashdesk-events"))]


def live_and_current(window) -> bool:  # type: ignore[no-untyped-def]
    view = window.view
    return window.connection is LIVE and view is not None and not view.stale


# --- a call, start to bill, and Pay ----------------------------------------------------------

@pytest.fixture
def scripted(config, clock, world, sqlite_engine) -> Iterator[tuple[ScriptedServer, list[int]]]:  # type: ignore[no-untyped-def]
    cabins = furnish(sqlite_engine, clock, world)
    # No heartbeat during the test: a heartbeat's server time read before the test moves
    # the shared clock, and received after, would skew the desk's clock offset.
    server = ScriptedServer(config, clock, heartbeat_s=60).start()
    yield server, cabins
    server.stop()


def test_a_call_from_dialing_to_its_bill_then_pay(qtbot, desk_app, scripted, clock,
                                                   sqlite_engine):
    server, cabins = scripted
    client = ServerClient(server.url)
    login = log_in(qtbot, client)
    window, bridge = open_desk(qtbot, desk_app, client, clock.now,
                               stream_factory=partial(EventStream, clock=clock.now))
    try:
        window.start_session(login)
        window.ticker.stop()   # the test ticks, at the instants it chooses
        qtbot.waitUntil(lambda: live_and_current(window), timeout=WAIT_MS)
        fmt = window.formatter
        cabin = cabins[1]
        tile = window.grid.tiles[cabin]
        assert tile.model.state == "free" and tile.model.rows == ()
        assert not window.offline_banner.isVisible()
        assert window.server_indicator.property("level") == "ok"

        def last_row_is(state: str) -> bool:
            rows = tile.model.rows
            return bool(rows) and rows[-1].state == state

        server.dial("c1", "gui-2", FRANCE)
        qtbot.waitUntil(lambda: last_row_is("dialing"), timeout=WAIT_MS)
        row = tile.model.rows[-1]
        assert "1 in use" in window.detail_label.text()
        assert tile.model.state == "in_use" and row.number == "+33 1 40 00 00 00"
        assert row.destination == "France" and "0.15" in row.rate
        assert not tile.model.has_session and not tile.pay_button.isVisible()

        server.advance(2)
        server.ring("c1")
        qtbot.waitUntil(lambda: last_row_is("ringing"), timeout=WAIT_MS)
        assert tile.model.rows[-1].duration == "Ringing"

        server.advance(3)
        server.answer("c1")
        qtbot.waitUntil(lambda: last_row_is("answered"), timeout=WAIT_MS)
        answered_at = cdr(sqlite_engine, "c1").answered_at
        assert tile.model.has_session and tile.model.ticking
        assert tile.pay_button.isVisible() and not tile.pay_button.isEnabled()

        # Every second's figures are the server's bill function at that instant.
        for seconds in (1, 28, 1, 1, 5, 37):
            server.advance(seconds)
            window.tick()
            talked = clock.now() - answered_at.replace(tzinfo=UTC)
            expected = charge(FRANCE_SELL, talked // timedelta(milliseconds=1), "EUR")
            assert tile.model.rows[-1].cost == fmt.money(expected.amount)
            assert tile.model.rows[-1].duration == fmt.duration(talked.seconds)
            assert tile.model.total == fmt.money(expected.amount)
        server.advance(0.4)
        window.tick()
        last_shown = tile.model.total

        server.hang_up("c1")
        qtbot.waitUntil(lambda: last_row_is("ended") and tile.model.state ==
                        "awaiting_payment", timeout=WAIT_MS)
        billed = cdr(sqlite_engine, "c1")
        price = Money(billed.price, "EUR")
        assert billed.billed_seconds == 78 and price == Money.of("0.25", "EUR")
        assert last_shown == fmt.money(price), "the last running figure is the bill"
        assert tile.model.rows[-1].cost == tile.model.total == fmt.money(price)
        assert tile.model.due == price and tile.model.payable
        assert "0 in use · 1 to pay" in window.detail_label.text()
        qtbot.waitUntil(tile.pay_button.isEnabled, timeout=WAIT_MS)

        # Pay through the UI: select it, Enter, the cash, Enter.
        activate(qtbot, window)
        window.grid.select(cabin)
        qtbot.keyClick(window, Qt.Key.Key_Return)
        dialog = window.pay_dialog
        assert dialog is not None and dialog.due == price
        qtbot.keyClicks(dialog.received, "5")
        with qtbot.waitSignal(window.sig_paid, timeout=WAIT_MS) as paid:
            qtbot.keyClick(dialog.received, Qt.Key.Key_Return)
        assert paid.args[0].amount_due == price
        [taken] = transactions(sqlite_engine)
        assert (taken.amount_due, taken.received, taken.change) == \
            (Decimal("0.25"), Decimal(5), Decimal("4.75"))
        # freed by the server's cabin event, not by the dialog
        qtbot.waitUntil(lambda: tile.model.state == "free", timeout=WAIT_MS)
        assert tile.model.rows == () and not tile.pay_button.isVisible()
        assert "0 to pay" in window.detail_label.text()
    finally:
        close_desk(window, bridge)


# --- the server killed and restarted ---------------------------------------------------------

@pytest.fixture
def served(tmp_path, sqlite_engine, clock, world) -> Iterator[tuple[ServerProcess, PeerPbx, list[int]]]:  # type: ignore[no-untyped-def]
    cabins = furnish(sqlite_engine, clock, world)
    pbx = PeerPbx().open()
    server = ServerProcess(tmp_path, sqlite_engine.url.render_as_string(hide_password=False),
                           pbx.port)
    try:
        server.start()
        pbx.connected()
        yield server, pbx, cabins
    finally:
        server.stop()
        pbx.close()


def test_the_server_killed_and_restarted(qtbot, desk_app, served, world: World):
    server, pbx, cabins = served
    client = ServerClient(server.url)
    login = client.login("operator_a", PASSWORD)
    frozen: list[datetime | None] = [None]
    window, bridge = open_desk(qtbot, desk_app, client,
                               lambda: frozen[0] or datetime.now(UTC))
    try:
        window.start_session(login)
        qtbot.waitUntil(lambda: live_and_current(window), timeout=WAIT_MS)
        first_instance = window.view.instance
        tiles = window.grid.tiles
        one, two, three = (tiles[cabin] for cabin in cabins[:3])

        # Cabin 1 ended a call (to pay), cabin 2 talks, cabin 3 dials.
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=60)
        pbx.place("a", "gui-1", UK, base)
        pbx.answer_at("a", base + timedelta(seconds=1))
        pbx.hang_up_at("a", base + timedelta(seconds=31))
        pbx.place("b", "gui-2", FRANCE, base + timedelta(seconds=5))
        pbx.ring_at("b", base + timedelta(seconds=6))
        pbx.answer_at("b", base + timedelta(seconds=8))
        pbx.place("c", "gui-3", MOROCCO, base + timedelta(seconds=50))
        qtbot.waitUntil(lambda: (one.model.state, two.model.state, three.model.state) ==
                        ("awaiting_payment", "in_use", "in_use") and two.model.ticking
                        and bool(three.model.rows), timeout=WAIT_MS)
        assert one.pay_button.isEnabled()

        server.kill()
        qtbot.waitUntil(lambda: window.offline_banner.isVisible() and
                        all(tile.model.stale for tile in tiles.values()), timeout=WAIT_MS)
        assert window.server_indicator.property("level") in ("bad", "warn")
        assert "not live" in window.offline_banner.text()
        assert not window.switch_indicator.isVisible(), "the phones' state is unknown"
        assert not one.pay_button.isEnabled(), "no Pay on a tile that may be out of date"
        assert not any(tile.model.ticking for tile in tiles.values())
        stale_figures = two.model.rows
        window.tick()
        assert two.model.rows == stale_figures, "a grey tile does not tick"
        QApplication.processEvents()
        assert window.grab().save(str(SCREENSHOTS / "main_window_server_lost.png"))

        server.start()
        pbx.connected()
        # The desk comes back by itself (its own backoff), to the new instance.
        qtbot.waitUntil(lambda: live_and_current(window) and
                        window.view.instance != first_instance, timeout=20_000)
        assert not window.offline_banner.isVisible()
        assert window.server_indicator.property("level") == "ok"
        assert window.switch_indicator.isVisible()

        # Its tiles are exactly the server's /live: cabins, sessions, calls, totals.
        snapshot = client.live()
        qtbot.waitUntil(lambda: window.view.seq == snapshot.seq, timeout=WAIT_MS)
        view = window.view
        assert view.instance == snapshot.instance
        assert view.cabins == snapshot.cabins
        # What is available shrinks as call b talks (its reservation grows between
        # the desk's read of /live and this one), the balance only with an event.
        assert view.balance.balance == snapshot.balance.balance
        assert snapshot.balance.available <= view.balance.available <= view.balance.balance
        frozen[0] = datetime.now(UTC)
        window.tick()
        fmt = window.formatter
        for cabin in snapshot.cabins:
            tile = tiles[cabin.id]
            assert tile.model == tile_model(cabin, view, frozen[0], fmt), cabin.name
            assert not tile.model.stale
        session = snapshot.cabins[0].session
        assert session is not None and one.model.total == fmt.money(session.total)
        assert [row.state for row in two.model.rows] == ["answered"] and two.model.ticking
        assert [row.state for row in three.model.rows] == ["dialing"]
        assert one.pay_button.isEnabled()
        assert window.grid.tiles[cabins[3]].model.state == "free"
        assert window.bridge.status is LIVE
    finally:
        close_desk(window, bridge)
