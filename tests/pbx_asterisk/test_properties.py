"""Property tests: the parser and the call lifecycle fed the recorded streams cut,
truncated, reordered, duplicated, mangled and salted with garbage. They never
crash, never report a call's end twice (never double-bill), only move calls forward,
and log what they drop."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cashdesk.call_state import CallState, can_move
from cashdesk.clock import FakeClock
from cashdesk.pbx.asterisk.lifecycle import CabinMatcher, CallLifecycle
from cashdesk.pbx.asterisk.packets import Packet, PacketParser
from cashdesk.pbx.events import EventKind, PbxEvent
from tests.pbx_asterisk.conftest import FIXTURE_CABINS
from tests.pbx_asterisk.transcript import SCENARIOS, load

CALLS = [name for name in SCENARIOS if name.startswith("dial_")]
PROPERTY = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
_KIND_STATE = {EventKind.STARTED: CallState.DIALING, EventKind.RINGING: CallState.RINGING,
               EventKind.ANSWERED: CallState.ANSWERED, EventKind.ENDED: CallState.ENDED,
               EventKind.FAILED: CallState.FAILED}


def body(name: str) -> bytes:
    """The recorded stream without its banner line."""
    raw = load(name).raw
    return raw[raw.index(b"\r\n") + 2:]


def parse_all(data: bytes) -> list[Packet]:
    return PacketParser().feed(data)


# -- the parser -----------------------------------------------------------------------

@PROPERTY
@given(name=st.sampled_from(SCENARIOS), data=st.data())
def test_any_split_gives_the_same_packets(name: str, data: st.DataObject) -> None:
    stream = body(name)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=60)))
    parser = PacketParser()
    packets: list[Packet] = []
    previous = 0
    for cut in [*cuts, len(stream)]:
        packets += parser.feed(stream[previous:cut])
        previous = cut
    assert packets == parse_all(stream)
    assert parser.dropped_lines == 0


_GARBAGE = st.text(st.characters(blacklist_characters=":\r\n", min_codepoint=32,
                                 max_codepoint=0x2FFF), min_size=1, max_size=40) \
    .filter(lambda s: s.strip() != "")


@PROPERTY
@given(name=st.sampled_from(SCENARIOS), data=st.data())
def test_garbage_lines_are_skipped_and_logged(name: str, data: st.DataObject,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    clean = parse_all(body(name))
    junk = data.draw(st.lists(st.tuples(st.integers(0, len(clean) - 1), st.integers(1, 99),
                                        _GARBAGE), max_size=25))
    salted = bytearray()
    for n, packet in enumerate(clean):
        lines = [f"{k}: {v}".encode() for k, v in packet.fields]
        for _, where, text in (j for j in junk if j[0] == n):
            lines.insert(1 + where % len(lines), text.encode())
        salted += b"\r\n".join(lines) + b"\r\n\r\n"
    inserted = len(junk)
    with caplog.at_level(logging.WARNING, logger="cashdesk.pbx.asterisk.packets"):
        parser = PacketParser()
        packets = parser.feed(bytes(salted))
    assert packets == clean
    assert parser.dropped_lines == inserted
    assert sum("not 'Key: Value'" in r.message for r in caplog.records) == inserted


@PROPERTY
@given(name=st.sampled_from(SCENARIOS), data=st.data())
def test_a_truncated_stream_gives_whole_packets_and_logs_the_rest(
        name: str, data: st.DataObject, caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    stream = body(name)
    cut = data.draw(st.integers(0, len(stream)))
    full = parse_all(stream)
    with caplog.at_level(logging.WARNING, logger="cashdesk.pbx.asterisk.packets"):
        parser = PacketParser()
        packets = parser.feed(stream[:cut])
        parser.close()
    assert packets == full[:len(packets)]
    partial = stream[:cut].rstrip(b"\r\n") and not stream[:cut].endswith(b"\r\n\r\n")
    assert ("ended inside a packet" in caplog.text) == bool(partial)


@PROPERTY
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash_the_parser(blob: bytes) -> None:
    parser = PacketParser(max_packet_bytes=512)
    for packet in parser.feed(blob):
        assert packet.fields
    parser.close()


# -- the lifecycle --------------------------------------------------------------------

def _mangle(packets: list[Packet], data: st.DataObject) -> list[Packet]:
    """Truncate, duplicate, reorder nearby packets, and drop keys from some."""
    packets = packets[:data.draw(st.integers(0, len(packets)), label="truncate at")]
    out = list(packets)
    for _ in range(data.draw(st.integers(0, 15), label="duplicates")):
        if out:
            i = data.draw(st.integers(0, len(out) - 1))
            out.insert(data.draw(st.integers(i, len(out))), out[i])
    for _ in range(data.draw(st.integers(0, 15), label="swaps")):
        if len(out) > 1:
            i = data.draw(st.integers(0, len(out) - 2))
            j = min(len(out) - 1, i + data.draw(st.integers(1, 8)))
            out[i], out[j] = out[j], out[i]
    for _ in range(data.draw(st.integers(0, 6), label="damaged")):
        if out:
            i = data.draw(st.integers(0, len(out) - 1))
            key = data.draw(st.sampled_from(["Uniqueid", "Channel", "DestUniqueid",
                                             "Linkedid", "DialStatus", "ChannelState"]))
            out[i] = Packet(tuple(f for f in out[i].fields if f[0] != key))
    return out


def check_calls(events: list[PbxEvent]) -> None:
    """Per call: starts first, moves forward only, ends at most once."""
    states: dict[str, CallState] = {}
    for event in events:
        new = _KIND_STATE[event.kind]
        if event.kind is EventKind.STARTED:
            assert event.pbx_call_id not in states, f"{event.pbx_call_id} started twice"
            states[event.pbx_call_id] = new
            continue
        assert event.pbx_call_id in states, f"{event.kind} before the start"
        current = states[event.pbx_call_id]
        assert can_move(current, new), f"{event.pbx_call_id}: {current} → {new}"
        states[event.pbx_call_id] = new


@PROPERTY
@given(names=st.lists(st.sampled_from(CALLS), min_size=1, max_size=3), data=st.data())
def test_mangled_events_never_double_report_an_end(names: list[str], data: st.DataObject,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    packets = [p for name in names for p in load(name).received()]
    mangled = _mangle(packets, data)
    # Somewhere the link drops and comes back to an empty PBX: what was live is closed
    # (silently: the server reconciles), and nothing after that reports it again.
    outage = data.draw(st.integers(0, len(mangled)), label="link lost at")
    clock = FakeClock()
    lifecycle = CallLifecycle(CabinMatcher(FIXTURE_CABINS))
    events: list[PbxEvent] = []
    closed: set[str] = set()
    with caplog.at_level(logging.WARNING, logger="cashdesk.pbx.asterisk.lifecycle"):
        for n, packet in enumerate(mangled):
            if n == outage:
                gone = lifecycle.reconcile([], clock.now(), since_seq=lifecycle.seq).gone
                closed |= {call.pbx_call_id for call in gone}
                assert lifecycle.live_calls() == []
            clock.advance(0.001)
            events += lifecycle.handle(packet, clock.now())
    check_calls(events)
    finals = [e.pbx_call_id for e in events if e.kind in (EventKind.ENDED, EventKind.FAILED)]
    assert len(finals) == len(set(finals))
    assert not closed & set(finals)
    assert {e.pbx_call_id for e in events if e.kind is EventKind.STARTED} >= set(finals)
    again = lifecycle.reconcile([], clock.now(), since_seq=lifecycle.seq).gone
    assert lifecycle.reconcile([], clock.now(), since_seq=lifecycle.seq).gone == []
    assert {c.pbx_call_id for c in again}.isdisjoint(finals)
    dropped = [r for r in caplog.records if "event dropped" in r.message]
    assert len(dropped) == lifecycle.dropped


@pytest.mark.parametrize("name", CALLS)
def test_every_event_twice_changes_nothing(name: str) -> None:
    once, twice = CallLifecycle(CabinMatcher(FIXTURE_CABINS)), \
        CallLifecycle(CabinMatcher(FIXTURE_CABINS))
    clock = FakeClock()
    events_once: list[PbxEvent] = []
    events_twice: list[PbxEvent] = []
    for packet in load(name).received():
        clock.advance(0.001)
        events_once += once.handle(packet, clock.now())
        events_twice += twice.handle(packet, clock.now())
        events_twice += twice.handle(packet, clock.now() + timedelta(microseconds=1))
    assert events_twice == events_once
    assert [e.kind.value for e in events_once][-1] in ("ended", "failed")


def test_a_damaged_event_is_logged_as_dropped(caplog: pytest.LogCaptureFixture) -> None:
    lifecycle = CallLifecycle(CabinMatcher(FIXTURE_CABINS))
    with caplog.at_level(logging.WARNING):
        assert lifecycle.handle(Packet.of(Event="Hangup", Cause="16"), FakeClock().now()) == []
    assert lifecycle.dropped == 1
    assert "AMI Hangup event dropped ('Uniqueid' missing or bad)" in caplog.text
