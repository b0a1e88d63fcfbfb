"""Sell tariffs: the shop's own price lists (its revenue). A cabin uses its tariff, or
the shop's default tariff when it names none. The reseller's buy tariffs (the shop's
cost) are in `buy_tariffs`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cashdesk.auth.roles import Permission
from cashdesk.server import scope
from cashdesk.server.errors import Conflict
from cashdesk.server.routes import Ctx, RouteTable
from cashdesk.server.schema import Bool, Int, ListOf, Obj, Str, Timestamp
from cashdesk.server.wire import timestamp
from cashdesk.store.models import Cabin, Callshop, Rate, Tariff

routes = RouteTable("tariffs")

NAME = Obj({"name": Str(min_len=1, max_len=120)})

TARIFF = Obj({
    "id": Int(),
    "name": Str(),
    "currency": Str(),
    "revision": Int("bumped on every change of its rates"),
    "updated_at": Timestamp(),
    "rate_count": Int(minimum=0),
})

SELL_TARIFF = TARIFF.extend({"is_default": Bool("the tariff of cabins that name none")})


def bump(tariff: Tariff, now: datetime) -> None:
    """Mark a tariff changed, so the rating index rebuilds it."""
    tariff.revision += 1
    tariff.updated_at = now


def rate_count(session: Session, tariff_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(Rate)
                              .where(Rate.tariff_id == tariff_id)) or 0)


def tariff_json(session: Session, tariff: Tariff) -> dict[str, Any]:
    return {"id": tariff.id, "name": tariff.name, "currency": tariff.currency,
            "revision": tariff.revision, "updated_at": timestamp(tariff.updated_at),
            "rate_count": rate_count(session, tariff.id)}


def _sell_json(session: Session, tariff: Tariff) -> dict[str, Any]:
    shop = session.get_one(Callshop, tariff.callshop_id)
    return {**tariff_json(session, tariff), "is_default": shop.default_tariff_id == tariff.id}


def check_name_free(session: Session, name: str, *, reseller_id: int, callshop_id: int | None,
                    tariff_id: int | None = None) -> None:
    # Buy tariffs have callshop_id NULL, which a UNIQUE constraint does not compare.
    taken = session.scalar(select(Tariff.id).where(
        Tariff.reseller_id == reseller_id, Tariff.name == name,
        Tariff.callshop_id.is_(None) if callshop_id is None
        else Tariff.callshop_id == callshop_id))
    if taken is not None and taken != tariff_id:
        raise Conflict(f"there is already a tariff named {name!r}", field="name")


@routes.get("/tariffs", Permission.VIEW_SELL_RATES, "List the shop's sell tariffs",
            response=ListOf(SELL_TARIFF))
async def list_tariffs(ctx: Ctx) -> list[dict[str, Any]]:
    def work(session: Session, shop_id: int) -> list[dict[str, Any]]:
        tariffs = session.scalars(select(Tariff).where(Tariff.callshop_id == shop_id)
                                  .order_by(Tariff.name))
        return [_sell_json(session, tariff) for tariff in tariffs]

    return await ctx.db(work, ctx.shop_id)


@routes.post("/tariffs", Permission.MANAGE_SELL_RATES, "Add an empty sell tariff",
             request=NAME, response=SELL_TARIFF, status=201)
async def create_tariff(ctx: Ctx) -> dict[str, Any]:
    now = ctx.now()

    def work(session: Session, shop_id: int, name: str) -> dict[str, Any]:
        shop = session.get_one(Callshop, shop_id)
        check_name_free(session, name, reseller_id=shop.reseller_id, callshop_id=shop.id)
        tariff = Tariff(reseller_id=shop.reseller_id, callshop_id=shop.id, name=name,
                        currency=shop.currency, revision=0, updated_at=now)
        session.add(tariff)
        session.flush()
        return _sell_json(session, tariff)

    return await ctx.db(work, ctx.shop_id, ctx.body["name"])


@routes.get("/tariffs/{tariff_id}", Permission.VIEW_SELL_RATES, "One sell tariff",
            response=SELL_TARIFF)
async def get_tariff(ctx: Ctx) -> dict[str, Any]:
    def work(session: Session, shop_id: int, tariff_id: int) -> dict[str, Any]:
        return _sell_json(session, scope.sell_tariff(session, shop_id, tariff_id))

    return await ctx.db(work, ctx.shop_id, ctx.params["tariff_id"])


@routes.patch("/tariffs/{tariff_id}", Permission.MANAGE_SELL_RATES, "Rename a sell tariff",
              request=NAME.partial(), response=SELL_TARIFF)
async def update_tariff(ctx: Ctx) -> dict[str, Any]:
    now = ctx.now()

    def work(session: Session, shop_id: int, tariff_id: int,
             body: dict[str, Any]) -> dict[str, Any]:
        tariff = scope.sell_tariff(session, shop_id, tariff_id)
        if "name" in body and body["name"] != tariff.name:
            check_name_free(session, body["name"], reseller_id=tariff.reseller_id,
                            callshop_id=shop_id, tariff_id=tariff.id)
            tariff.name = body["name"]
            tariff.updated_at = now
        session.flush()
        return _sell_json(session, tariff)

    return await ctx.db(work, ctx.shop_id, ctx.params["tariff_id"], ctx.body)


@routes.delete("/tariffs/{tariff_id}", Permission.MANAGE_SELL_RATES,
               "Delete a sell tariff and its rates")
async def delete_tariff(ctx: Ctx) -> None:
    """Refused for the shop's default tariff and for a tariff cabins use. Calls keep the
    prices they were rated at, so history is unaffected."""
    def work(session: Session, shop_id: int, tariff_id: int) -> None:
        tariff = scope.sell_tariff(session, shop_id, tariff_id)
        shop = session.get_one(Callshop, shop_id)
        if shop.default_tariff_id == tariff.id:
            raise Conflict(f"{tariff.name!r} is the shop's default tariff; "
                           "make another one the default first")
        cabins = list(session.scalars(select(Cabin.name).where(Cabin.tariff_id == tariff.id)
                                      .order_by(Cabin.name)))
        if cabins:
            raise Conflict(f"cabins use the tariff {tariff.name!r}: {', '.join(cabins)}")
        session.delete(tariff)

    await ctx.db(work, ctx.shop_id, ctx.params["tariff_id"])
