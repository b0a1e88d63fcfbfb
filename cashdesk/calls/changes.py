"""What the call tracker announces after each committed change, as plain values.

The server's WebSocket hub fans these out (`kind` and `data()` are its event kind and
body); each carries the whole entity it is about, so a desk applying one that its
snapshot already reflected changes nothing. Money is `Money` here and a decimal string
in `data()`; times are ISO 8601 with their offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from cashdesk.call_state import CallState
from cashdesk.money import Money
from cashdesk.store.models import Call


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True, slots=True)
class CallSnapshot:
    """A call as stored after the change, with its frozen sell rate so a desk can show
    the running cost with the same `charge()` the bill uses. A live call's move shown
    before its start was stored (`CallTracker.show_from_memory`) has no `id` yet: a
    call is known by its `pbx_call_id`."""

    id: int | None
    callshop_id: int
    cabin_id: int
    session_id: int | None
    pbx_call_id: str
    dialed_number: str
    number: str
    destination: str
    sell_prefix: str
    state: CallState
    started_at: datetime
    ringing_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    billed_seconds: int
    price: Money
    price_per_minute: Money
    connection_fee: Money
    initial_increment: int
    subsequent_increment: int
    grace_seconds: int
    hangup_reason: str
    sip_code: int | None
    training: bool

    @classmethod
    def of(cls, call: Call, currency: str) -> CallSnapshot:
        return cls(id=call.id, callshop_id=call.callshop_id, cabin_id=call.cabin_id,
                   session_id=call.session_id, pbx_call_id=call.pbx_call_id,
                   dialed_number=call.dialed_number, number=call.number,
                   destination=call.destination, sell_prefix=call.sell_prefix,
                   state=call.state,
                   started_at=call.started_at, ringing_at=call.ringing_at,
                   answered_at=call.answered_at, ended_at=call.ended_at,
                   billed_seconds=call.billed_seconds, price=Money(call.price, currency),
                   price_per_minute=Money(call.price_per_minute, currency),
                   connection_fee=Money(call.connection_fee, currency),
                   initial_increment=call.initial_increment,
                   subsequent_increment=call.subsequent_increment,
                   grace_seconds=call.grace_seconds, hangup_reason=call.hangup_reason,
                   sip_code=call.sip_code, training=call.training)

    def data(self) -> dict[str, Any]:
        """The `<call>` of docs/sync-protocol.md (plus `sip_code`)."""
        return {
            "id": self.id, "pbx_call_id": self.pbx_call_id, "cabin_id": self.cabin_id,
            "session_id": self.session_id, "dialed_number": self.dialed_number,
            "number": self.number, "destination": self.destination,
            "state": self.state.value,
            "started_at": _iso(self.started_at), "ringing_at": _iso(self.ringing_at),
            "answered_at": _iso(self.answered_at), "ended_at": _iso(self.ended_at),
            "rate": {"prefix": self.sell_prefix,
                     "price_per_minute": self.price_per_minute.to_json(),
                     "connection_fee": self.connection_fee.to_json(),
                     "initial_increment": self.initial_increment,
                     "subsequent_increment": self.subsequent_increment,
                     "grace_seconds": self.grace_seconds},
            "billed_seconds": self.billed_seconds, "price": self.price.to_json(),
            "hangup_reason": self.hangup_reason, "sip_code": self.sip_code,
            "training": self.training,
        }


@dataclass(frozen=True, slots=True)
class CallUpdated:
    """A call was created or moved (state, times, price)."""

    kind: ClassVar[str] = "call_updated"
    callshop_id: int
    call: CallSnapshot

    def data(self) -> dict[str, Any]:
        return self.call.data()


@dataclass(frozen=True, slots=True)
class SessionUpdated:
    """A cabin's open session changed: a call joined it or finished in it."""

    kind: ClassVar[str] = "session_updated"
    callshop_id: int
    session_id: int
    cabin_id: int
    training: bool
    opened_at: datetime
    total_due: Money      # the answered calls' prices, as Pay would take them
    calls: int
    live_calls: int

    def data(self) -> dict[str, Any]:
        return {"id": self.session_id, "callshop_id": self.callshop_id,
                "cabin_id": self.cabin_id, "training": self.training,
                "opened_at": _iso(self.opened_at), "total_due": self.total_due.to_json(),
                "calls": self.calls, "live_calls": self.live_calls}


@dataclass(frozen=True, slots=True)
class BalanceUpdated:
    """A prepaid account's stored balance changed (a call was charged, a top-up).
    `callshop_id` is the shop owning the account, None for a reseller's account."""

    kind: ClassVar[str] = "balance_updated"
    account_id: int
    callshop_id: int | None
    balance: Money
    #: The balance minus what live calls reserve now (None: the guard does not meter
    #: this account).
    available: Money | None = None

    def data(self) -> dict[str, Any]:
        """The snapshot's `balance` of docs/sync-protocol.md, with whose it is."""
        return {"account_id": self.account_id, "callshop_id": self.callshop_id,
                "balance": self.balance.to_json(),
                "available": None if self.available is None else self.available.to_json(),
                "currency": self.balance.currency}


Change = CallUpdated | SessionUpdated | BalanceUpdated
