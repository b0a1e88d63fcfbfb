"""Protocol messages as docs/sync-protocol.md writes them, for feeding `LiveState`
the way the server's WebSocket would: a snapshot, then numbered events."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from cashdesk.money import Money
from cashdesk.rating.pricing import RateTerms, charge
from server_client.live import Event, LiveState, Snapshot

Json = dict[str, Any]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

RATES = {
    "France": ("33", "0.1200", "33612345678"),
    "Morocco": ("212", "0.3500", "212612345678"),
    "Senegal": ("221", "0.4200", "221771234567"),
    "Algeria": ("213", "0.2900", "213551234567"),
    "Spain": ("34", "0.0900", "34612345678"),
    "Tunisia": ("216", "0.3300", "21620123456"),
    "Pakistan": ("92", "0.1900", "923001234567"),
    "Mali": ("223", "0.5500", "22376123456"),
}


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="microseconds") if moment else None


@dataclass
class Shop:
    """A shop's live world, producing the server's messages."""

    currency: str = "EUR"
    training: bool = True
    name: str = "Callshop Belleville"
    instance: str = "9f1c0000aaaa"
    seq: int = 0
    now: datetime = T0
    cabins: dict[int, Json] = field(default_factory=dict)
    balance: str = "250.0000"
    switch_connected: bool = True
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def add_cabins(self, count: int, *, enabled: bool = True) -> list[int]:
        ids = []
        for _ in range(count):
            n = len(self.cabins) + 1
            self.cabins[n] = {"id": n, "name": f"Cabin {n}", "position": n, "site": "",
                              "enabled": enabled, "state": "free" if enabled else "disabled",
                              "session": None}
            ids.append(n)
        return ids

    def snapshot_json(self) -> Json:
        return {"instance": self.instance, "seq": self.seq, "server_time": iso(self.now),
                "callshop": {"id": 1, "name": self.name, "currency": self.currency,
                             "locale": "fr_FR", "timezone": "Europe/Paris",
                             "training": self.training},
                "balance": {"balance": self.balance, "available": self.balance,
                            "currency": self.currency},
                "switch": {"connected": self.switch_connected, "kind": "training"},
                "cabins": [self._cabin_json(c) for c in self.cabins.values()]}

    def snapshot(self) -> Snapshot:
        return Snapshot.from_json(self.snapshot_json())

    def _cabin_json(self, cabin: Json) -> Json:
        data = dict(cabin)
        session = cabin["session"]
        if session is not None:
            total = sum((Decimal(c["price"]) for c in session["calls"]), Decimal(0))
            data["session"] = dict(session, total=f"{total:.4f}",
                                   calls=[dict(c) for c in session["calls"]])
            live = any(c["state"] in ("dialing", "ringing", "answered")
                       for c in session["calls"])
            data["state"] = "in_use" if live else "awaiting_payment"
        elif cabin["enabled"]:
            data["state"] = "free"
        return data

    def _event(self, kind: str, data: Json) -> Event:
        self.seq += 1
        return Event(kind=kind, seq=self.seq, instance=self.instance, data=data)

    # --- calls ----------------------------------------------------------------------
    def dial(self, cabin_id: int, destination: str = "France", *,
             increments: tuple[int, int] = (30, 6)) -> tuple[int, list[Event]]:
        prefix, price, number = RATES[destination]
        cabin = self.cabins[cabin_id]
        events = []
        if cabin["session"] is None:
            cabin["session"] = {"id": next(self._ids) + 1000, "opened_at": iso(self.now),
                                "total": "0.0000", "calls": []}
        call_id = next(self._ids)
        call = {"id": call_id, "pbx_call_id": f"pbx-{call_id}", "cabin_id": cabin_id,
                "session_id": cabin["session"]["id"], "dialed_number": "00" + number,
                "number": "+" + number, "destination": destination, "state": "dialing",
                "started_at": iso(self.now), "ringing_at": None, "answered_at": None,
                "ended_at": None,
                "rate": {"prefix": prefix, "price_per_minute": price,
                         "connection_fee": "0.0000", "initial_increment": increments[0],
                         "subsequent_increment": increments[1], "grace_seconds": 0},
                "billed_seconds": 0, "price": "0.0000", "hangup_reason": "",
                "training": self.training}
        cabin["session"]["calls"].append(call)
        events.append(self._event("call", dict(call)))
        events.append(self._event("cabin", self._cabin_json(cabin)))
        return call_id, events

    def _call(self, call_id: int) -> tuple[Json, Json]:
        for cabin in self.cabins.values():
            if cabin["session"]:
                for call in cabin["session"]["calls"]:
                    if call["id"] == call_id:
                        return cabin, call
        raise KeyError(call_id)

    def ring(self, call_id: int) -> list[Event]:
        cabin, call = self._call(call_id)
        call.update(state="ringing", ringing_at=iso(self.now))
        return [self._event("call", dict(call))]

    def answer(self, call_id: int) -> list[Event]:
        cabin, call = self._call(call_id)
        call.update(state="answered", answered_at=iso(self.now))
        return [self._event("call", dict(call)), self._event("cabin", self._cabin_json(cabin))]

    def terms(self, call: Json) -> RateTerms:
        r = call["rate"]
        return RateTerms(r["prefix"], call["destination"], Decimal(r["price_per_minute"]),
                         Decimal(r["connection_fee"]), r["initial_increment"],
                         r["subsequent_increment"], r["grace_seconds"])

    def hang_up(self, call_id: int, state: str = "ended") -> list[Event]:
        """End the call and bill it with the server's function."""
        cabin, call = self._call(call_id)
        if call["answered_at"] is None:
            call.update(state="failed", ended_at=iso(self.now), hangup_reason="no answer")
        else:
            talk_ms = (self.now - datetime.fromisoformat(call["answered_at"])) // \
                timedelta(milliseconds=1)
            billed = charge(self.terms(call), talk_ms, self.currency)
            call.update(state=state, ended_at=iso(self.now),
                        billed_seconds=billed.billed_seconds,
                        price=f"{billed.amount.amount:.4f}",
                        hangup_reason="cut: credit" if state == "cut" else "normal")
        return [self._event("call", dict(call)), self._event("cabin", self._cabin_json(cabin))]

    def pay(self, cabin_id: int) -> list[Event]:
        self.cabins[cabin_id]["session"] = None
        return [self._event("cabin", self._cabin_json(self.cabins[cabin_id]))]

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def due(self, cabin_id: int) -> Money:
        session = self.cabins[cabin_id]["session"]
        return Money.of(sum((Decimal(c["price"]) for c in session["calls"]), Decimal(0)),
                        self.currency)

    def switch(self, connected: bool) -> list[Event]:
        self.switch_connected = connected
        return [self._event("switch", {"connected": connected, "kind": "training"})]


def mixed_shop(count: int = 12) -> tuple[Shop, Snapshot, list[Event]]:
    """A shop of `count` cabins in every state, as a cashier sees it mid-afternoon:
    its first snapshot (all free) and the events since."""
    shop = Shop()
    shop.add_cabins(count - 1)
    shop.add_cabins(1, enabled=False)
    first = shop.snapshot()
    events: list[Event] = []
    plan = ["Morocco", "France", None, "Senegal", "Algeria", None, "Spain", "Tunisia",
            "Pakistan", None, "Mali"]
    for index, destination in enumerate(plan[: count - 1]):
        if destination is None:
            continue
        cabin = index + 1
        call_id, ev = shop.dial(cabin, destination)
        events += ev
        events += shop.ring(call_id)
        if index % 4 == 3:
            continue  # left ringing
        events += shop.answer(call_id)
        shop.advance(37 + 23 * index)
        if index % 3 == 0:
            events += shop.hang_up(call_id)
            second, ev = shop.dial(cabin, "France")
            events += ev + shop.answer(second)
            shop.advance(95)
            events += shop.hang_up(second)
        elif index % 3 == 1:
            events += shop.hang_up(call_id, "cut" if index == 7 else "ended")
    return shop, first, events


def live_state(first: Snapshot, events: list[Event]) -> LiveState:
    """A desk's state after `first` and `events`, received at the snapshot's time."""
    state = LiveState()
    state.load(first, first.server_time)
    for event in events:
        state.apply(event)
    return state
