"""Sell rates: one prefix's price in a shop's tariff, or directly on a cabin (overriding
its tariff for that prefix). Every change bumps the owning tariff's revision so the
in-memory rating index rebuilds. The helpers here also serve the buy rates."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cashdesk.auth.roles import Permission
from cashdesk.server import scope
from cashdesk.server.api.tariffs import bump
from cashdesk.server.errors import Conflict, Invalid
from cashdesk.server.routes import Ctx, RouteTable
from cashdesk.server.schema import PAGING, Int, MoneyText, Obj, Str, page_of
from cashdesk.server.wire import money
from cashdesk.store.models import Cabin, Callshop, Rate, Tariff

routes = RouteTable("rates")

PREFIX = r"\d{1,20}"

PRICE = Obj({
    "prefix": Str("the dialed digits it applies to, after normalisation", pattern=PREFIX,
                  pattern_help="use 1 to 20 digits (no +, 00 or spaces)"),
    "destination": Str(max_len=120, default=""),
    "price_per_minute": MoneyText(),
    "connection_fee": MoneyText(default=Decimal(0)),
    "initial_increment": Int("first billed block, seconds", minimum=1, maximum=3600,
                             default=60),
    "subsequent_increment": Int("each next billed block, seconds", minimum=1, maximum=3600,
                                default=60),
    "grace_seconds": Int("calls this short are free", minimum=0, maximum=3600, default=0),
})

RATE = Obj({
    "id": Int(),
    "tariff_id": Int(nullable=True),
    "cabin_id": Int(nullable=True),
    "prefix": Str(),
    "destination": Str(),
    "price_per_minute": MoneyText(),
    "connection_fee": MoneyText(),
    "initial_increment": Int(),
    "subsequent_increment": Int(),
    "grace_seconds": Int(),
})

FILTERS = {
    "prefix": Str("only prefixes starting with these digits", pattern=r"\d{1,20}",
                  required=False),
    "search": Str("only destinations containing this text", max_len=120, required=False),
    **PAGING,
}

SELL_QUERY = {
    "tariff_id": Int("the tariff's rates (give this or cabin_id)", required=False),
    "cabin_id": Int("the cabin's own rates (give this or tariff_id)", required=False),
    **FILTERS,
}

SELL_CREATE = PRICE.extend({
    "tariff_id": Int("the tariff the rate belongs to (give this or cabin_id)",
                     required=False),
    "cabin_id": Int("the cabin the rate overrides (give this or tariff_id)", required=False),
})


def rate_json(rate: Rate, currency: str) -> dict[str, Any]:
    return {
        "id": rate.id,
        "tariff_id": rate.tariff_id,
        "cabin_id": rate.cabin_id,
        "prefix": rate.prefix,
        "destination": rate.destination,
        "price_per_minute": money(rate.price_per_minute, currency),
        "connection_fee": money(rate.connection_fee, currency),
        "initial_increment": rate.initial_increment,
        "subsequent_increment": rate.subsequent_increment,
        "grace_seconds": rate.grace_seconds,
    }


def one_owner(values: dict[str, Any]) -> tuple[str, int]:
    """`tariff_id` or `cabin_id`, exactly one of them."""
    given = [(name, values[name]) for name in ("tariff_id", "cabin_id")
             if values.get(name) is not None]
    if len(given) != 1:
        raise Invalid("give either tariff_id or cabin_id (exactly one of them)")
    return given[0]


def filtered(query: Select[Any], filters: dict[str, Any]) -> Select[Any]:
    if filters.get("prefix"):
        query = query.where(Rate.prefix.startswith(filters["prefix"], autoescape=True))
    if filters.get("search"):
        query = query.where(Rate.destination.icontains(filters["search"], autoescape=True))
    return query.order_by(Rate.prefix, Rate.id)


def rate_page(session: Session, query: Select[Any], filters: dict[str, Any],
              currency: str) -> dict[str, Any]:
    rows, total = scope.page(session, filtered(query, filters), filters["offset"],
                             filters["limit"])
    return {"items": [rate_json(rate, currency) for rate in rows], "total": total,
            "offset": filters["offset"], "limit": filters["limit"]}


def check_prefix_free(session: Session, owner: str, owner_id: int, prefix: str,
                      rate_id: int | None = None) -> None:
    column = Rate.tariff_id if owner == "tariff_id" else Rate.cabin_id
    taken = session.scalar(select(Rate.id).where(column == owner_id, Rate.prefix == prefix))
    if taken is not None and taken != rate_id:
        where = "tariff" if owner == "tariff_id" else "cabin"
        raise Conflict(f"the prefix {prefix} already has a rate in this {where} "
                       f"(rate {taken}); edit that one", field="prefix")


def apply_price(rate: Rate, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(rate, name, value)


# --- the sell side: scoped to the caller's callshop ------------------------------------

def _touch(session: Session, rate: Rate, now: datetime) -> None:
    """Mark the rate's owner changed, so the rating index rebuilds it."""
    if rate.tariff_id is not None:
        bump(session.get_one(Tariff, rate.tariff_id), now)
    elif rate.cabin_id is not None:
        session.get_one(Cabin, rate.cabin_id).rates_revision += 1


def _sell_currency(session: Session, shop_id: int) -> str:
    return session.get_one(Callshop, shop_id).currency


def _owner_in_shop(session: Session, shop_id: int, owner: str, owner_id: int) -> None:
    if owner == "tariff_id":
        scope.sell_tariff(session, shop_id, owner_id)
    else:
        scope.cabin(session, shop_id, owner_id)


@routes.get("/rates", Permission.VIEW_SELL_RATES,
            "List a sell tariff's or a cabin's rates, paged", query=SELL_QUERY,
            response=page_of(RATE))
async def list_rates(ctx: Ctx) -> dict[str, Any]:
    def work(session: Session, shop_id: int, filters: dict[str, Any]) -> dict[str, Any]:
        owner, owner_id = one_owner(filters)
        _owner_in_shop(session, shop_id, owner, owner_id)
        column = Rate.tariff_id if owner == "tariff_id" else Rate.cabin_id
        return rate_page(session, select(Rate).where(column == owner_id), filters,
                         _sell_currency(session, shop_id))

    return await ctx.db(work, ctx.shop_id, ctx.query)


@routes.post("/rates", Permission.MANAGE_SELL_RATES, "Add a sell rate to a tariff or cabin",
             request=SELL_CREATE, response=RATE, status=201)
async def create_rate(ctx: Ctx) -> dict[str, Any]:
    now = ctx.now()

    def work(session: Session, shop_id: int, body: dict[str, Any]) -> dict[str, Any]:
        owner, owner_id = one_owner(body)
        _owner_in_shop(session, shop_id, owner, owner_id)
        check_prefix_free(session, owner, owner_id, body["prefix"])
        rate = Rate(**body)
        session.add(rate)
        session.flush()
        _touch(session, rate, now)
        return rate_json(rate, _sell_currency(session, shop_id))

    return await ctx.db(work, ctx.shop_id, ctx.body)


def edit_rate(session: Session, rate: Rate, body: dict[str, Any]) -> None:
    """Change the given fields of a rate, keeping its prefix unique in its owner."""
    if "prefix" in body:
        owner, owner_id = one_owner({"tariff_id": rate.tariff_id, "cabin_id": rate.cabin_id})
        check_prefix_free(session, owner, owner_id, body["prefix"], rate.id)
    apply_price(rate, body)
    session.flush()


@routes.patch("/rates/{rate_id}", Permission.MANAGE_SELL_RATES, "Change a sell rate",
              request=PRICE.partial(), response=RATE)
async def update_rate(ctx: Ctx) -> dict[str, Any]:
    now = ctx.now()

    def work(session: Session, shop_id: int, rate_id: int,
             body: dict[str, Any]) -> dict[str, Any]:
        rate = scope.sell_rate(session, shop_id, rate_id)
        edit_rate(session, rate, body)
        _touch(session, rate, now)
        return rate_json(rate, _sell_currency(session, shop_id))

    return await ctx.db(work, ctx.shop_id, ctx.params["rate_id"], ctx.body)


@routes.delete("/rates/{rate_id}", Permission.MANAGE_SELL_RATES, "Delete a sell rate")
async def delete_rate(ctx: Ctx) -> None:
    now = ctx.now()

    def work(session: Session, shop_id: int, rate_id: int) -> None:
        rate = scope.sell_rate(session, shop_id, rate_id)
        _touch(session, rate, now)
        session.delete(rate)

    await ctx.db(work, ctx.shop_id, ctx.params["rate_id"])
