"""`KamailioBridge` against a fake evapi socket (no Kamailio): the message formats of
resources/kamailio/README.md both ways, failing closed, backstops counted from now,
dlg.list, and what a reconnect does. The same paths against a real Kamailio are in
test_billing_e2e.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from cashdesk.clock import FakeClock
from cashdesk.pbx.bridge import (
    Authorisation,
    AuthorisationRequest,
    CutReason,
    LiveCall,
    RefusalReason,
)
from cashdesk.pbx.events import (
    CallAnswered,
    CallEnded,
    CallFailed,
    CallRinging,
    CallStarted,
    HangupBy,
    PbxEvent,
)
from cashdesk.pbx.kamailio.bridge import KamailioBridge, KamailioBridgeSettings
from cashdesk.pbx.kamailio.evapi import NetstringDecoder, NotConnected, encode_message

TS = 1795652355.574249
AT = datetime.fromtimestamp(TS, UTC)


class FakeKamailio:
    """A TCP server speaking evapi's netstrings: sends what the test says, records
    what the bridge sends, answers `dlg.list` with `dialogs`."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.dialogs: list[Any] = []
        self.connections = 0
        self._writer: asyncio.StreamWriter | None = None
        self._server: asyncio.Server | None = None
        self._changed = asyncio.Event()
        self.port = 0

    async def start(self, port: int = 0) -> FakeKamailio:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        await self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def drop(self) -> None:
        """Close the bridge's connection (Kamailio restarting)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writer = writer
        decoder = NetstringDecoder()
        while data := await reader.read(65536):
            for frame in decoder.feed(data):
                message = json.loads(frame)
                self.received.append(message)
                self._changed.set()
                if message.get("method") == "dlg.list":
                    self.send({"jsonrpc": "2.0", "result": self.dialogs, "id": message["id"]})

    def send(self, message: dict[str, Any]) -> None:
        assert self._writer is not None, "the bridge is not connected"
        self._writer.write(encode_message(message))

    async def wait_for(self, check: Callable[[list[dict[str, Any]]], Any],
                       timeout: float = 3.0) -> Any:
        async with asyncio.timeout(timeout):
            while not (found := check(self.received)):
                self._changed.clear()
                await self._changed.wait()
        return found

    async def wait_connected(self, count: int = 1) -> None:
        async with asyncio.timeout(3):
            while self.connections < count or self._writer is None:
                await asyncio.sleep(0.01)


class Listener:
    """The server side: records events, answers authorisations at once with `now`
    (None: not at once), else with `decide`."""

    def __init__(self) -> None:
        self.events: list[PbxEvent] = []
        self.requests: list[AuthorisationRequest] = []
        self.now: Callable[[AuthorisationRequest], Authorisation | None] = lambda request: None
        self.decide: Callable[[AuthorisationRequest], Awaitable[Authorisation]] = self._allow

    @staticmethod
    async def _allow(request: AuthorisationRequest) -> Authorisation:
        return Authorisation.allow(300)

    def on_event(self, event: PbxEvent) -> None:
        self.events.append(event)

    def authorise_now(self, request: AuthorisationRequest) -> Authorisation | None:
        answer = self.now(request)
        if answer is not None:
            self.requests.append(request)
        return answer

    async def async_authorise(self, request: AuthorisationRequest) -> Authorisation:
        self.requests.append(request)
        return await self.decide(request)


@pytest.fixture
async def fake() -> AsyncIterator[FakeKamailio]:
    server = await FakeKamailio().start()
    yield server
    await server.stop()


@pytest.fixture
async def bridge(fake: FakeKamailio, clock: FakeClock) -> AsyncIterator[KamailioBridge]:
    instance = KamailioBridge(KamailioBridgeSettings("127.0.0.1", fake.port,
                                                     authorise_timeout=0.3, start_timeout=2,
                                                     min_backoff=0.05, max_backoff=0.1),
                              clock=clock)
    instance.attach(Listener())
    await instance.async_start()
    await fake.wait_connected()
    yield instance
    await instance.async_stop()


def listener_of(bridge: KamailioBridge) -> Listener:
    listener = bridge.listener
    assert isinstance(listener, Listener)
    return listener


def authorize(call_id: str = "c1@h", tindex: int = 7, tlabel: int = 99) -> dict[str, Any]:
    return {"type": "authorize", "tindex": tindex, "tlabel": tlabel, "call_id": call_id,
            "from_tag": "ft", "cabin": "cabin1", "number": "0033123456789", "ts": TS}


def set_timeouts(received: list[dict[str, Any]], count: int) -> list[dict[str, Any]] | None:
    found = [m for m in received if m.get("type") == "set_timeout"]
    return found if len(found) == count else None


def answers(received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in received if m.get("type") == "authorization"]


def answers_to(tindex: int, received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in answers(received) if m["tindex"] == tindex]


# --- authorisation ------------------------------------------------------------------

async def test_an_allowed_call_is_answered_with_its_backstop(fake: FakeKamailio,
                                                            bridge: KamailioBridge) -> None:
    fake.send(authorize())
    (answer,) = await fake.wait_for(answers)
    assert answer == {"type": "authorization", "tindex": 7, "tlabel": 99, "allow": True,
                      "max_seconds": 300}
    (request,) = listener_of(bridge).requests
    assert request == AuthorisationRequest("c1@h", "cabin1", "0033123456789", at=AT)


async def test_an_answer_the_listener_has_at_once_is_sent_without_waiting(
        fake: FakeKamailio, bridge: KamailioBridge) -> None:
    """`authorise_now` first: its answer is written in the step of the loop that read
    the request, no task awaiting anything; None, or a failure there, leaves the call
    to `async_authorise`."""
    listener = listener_of(bridge)
    asked_later: list[str] = []

    async def later(request: AuthorisationRequest) -> Authorisation:
        asked_later.append(request.pbx_call_id)
        return Authorisation.allow(300)
    listener.decide = later
    listener.now = lambda request: Authorisation.allow(120)
    fake.send(authorize("at-once", tindex=1))
    (answer,) = await fake.wait_for(partial(answers_to, 1))
    assert answer["allow"] is True and answer["max_seconds"] == 120
    assert asked_later == []

    def broken(request: AuthorisationRequest) -> Authorisation | None:
        raise RuntimeError("memory says no")
    for number, now in ((2, lambda request: None), (3, broken)):
        listener.now = now
        fake.send(authorize(f"later{number}", tindex=number))
        (answer,) = await fake.wait_for(partial(answers_to, number))
        assert answer["allow"] is True and answer["max_seconds"] == 300
    assert asked_later == ["later2", "later3"]
    assert bridge.authorisation_failures == 0


async def test_no_limit_leaves_kamailio_its_default(fake: FakeKamailio,
                                                    bridge: KamailioBridge) -> None:
    async def unlimited(request: AuthorisationRequest) -> Authorisation:
        return Authorisation.allow(None)
    listener_of(bridge).decide = unlimited
    fake.send(authorize())
    (answer,) = await fake.wait_for(answers)
    assert answer["allow"] is True and "max_seconds" not in answer


@pytest.mark.parametrize(("reason", "code", "phrase"), [
    (RefusalReason.NO_CREDIT, 402, "Insufficient Credit"),
    (RefusalReason.NO_RATE, 404, "No Rate For Destination"),
    (RefusalReason.CABIN_DISABLED, 403, "Cabin Disabled"),
    (RefusalReason.INVALID_NUMBER, 484, "Invalid Number"),
])
async def test_a_refusal_carries_its_sip_code_and_a_clear_reason(
        fake: FakeKamailio, bridge: KamailioBridge, reason: RefusalReason, code: int,
        phrase: str) -> None:
    async def refuse(request: AuthorisationRequest) -> Authorisation:
        return Authorisation.refuse(reason)
    listener_of(bridge).decide = refuse
    fake.send(authorize())
    (answer,) = await fake.wait_for(answers)
    assert answer == {"type": "authorization", "tindex": 7, "tlabel": 99, "allow": False,
                      "code": code, "reason": phrase}


async def test_every_failure_to_decide_is_a_refusal(fake: FakeKamailio,
                                                    bridge: KamailioBridge) -> None:
    """Fail closed: a server too slow (beyond authorise_timeout, below Kamailio's own
    timer) or failing answers 503 itself; it never lets a call through."""
    async def slow(request: AuthorisationRequest) -> Authorisation:
        await asyncio.sleep(5)
        return Authorisation.allow(60)

    async def broken(request: AuthorisationRequest) -> Authorisation:
        raise RuntimeError("database is locked")

    for number, decide in enumerate((slow, broken)):
        listener_of(bridge).decide = decide
        fake.send(authorize(f"c{number}", tindex=number))
        answer = (await fake.wait_for(partial(answers_to, number)))[0]
        assert answer["allow"] is False and answer["code"] == 503
        assert answer["reason"] == "Billing Unavailable"
    assert bridge.authorisation_failures == 2

    fake.send({"type": "authorize", "tindex": 9, "tlabel": 1, "call_id": "c9"})  # no cabin
    answer = (await fake.wait_for(partial(answers_to, 9)))[0]
    assert answer["allow"] is False


async def test_no_listener_refuses(fake: FakeKamailio, clock: FakeClock) -> None:
    bridge = KamailioBridge(KamailioBridgeSettings("127.0.0.1", fake.port), clock=clock)
    await bridge.async_start()
    try:
        fake.send(authorize())
        (answer,) = await fake.wait_for(answers)
        assert answer["allow"] is False and answer["code"] == 503
    finally:
        await bridge.async_stop()


async def test_a_cut_while_authorising_turns_the_answer_into_a_refusal(
        fake: FakeKamailio, bridge: KamailioBridge) -> None:
    release = asyncio.Event()

    async def waits(request: AuthorisationRequest) -> Authorisation:
        await release.wait()
        return Authorisation.allow(60)
    listener_of(bridge).decide = waits
    fake.send(authorize("c1"))
    await asyncio.sleep(0.05)
    await bridge.cut("c1", CutReason.CREDIT_EXHAUSTED)
    release.set()
    (answer,) = await fake.wait_for(answers)
    assert answer["allow"] is False and answer["code"] == 402
    assert {"type": "cut", "call_id": "c1"} in fake.received


# --- events ---------------------------------------------------------------------------

async def test_events_become_pbx_events_with_kamailios_timestamps(
        fake: FakeKamailio, bridge: KamailioBridge) -> None:
    common = {"call_id": "c1", "from_tag": "ft", "cabin": "cabin1", "number": "0033123"}
    for message in (
            {"type": "started", **common, "h_entry": 1, "h_id": 2, "ts": TS},
            {"type": "ringing", **common, "to_tag": "tt", "code": 180, "ts": TS + 1},
            {"type": "answered", **common, "to_tag": "tt", "h_entry": 1, "h_id": 2,
             "ts": TS + 2},
            {"type": "bye", "call_id": "c1", "ruri": "sip:x", "ts": TS + 3},
            {"type": "cut_result", "call_id": "c1", "state": "answered"},
            {"type": "ended", **common, "to_tag": "tt", "hangup_by": "callee",
             "reason": "bye", "ts": TS + 4},
            {"type": "started", **common, "call_id": "c2", "ts": TS},
            {"type": "failed", **common, "call_id": "c2", "code": 486, "ts": TS + 1},
            {"type": "started", **common, "call_id": "c3", "ts": TS},
            {"type": "ended", **common, "call_id": "c3", "hangup_by": "pbx",
             "reason": "timeout", "ts": TS + 9},
            {"type": "ended", "call_id": "c4", "ts": "garbage"},
            {"type": "something new", "call_id": "c5"},
            {"type": "ringing"}):                   # no call_id: logged and dropped
        fake.send(message)
    listener = listener_of(bridge)
    async with asyncio.timeout(3):
        while len(listener.events) < 9:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    second = timedelta(seconds=1)
    assert listener.events == [
        CallStarted("c1", "cabin1", "0033123", at=AT),
        CallRinging("c1", at=AT + second),
        CallAnswered("c1", at=AT + 2 * second),
        CallEnded("c1", reason="", hangup_by=HangupBy.CALLEE, at=AT + 4 * second),
        CallStarted("c2", "cabin1", "0033123", at=AT),
        CallFailed("c2", 486, reason="busy", at=AT + second),
        CallStarted("c3", "cabin1", "0033123", at=AT),
        CallEnded("c3", reason="backstop: PBX timeout", hangup_by=HangupBy.PBX,
                  at=AT + 9 * second),
        CallEnded("c4", reason="", hangup_by=HangupBy.UNKNOWN, at=None),
    ]


# --- commands ---------------------------------------------------------------------------

async def test_the_backstop_is_sent_counted_from_now(fake: FakeKamailio,
                                                     bridge: KamailioBridge,
                                                     clock: FakeClock) -> None:
    """`set_timeout` counts from now, `set_backstop` from the answer: 300 s allowed,
    answered 100.4 s ago → 200 s (rounded up, never early); asked before the answer,
    sent at the answer; past its maximum → 1 s (0 would mean none)."""
    answered = clock.now() - timedelta(seconds=100.4)
    fake.send({"type": "started", "call_id": "c1", "cabin": "k", "number": "1", "ts": TS})
    fake.send({"type": "answered", "call_id": "c1", "ts": answered.timestamp()})
    await asyncio.sleep(0.05)
    await bridge.set_backstop("c1", 300)
    await bridge.set_backstop("c1", 50)
    fake.send({"type": "started", "call_id": "c2", "cabin": "k", "number": "1", "ts": TS})
    await asyncio.sleep(0.05)
    await bridge.set_backstop("c2", 30)
    assert not [m for m in fake.received if m.get("call_id") == "c2"]
    fake.send({"type": "answered", "call_id": "c2", "ts": clock.now().timestamp()})
    await bridge.set_backstop("unknown", 40)    # not seen (e.g. before a listing): as is
    timeouts = await fake.wait_for(lambda r: set_timeouts(r, 4))
    assert sorted((m["call_id"], m["seconds"]) for m in timeouts) == [
        ("c1", 1), ("c1", 200), ("c2", 30), ("unknown", 40)]


async def test_a_cut_names_the_call(fake: FakeKamailio, bridge: KamailioBridge) -> None:
    await bridge.cut("c1", CutReason.OPERATOR)
    assert await fake.wait_for(lambda r: r == [{"type": "cut", "call_id": "c1"}])


async def test_cuts_due_together_release_every_carrier_first(fake: FakeKamailio,
                                                             bridge: KamailioBridge) -> None:
    bridge.rehearse_cuts(["c1", "c2"])
    await bridge.cut_many([("c1", CutReason.CREDIT_EXHAUSTED), ("c2", CutReason.CREDIT_EXHAUSTED)])
    assert await fake.wait_for(lambda r: r == [
        {"type": "wake"},
        {"type": "rehearse_cut", "call_id": "c1"}, {"type": "rehearse_cut", "call_id": "c2"},
        {"type": "cut_carrier", "call_id": "c1"}, {"type": "cut_carrier", "call_id": "c2"},
        {"type": "cut", "call_id": "c1"}, {"type": "cut", "call_id": "c2"}])


async def test_live_calls_come_from_dlg_list(fake: FakeKamailio, bridge: KamailioBridge,
                                             clock: FakeClock) -> None:
    fake.dialogs = [
        {"h_entry": 1, "h_id": 2, "call-id": "up", "state": 4, "init_ts": 1795653090,
         "start_ts": 1795653092, "variables": [{"number": "0033"}, {"cabin": "cabin1"}]},
        {"call-id": "ringing", "state": 1, "init_ts": 1795653090, "start_ts": 0,
         "variables": [{"cabin": "cabin2"}, {"number": "0044"}]},
        {"call-id": "over", "state": 5, "init_ts": 1795653090, "start_ts": 1795653092,
         "variables": []},
        "garbage",
    ]
    live = await bridge.list_live_calls()
    assert live == [
        LiveCall("up", "cabin1", "0033", started_at=datetime.fromtimestamp(1795653090, UTC),
                 answered_at=datetime.fromtimestamp(1795653092, UTC)),
        LiveCall("ringing", "cabin2", "0044",
                 started_at=datetime.fromtimestamp(1795653090, UTC)),
    ]
    # dlg.list knows the answer to the second only: the backstop counts from the end of
    # that second, so it can be late by a second but never early. 10.4 s after start_ts:
    # at most 9.4 s talked, 60 s allowed → 51 s from now.
    clock.advance((datetime.fromtimestamp(1795653102.4, UTC) - clock.now()).total_seconds())
    await bridge.set_backstop("up", 60)
    (timeout,) = await fake.wait_for(lambda r: set_timeouts(r, 1))
    assert timeout == {"type": "set_timeout", "call_id": "up", "seconds": 51}


# --- the connection ------------------------------------------------------------------------

async def test_a_reconnect_reports_the_live_calls_and_when_the_link_was_lost(
        fake: FakeKamailio, clock: FakeClock) -> None:
    statuses: list[bool] = []
    reconnects: list[tuple[list[LiveCall], datetime | None]] = []
    bridge = KamailioBridge(
        KamailioBridgeSettings("127.0.0.1", fake.port, min_backoff=0.05, max_backoff=0.1),
        clock=clock, on_status=statuses.append,
        on_reconnected=lambda live, lost_at: reconnects.append((live, lost_at)))
    bridge.attach(Listener())
    await bridge.async_start()
    try:
        await fake.wait_connected()
        assert statuses == [True] and reconnects == []   # the server reconciles itself
        lost = clock.now()
        await fake.drop()
        async with asyncio.timeout(3):
            while bridge.connected:
                await asyncio.sleep(0.01)
        assert statuses == [True, False]
        with pytest.raises(NotConnected):
            await bridge.cut("c1", CutReason.CREDIT_EXHAUSTED)   # sent again when back
        clock.advance(30)
        fake.dialogs = [{"call-id": "c7", "state": 4, "init_ts": 1795653090,
                         "start_ts": 1795653092, "variables": [{"cabin": "k"}]}]
        await fake.wait_connected(2)
        async with asyncio.timeout(3):
            while not reconnects:
                await asyncio.sleep(0.01)
        assert statuses == [True, False, True]
        ((live, lost_at),) = reconnects
        assert [c.pbx_call_id for c in live] == ["c7"] and lost_at == lost
        assert {"type": "cut", "call_id": "c1"} in fake.received
    finally:
        await bridge.async_stop()


async def test_start_does_not_wait_forever_for_kamailio(clock: FakeClock) -> None:
    """Kamailio down when the server starts: the bridge says so, keeps trying, and the
    calls are refused by Kamailio (no server connected) meanwhile."""
    fake = FakeKamailio()
    await fake.start()
    port = fake.port
    await fake.stop()
    reconnects: list[list[LiveCall]] = []
    bridge = KamailioBridge(
        KamailioBridgeSettings("127.0.0.1", port, start_timeout=0.2, min_backoff=0.05,
                               max_backoff=0.1),
        clock=clock, on_reconnected=lambda live, lost_at: reconnects.append(live))
    await bridge.async_start()
    try:
        assert not bridge.connected
        with pytest.raises(NotConnected):
            await bridge.list_live_calls()
        await fake.start(port)
        await fake.wait_connected()
        async with asyncio.timeout(3):
            while not reconnects:    # the first connection after start reconciles
                await asyncio.sleep(0.01)
        assert reconnects == [[]]
    finally:
        await bridge.async_stop()
        await fake.stop()


# --- the server's factory ------------------------------------------------------------------

def test_the_factory_reads_pbx_kamailio_and_says_what_is_wrong() -> None:
    from cashdesk.pbx.kamailio.server import bridge_settings
    from cashdesk.server.config import ConfigError

    settings, subscriber_db = bridge_settings({"evapi": "127.0.0.1:9448",
                                               "subscriber_db": "/var/lib/s.sqlite3",
                                               "authorise_timeout": 1})
    assert (settings.evapi_host, settings.evapi_port) == ("127.0.0.1", 9448)
    assert settings.authorise_timeout == 1.0 and str(subscriber_db) == "/var/lib/s.sqlite3"
    assert bridge_settings({}) == (KamailioBridgeSettings(), None)
    for table, message in (({"evapi": "localhost:8448"}, "not an IPv4 address"),
                           ({"evapi_port": 1}, "unknown setting"),
                           ({"start_timeout": "3"}, "number of seconds"),
                           ({"rpc_timeout": 0}, "number of seconds"),
                           ({"subscriber_db": ""}, "file path")):
        with pytest.raises(ConfigError, match=message):
            bridge_settings(table)
