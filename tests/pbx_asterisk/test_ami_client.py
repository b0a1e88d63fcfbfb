"""The AMI client's connection handling on real loopback sockets: keep-alive,
reconnection, reconciliation after a reconnect, timeouts, out-of-order responses,
repeated keys."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

import pytest

from cashdesk.clock import FakeClock
from cashdesk.pbx.asterisk.ami import (
    AmiClient,
    AmiConnectionError,
    AmiTimeout,
)
from cashdesk.pbx.asterisk.bridge import AsteriskBridge
from cashdesk.pbx.asterisk.lifecycle import GONE_WHILE_AWAY
from cashdesk.pbx.asterisk.packets import Packet, PacketParser, encode_action
from cashdesk.pbx.bridge import LiveCall
from tests.pbx_asterisk.conftest import START, RecordingListener, settings_for
from tests.pbx_asterisk.peer import ReplayPeer, response
from tests.pbx_asterisk.stub import AmiStub, default_responder
from tests.pbx_asterisk.transcript import Rx, Transcript, load

ClientFactory = Callable[..., Awaitable[AmiClient]]


async def eventually(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


@pytest.fixture
async def clients() -> AsyncIterator[ClientFactory]:
    made: list[AmiClient] = []
    stubs: list[AmiStub] = []

    async def make(stub: AmiStub, *, start: bool = True, **options: object) -> AmiClient:
        port = await stub.start()
        stubs.append(stub)
        values: dict[str, object] = {"action_timeout": 1.0, "connect_timeout": 1.0,
                                     "reconnect_delay": (0.02, 0.1)}
        values.update(options)
        client = AmiClient("127.0.0.1", port, "cashdesk", "s3cret",
                           **values)  # type: ignore[arg-type]
        made.append(client)
        if start:
            await client.async_start()
        return client

    yield make
    for client in made:
        await client.async_stop()
    for stub in stubs:
        await stub.stop()


def test_repeated_keys_are_kept_in_order() -> None:
    data = (b"Event: VarSet\r\nChanVariable: A=1\r\nChanVariable: B=2\r\n"
            b"Variable: X\r\nVariable: Y\r\nUniqueid: 1.2\r\n\r\n")
    (packet,) = PacketParser().feed(data)
    assert packet.getall("chanvariable") == ["A=1", "B=2"]
    assert packet.get("VARIABLE") == "X"
    assert packet.as_dict()["Variable"] == ["X", "Y"]
    assert packet["UniqueID"] == "1.2"          # keys are case-insensitive


def test_actions_with_repeated_keys_and_no_injection() -> None:
    assert encode_action("Originate", {"ActionID": "1", "Variable": ["A=1", "B=2"]}) == \
        b"Action: Originate\r\nActionID: 1\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n"
    with pytest.raises(ValueError):
        encode_action("Hangup", {"Channel": "PJSIP/x\r\nAction: Originate"})


def test_bare_lf_and_crlf_split_inside_are_framed() -> None:
    parser = PacketParser()
    assert parser.feed(b"Response: Success\r") == []
    assert parser.feed(b"\nActionID: 1\n\r") == []
    (packet,) = parser.feed(b"\n")
    assert packet.fields == (("Response", "Success"), ("ActionID", "1"))


async def test_not_connected_fails_at_once(clients: ClientFactory) -> None:
    client = await clients(AmiStub(), start=False)
    with pytest.raises(AmiConnectionError, match="not connected"):
        await client.action("Ping")


async def test_nobody_listening_is_a_connection_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    client = AmiClient("127.0.0.1", port, "u", "p", connect_timeout=1.0)
    with pytest.raises(AmiConnectionError, match="cannot connect"):
        await client.async_start()


async def test_a_close_during_login_fails_fast(clients: ClientFactory) -> None:
    def hang_up_on_login(action: Packet) -> bytes | None:
        stub.drop()
        return None

    stub = AmiStub(hang_up_on_login)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(AmiConnectionError):
        await clients(stub, action_timeout=5.0)
    assert loop.time() - started < 1.0     # not the 5 s action timeout


async def test_a_response_after_the_events_it_caused(clients: ClientFactory) -> None:
    """Asterisk may send a Hangup's events before its `Response: Success`."""
    events: list[str] = []

    def hangup_late(action: Packet) -> bytes | None:
        if action.get("Action") != "Hangup":
            return default_responder(action)
        aid = action.get("ActionID") or ""
        return (response({"Event": "SoftHangupRequest", "Uniqueid": "1.3", "Cause": "16"})
                + response({"Event": "Hangup", "Uniqueid": "1.3", "Cause": "16",
                            "Cause-txt": "Normal Clearing"})
                + response({"Response": "Success", "ActionID": aid,
                            "Message": "Channel Hungup"}))

    client = await clients(AmiStub(hangup_late), on_event=lambda p: events.append(p.event))
    answer = await client.action("Hangup", {"Channel": "PJSIP/cabin1-00000001"})
    assert answer.message == "Channel Hungup"
    assert events == ["SoftHangupRequest", "Hangup"]


async def test_responses_out_of_order_find_their_actions(clients: ClientFactory) -> None:
    held: list[Packet] = []

    def hold_two(action: Packet) -> bytes | None:
        if action.get("Action") != "Status":
            return default_responder(action)
        held.append(action)
        if len(held) < 2:
            return None
        return b"".join(response({"Response": "Success", "ActionID": p["ActionID"],
                                  "Message": p["Channel"]}) for p in reversed(held))

    client = await clients(AmiStub(hold_two))
    first, second = await asyncio.gather(
        client.action("Status", {"Channel": "one"}), client.action("Status", {"Channel": "two"}))
    assert (first.message, second.message) == ("one", "two")


async def test_an_action_times_out_and_its_late_answer_is_harmless(
        clients, caplog: pytest.LogCaptureFixture) -> None:
    late: list[Packet] = []

    def never(action: Packet) -> bytes | None:
        if action.get("Action") == "Status":
            late.append(action)
            return None
        return default_responder(action)

    stub = AmiStub(never)
    client = await clients(stub)
    with pytest.raises(AmiTimeout, match="no response in 0.1 s"):
        await client.action("Status", timeout=0.1)
    with caplog.at_level(logging.DEBUG, logger="cashdesk.pbx.asterisk.ami"):
        await stub.send(response({"Response": "Success", "ActionID": late[0]["ActionID"]}))
        assert (await client.action("Ping")).get("Ping") == "Pong"
    assert "response to no waiting action" in caplog.text
    assert client.connected


async def test_a_silent_ping_drops_and_reconnects(
        clients: ClientFactory, caplog: pytest.LogCaptureFixture) -> None:
    answered = {"count": 0}

    def deaf_to_ping(action: Packet) -> bytes | None:
        if action.get("Action") == "Ping":
            return None
        if action.get("Action") == "Login":
            answered["count"] += 1
        return default_responder(action)

    stub = AmiStub(deaf_to_ping)
    client = await clients(stub, ping_interval=0.05, action_timeout=0.1)
    await stub.wait_for("Login", count=2)
    assert stub.connections >= 2
    assert "did not answer Ping" in caplog.text
    await client.wait_connected(2)
    assert client.sessions >= 2


async def test_garbage_from_the_server_is_skipped(
        clients: ClientFactory, caplog: pytest.LogCaptureFixture) -> None:
    events: list[Packet] = []
    stub = AmiStub()
    await clients(stub, on_event=events.append)
    await stub.send(b"\x00\xff garbage line\r\nEvent: Newchannel\r\nbroken\r\nUniqueid: 9.9\r\n\r\n"
                    b"Just: a packet without Event or Response\r\n\r\n")
    await stub.send(response({"Event": "Hangup", "Uniqueid": "9.9"}))
    await eventually(lambda: len(events) == 2)
    assert [p.event for p in events] == ["Newchannel", "Hangup"]
    assert "not 'Key: Value'" in caplog.text
    assert "neither Event nor Response" in caplog.text


# -- reconnect and reconcile with the bridge ----------------------------------------------

def until(transcript: Transcript, ts: float) -> Transcript:
    """The recording up to `ts` seconds, then the server closes the socket."""
    items = tuple(i for i in transcript.items if i.ts <= ts) + (Rx(ts, b"", eof=True),)
    return Transcript(transcript.name, items, transcript.raw)


def listing_of(name: str) -> list[dict[str, str]]:
    """The CoreShowChannel items a recording listed, as a synthetic listing."""
    return [{k: v for k, v in p.fields if k not in ("Event", "ActionID")}
            for p in load(name).received() if p.event == "CoreShowChannel"]


Reconnects = list[tuple[list[LiveCall], datetime | None]]


async def bridge_on(peer: ReplayPeer, clock: FakeClock, reconnects: Reconnects,
                    ) -> tuple[AsteriskBridge, RecordingListener]:
    port = await peer.start()
    bridge = AsteriskBridge(settings_for(port), clock=clock,
                            on_reconnected=lambda live, lost: reconnects.append((live, lost)))
    listener = RecordingListener()
    bridge.attach(listener)
    peer.consumed = lambda: bridge.ami.bytes_received
    await bridge.async_start()
    return bridge, listener


@pytest.mark.parametrize("seed", [None, 5])
async def test_a_call_gone_while_disconnected_is_left_to_the_server(seed: int | None) -> None:
    """The link drops while a call talks (last packet at 1.009 s) and the call is gone
    when it is back: the bridge reports no end of its own (the server closes the call
    at `lost_at`), and closes it in its own books so nothing reports it later."""
    clock = FakeClock()
    peer = ReplayPeer(until(load("dial_bridge_hangup_caller"), 3.0), clock=clock,
                      chunks=random.Random(seed) if seed else None, await_actions=("Login",))
    reconnects: Reconnects = []
    bridge, listener = await bridge_on(peer, clock, reconnects)
    try:
        await eventually(lambda: bool(reconnects))
        assert peer.connections == 2
        ((live, lost_at),) = reconnects
        assert live == []
        assert lost_at is not None
        assert abs((lost_at - START).total_seconds() - 1.009) < 0.1
        assert listener.kinds() == ["started", "answered"]
        call = bridge.lifecycle.call("1795646255.2")
        assert call is not None and not call.live and call.reason == GONE_WHILE_AWAY
        assert await bridge.list_live_calls() == []
        assert listener.kinds() == ["started", "answered"]
    finally:
        await bridge.async_stop()
        await peer.stop()


async def test_a_call_still_up_after_a_reconnect_goes_on() -> None:
    clock = FakeClock()
    peer = ReplayPeer(until(load("dial_bridge_hangup_caller"), 3.0), clock=clock,
                      listing=listing_of("dial_bridge_hangup_caller"), await_actions=("Login",))
    reconnects: Reconnects = []
    bridge, listener = await bridge_on(peer, clock, reconnects)
    try:
        await eventually(lambda: bool(reconnects))
        ((live, _),) = reconnects
        assert [(c.pbx_call_id, c.sip_username, c.dialed_number) for c in live] == \
            [("1795646255.2", "200", "200")]
        # Its known start and answer, not estimates from the listing.
        assert (live[0].started_at - START).total_seconds() == 0.508   # type: ignore[operator]
        assert (live[0].answered_at - START).total_seconds() == 0.510  # type: ignore[operator]
        assert listener.kinds() == ["started", "answered"]
        assert [c.pbx_call_id for c in bridge.lifecycle.live_calls()] == ["1795646255.2"]
    finally:
        await bridge.async_stop()
        await peer.stop()


async def test_a_call_that_began_while_disconnected_is_listed() -> None:
    """Nothing happened in the first session; after the reconnect the listing shows a
    cabin talking: the server hears of it with times from the channels' ages."""
    clock = FakeClock()
    peer = ReplayPeer(until(load("hangup_bogus"), 0.3), clock=clock,
                      listing=listing_of("dial_bridge_hangup_caller"), await_actions=("Login",))
    reconnects: Reconnects = []
    bridge, listener = await bridge_on(peer, clock, reconnects)
    try:
        await eventually(lambda: bool(reconnects))
        ((live, _),) = reconnects
        (call,) = live
        assert (call.pbx_call_id, call.sip_username, call.dialed_number) == \
            ("1795646255.2", "200", "200")
        assert call.started_at is not None and call.answered_at is not None
        now = clock.now()
        assert (now - call.started_at).total_seconds() == 3       # Duration: 00:00:03
        assert (now - call.answered_at).total_seconds() == 3      # the dialed leg's age
        assert listener.events == []
    finally:
        await bridge.async_stop()
        await peer.stop()


def listing_responder(items: list[dict[str, str]]) -> Callable[[Packet], bytes | None]:
    def answer(action: Packet) -> bytes | None:
        if action.get("Action") != "CoreShowChannels":
            return default_responder(action)
        aid = action["ActionID"]
        return (response({"Response": "Success", "ActionID": aid, "EventList": "start"})
                + b"".join(response({"Event": "CoreShowChannel", "ActionID": aid, **i})
                           for i in items)
                + response({"Event": "CoreShowChannelsComplete", "ActionID": aid,
                            "EventList": "Complete", "ListItems": str(len(items))}))
    return answer


async def test_taken_in_at_start_closed_after_a_drop_and_never_reported_twice() -> None:
    clock = FakeClock()
    stub = AmiStub(listing_responder(listing_of("dial_bridge_hangup_caller")))
    port = await stub.start()
    reconnects: Reconnects = []
    bridge = AsteriskBridge(settings_for(port), clock=clock,
                            on_reconnected=lambda live, lost: reconnects.append((live, lost)))
    listener = RecordingListener()
    bridge.attach(listener)
    hangup = response({"Event": "Hangup", "Uniqueid": "1795646255.3",
                       "Linkedid": "1795646255.2", "Cause": "16",
                       "Cause-txt": "Normal Clearing"})
    try:
        await bridge.async_start()
        # The first listing is taken in silently: the server lists calls at its start.
        assert listener.events == []
        assert [c.pbx_call_id for c in await bridge.list_live_calls()] == ["1795646255.2"]
        stub.responder = listing_responder([])      # the call ends during the outage
        stub.drop()
        await eventually(lambda: bool(reconnects))
        assert reconnects[0][0] == []
        await stub.send(hangup)                    # a late Hangup: reports nothing
        await bridge.ami.action("Ping")
        assert listener.events == []
    finally:
        await bridge.async_stop()
        await stub.stop()


async def test_a_known_call_hangs_up_normally_after_being_taken_in() -> None:
    stub = AmiStub(listing_responder(listing_of("dial_bridge_hangup_caller")))
    port = await stub.start()
    bridge = AsteriskBridge(settings_for(port), clock=FakeClock())
    listener = RecordingListener()
    bridge.attach(listener)
    try:
        await bridge.async_start()
        await stub.send(response({"Event": "Hangup", "Uniqueid": "1795646255.3",
                                  "Linkedid": "1795646255.2", "Cause": "16",
                                  "Cause-txt": "Normal Clearing"}))
        await eventually(lambda: bool(listener.events))
        assert listener.kinds() == ["ended"]
    finally:
        await bridge.async_stop()
        await stub.stop()
