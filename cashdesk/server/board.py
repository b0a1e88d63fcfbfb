"""The live board: every shop's cabins, open sessions, live calls and balance, kept in
memory on the event loop and published to the desks as they change.

It is loaded from the database once per shop, then moved only by what changes it:
the call tracker's announcements (each after its commit, in commit order), a Pay
(the session closed), cabin edits, the PBX link going up or down. Each change is
published at once through the `EventHub` as whole entities (`cashdesk.server.live`),
and the snapshot is written from the same memory in the same loop turn as the
sequence number it names, so a snapshot at `seq` N is exactly events 1..N applied.

Nothing here reads the database on the way from a change to a desk: under load, the
fan-out costs one serialisation per event, whatever the number of desks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cashdesk.call_state import LIVE_STATES
from cashdesk.calls.changes import (
    BalanceUpdated,
    CallSnapshot,
    CallUpdated,
    Change,
    SessionUpdated,
)
from cashdesk.money import Money
from cashdesk.server.hub import EventHub
from cashdesk.server.live import (
    NO_SWITCH,
    LiveCabin,
    LiveSession,
    SwitchStatus,
    balance_json,
    cabin_json,
    cabin_order,
    call_json,
    instant,
)
from cashdesk.store.models import Account, Cabin, CabinSession, Call, Callshop

log = logging.getLogger(__name__)


@dataclass
class LiveShop:
    id: int
    name: str
    currency: str
    locale: str
    timezone: str
    training: bool
    account_id: int
    balance: Money
    #: The balance minus the live calls' reservations, as of the last balance change.
    available: Money
    cabins: dict[int, LiveCabin] = field(default_factory=dict)
    switch: SwitchStatus = NO_SWITCH

    def info_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "currency": self.currency,
                "locale": self.locale, "timezone": self.timezone, "training": self.training}


# --- reading the database (on a database thread) ---------------------------------------

@dataclass(frozen=True)
class CabinRow:
    id: int
    callshop_id: int
    name: str
    position: int
    site: str
    enabled: bool


def read_cabins(db: Session, shop_ids: Collection[int]) -> list[CabinRow]:
    rows = db.execute(select(Cabin.id, Cabin.callshop_id, Cabin.name, Cabin.position,
                             Cabin.site, Cabin.enabled)
                      .where(Cabin.callshop_id.in_(list(shop_ids))))
    return [CabinRow(*row) for row in rows]


def read_shops(db: Session, shop_ids: Collection[int] | None = None) -> dict[int, LiveShop]:
    """The live state of these shops (all when None) as the database has it."""
    query = (select(Callshop, Account.balance)
             .join(Account, Account.id == Callshop.account_id))
    if shop_ids is not None:
        query = query.where(Callshop.id.in_(list(shop_ids)))
    shops: dict[int, LiveShop] = {}
    for row, balance in db.execute(query):
        money = Money(balance, row.currency)
        shops[row.id] = LiveShop(id=row.id, name=row.name, currency=row.currency,
                                 locale=row.locale, timezone=row.timezone,
                                 training=row.training, account_id=row.account_id,
                                 balance=money, available=money)
    if not shops:
        return shops
    ids = list(shops)
    for setting in read_cabins(db, ids):
        shops[setting.callshop_id].cabins[setting.id] = LiveCabin(
            setting.id, setting.name, setting.position, setting.site, setting.enabled)
    for shop_id, cabin_id, closed in db.execute(
            select(CabinSession.callshop_id, CabinSession.cabin_id, func.max(CabinSession.id))
            .where(CabinSession.callshop_id.in_(ids), CabinSession.closed_at.is_not(None))
            .group_by(CabinSession.callshop_id, CabinSession.cabin_id)):
        cabin = shops[shop_id].cabins.get(cabin_id)
        if cabin is not None:
            cabin.closed_up_to = closed
    sessions = {}
    for open_session in db.scalars(select(CabinSession).where(
            CabinSession.callshop_id.in_(ids), CabinSession.closed_at.is_(None))):
        owner = shops[open_session.callshop_id]
        live = LiveSession(open_session.id, open_session.opened_at, owner.currency)
        owner.cabins[open_session.cabin_id].session = live
        sessions[open_session.id] = live
    unattached_live = Call.session_id.is_(None) & Call.state.in_(list(LIVE_STATES))
    calls = db.scalars(select(Call).where(
        Call.callshop_id.in_(ids),
        or_(Call.session_id.in_(list(sessions)), unattached_live) if sessions
        else unattached_live))
    for call in calls:
        snapshot = CallSnapshot.of(call, shops[call.callshop_id].currency)
        if call.session_id is not None:
            sessions[call.session_id].calls[call.id] = snapshot
        else:
            shops[call.callshop_id].cabins[call.cabin_id].pending[call.pbx_call_id] = snapshot
    return shops


def read_shop_infos(db: Session) -> dict[int, tuple[str, str, str, bool]]:
    """Every shop's name, locale, time zone and training flag."""
    return {row.id: (row.name, row.locale, row.timezone, row.training)
            for row in db.execute(select(Callshop.id, Callshop.name, Callshop.locale,
                                         Callshop.timezone, Callshop.training))}


#: How the board reads shops: `read_shops` on a database thread.
ShopLoader = Callable[[Collection[int] | None], Awaitable[dict[int, LiveShop]]]
CabinLoader = Callable[[int], Awaitable[list[CabinRow]]]
InfoLoader = Callable[[], Awaitable[dict[int, tuple[str, str, str, bool]]]]


# --- the board ---------------------------------------------------------------------------

class LiveBoard:
    """See the module doc. Every method runs on the event loop's thread."""

    def __init__(self, hub: EventHub, load_shops: ShopLoader, load_cabins: CabinLoader,
                 load_infos: InfoLoader, *,
                 switch_of: Callable[[LiveShop], SwitchStatus] | None = None) -> None:
        self.hub = hub
        self._load_shops = load_shops
        self._load_cabins = load_cabins
        self._load_infos = load_infos
        self._switch_of = switch_of or (lambda shop: NO_SWITCH)
        self._shops: dict[int, LiveShop] = {}
        # Changes for a shop being loaded, replayed once it is.
        self._waiting: dict[int, list[Change]] = {}
        self._loading: dict[int, asyncio.Task[None]] = {}
        self._dirty: dict[int, set[int]] = {}
        self._flush_scheduled = False
        self._tasks: set[asyncio.Task[Any]] = set()

    # ---------------------------------------------------------------- loading ----
    async def async_load(self) -> None:
        """Load every shop (at startup, before billing starts announcing)."""
        for shop in (await self._load_shops(None)).values():
            shop.switch = self._switch_of(shop)
            self._shops[shop.id] = shop
        log.info("live board: %d shop(s), %d cabin(s)", len(self._shops),
                 sum(len(shop.cabins) for shop in self._shops.values()))

    async def async_shop(self, shop_id: int) -> LiveShop | None:
        """The shop's live state, loading it first if it is new since startup."""
        if shop_id not in self._shops:
            await self._ensure(shop_id)
        return self._shops.get(shop_id)

    def shop(self, shop_id: int) -> LiveShop | None:
        return self._shops.get(shop_id)

    @property
    def shops(self) -> list[LiveShop]:
        return list(self._shops.values())

    async def _ensure(self, shop_id: int) -> None:
        task = self._loading.get(shop_id)
        if task is None:
            task = asyncio.ensure_future(self._load_one(shop_id))
            self._loading[shop_id] = task
        await asyncio.shield(task)

    async def _load_one(self, shop_id: int) -> None:
        try:
            loaded = (await self._load_shops([shop_id])).get(shop_id)
            if loaded is not None and shop_id not in self._shops:
                loaded.switch = self._switch_of(loaded)
                self._shops[shop_id] = loaded
        except Exception:
            log.exception("live board: callshop %s could not be loaded", shop_id)
        finally:
            self._loading.pop(shop_id, None)
            # What arrived meanwhile may be older than what was read: `apply` keeps
            # calls from moving backwards, so replaying it is harmless.
            for change in self._waiting.pop(shop_id, []):
                if shop_id in self._shops:
                    self.apply(change)

    # ------------------------------------------------------- billing's changes ----
    def apply(self, change: Change) -> None:
        """One announcement of the call tracker (loop thread, commit order)."""
        shop_id = change.callshop_id
        if shop_id is None:
            return  # a reseller's own account: no desk shows it
        shop = self._shops.get(shop_id)
        if shop is None:
            self._waiting.setdefault(shop_id, []).append(change)
            self._spawn(self._ensure(shop_id))
            return
        if isinstance(change, CallUpdated):
            self._call(shop, change.call)
        elif isinstance(change, SessionUpdated):
            self._session(shop, change)
        elif isinstance(change, BalanceUpdated):
            self._balance(shop, change)

    def _call(self, shop: LiveShop, call: CallSnapshot) -> None:
        cabin = self._cabin(shop, call.cabin_id)
        known = cabin.pending.get(call.pbx_call_id)
        if known is None and cabin.session is not None and call.id is not None:
            known = cabin.session.calls.get(call.id)
        if known is not None and known.state.rank > call.state.rank:
            return  # older news than what is shown (replayed after a load)
        self.hub.publish(shop.id, "call", call_json(call))
        if call.session_id is None:
            if call.state.is_live:
                cabin.pending[call.pbx_call_id] = call
            else:
                cabin.pending.pop(call.pbx_call_id, None)  # over before any answer
        else:
            assert call.id is not None       # a session's calls are stored
            cabin.pending.pop(call.pbx_call_id, None)
            session = self._open_session(shop, cabin, call.session_id,
                                         call.answered_at or call.started_at)
            if session is None:
                return  # a session already paid
            session.calls[call.id] = call
        self._mark(shop.id, cabin.id)

    def _session(self, shop: LiveShop, change: SessionUpdated) -> None:
        cabin = self._cabin(shop, change.cabin_id)
        session = self._open_session(shop, cabin, change.session_id, change.opened_at)
        if session is not None and session.opened_at != change.opened_at:
            session.opened_at = change.opened_at
            self._mark(shop.id, cabin.id)

    def _open_session(self, shop: LiveShop, cabin: LiveCabin, session_id: int,
                      opened_at: datetime) -> LiveSession | None:
        """The cabin's open session `session_id`, started now if it is newer than the
        one shown (which was then paid); None if it is one already paid."""
        if session_id <= cabin.closed_up_to:
            return None
        current = cabin.session
        if current is not None and current.id == session_id:
            return current
        if current is not None and current.id > session_id:
            return None
        if current is not None:
            cabin.closed_up_to = max(cabin.closed_up_to, current.id)
        cabin.session = LiveSession(session_id, opened_at, shop.currency)
        self._mark(shop.id, cabin.id)
        return cabin.session

    def _balance(self, shop: LiveShop, change: BalanceUpdated) -> None:
        if change.account_id != shop.account_id:
            return
        shop.balance = change.balance
        available = change.available
        shop.available = available if available is not None else change.balance
        self.hub.publish(shop.id, "balance", balance_json(shop.balance, shop.available))

    # ----------------------------------------------------- the server's changes ----
    def session_closed(self, shop_id: int, cabin_id: int, session_id: int) -> None:
        """A Pay committed: the session is over and the cabin free for the next
        customer (unless a call is already dialing)."""
        shop = self._shops.get(shop_id)
        if shop is None:
            return
        cabin = shop.cabins.get(cabin_id)
        if cabin is None:
            return
        cabin.closed_up_to = max(cabin.closed_up_to, session_id)
        if cabin.session is not None and cabin.session.id <= session_id:
            cabin.session = None
            self._publish_cabin(shop, cabin)

    async def async_cabins_changed(self, shop_id: int) -> None:
        """Cabins of the shop were added, edited or deleted: read their settings and
        publish the cabins that look different."""
        shop = await self.async_shop(shop_id)
        if shop is None:
            return
        rows = {row.id: row for row in await self._load_cabins(shop_id)}
        for cabin_id, cabin in list(shop.cabins.items()):
            if cabin_id not in rows:
                cabin.deleted = True
                self._publish_cabin(shop, cabin)
                del shop.cabins[cabin_id]
        for row in rows.values():
            settings = (row.name, row.position, row.site, row.enabled)
            known = shop.cabins.get(row.id)
            if known is None:
                known = shop.cabins[row.id] = LiveCabin(row.id, *settings)
            elif (known.name, known.position, known.site, known.enabled) == settings:
                continue
            known.name, known.position, known.site, known.enabled = settings
            self._publish_cabin(shop, known)

    async def async_shops_changed(self) -> None:
        """Shops were added or their settings edited: take their names, locales and
        time zones (not evented; the next snapshot shows them) and load new shops."""
        for shop_id, (name, locale, timezone, training) in (await self._load_infos()).items():
            shop = self._shops.get(shop_id)
            if shop is None:
                await self._ensure(shop_id)
                continue
            shop.name, shop.locale, shop.timezone, shop.training = (name, locale, timezone,
                                                                    training)

    def switches_changed(self) -> None:
        """A PBX link went up or down: publish each shop whose status moved."""
        for shop in self._shops.values():
            status = self._switch_of(shop)
            if status != shop.switch:
                shop.switch = status
                self.hub.publish(shop.id, "switch", status.json())

    # --------------------------------------------------------------- snapshot ----
    def snapshot(self, shop: LiveShop, *, reserved: Money | None, now: datetime) -> dict[str, Any]:
        """The shop as of its latest event, for `GET /live`. `reserved`: what the live
        calls hold now (None: as of the last balance change)."""
        self._flush()  # cabins marked but not yet published are published first
        available = shop.available if reserved is None else shop.balance - reserved
        return {
            "instance": self.hub.instance,
            "seq": self.hub.sequence(shop.id),
            "server_time": instant(now),
            "callshop": shop.info_json(),
            "balance": balance_json(shop.balance, available),
            "switch": shop.switch.json(),
            "cabins": [cabin_json(cabin)
                       for cabin in sorted(shop.cabins.values(), key=cabin_order)],
        }

    # ------------------------------------------------------------- publishing ----
    def _cabin(self, shop: LiveShop, cabin_id: int) -> LiveCabin:
        cabin = shop.cabins.get(cabin_id)
        if cabin is None:
            # Added behind the API's back (a script): shown at once, named after a read.
            cabin = shop.cabins[cabin_id] = LiveCabin(cabin_id, f"Cabin {cabin_id}",
                                                      cabin_id, "", True)
            self._spawn(self.async_cabins_changed(shop.id))
        return cabin

    def _mark(self, shop_id: int, cabin_id: int) -> None:
        """The cabin changed: published once, after the changes queued with this one
        (a call and its session arrive together), not once per change."""
        self._dirty.setdefault(shop_id, set()).add(cabin_id)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, {}
        for shop_id, cabin_ids in dirty.items():
            shop = self._shops.get(shop_id)
            if shop is None:
                continue
            for cabin_id in sorted(cabin_ids):
                cabin = shop.cabins.get(cabin_id)
                if cabin is not None:
                    self.hub.publish(shop_id, "cabin", cabin_json(cabin))

    def _publish_cabin(self, shop: LiveShop, cabin: LiveCabin) -> None:
        self._dirty.get(shop.id, set()).discard(cabin.id)
        self.hub.publish(shop.id, "cabin", cabin_json(cabin))

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def async_close(self) -> None:
        for task in list(self._tasks) + list(self._loading.values()):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._loading.values(), return_exceptions=True)


def loaders(run_read: Callable[..., Awaitable[Any]]
            ) -> tuple[ShopLoader, CabinLoader, InfoLoader]:
    """The board's readers over `run_read(work, *args)` (a read-only transaction on a
    database thread)."""
    async def load_shops(shop_ids: Iterable[int] | None) -> dict[int, LiveShop]:
        return await run_read(read_shops, None if shop_ids is None else list(shop_ids))

    async def load_cabins(shop_id: int) -> list[CabinRow]:
        return await run_read(read_cabins, [shop_id])

    async def load_infos() -> dict[int, tuple[str, str, str, bool]]:
        return await run_read(read_shop_infos)

    return load_shops, load_cabins, load_infos
