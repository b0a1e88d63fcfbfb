"""Billing inside the server: the rating engine, the call tracker and its writer thread
(`CallService`), the PBX bridges chosen by configuration, and the live board the desks
watch — started in the app's `cleanup_ctx` and stopped cleanly with it.

Start: (training shop made, in demo mode) → rates loaded → live board loaded → tracker
takes over the database's live calls → bridges connect → reconciled with each PBX's
live calls → the guard's timer runs. Stop: bridges disconnect, the events already
received are written, the writer thread closes; then the database closes.

What else moves billing goes through here, after its transaction committed:

- rate, tariff, cabin and shop edits → `refresh_rates` (a cheap `Rater.refresh`, on
  the writer thread between two billing operations), by `after_commit_middleware`;
- cabin edits → the board's cabins and the bridges' cabin listeners;
- a Pay → the cabin's session is closed on the board (the cabin is free);
- a top-up → the tracker takes the new balance (the guard moves the cut) and the
  balance is published.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cashdesk.calls.service import CallService
from cashdesk.calls.tracker import CallTracker
from cashdesk.money import Money
from cashdesk.pbx.bridge import PbxBridge
from cashdesk.pbx.training import training_bridge_for
from cashdesk.prepaid.guard import account_budget
from cashdesk.prepaid.timeline import epoch_ms
from cashdesk.rating.rater import Rater
from cashdesk.server.board import LiveBoard, LiveShop, loaders
from cashdesk.server.bridges import (
    NONE,
    BridgeContext,
    BridgeFactory,
    CabinAccount,
    CabinDirectory,
    LinkStatus,
    SupervisedBridge,
    create_bridge,
    factory_for,
)
from cashdesk.server.demo import ensure_training_shop
from cashdesk.server.hub import EventHub
from cashdesk.server.live import NO_SWITCH, SwitchStatus
from cashdesk.server.state import CLOCK, CONFIG, PRINCIPAL, READERS, ROUTES, SESSIONS, run_db
from cashdesk.store.models import Cabin, Callshop

log = logging.getLogger("cashdesk.server.billing")
T = TypeVar("T")

#: The PBX kind that simulates customers in training shops.
TRAINING = "training"
#: Route tags whose changes can move a rate, a tariff or which tariff a cabin uses.
RATING_TAGS = frozenset({"rates", "tariffs", "buy tariffs", "cabins", "callshops"})


@dataclass
class BridgeSlot:
    """One running bridge, its link status, and the shops whose cabins it carries
    (None: every shop not carried by another slot)."""

    bridge: PbxBridge
    link: LinkStatus
    shops: frozenset[int] | None


class Billing:
    """What the rest of the server reaches billing through (see the module doc)."""

    def __init__(self, *, rater: Rater, tracker: CallTracker, service: CallService,
                 board: LiveBoard, cabins: CabinDirectory, slots: list[BridgeSlot],
                 readers: sessionmaker[Session], clock: Any) -> None:
        self.rater = rater
        self.tracker = tracker
        self.service = service
        self.board = board
        self.cabins = cabins
        self.slots = slots
        self._readers = readers
        self._clock = clock

    # ------------------------------------------------------------- changes ----
    async def refresh_rates(self) -> None:
        def refresh() -> None:
            with self._readers.begin() as session:
                report = self.rater.refresh(session)
            if report.changed:
                log.info("rates reloaded: tariffs %s, cabins %s", sorted(report.tariffs),
                         sorted(report.cabins))
        await self.service.async_refresh_rates(refresh)

    async def cabins_changed(self, shop_id: int) -> None:
        await self.board.async_cabins_changed(shop_id)
        await self.cabins.async_changed()
        await self.service.async_warm(shop_id)

    async def shops_changed(self) -> None:
        await self.board.async_shops_changed()

    def session_paid(self, shop_id: int, cabin_id: int, session_id: int) -> None:
        self.board.session_closed(shop_id, cabin_id, session_id)

    async def balance_changed(self, shop_id: int) -> None:
        shop = await self.board.async_shop(shop_id)
        if shop is not None:
            await self.service.async_balances_changed([shop.account_id])

    # ------------------------------------------------------------ snapshot ----
    async def snapshot(self, shop_id: int) -> dict[str, Any] | None:
        """`GET /live` of a shop; None if there is no such shop."""
        shop = await self.board.async_shop(shop_id)
        if shop is None:
            return None
        held = await self.service.async_inspect(partial(_reserved, account_id=shop.account_id))
        return self.board.snapshot(shop, reserved=Money.from_sub_units(held, shop.currency),
                                   now=self._clock.now())

    def switch_of(self, shop: LiveShop) -> SwitchStatus:
        shared = None
        for slot in self.slots:
            if slot.shops is None:
                shared = slot
            elif shop.id in slot.shops:
                return SwitchStatus(slot.link.connected, slot.link.kind)
        if shared is None:
            return NO_SWITCH
        return SwitchStatus(shared.link.connected, shared.link.kind)


def _reserved(tracker: CallTracker, *, account_id: int) -> int:
    """What the live calls hold of an account now (sub-units); writer thread."""
    key = account_budget(account_id)
    guard = tracker.guard
    if not guard.has_budget(key):
        return 0
    return guard.limit(key) - guard.available(key)


# --- the app's keys and hooks ------------------------------------------------------------

HUB = web.AppKey("hub", EventHub)
BILLING = web.AppKey("billing", Billing)
#: A bridge factory that replaces the one `pbx` names (tests, benchmarks).
PBX_FACTORY = web.AppKey("pbx_factory", object)


def billing_of(app: web.Application) -> Billing | None:
    return app.get(BILLING)


async def after_payment(app: web.Application, shop_id: int, cabin_id: int,
                        session_id: int) -> None:
    """A Pay committed: the cabin is free (published at once)."""
    billing = billing_of(app)
    if billing is not None:
        billing.session_paid(shop_id, cabin_id, session_id)


async def after_topup(app: web.Application, shop_id: int) -> None:
    """A top-up committed: the guard takes the new balance and it is published."""
    billing = billing_of(app)
    if billing is not None:
        try:
            await billing.balance_changed(shop_id)
        except Exception:
            # The top-up itself is saved; the cut moves at the next charge anyway.
            log.exception("callshop %s: billing could not take its new balance", shop_id)


@web.middleware
async def after_commit_middleware(request: web.Request,
                                  handler: Callable[[web.Request],
                                                    Awaitable[web.StreamResponse]]
                                  ) -> web.StreamResponse:
    """After a successful change of rates, tariffs, cabins or shops: reload what
    billing keeps in memory, before answering (so the next call is rated with it)."""
    response = await handler(request)
    if request.method in ("GET", "HEAD", "OPTIONS") or response.status >= 400:
        return response
    billing = billing_of(request.app)
    route = request.app[ROUTES].get(request.match_info.route) \
        if request.match_info.http_exception is None else None
    if billing is None or route is None:
        return response
    principal = request.get(PRINCIPAL)
    try:
        if route.tag in RATING_TAGS:
            await billing.refresh_rates()
        if route.tag == "cabins" and principal is not None \
                and principal.callshop_id is not None:
            await billing.cabins_changed(principal.callshop_id)
        if route.tag == "callshops":
            await billing.shops_changed()
    except Exception:
        log.exception("billing could not take the change of %s %s into account",
                      request.method, request.path)
    return response


# --- start and stop ---------------------------------------------------------------------

def _cabin_accounts(session: Session) -> list[CabinAccount]:
    rows = session.execute(
        select(Cabin.id, Cabin.callshop_id, Cabin.name, Cabin.sip_username, Cabin.sip_realm,
               Cabin.sip_ha1, Cabin.enabled, Callshop.training)
        .join(Callshop, Callshop.id == Cabin.callshop_id).order_by(Cabin.id))
    return [CabinAccount(*row) for row in rows]


def _training_shops(session: Session) -> list[int]:
    return list(session.scalars(select(Callshop.id).where(Callshop.training.is_(True),
                                                          Callshop.active.is_(True))))


async def billing_context(app: web.Application) -> AsyncIterator[None]:
    """The `cleanup_ctx` that runs billing (after the database's)."""
    config, clock = app[CONFIG], app[CLOCK]

    async def read(work: Callable[..., T], *args: Any) -> T:
        return await run_db(app, work, *args, read_only=True)

    if config.demo:
        training = await run_db(app, ensure_training_shop, clock)
        banner = training.banner(config.base_url)
        print(banner, flush=True)
        log.info("demo mode: training shop %d, logins %s", training.callshop_id,
                 ", ".join(training.logins))

    rater = Rater()
    await read(rater.load)
    cabins = CabinDirectory(partial(read, _cabin_accounts))
    slots: list[BridgeSlot] = []
    billing_ref: list[Billing] = []

    def links_changed() -> None:
        if billing_ref:
            billing_ref[0].board.switches_changed()

    # Simulated customers in training shops: those of the demo, or all of them when
    # the PBX itself is the training one.
    training_shops: set[int] = set()
    if config.demo:
        training_shops.add(training.callshop_id)
    if config.pbx == TRAINING:
        training_shops.update(await read(_training_shops))
    seed = epoch_ms(clock.now())
    for shop_id in sorted(training_shops):
        simulated = await read(lambda s, shop=shop_id: training_bridge_for(
            s, rater, clock, shop, seed=seed + shop))
        link = LinkStatus(TRAINING, on_change=links_changed)
        slots.append(BridgeSlot(SupervisedBridge(simulated, link), link,
                                frozenset({shop_id})))

    factory: BridgeFactory | None = app.get(PBX_FACTORY)  # type: ignore[assignment]
    kind = config.pbx
    if factory is None and kind not in (NONE, TRAINING):
        factory = factory_for(kind)
    if factory is not None:
        link = LinkStatus(kind, on_change=links_changed)
        context = BridgeContext(kind=kind, settings=config.pbx_settings.get(kind, {}),
                                config=config, clock=clock, link=link, cabins=cabins)
        bridge = await create_bridge(factory, context)
        link.kind = bridge.name if kind in (NONE, TRAINING) else kind
        slots.append(BridgeSlot(SupervisedBridge(bridge, link), link, None))

    hub = app[HUB]
    board = LiveBoard(hub, *loaders(read), switch_of=lambda shop: billing_ref[0].switch_of(shop)
                      if billing_ref else NO_SWITCH)
    tracker = CallTracker(app[SESSIONS], clock, rater)
    service = CallService(tracker, [slot.bridge for slot in slots], publish=board.apply)
    for slot in slots:
        slot.link.on_reconnect(partial(service.bridge_reconnected, slot.bridge))
    billing = Billing(rater=rater, tracker=tracker, service=service, board=board,
                      cabins=cabins, slots=slots, readers=app[READERS], clock=clock)
    billing_ref.append(billing)
    await board.async_load()
    app[BILLING] = billing
    try:
        await service.async_start()
    except BaseException:
        await service.async_stop()
        await board.async_close()
        raise
    log.info("billing started: PBX %s%s", ", ".join(s.link.kind for s in slots) or "none",
             f" (training shops {sorted(training_shops)})" if training_shops else "")
    yield
    await service.async_stop()
    await board.async_close()
    log.info("billing stopped")
