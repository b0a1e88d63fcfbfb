"""Messages of the live protocol, built exactly as docs/sync-protocol.md writes them
(money as decimal strings, ISO 8601 UTC times with microseconds, whole entities)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 1, 5, 9, 0, 0, 123456, tzinfo=UTC)
INSTANCE = "9f1c" + "0" * 28


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def rate(*, prefix: str = "33", price_per_minute: str = "0.1200", connection_fee: str = "0.0500",
         initial: int = 30, subsequent: int = 6, grace: int = 0) -> dict[str, Any]:
    return {"prefix": prefix, "price_per_minute": price_per_minute,
            "connection_fee": connection_fee, "initial_increment": initial,
            "subsequent_increment": subsequent, "grace_seconds": grace}


def call(call_id: int | None, *, pbx_call_id: str | None = None, cabin_id: int = 1,
         session_id: int | None = 10, state: str = "answered", started_at: datetime = T0,
         answered_at: datetime | None = T0, ended_at: datetime | None = None,
         price: str = "0.0000", billed_seconds: int = 0,
         rate_: dict[str, Any] | None = None, number: str = "33123456789",
         destination: str = "France") -> dict[str, Any]:
    """A `<call>`; `call_id` None is a live move the server has not stored yet, which
    then needs its `pbx_call_id` (otherwise "pbx-<call_id>")."""
    if pbx_call_id is None:
        assert call_id is not None, "a call not stored yet is known by its pbx_call_id"
        pbx_call_id = f"pbx-{call_id}"
    return {"id": call_id, "pbx_call_id": pbx_call_id, "cabin_id": cabin_id,
            "session_id": session_id, "dialed_number": "00" + number, "number": number,
            "destination": destination, "state": state, "started_at": iso(started_at),
            "ringing_at": iso(started_at), "answered_at": iso(answered_at),
            "ended_at": iso(ended_at), "rate": rate_ if rate_ is not None else rate(),
            "billed_seconds": billed_seconds, "price": price, "hangup_reason": "",
            "training": False}


def session(session_id: int, calls: list[dict[str, Any]], *, total: str = "0.0000",
            opened_at: datetime = T0) -> dict[str, Any]:
    return {"id": session_id, "opened_at": iso(opened_at), "total": total, "calls": calls}


def cabin(cabin_id: int, *, name: str | None = None, position: int | None = None,
          state: str = "free", enabled: bool = True, session_: dict[str, Any] | None = None,
          pending: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A `<cabin>`. `pending` (live calls not answered yet, which join a session only
    when answered) is the server's addition to the documented shape."""
    return {"id": cabin_id, "name": name or f"Cabin {cabin_id}",
            "position": cabin_id if position is None else position, "site": "",
            "enabled": enabled, "state": state, "session": session_,
            "pending": pending or []}


def balance(amount: str = "120.0000", available: str = "118.2000") -> dict[str, Any]:
    return {"balance": amount, "available": available, "currency": "EUR"}


def snapshot(cabins: list[dict[str, Any]], *, seq: int = 5, instance: str = INSTANCE,
             server_time: datetime = T0) -> dict[str, Any]:
    return {"instance": instance, "seq": seq, "server_time": iso(server_time),
            "callshop": {"id": 1, "name": "Shop A", "currency": "EUR", "locale": "fr_FR",
                         "timezone": "Europe/Paris", "training": False},
            "balance": balance(), "switch": {"connected": True, "kind": "kamailio"},
            "cabins": cabins}


def event(kind: str, seq: int, data: dict[str, Any], *, instance: str = INSTANCE) -> str:
    return json.dumps({"type": "event", "kind": kind, "seq": seq, "instance": instance,
                       "data": data})


def hello(seq: int, *, instance: str = INSTANCE, heartbeat_s: float = 5) -> str:
    return json.dumps({"type": "hello", "instance": instance, "seq": seq,
                       "heartbeat_s": heartbeat_s})


def heartbeat(seq: int, server_time: datetime = T0) -> str:
    return json.dumps({"type": "heartbeat", "seq": seq, "server_time": iso(server_time)})


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)
