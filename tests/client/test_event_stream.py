"""`EventStream` over real sockets, against a stand-in of the live endpoints written
from docs/sync-protocol.md (tests/client/standin.py): snapshot then events, buffering
while the snapshot loads, gaps, heartbeats ahead, another instance, close codes, a
restart on the same port, a lost login, backoff and a clean stop."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cashdesk.money import Money
from server_client.client import ServerClient
from server_client.events import Backoff, ConnectionStatus, EventStream
from server_client.live import Diff
from tests.client import protocol as p
from tests.client.harness import HOST, ServerThread
from tests.client.recorder import Recorder
from tests.client.standin import TOKEN, LiveStandIn

WAIT = 10.0
LIVE = ConnectionStatus.LIVE
STALE = ConnectionStatus.STALE
OFFLINE = ConnectionStatus.OFFLINE
CONNECTING = ConnectionStatus.CONNECTING


def eur(text: str) -> Money:
    return Money.of(text, "EUR")


@pytest.fixture
def standin() -> Iterator[tuple[LiveStandIn, ServerThread]]:
    fake = LiveStandIn()
    server = ServerThread(fake.app).start()
    yield fake, server
    server.stop()


@pytest.fixture
def open_stream(standin) -> Iterator[Callable[..., tuple[EventStream, Recorder]]]:
    made: list[tuple[EventStream, threading.Thread]] = []
    clients: list[ServerClient] = []

    def make(token: str = TOKEN, **options: Any) -> tuple[EventStream, Recorder]:
        _, server = standin
        client = ServerClient(server.url, token=token, timeout=(2.0, 5.0))
        clients.append(client)
        recorder = Recorder()
        stream = EventStream(client, on_state=recorder.on_state,
                             on_connection=recorder.on_connection,
                             on_auth_lost=recorder.on_auth_lost, sleeper=recorder.sleeper,
                             spread=lambda: 0.5, **options)
        made.append((stream, stream.start()))
        return stream, recorder

    yield make
    for stream, thread in made:
        stream.close()
        assert not thread.is_alive(), "the stream's thread did not stop"
    for client in clients:
        client.close()
    leftover = [t.name for t in threading.enumerate()
                if t.name.startswith("server_client.") or "_send_ping" in t.name]
    assert leftover == [], f"threads left running: {leftover}"


def publish(server: ServerThread, fake: LiveStandIn, kind: str, data: dict[str, Any]) -> int:
    return server.call(lambda: fake.publish(kind, data))  # type: ignore[return-value]


def test_snapshot_then_events(standin, open_stream):
    fake, server = standin
    stream, seen = open_stream()
    seen.wait_status(LIVE)
    assert seen.statuses[0][0] is CONNECTING
    view = stream.view()
    assert view.loaded and not view.stale and view.instance == fake.instance
    assert [c.id for c in view.cabins] == [1, 2]

    publish(server, fake, "balance", p.balance("99.5000", "99.0000"))
    seen.wait(lambda: seen.balance() == eur("99.50"), "the balance event")
    assert seen.views[-1][1] == Diff(balance=True)
    busy = p.cabin(2, state="in_use", session_=p.session(7, [p.call(70, cabin_id=2,
                                                                    session_id=7)]))
    publish(server, fake, "cabin", busy)
    seen.wait(lambda: seen.last.cabin(2).session is not None, "the cabin event")
    assert stream.view().seq == 2
    assert stream.status is LIVE and stream.connections == 1


def test_events_during_the_snapshot_are_buffered_and_those_it_reflects_dropped(
        standin, open_stream):
    fake, server = standin
    captured = threading.Event()
    release = threading.Event()

    async def hold() -> None:  # the snapshot (balance 2, seq 2) is taken; answer later
        captured.set()
        while not release.is_set():
            await asyncio.sleep(0.01)

    server.call(lambda: fake.publish("balance", p.balance("1.0000", "1.0000")))
    server.call(lambda: fake.publish("balance", p.balance("2.0000", "2.0000")))
    fake.hold_snapshot = hold
    stream, seen = open_stream()
    assert captured.wait(WAIT)
    # While the snapshot is on its way: an event it does not reflect.
    publish(server, fake, "balance", p.balance("3.0000", "3.0000"))
    release.set()
    seen.wait_status(LIVE)
    assert stream.view().seq == 3
    assert seen.balance() == eur("3")
    assert all(view.balance is None or view.balance.balance != eur("1")
               for view, _ in seen.views)


def test_a_gap_goes_stale_then_reconnects_and_resyncs(standin, open_stream):
    fake, server = standin
    stream, seen = open_stream()
    seen.wait_status(LIVE)
    server.call(lambda: fake.lose_events(1))
    publish(server, fake, "balance", p.balance("5.0000", "5.0000"))
    seen.wait_status(LIVE, 2)
    stale = [(s, r) for s, r in seen.statuses if s is STALE]
    assert stale and "events 1..1 were missed" in stale[0][1]
    assert any(view.stale for view, _ in seen.views)
    assert seen.delays[0] == 0.5
    view = stream.view()
    assert not view.stale and view.seq == 2 and seen.balance() == eur("5")
    assert stream.connections == 2 and fake.snapshots == 2


def test_a_heartbeat_ahead_of_the_desk_resyncs(standin, open_stream):
    fake, server = standin
    stream, seen = open_stream()
    seen.wait_status(LIVE)
    server.call(lambda: fake.lose_events(2))
    server.call(fake.heartbeat)
    seen.wait_status(LIVE, 2)
    assert any("the server is at event 2, this desk at 0" in r for s, r in seen.statuses)
    assert stream.view().seq == 2


def test_a_heartbeat_in_step_keeps_the_stream_live(standin, open_stream):
    fake, server = standin
    stream, seen = open_stream()
    seen.wait_status(LIVE)
    server.call(fake.heartbeat)
    publish(server, fake, "switch", {"connected": False, "kind": "kamailio"})
    seen.wait(lambda: seen.last.switch is not None and not seen.last.switch.connected,
              "the switch event")
    assert stream.connections == 1 and [s for s, _ in seen.statuses] == [CONNECTING, LIVE]


def test_a_snapshot_of_another_instance_starts_again(standin, open_stream):
    fake, _server = standin
    fake.snapshot_instance = "a-newer-server-instance"
    stream, seen = open_stream()
    seen.wait(lambda: fake.snapshots >= 2, "a second snapshot")
    assert any("restarted while the snapshot loaded" in r for _, r in seen.statuses)
    fake.snapshot_instance = None
    seen.wait_status(LIVE)
    assert not stream.view().stale


def test_too_slow_and_going_away_close_codes_reconnect(standin, open_stream):
    fake, server = standin
    _stream, seen = open_stream()
    seen.wait_status(LIVE)
    server.call(lambda: fake.close_all(4001, "too slow"))
    seen.wait_status(LIVE, 2)
    assert any(r == "this desk fell too far behind the server" for _, r in seen.statuses)
    server.call(lambda: fake.close_all(1001))
    seen.wait_status(LIVE, 3)
    assert any(r == "the server is stopping" for _, r in seen.statuses)
    assert seen.delays == [0.5, 0.5]  # each reconnect after a live period starts over


def test_a_restart_on_the_same_port_goes_stale_then_resyncs_to_the_new_instance(
        standin, open_stream):
    fake, server = standin
    stream, seen = open_stream()
    seen.wait_status(LIVE)
    first = fake.instance
    server.stop()
    seen.wait(lambda: len(seen.delays) >= 4, "a few refused reconnects")
    assert stream.view().stale and stream.view().instance == first
    assert seen.delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert any("connection refused" in r for _, r in seen.statuses)
    # Between the attempts, the tiles keep the last state, greyed.
    assert stream.status is STALE
    assert CONNECTING not in [s for s, _ in seen.statuses[1:]]

    restarted = LiveStandIn()
    restarted.cabins[3] = p.cabin(3)
    server.make_app = restarted.app
    server.start()
    seen.wait(lambda: seen.views and seen.last.instance == restarted.instance
              and not seen.last.stale, "the resync to the new instance")
    assert [c.id for c in stream.view().cabins] == [1, 2, 3]


def test_a_refused_token_at_the_handshake_loses_the_login(open_stream):
    _stream, seen = open_stream(token="not-a-token")
    seen.wait(lambda: bool(seen.auth_lost), "on_auth_lost")
    assert seen.auth_lost == ["the login has expired or was revoked"]
    assert seen.statuses[-1][0] is OFFLINE


def test_close_code_4401_loses_the_login(standin, open_stream):
    fake, server = standin
    stream, seen = open_stream()
    seen.wait_status(LIVE)
    server.call(lambda: fake.close_all(4401, "the token was revoked"))
    seen.wait(lambda: bool(seen.auth_lost), "on_auth_lost")
    assert seen.auth_lost == ["the token was revoked"]
    assert stream.view().stale and seen.statuses[-1] == (OFFLINE, "the token was revoked")


def test_close_stops_the_stream_and_its_threads(standin, open_stream):
    stream, seen = open_stream()
    seen.wait_status(LIVE)
    stream.close()
    assert stream.status is OFFLINE and seen.statuses[-1] == (OFFLINE, "stopped")
    assert stream.view().stale


def test_close_during_the_backoff_does_not_wait_it_out(standin):
    _, server = standin
    server.stop()
    client = ServerClient(server.url, token=TOKEN)
    stream = EventStream(client, backoff=Backoff(first=30.0, maximum=30.0))
    thread = stream.start()
    try:
        assert stream.status in (CONNECTING, OFFLINE)
    finally:
        stream.close(timeout=5.0)
        client.close()
    assert not thread.is_alive()


def test_a_server_that_never_answers_the_handshake_times_out_and_close_is_prompt():
    # The TCP connection opens (the kernel's backlog), the upgrade is never answered.
    with socket.socket() as silent:
        silent.bind((HOST, 0))
        silent.listen(8)
        client = ServerClient(f"http://{HOST}:{silent.getsockname()[1]}", token=TOKEN)
        seen = Recorder()
        stream = EventStream(client, on_connection=seen.on_connection,
                             sleeper=seen.sleeper, spread=lambda: 0.5, socket_timeout=0.3)
        thread = stream.start()
        try:
            seen.wait(lambda: len(seen.delays) >= 1, "a timed-out handshake")
            assert seen.statuses[1][0] is OFFLINE
            assert "timed out" in seen.statuses[1][1]
        finally:
            started = time.monotonic()
            stream.close(timeout=5.0)
            client.close()
        assert not thread.is_alive() and time.monotonic() - started < 2.0


def test_backoff_doubles_to_ten_seconds_with_jitter():
    backoff = Backoff()
    assert [backoff.delay(n, 0.5) for n in range(7)] == [0.5, 1, 2, 4, 8, 10, 10]
    assert backoff.delay(0, 0.0) == pytest.approx(0.4)
    assert backoff.delay(0, 0.999) == pytest.approx(0.6, abs=1e-3)
    assert backoff.delay(10, 0.999) == 10.0  # never beyond the maximum
