"""The reseller's buy tariffs (what its callshops pay it: their cost) and their rates.
Scoped to the reseller's own tariffs; another reseller's ids answer 404."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cashdesk.auth.roles import Permission
from cashdesk.server import scope
from cashdesk.server.api.rates import (
    FILTERS,
    PRICE,
    RATE,
    check_prefix_free,
    edit_rate,
    rate_json,
    rate_page,
)
from cashdesk.server.api.tariffs import NAME, TARIFF, bump, check_name_free, tariff_json
from cashdesk.server.errors import Conflict
from cashdesk.server.routes import Ctx, RouteTable
from cashdesk.server.schema import Int, ListOf, page_of
from cashdesk.shops import create_buy_tariff
from cashdesk.store.models import Callshop, Rate, Reseller, Tariff

routes = RouteTable("buy tariffs")

BUY_TARIFF = TARIFF.extend({"callshop_count": Int("callshops buying at this tariff")})
BUY_QUERY = {"tariff_id": Int("the buy tariff's rates"), **FILTERS}
BUY_CREATE = PRICE.extend({"tariff_id": Int("the buy tariff the rate belongs to")})


def _buy_json(session: Session, tariff: Tariff) -> dict[str, Any]:
    shops = session.scalar(select(func.count()).select_from(Callshop)
                           .where(Callshop.buy_tariff_id == tariff.id))
    return {**tariff_json(session, tariff), "callshop_count": int(shops or 0)}


@routes.get("/buy-tariffs", Permission.MANAGE_BUY_RATES, "List your buy tariffs",
            response=ListOf(BUY_TARIFF))
async def list_buy_tariffs(ctx: Ctx) -> list[dict[str, Any]]:
    def work(session: Session, reseller_id: int) -> list[dict[str, Any]]:
        tariffs = session.scalars(select(Tariff).where(Tariff.reseller_id == reseller_id,
                                                       Tariff.callshop_id.is_(None))
                                  .order_by(Tariff.name))
        return [_buy_json(session, tariff) for tariff in tariffs]

    return await ctx.db(work, ctx.principal.reseller_id)


@routes.post("/buy-tariffs", Permission.MANAGE_BUY_RATES, "Add an empty buy tariff",
             request=NAME, response=BUY_TARIFF, status=201)
async def add_buy_tariff(ctx: Ctx) -> dict[str, Any]:
    clock = ctx.clock

    def work(session: Session, reseller_id: int, name: str) -> dict[str, Any]:
        check_name_free(session, name, reseller_id=reseller_id, callshop_id=None)
        tariff = create_buy_tariff(session, clock, session.get_one(Reseller, reseller_id), name)
        return _buy_json(session, tariff)

    return await ctx.db(work, ctx.principal.reseller_id, ctx.body["name"])


@routes.get("/buy-tariffs/{tariff_id}", Permission.MANAGE_BUY_RATES, "One buy tariff",
            response=BUY_TARIFF)
async def get_buy_tariff(ctx: Ctx) -> dict[str, Any]:
    def work(session: Session, reseller_id: int, tariff_id: int) -> dict[str, Any]:
        return _buy_json(session, scope.buy_tariff(session, reseller_id, tariff_id))

    return await ctx.db(work, ctx.principal.reseller_id, ctx.params["tariff_id"])


@routes.patch("/buy-tariffs/{tariff_id}", Permission.MANAGE_BUY_RATES, "Rename a buy tariff",
              request=NAME.partial(), response=BUY_TARIFF)
async def update_buy_tariff(ctx: Ctx) -> dict[str, Any]:
    now = ctx.now()

    def work(session: Session, reseller_id: int, tariff_id: int,
             body: dict[str, Any]) -> dict[str, Any]:
        tariff = scope.buy_tariff(session, reseller_id, tariff_id)
        if "name" in body and body["name"] != tariff.name:
            check_name_free(session, body["name"], reseller_id=reseller_id, callshop_id=None,
                            tariff_id=tariff.id)
            tariff.name = body["name"]
            tariff.updated_at = now
        session.flush()
        return _buy_json(session, tariff)

    return await ctx.db(work, ctx.principal.reseller_id, ctx.params["tariff_id"], ctx.body)


@routes.delete("/buy-tariffs/{tariff_id}", Permission.MANAGE_BUY_RATES,
               "Delete a buy tariff and its rates")
async def delete_buy_tariff(ctx: Ctx) -> None:
    """Refused while a callshop buys at it or it is your provider's price list."""
    def work(session: Session, reseller_id: int, tariff_id: int) -> None:
        tariff = scope.buy_tariff(session, reseller_id, tariff_id)
        shops = list(session.scalars(select(Callshop.name)
                                     .where(Callshop.buy_tariff_id == tariff.id)
                                     .order_by(Callshop.name)))
        if shops:
            raise Conflict(f"callshops buy at {tariff.name!r}: {', '.join(shops)}; "
                           "give them another buy tariff first")
        if session.get_one(Reseller, reseller_id).provider_tariff_id == tariff.id:
            raise Conflict(f"{tariff.name!r} is your provider's price list")
        session.delete(tariff)

    await ctx.db(work, ctx.principal.reseller_id, ctx.params["tariff_id"])


@routes.get("/buy-rates", Permission.MANAGE_BUY_RATES, "List a buy tariff's rates, paged",
            query=BUY_QUERY, response=page_of(RATE))
async def list_buy_rates(ctx: Ctx) -> dict[str, Any]:
    def work(session: Session, reseller_id: int, filters: dict[str, Any]) -> dict[str, Any]:
        tariff = scope.buy_tariff(session, reseller_id, filters["tariff_id"])
        return rate_page(session, select(Rate).where(Rate.tariff_id == tariff.id), filters,
                         tariff.currency)

    return await ctx.db(work, ctx.principal.reseller_id, ctx.query)


@routes.post("/buy-rates", Permission.MANAGE_BUY_RATES, "Add a rate to a buy tariff",
             request=BUY_CREATE, response=RATE, status=201)
async def create_buy_rate(ctx: Ctx) -> dict[str, Any]:
    now = ctx.now()

    def work(session: Session, reseller_id: int, body: dict[str, Any]) -> dict[str, Any]:
        tariff = scope.buy_tariff(session, reseller_id, body["tariff_id"])
        check_prefix_free(session, "tariff_id", tariff.id, body["prefix"])
        rate = Rate(**body)
        session.add(rate)
        session.flush()
        bump(tariff, now)
        return rate_json(rate, tariff.currency)

    return await ctx.db(work, ctx.principal.reseller_id, ctx.body)


@routes.patch("/buy-rates/{rate_id}", Permission.MANAGE_BUY_RATES, "Change a buy rate",
              request=PRICE.partial(), response=RATE)
async def update_buy_rate(ctx: Ctx) -> dict[str, Any]:
    now = ctx.now()

    def work(session: Session, reseller_id: int, rate_id: int,
             body: dict[str, Any]) -> dict[str, Any]:
        rate = scope.buy_rate(session, reseller_id, rate_id)
        edit_rate(session, rate, body)
        tariff = session.get_one(Tariff, rate.tariff_id)
        bump(tariff, now)
        return rate_json(rate, tariff.currency)

    return await ctx.db(work, ctx.principal.reseller_id, ctx.params["rate_id"], ctx.body)


@routes.delete("/buy-rates/{rate_id}", Permission.MANAGE_BUY_RATES, "Delete a buy rate")
async def delete_buy_rate(ctx: Ctx) -> None:
    now = ctx.now()

    def work(session: Session, reseller_id: int, rate_id: int) -> None:
        rate = scope.buy_rate(session, reseller_id, rate_id)
        bump(session.get_one(Tariff, rate.tariff_id), now)
        session.delete(rate)

    await ctx.db(work, ctx.principal.reseller_id, ctx.params["rate_id"])
