"""What a PBX bridge reports about a call, as plain frozen values.

Every event names the call by the PBX's own id (`pbx_call_id`: Kamailio's Call-ID,
Asterisk's Linkedid) and carries the PBX's timestamp when the PBX gave one (`at`,
timezone-aware UTC); without one the tracker uses its own clock at receipt. Events
arrive duplicated and out of order; `(pbx_call_id, kind)` identifies one event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EventKind(StrEnum):
    STARTED = "started"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"
    FAILED = "failed"


class HangupBy(StrEnum):
    """Which side hung up, when the PBX knows."""

    CABIN = "cabin"          # the customer
    CALLEE = "callee"        # the called party (the carrier leg)
    PBX = "pbx"              # the PBX itself: a backstop timer, a cut we asked for
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CallStarted:
    """A cabin dialed a number and the PBX is routing the call."""

    pbx_call_id: str
    sip_username: str
    dialed_number: str
    at: datetime | None = None
    kind: EventKind = EventKind.STARTED


@dataclass(frozen=True, slots=True)
class CallRinging:
    """The called party's phone is ringing (180/183)."""

    pbx_call_id: str
    at: datetime | None = None
    kind: EventKind = EventKind.RINGING


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """The called party answered (200 OK, dialog confirmed): talk time starts at `at`."""

    pbx_call_id: str
    at: datetime | None = None
    kind: EventKind = EventKind.ANSWERED


@dataclass(frozen=True, slots=True)
class CallEnded:
    """An answered call hung up: its talk time ends at `at`. A call that ends before
    any answer (the cabin gave up while it rang) is a `CallFailed` with 487; an `ended`
    the tracker sees before the call's `answered` waits for that `answered`."""

    pbx_call_id: str
    reason: str = ""
    hangup_by: HangupBy = HangupBy.UNKNOWN
    at: datetime | None = None
    kind: EventKind = EventKind.ENDED


@dataclass(frozen=True, slots=True)
class CallFailed:
    """The call was never answered: busy (486), no answer (408/480), refused (4xx/5xx),
    cancelled (487)."""

    pbx_call_id: str
    sip_code: int
    reason: str = ""
    at: datetime | None = None
    kind: EventKind = EventKind.FAILED


PbxEvent = CallStarted | CallRinging | CallAnswered | CallEnded | CallFailed
