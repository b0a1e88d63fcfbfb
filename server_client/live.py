"""The shop as the cash desk sees it live: a snapshot, then the events after it.

Pure and thread-free: `LiveState` takes messages already parsed and the times they
were received, and answers what changed; `events.EventStream` feeds it from the
WebSocket. The rules are docs/sync-protocol.md's:

- a snapshot (`GET /live`) names its instance and the sequence number it reflects;
- events with `seq <= snapshot.seq` are already in it and are dropped;
- an event whose `seq` is not `last + 1`, a heartbeat whose `seq` is ahead of
  `last`, or a different instance means something was missed: the state is marked
  stale (`SyncLost`) and must be reloaded from a new snapshot.

Events carry whole entities, so applying one twice changes nothing.

A call is known by its `pbx_call_id`, never by its `id`: the server may publish a live
call's move (dialing, ringing, answered) before it has stored the call, with `"id":
null`, then the same call again with its id, in that state or a later one. Both are
one call: the later news replaces the earlier (an id once known is kept), and news
older than what is held (an earlier state, or an answer without its session after one
with it) changes nothing but the id it may bring.

Running costs: while a call is answered, its cost now is
`cashdesk.rating.pricing.charge` on the call's frozen rate for the time since
`answered_at` — the very function the server bills with, so the last figure on the
tile is the figure the customer pays. The server's clock is what counts: every
snapshot and heartbeat tells its time, and the state keeps the offset between the
server's clock and the desk's. Time is always passed in (`now`, the desk's aware
clock), so a screen ticks it once a second and tests need no sleeping.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from cashdesk.call_state import CallState
from cashdesk.money import Money
from cashdesk.rating.pricing import Charge, RateTerms, charge
from server_client.wire import (
    ProtocolError,
    parse_money,
    parse_optional_time,
    parse_time,
)

Json = dict[str, Any]
_MS = timedelta(milliseconds=1)


class CabinState(StrEnum):
    FREE = "free"                          # no open session
    IN_USE = "in_use"                      # the open session has a live call
    AWAITING_PAYMENT = "awaiting_payment"  # only ended calls: the customer is at the till
    DISABLED = "disabled"


# --- what the shop looks like ------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ShopInfo:
    id: int
    name: str
    currency: str
    locale: str
    timezone: str
    training: bool

    @classmethod
    def from_json(cls, data: Json) -> ShopInfo:
        return cls(id=data["id"], name=data["name"], currency=data["currency"],
                   locale=data["locale"], timezone=data["timezone"],
                   training=data["training"])


@dataclass(frozen=True, slots=True)
class LiveBalance:
    """The shop's prepaid balance, and what is `available` once the live calls'
    reservations are taken off."""

    balance: Money
    available: Money

    @classmethod
    def from_json(cls, data: Json) -> LiveBalance:
        currency = data["currency"]
        return cls(balance=parse_money(data["balance"], currency),
                   available=parse_money(data["available"], currency))


@dataclass(frozen=True, slots=True)
class SwitchStatus:
    """Whether the server is connected to its PBX (Kamailio, Asterisk, training)."""

    connected: bool
    kind: str

    @classmethod
    def from_json(cls, data: Json) -> SwitchStatus:
        return cls(connected=data["connected"], kind=data["kind"])


def _terms(data: Json | None, destination: str) -> RateTerms | None:
    if data is None:
        return None
    try:
        return RateTerms(data["prefix"], destination, Decimal(data["price_per_minute"]),
                         Decimal(data["connection_fee"]), data["initial_increment"],
                         data["subsequent_increment"], data["grace_seconds"])
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise ProtocolError(f"a call's rate cannot be read: {exc}") from None


@dataclass(frozen=True, slots=True)
class LiveCall:
    """A call as the tile shows it, with the sell rate frozen when it was rated.
    `pbx_call_id` is what identifies it: `id` (the server's row) is None while the
    server has published a move of the call it has not stored yet."""

    id: int | None
    pbx_call_id: str
    cabin_id: int
    session_id: int | None
    dialed_number: str
    number: str
    destination: str
    state: CallState
    started_at: datetime
    ringing_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    rate: RateTerms | None
    billed_seconds: int
    price: Money
    hangup_reason: str
    training: bool

    @property
    def is_live(self) -> bool:
        return self.state.is_live

    def talk_ms(self, server_now: datetime) -> int:
        """Milliseconds talked: from answer to the end, or to `server_now` while the
        call is up; 0 if it was never answered."""
        if self.answered_at is None:
            return 0
        end = self.ended_at if self.ended_at is not None else server_now
        return max(0, (end - self.answered_at) // _MS)

    def charge_at(self, server_now: datetime) -> Charge:
        """What the call costs at `server_now` (the server's clock): the billed price of
        a finished call, the running cost of an answered one (`pricing.charge`), zero
        for one not answered."""
        currency = self.price.currency
        if self.state.is_final:
            return Charge(self.billed_seconds, self.price)
        if self.state is not CallState.ANSWERED or self.rate is None:
            return Charge(0, Money.zero(currency))
        return charge(self.rate, self.talk_ms(server_now), currency)

    @classmethod
    def from_json(cls, data: Json, currency: str) -> LiveCall:
        destination = data["destination"]
        return cls(id=data["id"], pbx_call_id=data["pbx_call_id"], cabin_id=data["cabin_id"],
                   session_id=data["session_id"], dialed_number=data["dialed_number"],
                   number=data["number"], destination=destination,
                   state=CallState(data["state"]), started_at=parse_time(data["started_at"]),
                   ringing_at=parse_optional_time(data["ringing_at"]),
                   answered_at=parse_optional_time(data["answered_at"]),
                   ended_at=parse_optional_time(data["ended_at"]),
                   rate=_terms(data["rate"], destination),
                   billed_seconds=data["billed_seconds"],
                   price=parse_money(data["price"], currency),
                   hangup_reason=data["hangup_reason"], training=data["training"])


def _ordered(calls: dict[str, LiveCall] | list[LiveCall]) -> tuple[LiveCall, ...]:
    values = calls.values() if isinstance(calls, dict) else calls
    # Ties broken on the PBX's id: the row id may not be known yet (None).
    return tuple(sorted(values, key=lambda call: (call.started_at, call.pbx_call_id)))


def _progress(call: LiveCall) -> tuple[int, bool]:
    """`call`'s rank, then whether it is in a session: an answer may come first
    without its session and then with it, never the other way round."""
    return call.state.rank, call.session_id is not None


@dataclass(frozen=True, slots=True)
class LiveSession:
    """A cabin's open session: one customer's unpaid calls, oldest first. `total` is
    the server's sum of the finished calls' prices (what Pay takes when none is live)."""

    id: int
    opened_at: datetime
    total: Money
    calls: tuple[LiveCall, ...]

    @property
    def live_calls(self) -> tuple[LiveCall, ...]:
        return tuple(call for call in self.calls if call.is_live)

    def due_at(self, server_now: datetime) -> Money:
        """What the customer owes at `server_now`: the finished calls' prices plus the
        running cost of the answered ones."""
        total = Money.zero(self.total.currency)
        for call in self.calls:
            total = total + call.charge_at(server_now).amount
        return total

    @classmethod
    def from_json(cls, data: Json, currency: str) -> LiveSession:
        return cls(id=data["id"], opened_at=parse_time(data["opened_at"]),
                   total=parse_money(data["total"], currency),
                   calls=_ordered([LiveCall.from_json(c, currency) for c in data["calls"]]))


@dataclass(frozen=True, slots=True)
class LiveCabin:
    """A cabin's tile: its open session, and its `pending` calls (dialing or ringing,
    not answered yet: a call joins a session only when answered)."""

    id: int
    name: str
    position: int
    site: str
    enabled: bool
    state: CabinState
    session: LiveSession | None
    pending: tuple[LiveCall, ...] = ()

    @property
    def calls(self) -> tuple[LiveCall, ...]:
        """Everything the tile lists: the session's calls and the pending ones."""
        if not self.pending:
            return self.session.calls if self.session is not None else ()
        return _ordered([*(self.session.calls if self.session else ()), *self.pending])

    @property
    def live_calls(self) -> tuple[LiveCall, ...]:
        return tuple(call for call in self.calls if call.is_live)

    @classmethod
    def from_json(cls, data: Json, currency: str) -> LiveCabin:
        session = LiveSession.from_json(data["session"], currency) if data["session"] \
            else None
        # A call is in one place: once in the session (answered), it is not pending
        # any more, even if the server caught it between the two.
        in_session = {call.pbx_call_id for call in session.calls} if session else set()
        return cls(id=data["id"], name=data["name"], position=data["position"],
                   site=data["site"], enabled=data["enabled"], state=CabinState(data["state"]),
                   session=session,
                   pending=_ordered([call for call in (LiveCall.from_json(c, currency)
                                                       for c in data.get("pending") or ())
                                     if call.pbx_call_id not in in_session]))


def _cabin_order(cabin: LiveCabin) -> tuple[int, str, int]:
    return (cabin.position, cabin.name, cabin.id)


# --- the protocol's messages -------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Snapshot:
    """`GET /api/v1/live`: the whole shop as of event `seq` of server `instance`."""

    instance: str
    seq: int
    server_time: datetime
    shop: ShopInfo
    balance: LiveBalance
    switch: SwitchStatus
    cabins: tuple[LiveCabin, ...]

    @classmethod
    def from_json(cls, data: Json) -> Snapshot:
        shop = ShopInfo.from_json(data["callshop"])
        return cls(instance=data["instance"], seq=data["seq"],
                   server_time=parse_time(data["server_time"]), shop=shop,
                   balance=LiveBalance.from_json(data["balance"]),
                   switch=SwitchStatus.from_json(data["switch"]),
                   cabins=tuple(sorted((LiveCabin.from_json(c, shop.currency)
                                        for c in data["cabins"]), key=_cabin_order)))


@dataclass(frozen=True, slots=True)
class Hello:
    instance: str
    seq: int
    heartbeat_s: float


@dataclass(frozen=True, slots=True)
class Event:
    """One change: `data` is the whole entity (parsed when applied, in the shop's
    currency)."""

    kind: str
    seq: int
    instance: str
    data: Json


@dataclass(frozen=True, slots=True)
class Heartbeat:
    seq: int
    server_time: datetime


@dataclass(frozen=True, slots=True)
class ServerError:
    """The server refused something the client sent; it closes the socket next."""

    message: str


@dataclass(frozen=True, slots=True)
class Pong:
    pass


Message = Hello | Event | Heartbeat | ServerError | Pong


def parse_message(text: str | bytes) -> Message:
    """One WebSocket text frame of the server."""
    try:
        data = json.loads(text)
        kind = data["type"]
        if kind == "hello":
            return Hello(instance=data["instance"], seq=data["seq"],
                         heartbeat_s=float(data["heartbeat_s"]))
        if kind == "event":
            if not isinstance(data["data"], dict):
                raise ProtocolError("an event's data must be an object")
            return Event(kind=data["kind"], seq=data["seq"], instance=data["instance"],
                         data=data["data"])
        if kind == "heartbeat":
            return Heartbeat(seq=data["seq"], server_time=parse_time(data["server_time"]))
        if kind == "error":
            return ServerError(message=str(data.get("message", "")))
        if kind == "pong":
            return Pong()
    except (ValueError, KeyError, TypeError) as exc:
        raise ProtocolError(f"unreadable message from the server: {exc!r}") from None
    raise ProtocolError(f"unknown message type {kind!r}")


# --- the state ---------------------------------------------------------------------------

class SyncLost(Exception):
    """The live state missed something and is stale: reload a snapshot."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Diff:
    """What an update changed, so a screen redraws only that. `everything` after a
    snapshot (or when the state went stale: every tile greys out)."""

    everything: bool = False
    cabins: frozenset[int] = frozenset()
    balance: bool = False
    switch: bool = False

    def __bool__(self) -> bool:
        return self.everything or bool(self.cabins) or self.balance or self.switch


NOTHING = Diff()
EVERYTHING = Diff(everything=True)


@dataclass(frozen=True, slots=True)
class LiveView:
    """The shop at one moment, frozen: safe to hand to another thread (the screen)."""

    loaded: bool
    stale: bool
    stale_reason: str
    instance: str
    seq: int
    shop: ShopInfo | None
    balance: LiveBalance | None
    switch: SwitchStatus | None
    cabins: tuple[LiveCabin, ...]
    #: The server's clock minus the desk's (added to the desk's `now`).
    clock_offset: timedelta

    def cabin(self, cabin_id: int) -> LiveCabin | None:
        for cabin in self.cabins:
            if cabin.id == cabin_id:
                return cabin
        return None

    def server_now(self, now: datetime) -> datetime:
        """The server's time when the desk's clock says `now`."""
        return now + self.clock_offset

    def call_charge(self, call: LiveCall, now: datetime) -> Charge:
        """A call's billed seconds and cost at the desk's `now` (see `LiveCall.charge_at`)."""
        return call.charge_at(self.server_now(now))

    def talk_seconds(self, call: LiveCall, now: datetime) -> int:
        return call.talk_ms(self.server_now(now)) // 1000

    def due(self, cabin: LiveCabin, now: datetime) -> Money | None:
        """What the cabin's customer owes at the desk's `now`; None when free."""
        if cabin.session is None:
            return None
        return cabin.session.due_at(self.server_now(now))


class LiveState:
    """The shop, kept current from a snapshot and the events after it. See the module
    doc for the rules. Not thread-safe: one owner feeds it."""

    def __init__(self) -> None:
        self._loaded = False
        self._stale = True
        self._stale_reason = "not loaded yet"
        self._instance = ""
        self._seq = 0
        self._shop: ShopInfo | None = None
        self._balance: LiveBalance | None = None
        self._switch: SwitchStatus | None = None
        self._cabins: dict[int, LiveCabin] = {}
        # Per cabin, the newest session known closed (paid): a late event about it must
        # not bring it back on the tile.
        self._closed: dict[int, int] = {}
        self._offset = timedelta(0)

    # -- reading ---------------------------------------------------------------------
    @property
    def stale(self) -> bool:
        return self._stale

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def instance(self) -> str:
        return self._instance

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def currency(self) -> str:
        if self._shop is None:
            raise RuntimeError("no snapshot loaded")
        return self._shop.currency

    def view(self) -> LiveView:
        return LiveView(loaded=self._loaded, stale=self._stale,
                        stale_reason=self._stale_reason if self._stale else "",
                        instance=self._instance, seq=self._seq, shop=self._shop,
                        balance=self._balance, switch=self._switch,
                        cabins=tuple(sorted(self._cabins.values(), key=_cabin_order)),
                        clock_offset=self._offset)

    # -- changing ----------------------------------------------------------------------
    def load(self, snapshot: Snapshot, received_at: datetime) -> Diff:
        """Replace everything with `snapshot`, received at the desk's `received_at`."""
        self._instance = snapshot.instance
        self._seq = snapshot.seq
        self._shop = snapshot.shop
        self._balance = snapshot.balance
        self._switch = snapshot.switch
        self._cabins = {cabin.id: cabin for cabin in snapshot.cabins}
        self._closed = {}
        self._offset = snapshot.server_time - received_at
        self._loaded = True
        self._stale = False
        self._stale_reason = ""
        return EVERYTHING

    def mark_stale(self, reason: str) -> Diff:
        """Keep showing what is known, marked stale, until the next snapshot."""
        if self._stale:
            return NOTHING
        self._stale = True
        self._stale_reason = reason
        return EVERYTHING

    def apply(self, event: Event) -> Diff:
        """Apply one event. Already reflected (`seq <= last`): nothing changes. A gap
        or another instance: the state goes stale and `SyncLost` is raised."""
        self._check_live()
        if event.instance != self._instance:
            raise self._lose(f"the server restarted (instance {event.instance[:8]}, "
                             f"was {self._instance[:8]})")
        if event.seq <= self._seq:
            return NOTHING
        if event.seq != self._seq + 1:
            raise self._lose(f"events {self._seq + 1}..{event.seq - 1} were missed")
        try:
            diff = self._apply(event)
        except ProtocolError as exc:
            raise self._lose(f"an unreadable {event.kind} event: {exc.message}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise self._lose(f"an unreadable {event.kind} event: {exc!r}") from None
        self._seq = event.seq
        return diff

    def heartbeat(self, beat: Heartbeat, received_at: datetime) -> Diff:
        """An idle server's heartbeat: its sequence ahead of ours means events were
        lost; its time keeps the clock offset fresh."""
        self._check_live()
        if beat.seq > self._seq:
            raise self._lose(f"the server is at event {beat.seq}, this desk at {self._seq}")
        self._offset = beat.server_time - received_at
        return NOTHING

    def _check_live(self) -> None:
        if not self._loaded or self._stale:
            raise SyncLost(self._stale_reason or "no snapshot loaded")

    def _lose(self, reason: str) -> SyncLost:
        self.mark_stale(reason)
        return SyncLost(reason)

    def _apply(self, event: Event) -> Diff:
        data = event.data
        if event.kind == "cabin":
            if data.get("deleted"):
                self._cabins.pop(data["id"], None)
                return Diff(cabins=frozenset({data["id"]}))
            return self._put_cabin(LiveCabin.from_json(data, self.currency))
        if event.kind == "call":
            return self._put_call(LiveCall.from_json(data, self.currency))
        if event.kind == "balance":
            self._balance = LiveBalance.from_json(data)
            return Diff(balance=True)
        if event.kind == "switch":
            self._switch = SwitchStatus.from_json(data)
            return Diff(switch=True)
        # A kind this desk does not know (a newer server): numbered like the others,
        # so it is counted, and nothing on screen depends on it.
        return NOTHING

    def _put_cabin(self, cabin: LiveCabin) -> Diff:
        old = self._cabins.get(cabin.id)
        if old is not None and old.session is not None and (
                cabin.session is None or cabin.session.id != old.session.id):
            self._closed[cabin.id] = max(self._closed.get(cabin.id, 0), old.session.id)
        self._cabins[cabin.id] = _unchanged_kept(old, cabin) if old is not None else cabin
        return Diff(cabins=frozenset({cabin.id}))

    def _put_call(self, call: LiveCall) -> Diff:
        cabin = self._cabins.get(call.cabin_id)
        if cabin is None:
            return NOTHING  # a cabin this snapshot did not list: its cabin event follows
        key = call.pbx_call_id
        held = next((c for c in cabin.calls if c.pbx_call_id == key), None)
        if held is not None and _progress(call) < _progress(held):
            # Older news than the tile shows: only the row id it may bring is new.
            if held.id is not None or call.id is None:
                return NOTHING
            call = replace(held, id=call.id)
        elif held is not None and call.id is None and held.id is not None:
            # A move published before the server stored it: the id stays known.
            call = replace(call, id=held.id)
        pending = {c.pbx_call_id: c for c in cabin.pending if c.pbx_call_id != key}
        session = cabin.session
        if call.session_id is None:
            # Not answered (yet): on the tile while it is live; a call that failed
            # unanswered leaves it.
            if call.is_live:
                pending[key] = call
        elif session is not None and session.id == call.session_id:
            calls = {c.pbx_call_id: c for c in session.calls}
            calls[key] = call
            session = replace(session, calls=_ordered(calls))
        elif (call.session_id > self._closed.get(cabin.id, 0)
              and (session is None or call.session_id > session.id)):
            # A newer session than the tile shows: it opened with this call. Its cabin
            # event normally follows; until then the tile shows the call anyway.
            if session is not None:
                self._closed[cabin.id] = max(self._closed.get(cabin.id, 0), session.id)
            session = LiveSession(id=call.session_id,
                                  opened_at=call.answered_at or call.started_at,
                                  total=Money.zero(self.currency), calls=(call,))
        elif key not in {c.pbx_call_id for c in cabin.pending}:
            return NOTHING  # about a session already paid
        self._cabins[cabin.id] = replace(
            cabin, session=session, pending=_ordered(pending),
            state=_state_of(cabin.enabled, session, bool(pending)))
        return Diff(cabins=frozenset({cabin.id}))


def _unchanged_kept(old: LiveCabin, new: LiveCabin) -> LiveCabin:
    """`new` with the calls that did not change kept as the objects `old` had.

    A cabin event repeats the whole session; keeping the equal calls' objects lets the
    screen tell what changed by identity (a busy session holds dozens of finished
    calls, and a tile is redrawn on the GUI thread) — this runs on the stream's."""
    known = {call.pbx_call_id: call for call in old.calls}
    if not known:
        return new

    def kept(call: LiveCall) -> LiveCall:
        same = known.get(call.pbx_call_id)
        return same if same is not None and same == call else call

    session = new.session
    if session is not None:
        calls = tuple(kept(call) for call in session.calls)
        session = old.session if old.session == replace(session, calls=calls) \
            else replace(session, calls=calls)
    return replace(new, session=session, pending=tuple(kept(call) for call in new.pending))


def _state_of(enabled: bool, session: LiveSession | None, pending: bool) -> CabinState:
    """A cabin's state by the protocol's definition, after one of its calls moved."""
    if pending or (session is not None and any(call.is_live for call in session.calls)):
        return CabinState.IN_USE
    if session is not None:
        return CabinState.AWAITING_PAYMENT
    return CabinState.FREE if enabled else CabinState.DISABLED


__all__ = [
    "EVERYTHING",
    "NOTHING",
    "CabinState",
    "Diff",
    "Event",
    "Heartbeat",
    "Hello",
    "LiveBalance",
    "LiveCabin",
    "LiveCall",
    "LiveSession",
    "LiveState",
    "LiveView",
    "Message",
    "Pong",
    "ServerError",
    "ShopInfo",
    "Snapshot",
    "SwitchStatus",
    "SyncLost",
    "parse_message",
]
