"""The live view's shapes on the wire (docs/sync-protocol.md): `<call>`, `<session>`,
`<cabin>`, `balance`, `switch` and the snapshot around them.

The snapshot (`GET /api/v1/live`) and the events (`/api/v1/events`) are written by
these same functions from the same values, so a desk that loads one and applies the
other can never see two versions of one thing. Money is a decimal string, times ISO
8601 UTC with microseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cashdesk.call_state import CallState
from cashdesk.calls.changes import CallSnapshot
from cashdesk.money import Money
from cashdesk.server.schema import Bool, Int, ListOf, MoneyText, Obj, Str, Timestamp


class CabinState(StrEnum):
    FREE = "free"                          # no open session, no call
    IN_USE = "in_use"                      # a call is live (dialing, ringing or answered)
    AWAITING_PAYMENT = "awaiting_payment"  # an open session with only ended calls
    DISABLED = "disabled"                  # not enabled, and nothing to show or collect


def instant(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC, always with microseconds (the protocol's one format)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# --- the entities ------------------------------------------------------------------------

def call_json(call: CallSnapshot) -> dict[str, Any]:
    """A `<call>`: the CDR as stored, with its frozen sell rate (null when the call was
    refused before it could be rated), so a desk ticks the running cost with
    `cashdesk.rating.pricing.charge` exactly as the bill will."""
    rate = None
    if call.sell_prefix:
        rate = {"prefix": call.sell_prefix,
                "price_per_minute": call.price_per_minute.to_json(),
                "connection_fee": call.connection_fee.to_json(),
                "initial_increment": call.initial_increment,
                "subsequent_increment": call.subsequent_increment,
                "grace_seconds": call.grace_seconds}
    return {
        "id": call.id, "pbx_call_id": call.pbx_call_id, "cabin_id": call.cabin_id,
        "session_id": call.session_id, "dialed_number": call.dialed_number,
        "number": call.number, "destination": call.destination, "state": call.state.value,
        "started_at": instant(call.started_at), "ringing_at": instant(call.ringing_at),
        "answered_at": instant(call.answered_at), "ended_at": instant(call.ended_at),
        "rate": rate, "billed_seconds": call.billed_seconds, "price": call.price.to_json(),
        "hangup_reason": call.hangup_reason, "sip_code": call.sip_code,
        "training": call.training,
    }


def _oldest_first(calls: Iterable[CallSnapshot]) -> list[CallSnapshot]:
    return sorted(calls, key=lambda call: (call.started_at, call.pbx_call_id))


@dataclass
class LiveSession:
    """A cabin's open session: one customer's unpaid (answered) calls."""

    id: int
    opened_at: datetime
    currency: str
    calls: dict[int, CallSnapshot] = field(default_factory=dict)

    @property
    def total(self) -> Money:
        """What Pay takes now: the answered calls' prices (`ledger.sessions.calls_due`)."""
        total = Money.zero(self.currency)
        for call in self.calls.values():
            if call.answered_at is not None:
                total = total + call.price
        return total


@dataclass
class LiveCabin:
    """A cabin as the desk's tile shows it."""

    id: int
    name: str
    position: int
    site: str
    enabled: bool
    session: LiveSession | None = None
    #: Live calls not answered yet, by PBX call id (a call shown before its start was
    #: stored has no id yet): they join a session only when answered.
    pending: dict[str, CallSnapshot] = field(default_factory=dict)
    #: The newest session known to be closed (paid): late news of it is ignored.
    closed_up_to: int = 0
    deleted: bool = False

    @property
    def state(self) -> CabinState:
        session_calls = self.session.calls.values() if self.session is not None else ()
        if self.pending or any(call.state.is_live for call in session_calls):
            return CabinState.IN_USE
        if self.session is not None:
            return CabinState.AWAITING_PAYMENT
        return CabinState.FREE if self.enabled else CabinState.DISABLED


def session_json(session: LiveSession) -> dict[str, Any]:
    return {"id": session.id, "opened_at": instant(session.opened_at),
            "total": session.total.to_json(),
            "calls": [call_json(call) for call in _oldest_first(session.calls.values())]}


def cabin_json(cabin: LiveCabin) -> dict[str, Any]:
    """A `<cabin>`. A deleted cabin is sent once more, disabled and marked `deleted`."""
    data: dict[str, Any] = {
        "id": cabin.id, "name": cabin.name, "position": cabin.position, "site": cabin.site,
        "enabled": cabin.enabled and not cabin.deleted,
        "state": (CabinState.DISABLED if cabin.deleted else cabin.state).value,
        "session": session_json(cabin.session) if cabin.session is not None else None,
        "pending": [call_json(call) for call in _oldest_first(cabin.pending.values())],
    }
    if cabin.deleted:
        data["deleted"] = True
    return data


def cabin_order(cabin: LiveCabin) -> tuple[int, str, int]:
    return (cabin.position, cabin.name, cabin.id)


def balance_json(balance: Money, available: Money) -> dict[str, Any]:
    return {"balance": balance.to_json(), "available": available.to_json(),
            "currency": balance.currency}


@dataclass(frozen=True)
class SwitchStatus:
    """Whether the PBX serving a shop is connected, and which kind it is."""

    connected: bool
    kind: str

    def json(self) -> dict[str, Any]:
        return {"connected": self.connected, "kind": self.kind}


NO_SWITCH = SwitchStatus(False, "none")


# --- the declared shapes (OpenAPI, and checked in tests) ------------------------------

RATE = Obj({
    "prefix": Str(), "price_per_minute": MoneyText(), "connection_fee": MoneyText(),
    "initial_increment": Int(), "subsequent_increment": Int(), "grace_seconds": Int(),
}, "the frozen sell rate; null for a call refused before it was rated", nullable=True)

CALL = Obj({
    "id": Int("the call's record; null while a live call's start is not stored yet "
              "(it comes again with its id): a call is known by pbx_call_id",
              nullable=True),
    "pbx_call_id": Str(), "cabin_id": Int(), "session_id": Int(nullable=True),
    "dialed_number": Str(), "number": Str(), "destination": Str(),
    "state": Str(choices=tuple(state.value for state in CallState)),
    "started_at": Timestamp(), "ringing_at": Timestamp(nullable=True),
    "answered_at": Timestamp(nullable=True), "ended_at": Timestamp(nullable=True),
    "rate": RATE, "billed_seconds": Int(), "price": MoneyText(),
    "hangup_reason": Str(), "sip_code": Int("the SIP code of a failed call", nullable=True),
    "training": Bool(),
})

SESSION = Obj({
    "id": Int(), "opened_at": Timestamp(),
    "total": MoneyText("the sum of its calls' prices"), "calls": ListOf(CALL),
}, "the open session: the unpaid calls of the current customer", nullable=True)

CABIN = Obj({
    "id": Int(), "name": Str(), "position": Int(), "site": Str(), "enabled": Bool(),
    "state": Str(choices=tuple(state.value for state in CabinState)),
    "session": SESSION,
    "pending": ListOf(CALL, "live calls not answered yet (dialing, ringing)"),
    "deleted": Bool("present (true) once, when the cabin was deleted", required=False),
})

BALANCE = Obj({
    "balance": MoneyText(minimum=None),
    "available": MoneyText("the balance minus what the live calls reserve now",
                           minimum=None),
    "currency": Str(),
})

SWITCH = Obj({"connected": Bool(), "kind": Str()})

SNAPSHOT = Obj({
    "instance": Str("changes on every server start"),
    "seq": Int("the last event this snapshot reflects", minimum=0),
    "server_time": Timestamp(),
    "callshop": Obj({"id": Int(), "name": Str(), "currency": Str(), "locale": Str(),
                     "timezone": Str(), "training": Bool()}),
    "balance": BALANCE,
    "switch": SWITCH,
    "cabins": ListOf(CABIN, "ordered by position, then name"),
})
