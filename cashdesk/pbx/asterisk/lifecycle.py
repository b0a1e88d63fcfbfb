"""Calls from AMI events: which cabin dialed what, when it rang, answered and ended.

A call is one cabin channel running `Dial()`: it starts at the first `DialBegin`
whose caller channel maps to a cabin, and keeps the caller channel's `Linkedid` as
its `pbx_call_id`. The dialed (carrier) legs are the `DestChannel`s of its dials.

- ringing: `DialState RINGING/PROGRESS`, or a dialed leg's `Newstate` Ringing;
- answer: the first of `DialEnd ANSWER`, a dialed leg going Up, a `BridgeEnter`;
- end: after an answer, the first `Hangup` of the caller or the answering leg (the
  talk is over when either side is gone, even if the caller's dialplan goes on after
  `Dial(...g...)`); before one, the caller's `Hangup` (a failed `Dial` may be followed
  by another, to a second carrier), with the last `DialStatus` as the failure.

Events may be duplicated, reordered or missing: a call moves forward only, reports
its end once, and `Cdr` (often before the `Hangup`) is recorded, never acted on. A
call cut by `Dial(...L(ms))` looks like a normal hangup (cause 16): if the bridge
told us the call's limit, the timing says it was the PBX.

Pure: no I/O, time comes in with each event, so it can be fed anything in tests.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from cashdesk.call_state import CallState
from cashdesk.pbx.asterisk.packets import Packet
from cashdesk.pbx.events import (
    CallAnswered,
    CallEnded,
    CallFailed,
    CallRinging,
    CallStarted,
    HangupBy,
    PbxEvent,
)

log = logging.getLogger(__name__)

#: A cabin's PJSIP endpoint is named after its SIP username, and chan_pjsip names its
#: channels "PJSIP/%s-%08x": `PJSIP/cabin7-0000002a`. The username may itself contain
#: '-' (`shop-1`), so the cabin is everything before the last dash and 8 hex digits.
DEFAULT_CABIN_PATTERN = r"^PJSIP/(?P<cabin>.+)-[0-9a-f]{8}$"
#: The dialplan context the cabins' endpoints start in (resources/asterisk).
DEFAULT_CABIN_CONTEXT = "cashdesk-cabins"

#: Q.850 cause 16: an ordinary end of call.
NORMAL_CLEARING = 16

# Asterisk channel states (ChannelState in events).
STATE_RINGING = 5
STATE_UP = 6

#: Q.850 cause of the dialed leg → the SIP code a cabin would have heard (RFC 3398).
Q850_TO_SIP: dict[int, int] = {
    1: 404, 2: 404, 3: 404, 17: 486, 18: 408, 19: 480, 20: 480, 21: 403, 22: 410,
    23: 410, 26: 404, 27: 502, 28: 484, 29: 501, 31: 480, 34: 503, 38: 503, 41: 503,
    42: 503, 44: 503, 47: 503, 55: 403, 57: 403, 58: 503, 65: 488, 69: 501, 79: 501,
    87: 403, 88: 488, 102: 504, 111: 500, 127: 500,
}

#: Dial()'s DIALSTATUS of a call that was not answered → (SIP code, reason).
DIAL_FAILURES: dict[str, tuple[int, str]] = {
    "BUSY": (486, "busy"),
    "NOANSWER": (480, "no answer"),
    "CANCEL": (487, "cancelled"),
    "CONGESTION": (503, "congestion"),
    "CHANUNAVAIL": (480, "unavailable"),
    "DONTCALL": (403, "refused by the callee"),
    "TORTURE": (403, "refused by the callee"),
    "INVALIDARGS": (500, "invalid Dial() arguments"),
}

GONE_WHILE_AWAY = "gone while the AMI link was down"
#: How close to its limit a call must end for the limit to be the reason.
LIMIT_TOLERANCE = timedelta(seconds=0.5)


class CabinMatcher:
    """Channel name → cabin (the SIP username), by a regex with a `cabin` group.

    With a `context`, only channels dialing from that dialplan context are cabins: a
    carrier's inbound call (`PJSIP/carrier-…` dialing a phone) is not a cabin's call.
    """

    def __init__(self, pattern: str = DEFAULT_CABIN_PATTERN,
                 context: str | None = None) -> None:
        self.regex = re.compile(pattern)
        if "cabin" not in self.regex.groupindex:
            raise ValueError(f"cabin pattern {pattern!r} has no (?P<cabin>…) group")
        self.context = context or None

    def cabin(self, channel: str | None, context: str | None = None) -> str | None:
        """The cabin of `channel`; None if it is not a cabin's (or `context` is given
        and is not the cabins' context)."""
        if not channel:
            return None
        if self.context is not None and context is not None and context != self.context:
            return None
        match = self.regex.search(channel)
        return match.group("cabin") if match and match.group("cabin") else None


@dataclass(slots=True)
class Channel:
    uniqueid: str
    name: str
    linkedid: str
    exten: str = ""
    state: int = 0
    created_at: datetime | None = None


@dataclass(slots=True)
class AsteriskCall:
    """One call as the bridge sees it (the server's tracker keeps its own record)."""

    pbx_call_id: str
    cabin: str
    dialed_number: str
    caller_uid: str
    caller_channel: str
    started_at: datetime
    seq: int
    state: CallState = CallState.DIALING
    dest: dict[str, str] = field(default_factory=dict)   # uniqueid → channel name
    ringing_at: datetime | None = None
    answered_at: datetime | None = None
    answered_uid: str | None = None
    ended_at: datetime | None = None
    dial_status: str | None = None
    dest_cause: int | None = None
    cause: int | None = None
    cause_txt: str = ""
    hangup_by: HangupBy | None = None
    first_request: HangupBy | None = None   # whose hangup was asked for first
    reason: str = ""
    sip_code: int | None = None
    limit_ms: int | None = None
    backstop_at: datetime | None = None
    cut_reason: str | None = None
    cdrs: list[dict[str, str]] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.state.is_live

    @property
    def answering_channel(self) -> str | None:
        """The dialed leg that answered (it carries `L()`'s timer), if known."""
        return self.dest.get(self.answered_uid) if self.answered_uid else None

    def channels(self) -> list[str]:
        """Caller first, then the dialed legs (the answering one first)."""
        names = [self.caller_channel]
        if self.answered_uid and self.answered_uid in self.dest:
            names.append(self.dest[self.answered_uid])
        names.extend(n for uid, n in self.dest.items() if uid != self.answered_uid)
        return names


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def parse_duration(text: str | None) -> timedelta:
    """CoreShowChannel's `Duration: HH:MM:SS` (hours may exceed 99); bad text → 0."""
    try:
        parts = [int(p) for p in (text or "").split(":")]
    except ValueError:
        return timedelta(0)
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + part
    return timedelta(seconds=max(0, seconds))


class CallLifecycle:
    """Feed it AMI events with their time; it returns the bridge events they make."""

    def __init__(self, matcher: CabinMatcher | None = None, *, keep_finished: int = 10_000,
                 keep_channels: int = 50_000) -> None:
        self.matcher = matcher or CabinMatcher()
        self._keep_finished = keep_finished
        self._keep_channels = keep_channels
        self._channels: OrderedDict[str, Channel] = OrderedDict()
        self._gone: OrderedDict[str, None] = OrderedDict()     # hung-up uniqueids
        self._calls: dict[str, AsteriskCall] = {}               # caller uniqueid → call
        self._by_id: dict[str, AsteriskCall] = {}               # pbx_call_id → call
        self._by_dest: dict[str, AsteriskCall] = {}             # dialed uniqueid → call
        self._finished: OrderedDict[str, None] = OrderedDict()  # caller uniqueids
        self._limits: OrderedDict[str, int] = OrderedDict()     # pbx_call_id → ms
        self.seq = 0
        self.dropped = 0

    # -- queries -------------------------------------------------------------------

    def call(self, pbx_call_id: str) -> AsteriskCall | None:
        return self._by_id.get(pbx_call_id)

    def live_calls(self) -> list[AsteriskCall]:
        return [c for c in self._calls.values() if c.live]

    def all_calls(self) -> list[AsteriskCall]:
        return list(self._calls.values())

    def channel(self, uniqueid: str) -> Channel | None:
        return self._channels.get(uniqueid)

    # -- what the bridge tells us -------------------------------------------------------

    def note_limit(self, pbx_call_id: str, limit_ms: int | None) -> None:
        """The `L()` limit the authorisation gave this call (before it exists)."""
        if limit_ms is None:
            self._limits.pop(pbx_call_id, None)
            return
        self._limits[pbx_call_id] = limit_ms
        while len(self._limits) > self._keep_finished:
            self._limits.popitem(last=False)
        call = self._by_id.get(pbx_call_id)
        if call is not None:
            call.limit_ms = limit_ms

    def note_cut(self, pbx_call_id: str, reason: str) -> None:
        call = self._by_id.get(pbx_call_id)
        if call is not None and call.live and call.cut_reason is None:
            call.cut_reason = reason

    def note_backstop(self, pbx_call_id: str, at: datetime) -> None:
        call = self._by_id.get(pbx_call_id)
        if call is not None and call.live:
            call.backstop_at = at

    # -- events --------------------------------------------------------------------------

    def handle(self, packet: Packet, at: datetime) -> list[PbxEvent]:
        name = packet.event
        handler = self._HANDLERS.get(name or "")
        if handler is None:
            return []
        self.seq += 1
        try:
            return handler(self, packet, at)
        except (KeyError, ValueError) as exc:
            self.dropped += 1
            log.warning("AMI %s event dropped (%s missing or bad): %s", name, exc, packet)
            return []

    def _need(self, packet: Packet, key: str) -> str:
        value = packet.get(key)
        if not value:
            raise KeyError(key)
        return value

    def _on_newchannel(self, packet: Packet, at: datetime) -> list[PbxEvent]:
        uid = self._need(packet, "Uniqueid")
        if uid in self._gone:
            log.debug("AMI Newchannel for a channel already hung up: %s", uid)
            return []
        channel = self._channels.get(uid)
        if channel is None:
            self._remember(Channel(uid, self._need(packet, "Channel"),
                                   packet.get("Linkedid") or uid, packet.get("Exten") or "",
                                   _int(packet.get("ChannelState")) or 0, at))
        elif channel.created_at is None:
            channel.created_at = at
        return []

    def _remember(self, channel: Channel) -> None:
        self._channels[channel.uniqueid] = channel
        while len(self._channels) > self._keep_channels:
            old_uid, _ = self._channels.popitem(last=False)
            log.warning("AMI channel table full; forgot channel %s", old_uid)

    def _on_newstate(self, packet: Packet, at: datetime) -> list[PbxEvent]:
        uid = self._need(packet, "Uniqueid")
        state = _int(packet.get("ChannelState"))
        channel = self._channels.get(uid)
        if channel is not None and state is not None:
            channel.state = state
        call = self._by_dest.get(uid)
        if call is None or not call.live:
            return []
        if state == STATE_RINGING:
            return self._ringing(call, at)
        if state == STATE_UP:
            return self._answered(call, at, uid)
        return []

    def _on_dial_begin(self, packet: Packet, at: datetime) -> list[PbxEvent]:
        caller_uid = packet.get("Uniqueid")
        if not caller_uid:
            return []  # an Originate's dial: no caller channel, no cabin
        caller_name = self._need(packet, "Channel")
        cabin = self.matcher.cabin(caller_name, packet.get("Context") or "")
        if cabin is None:
            return []
        dest_uid = packet.get("DestUniqueid")
        dest_name = packet.get("DestChannel") or ""
        call = self._calls.get(caller_uid)
        events: list[PbxEvent] = []
        if call is None:
            if caller_uid in self._finished or caller_uid in self._gone:
                log.debug("AMI DialBegin for a call already over: %s", caller_uid)
                return []
            call = self._start(caller_uid, caller_name, cabin,
                               packet.get("Linkedid") or caller_uid,
                               packet.get("Exten") or "", at)
            events.append(CallStarted(call.pbx_call_id, cabin, call.dialed_number,
                                      at=call.started_at))
        if dest_uid and call.live and dest_uid not in call.dest:
            call.dest[dest_uid] = dest_name
            self._by_dest[dest_uid] = call
            if call.dial_status is not None and call.state is CallState.DIALING:
                call.dial_status = None  # a new attempt (second carrier) after a failure
        return events

    def _start(self, caller_uid: str, caller_name: str, cabin: str, linkedid: str,
               exten: str, at: datetime) -> AsteriskCall:
        channel = self._channels.get(caller_uid)
        if channel is None:
            channel = Channel(caller_uid, caller_name, linkedid, exten, 0, at)
            self._remember(channel)
        pbx_call_id = linkedid
        if pbx_call_id in self._by_id and self._by_id[pbx_call_id].caller_uid != caller_uid:
            pbx_call_id = f"{linkedid}/{caller_uid}"   # two cabin calls in one linked set
        call = AsteriskCall(
            pbx_call_id=pbx_call_id, cabin=cabin, dialed_number=exten or channel.exten,
            caller_uid=caller_uid, caller_channel=caller_name,
            started_at=channel.created_at or at, seq=self.seq,
            limit_ms=self._limits.get(pbx_call_id))
        self._calls[caller_uid] = call
        self._by_id[pbx_call_id] = call
        return call

    def _caller_call(self, packet: Packet) -> AsteriskCall | None:
        uid = packet.get("Uniqueid")
        call = self._calls.get(uid) if uid else None
        return call if call is not None and call.live else None

    def _on_dial_state(self, packet: Packet, at: datetime) -> list[PbxEvent]:
        call = self._caller_call(packet)
        if call is None:
            return []
        if (packet.get("DialStatus") or "").upper() in ("RINGING", "PROGRESS"):
            return self._ringing(call, at)
        return []

    def _on_dial_end(self, packet: Packet, at: datetime) -> list[PbxEvent]:
        call = self._caller_call(packet)
        if call is None:
            return []
        status = (packet.get("DialStatus") or "").upper()
        if status == "ANSWER":
            return self._answered(call, at, packet.get("DestUniqueid"))
        if status and call.state is not CallState.ANSWERED:
            call.dial_status = status
        return []

    def _on_bridge_enter(self, packet: Packet, at: datetime) -> list[PbxEvent]:
        uid = self._need(packet, "Uniqueid")
        call = self._calls.get(uid) or self._by_dest.get(uid)
        if call is None or not call.live:
            return []
        return self._answered(call, at, uid if uid in call.dest else None)

    def _on_hangup(self, packet: Packet, at: datetime) -> list[PbxEvent]:
        uid = self._need(packet, "Uniqueid")
        self._channels.pop(uid, None)
        self._gone[uid] = None
        while len(self._gone) > self._keep_channels:
            self._gone.popitem(last=False)
        cause = _int(packet.get("Cause"))
        cause_txt = packet.get("Cause-txt") or ""
        call = self._calls.get(uid)
        if call is not None:
            if not call.live:
                log.debug("AMI Hangup for a call already over: %s", call.pbx_call_id)
                return []
            return self._finish(call, at, cause, cause_txt, HangupBy.CABIN)
        call = self._by_dest.get(uid)
        if call is None or not call.live:
            return []
        if call.state is CallState.ANSWERED:
            if call.answered_uid in (None, uid):
                return self._finish(call, at, cause, cause_txt, HangupBy.CALLEE)
            return []   # a losing leg of a forked dial
        if cause:
            call.dest_cause = cause
        return []

    def _on_hangup_request(self, packet: Packet, at: datetime) -> list[PbxEvent]:
        # Which side goes first: when the cabin hangs up, Dial() hangs up the dialed leg
        # before the cabin's own Hangup event, so the order of Hangups cannot tell.
        uid = self._need(packet, "Uniqueid")
        call = self._calls.get(uid)
        side = HangupBy.CABIN
        if call is None:
            call, side = self._by_dest.get(uid), HangupBy.CALLEE
        if (call is not None and call.state is CallState.ANSWERED and call.first_request is None
                and (side is HangupBy.CABIN or call.answered_uid in (None, uid))):
            call.first_request = side
        return []

    def _on_cdr(self, packet: Packet, at: datetime) -> list[PbxEvent]:
        uid = packet.get("UniqueID")
        call = self._calls.get(uid) if uid else None
        if call is None:
            return []
        call.cdrs.append({k: packet.get(k) or "" for k in (
            "Disposition", "StartTime", "AnswerTime", "EndTime", "Duration",
            "BillableSeconds")})
        return []

    _HANDLERS: ClassVar[dict[str, Callable[[CallLifecycle, Packet, datetime], list[PbxEvent]]]] = {
        "Newchannel": _on_newchannel,
        "Newstate": _on_newstate,
        "DialBegin": _on_dial_begin,
        "DialState": _on_dial_state,
        "DialEnd": _on_dial_end,
        "BridgeEnter": _on_bridge_enter,
        "Hangup": _on_hangup,
        "HangupRequest": _on_hangup_request,
        "SoftHangupRequest": _on_hangup_request,
        "Cdr": _on_cdr,
    }

    # -- moves ---------------------------------------------------------------------------

    def _ringing(self, call: AsteriskCall, at: datetime) -> list[PbxEvent]:
        if call.state is not CallState.DIALING:
            return []
        call.state = CallState.RINGING
        call.ringing_at = at
        return [CallRinging(call.pbx_call_id, at=at)]

    def _answered(self, call: AsteriskCall, at: datetime, dest_uid: str | None) -> list[PbxEvent]:
        if call.state not in (CallState.DIALING, CallState.RINGING):
            if call.answered_uid is None and dest_uid:
                call.answered_uid = dest_uid
            return []
        call.state = CallState.ANSWERED
        call.answered_at = at
        call.answered_uid = dest_uid if dest_uid else call.answered_uid
        return [CallAnswered(call.pbx_call_id, at=at)]

    def _finish(self, call: AsteriskCall, at: datetime, cause: int | None, cause_txt: str,
                side: HangupBy) -> list[PbxEvent]:
        call.ended_at = at
        call.cause = cause
        call.cause_txt = cause_txt
        self._finished[call.caller_uid] = None
        self._forget_old()
        if call.state is CallState.ANSWERED:
            call.state = CallState.ENDED
            call.hangup_by, call.reason = self._why_ended(call, at, cause, cause_txt, side)
            return [CallEnded(call.pbx_call_id, call.reason, call.hangup_by, at=at)]
        call.state = CallState.FAILED
        call.sip_code, call.reason = self._why_failed(call)
        return [CallFailed(call.pbx_call_id, call.sip_code, call.reason, at=at)]

    def _why_ended(self, call: AsteriskCall, at: datetime, cause: int | None, cause_txt: str,
                   side: HangupBy) -> tuple[HangupBy, str]:
        if call.cut_reason is not None:
            return HangupBy.PBX, call.cut_reason
        talked = at - call.answered_at if call.answered_at else timedelta(0)
        if call.limit_ms and talked >= timedelta(milliseconds=call.limit_ms) - LIMIT_TOLERANCE:
            return HangupBy.PBX, f"limit reached ({call.limit_ms} ms)"
        if call.backstop_at is not None and at >= call.backstop_at - LIMIT_TOLERANCE:
            return HangupBy.PBX, "backstop timer"
        if cause in (None, NORMAL_CLEARING):
            # No more to say than who hung up: the tracker writes "hung up by cabin",
            # as it does for Kamailio's calls.
            return call.first_request or side, ""
        return call.first_request or side, f"{cause_txt or 'hangup'} (cause {cause})"

    def _why_failed(self, call: AsteriskCall) -> tuple[int, str]:
        if call.cut_reason is not None:
            return 487, call.cut_reason
        status = call.dial_status
        if status is None:
            return 487, "cancelled"   # the cabin hung up before Dial() had an outcome
        sip, text = DIAL_FAILURES.get(status, (500, status.lower()))
        if status not in ("CANCEL", "NOANSWER") and call.dest_cause in Q850_TO_SIP:
            sip = Q850_TO_SIP[call.dest_cause]
        return sip, text

    def _forget_old(self) -> None:
        while len(self._finished) > self._keep_finished:
            uid, _ = self._finished.popitem(last=False)
            call = self._calls.pop(uid, None)
            if call is None:
                continue
            if self._by_id.get(call.pbx_call_id) is call:
                del self._by_id[call.pbx_call_id]
            for dest_uid in call.dest:
                if self._by_dest.get(dest_uid) is call:
                    del self._by_dest[dest_uid]

    # -- reconciliation --------------------------------------------------------------------

    def reconcile(self, listing: Iterable[Packet], at: datetime, *,
                  since_seq: int) -> Reconciled:
        """Bring the state in line with a `CoreShowChannels` listing asked for when
        `seq` was `since_seq`, silently: the server reconciles its own calls from the
        same listing (`LiveCall`s), with the moment the link was lost.

        Calls known from before whose channels are gone ended while we could not see:
        they are closed here, so a late event can never report them again. Cabin
        channels in `Dial()` we did not know are taken in, so their later events are
        reported."""
        items = list(listing)
        present = {p.get("Uniqueid") for p in items if p.get("Uniqueid")}
        gone: list[AsteriskCall] = []
        for call in self.live_calls():
            if call.seq > since_seq:
                continue  # began after the listing was asked for
            if call.caller_uid not in present or (
                    call.state is CallState.ANSWERED and call.answered_uid is not None
                    and call.answered_uid not in present):
                self._close_unseen(call, at)
                gone.append(call)
        by_bridge: dict[str, list[Packet]] = {}
        for item in items:
            bridge = item.get("BridgeId") or ""
            if bridge:
                by_bridge.setdefault(bridge, []).append(item)
        adopted = [taken for item in items
                   if (taken := self._adopt(item, at, by_bridge)) is not None]
        return Reconciled(gone, adopted)

    def _close_unseen(self, call: AsteriskCall, at: datetime) -> None:
        log.warning("call %s (cabin %s) is no longer on the PBX: it ended while the AMI "
                    "link was down", call.pbx_call_id, call.cabin)
        call.ended_at = at
        self._finished[call.caller_uid] = None
        self._forget_old()
        call.reason = GONE_WHILE_AWAY
        if call.state is CallState.ANSWERED:
            call.state, call.hangup_by = CallState.ENDED, HangupBy.UNKNOWN
        else:
            call.state, call.sip_code = CallState.FAILED, 487

    def _adopt(self, item: Packet, at: datetime,
               by_bridge: dict[str, list[Packet]]) -> AsteriskCall | None:
        uid = item.get("Uniqueid")
        name = item.get("Channel")
        if not uid or not name or uid in self._gone:
            return None
        linkedid = item.get("Linkedid") or uid
        age = parse_duration(item.get("Duration"))
        if uid not in self._channels:
            self._remember(Channel(uid, name, linkedid, item.get("Exten") or "",
                                   _int(item.get("ChannelState")) or 0, at - age))
        cabin = self.matcher.cabin(name, item.get("Context") or "")
        bridge = item.get("BridgeId") or ""
        application = item.get("Application") or ""
        # A leg Dial() created (`AppDial`) is never a cabin's call, even when its name
        # fits the pattern (`PJSIP/carrier-…`) and it has the caller's context, as the
        # dialed legs in the recordings do: taking it in would cut the real call.
        if (cabin is None or uid in self._calls or uid in self._by_dest
                or application == "AppDial" or (application != "Dial" and not bridge)):
            return None
        call = self._start(uid, name, cabin, linkedid, item.get("Exten") or "", at - age)
        peers = [p for p in by_bridge.get(bridge, []) if p.get("Uniqueid") != uid] \
            if bridge else []
        for peer in peers:
            peer_uid = peer.get("Uniqueid") or ""
            call.dest[peer_uid] = peer.get("Channel") or ""
            self._by_dest[peer_uid] = call
        if bridge:
            # The dialed leg was created when Dial() began, before the answer: its age
            # is the longest the call can have talked.
            talk = max((parse_duration(p.get("Duration")) for p in peers), default=age)
            call.state = CallState.ANSWERED
            call.answered_at = at - min(talk, age)
            call.answered_uid = peers[0].get("Uniqueid") if peers else None
        log.info("call %s (cabin %s, %s) found live on the PBX", call.pbx_call_id, cabin,
                 call.dialed_number)
        return call


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What a listing changed: calls closed because they are gone, calls taken in."""

    gone: list[AsteriskCall]
    adopted: list[AsteriskCall]
