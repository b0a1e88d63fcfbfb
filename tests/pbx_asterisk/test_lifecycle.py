"""The call lifecycle on hand-written PJSIP event sequences (what a shop's Asterisk
sends: cabin `PJSIP/<username>-%08x` dialing `PJSIP/<number>@carrier`), for the
cases the recordings do not have: busy, cancel, failover, inbound calls."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from cashdesk.clock import FakeClock
from cashdesk.pbx.asterisk.lifecycle import DEFAULT_CABIN_CONTEXT, CabinMatcher, CallLifecycle
from cashdesk.pbx.asterisk.packets import Packet
from cashdesk.pbx.events import CallEnded, CallFailed, CallStarted, HangupBy, PbxEvent

CABIN = "PJSIP/shop-1-0000001a"
CARRIER = "PJSIP/carrier-0000001b"
CARRIER2 = "PJSIP/carrier2-0000001c"


def ev(name: str, **fields: str) -> Packet:
    return Packet.of({"Event": name, **fields})


def newchannel(channel: str, uid: str, exten: str = "0044207",
               context: str = DEFAULT_CABIN_CONTEXT) -> Packet:
    return ev("Newchannel", Channel=channel, Uniqueid=uid, Linkedid="1.1", Exten=exten,
              Context=context, ChannelState="4")


def dial_begin(dest: str, dest_uid: str, context: str = DEFAULT_CABIN_CONTEXT) -> Packet:
    return ev("DialBegin", Channel=CABIN, Uniqueid="1.1", Linkedid="1.1", Exten="0044207",
              Context=context, DestChannel=dest, DestUniqueid=dest_uid,
              DialString=f"0044207@{dest.split('/')[1].rsplit('-', 1)[0]}")


def dial_end(status: str, dest_uid: str = "1.2") -> Packet:
    return ev("DialEnd", Channel=CABIN, Uniqueid="1.1", Linkedid="1.1",
              DestUniqueid=dest_uid, DialStatus=status, Context=DEFAULT_CABIN_CONTEXT)


def hangup(uid: str, cause: str = "16", text: str = "Normal Clearing") -> Packet:
    return ev("Hangup", Uniqueid=uid, Linkedid="1.1", Cause=cause, **{"Cause-txt": text})


class Feed:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.lifecycle = CallLifecycle(CabinMatcher(context=DEFAULT_CABIN_CONTEXT))
        self.events: list[PbxEvent] = []

    def __call__(self, *packets: Packet, after: float = 0.1) -> list[PbxEvent]:
        out: list[PbxEvent] = []
        for packet in packets:
            self.clock.advance(after)
            out += self.lifecycle.handle(packet, self.clock.now())
        self.events += out
        return out

    def failure(self) -> tuple[int, str]:
        failed = self.events[-1]
        assert isinstance(failed, CallFailed)
        return failed.sip_code, failed.reason

    def kinds(self) -> list[str]:
        return [e.kind.value for e in self.events]

    def at(self, event: PbxEvent) -> datetime:
        assert event.at is not None
        return event.at


def test_default_pattern_takes_usernames_with_dashes() -> None:
    matcher = CabinMatcher()
    assert matcher.cabin("PJSIP/shop-1-0000001a") == "shop-1"
    assert matcher.cabin("PJSIP/cabin7-0000002a") == "cabin7"
    assert matcher.cabin("PJSIP/cabin7") is None
    assert matcher.cabin("Local/100@lab-00000001;2") is None
    assert CabinMatcher(context="c").cabin("PJSIP/a-0000000f", "other") is None


def test_a_pattern_without_a_cabin_group_is_refused() -> None:
    with pytest.raises(ValueError, match="cabin"):
        CabinMatcher(r"^PJSIP/(.+)-")


def test_busy() -> None:
    feed = Feed()
    feed(newchannel(CABIN, "1.1"), dial_begin(CARRIER, "1.2"),
         hangup("1.2", "17", "User busy"), dial_end("BUSY"), hangup("1.1"))
    assert feed.kinds() == ["started", "failed"]
    failed = feed.events[-1]
    assert isinstance(failed, CallFailed)
    assert (failed.sip_code, failed.reason) == (486, "busy")
    started = feed.events[0]
    assert isinstance(started, CallStarted)
    assert (started.sip_username, started.dialed_number) == ("shop-1", "0044207")


def test_cancelled_while_ringing() -> None:
    feed = Feed()
    feed(newchannel(CABIN, "1.1"), dial_begin(CARRIER, "1.2"),
         ev("Newstate", Channel=CARRIER, Uniqueid="1.2", ChannelState="5"),
         dial_end("CANCEL"), hangup("1.2", "16"), hangup("1.1", "16"))
    assert feed.kinds() == ["started", "ringing", "failed"]
    assert feed.failure() == (487, "cancelled")


def test_unreachable_number_maps_the_carrier_cause() -> None:
    feed = Feed()
    feed(newchannel(CABIN, "1.1"), dial_begin(CARRIER, "1.2"),
         hangup("1.2", "1", "Unallocated (unassigned) number"), dial_end("CHANUNAVAIL"),
         hangup("1.1"))
    assert feed.failure() == (404, "unavailable")


def test_failover_to_a_second_carrier_is_one_call() -> None:
    feed = Feed()
    feed(newchannel(CABIN, "1.1"), dial_begin(CARRIER, "1.2"),
         hangup("1.2", "34", "Circuit/channel congestion"), dial_end("CONGESTION"))
    assert feed.kinds() == ["started"]          # not failed: the dialplan goes on
    feed(dial_begin(CARRIER2, "1.3"),
         ev("Newstate", Channel=CARRIER2, Uniqueid="1.3", ChannelState="6"),
         dial_end("ANSWER", "1.3"))
    feed(hangup("1.3"), after=42.0)
    feed(hangup("1.1"))
    assert feed.kinds() == ["started", "answered", "ended"]
    answered, ended = feed.events[1], feed.events[2]
    # Talk starts when the second carrier's leg goes Up (0.1 s before its DialEnd).
    assert feed.at(ended) - feed.at(answered) == timedelta(seconds=42.1)
    assert isinstance(ended, CallEnded) and ended.hangup_by is HangupBy.CALLEE


def test_the_cabin_hangs_up_an_answered_call() -> None:
    feed = Feed()
    feed(newchannel(CABIN, "1.1"), dial_begin(CARRIER, "1.2"), dial_end("ANSWER"),
         ev("BridgeEnter", Channel=CABIN, Uniqueid="1.1"))
    feed(ev("HangupRequest", Channel=CABIN, Uniqueid="1.1", Cause="16"), after=30)
    feed(hangup("1.2"), hangup("1.1"))
    ended = feed.events[-1]
    assert isinstance(ended, CallEnded) and ended.hangup_by is HangupBy.CABIN


def test_a_cut_while_ringing_fails_with_its_reason() -> None:
    feed = Feed()
    feed(newchannel(CABIN, "1.1"), dial_begin(CARRIER, "1.2"))
    feed.lifecycle.note_cut("1.1", "credit_exhausted")
    feed(dial_end("CANCEL"), hangup("1.2"), hangup("1.1"))
    assert feed.failure() == (487, "credit_exhausted")


def test_an_inbound_carrier_call_is_no_cabin_call() -> None:
    feed = Feed()
    inbound = ev("DialBegin", Channel="PJSIP/carrier-00000030", Uniqueid="2.1",
                 Linkedid="2.1", Exten="100", Context="from-carrier",
                 DestChannel="PJSIP/shop-1-00000031", DestUniqueid="2.2")
    assert feed(inbound) == []
    assert feed.lifecycle.live_calls() == []


def test_a_refused_call_that_never_dials_reports_nothing() -> None:
    feed = Feed()
    assert feed(newchannel(CABIN, "1.1"), ev("Newstate", Uniqueid="1.1", ChannelState="6"),
                hangup("1.1", "21", "Call Rejected")) == []


def test_events_before_the_dial_begin_are_not_lost_answers() -> None:
    """Reordered: the answer signals before the DialBegin are missed, a later one
    (BridgeEnter) still answers the call; a Hangup before any DialBegin never
    resurrects a call afterwards."""
    feed = Feed()
    feed(ev("Newstate", Channel=CARRIER, Uniqueid="1.2", ChannelState="6"),
         dial_begin(CARRIER, "1.2"), ev("BridgeEnter", Channel=CARRIER, Uniqueid="1.2"))
    assert feed.kinds() == ["started", "answered"]
    other = Feed()
    other(hangup("1.1"), dial_begin(CARRIER, "1.2"))
    assert other.kinds() == []


def listed(channel: str, uid: str, application: str, bridge: str, *, exten: str = "0044207",
           duration: str = "00:00:09") -> Packet:
    return ev("CoreShowChannel", Channel=channel, Uniqueid=uid, Linkedid="1.1",
              Context=DEFAULT_CABIN_CONTEXT, Exten=exten, ChannelState="6",
              Application=application, ApplicationData="", Duration=duration,
              BridgeId=bridge)


@pytest.mark.parametrize("known", [True, False], ids=["known-call", "taken-in"])
def test_the_carrier_leg_is_never_taken_for_a_cabin_call(known: bool) -> None:
    """A listing has the cabin's channel (Dial) and the carrier leg (AppDial) in one
    bridge and, as in the recordings, in the same context: with the default pattern
    `PJSIP/carrier-…` looks like a cabin named "carrier". It must not become a call of
    its own (the server would cut it as unknown, and the real call with it)."""
    feed = Feed()
    if known:
        feed(newchannel(CABIN, "1.1"), dial_begin(CARRIER, "1.2"), dial_end("ANSWER"))
    changed = feed.lifecycle.reconcile(
        [listed(CABIN, "1.1", "Dial", "b-1"),
         listed(CARRIER, "1.2", "AppDial", "b-1", exten="", duration="00:00:08")],
        feed.clock.now(), since_seq=feed.lifecycle.seq)
    assert changed.gone == []
    assert [c.cabin for c in changed.adopted] == ([] if known else ["shop-1"])
    (call,) = feed.lifecycle.live_calls()
    assert call.cabin == "shop-1" and call.channels() == [CABIN, CARRIER]
