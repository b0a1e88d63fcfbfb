"""Callshops. Inside a shop: its settings, including the numbering plan and the fraud
guard. For a reseller: the shops it sells airtime to, created with their first admin,
and the buy tariff each one pays."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cashdesk.auth.passwords import WeakPassword, check_strength
from cashdesk.auth.roles import Permission
from cashdesk.clock import Clock
from cashdesk.server import scope
from cashdesk.server.errors import Conflict, Invalid
from cashdesk.server.routes import Ctx, RouteTable
from cashdesk.server.schema import (
    PAGING,
    Bool,
    Int,
    ListOf,
    MoneyText,
    Obj,
    Secret,
    Str,
    Timestamp,
    page_of,
)
from cashdesk.server.wire import (
    SHOP_SUMMARY,
    USER,
    comma_list,
    comma_text,
    money,
    optional_money,
    shop_summary_json,
    timestamp,
    user_json,
)
from cashdesk.shops import ShopError, check_locale, check_timezone, create_callshop
from cashdesk.store.models import Account, Callshop, Reseller, User
from cashdesk.users import USERNAME, UserError

routes = RouteTable("callshops")

# --- the shop's own settings -------------------------------------------------------------

FRAUD_GUARD = Obj({
    "blocked_prefixes": ListOf(Str(pattern=r"\d{1,20}", pattern_help="use 1 to 20 digits"),
                               "calls to these prefixes are refused before routing",
                               max_items=2000, default=list),
    "max_call_seconds": Int("longest call in any cabin; null for no limit", minimum=1,
                            nullable=True, default=None),
    "max_session_amount": MoneyText("largest unpaid total of a cabin; null for no limit",
                                    nullable=True, default=None),
})

RATING = Obj({
    "default_tariff_id": Int("the sell tariff of cabins that name none", nullable=True,
                             default=None),
    "international_prefixes": ListOf(Str(pattern=r"\d{1,6}", pattern_help="use digits"),
                                     "stripped before rating, e.g. 00 and 011",
                                     max_items=10, default=list),
    "tech_prefixes": ListOf(Str(pattern=r"[0-9*#]{1,10}",
                                pattern_help="use digits, * or #"),
                            "routing prefixes stripped before rating", max_items=20,
                            default=list),
    "national_prefix": Str("the trunk prefix of national numbers, e.g. 0", pattern=r"\d{0,4}",
                           pattern_help="use up to 4 digits", default=""),
    "country_code": Str("the shop's country calling code, e.g. 33", pattern=r"\d{0,4}",
                        pattern_help="use up to 4 digits", default=""),
})

SHOP = SHOP_SUMMARY.extend({
    "rating": RATING,
    "fraud_guard": FRAUD_GUARD,
})

# Column widths of the comma-separated lists.
_LIST_WIDTH = {"international_prefixes": 60, "tech_prefixes": 200}


def shop_json(shop: Callshop) -> dict[str, Any]:
    return {
        **shop_summary_json(shop),
        "rating": {
            "default_tariff_id": shop.default_tariff_id,
            "international_prefixes": comma_list(shop.international_prefixes),
            "tech_prefixes": comma_list(shop.tech_prefixes),
            "national_prefix": shop.national_prefix,
            "country_code": shop.country_code,
        },
        "fraud_guard": {
            "blocked_prefixes": comma_list(shop.blocked_prefixes),
            "max_call_seconds": shop.max_call_seconds,
            "max_session_amount": optional_money(shop.max_session_amount, shop.currency),
        },
    }


@routes.get("/shop", Permission.VIEW_LIVE, "The caller's callshop and its settings",
            response=SHOP)
async def get_shop(ctx: Ctx) -> dict[str, Any]:
    def work(session: Session, shop_id: int) -> dict[str, Any]:
        return shop_json(session.get_one(Callshop, shop_id))

    return await ctx.db(work, ctx.shop_id)


@routes.patch("/shop/fraud-guard", Permission.MANAGE_FRAUD_GUARD,
              "Change the fraud guard: blocked prefixes and limits",
              request=FRAUD_GUARD.partial(), response=SHOP)
async def update_fraud_guard(ctx: Ctx) -> dict[str, Any]:
    def work(session: Session, shop_id: int, body: dict[str, Any]) -> dict[str, Any]:
        shop = session.get_one(Callshop, shop_id)
        for name, value in body.items():
            setattr(shop, name, comma_text(value) if name == "blocked_prefixes" else value)
        session.flush()
        return shop_json(shop)

    return await ctx.db(work, ctx.shop_id, ctx.body)


@routes.patch("/shop/rating", Permission.MANAGE_SELL_RATES,
              "Change how calls are rated: default tariff and numbering plan",
              request=RATING.partial(), response=SHOP)
async def update_rating(ctx: Ctx) -> dict[str, Any]:
    def work(session: Session, shop_id: int, body: dict[str, Any]) -> dict[str, Any]:
        shop = session.get_one(Callshop, shop_id)
        if body.get("default_tariff_id") is not None:
            scope.sell_tariff(session, shop_id, body["default_tariff_id"])
        for name, value in body.items():
            if isinstance(value, list):
                value = comma_text(value)
                if len(value) > _LIST_WIDTH[name]:
                    raise Invalid(f"{name}: longer than {_LIST_WIDTH[name]} characters "
                                  "in all", field=name)
            setattr(shop, name, value)
        session.flush()
        return shop_json(shop)

    return await ctx.db(work, ctx.shop_id, ctx.body)


# --- the reseller's callshops -------------------------------------------------------------

CALLSHOP = SHOP_SUMMARY.extend({
    "buy_tariff_id": Int(nullable=True),
    "default_tariff_id": Int(nullable=True),
    "balance": MoneyText("the shop's prepaid balance with you"),
    "created_at": Timestamp(),
})

CALLSHOP_CHANGE = Obj({
    "name": Str(min_len=1, max_len=120),
    "locale": Str("e.g. en, fr_FR, ar_MA", min_len=2, max_len=20),
    "timezone": Str("e.g. Europe/Paris", min_len=1, max_len=64),
    "active": Bool("a disabled shop's users cannot log in"),
}).partial()

CALLSHOP_CREATE = Obj({
    "name": Str(min_len=1, max_len=120),
    "currency": Str("ISO 4217; must be your account's currency (the default)",
                    pattern=r"[A-Za-z]{3}", pattern_help="use a 3-letter ISO code such as EUR",
                    required=False),
    "locale": Str("e.g. en, fr_FR, ar_MA", min_len=2, max_len=20, default="en"),
    "timezone": Str("e.g. Europe/Paris", min_len=1, max_len=64, default="UTC"),
    "training": Bool("a training shop's calls never touch a real balance", default=False),
    "buy_tariff_id": Int("what the shop pays you; one of your buy tariffs", nullable=True,
                         default=None),
    "admin_username": Str(min_len=2, max_len=64, pattern=USERNAME.pattern[1:-1],
                          pattern_help="use 2 to 64 letters, digits, '.', '_', '@' or '-'"),
    "admin_password": Secret("at least 8 characters", max_len=1024),
    "admin_display_name": Str(max_len=120, default=""),
})

CREATED = Obj({"callshop": CALLSHOP, "admin": USER})


def callshop_json(session: Session, shop: Callshop) -> dict[str, Any]:
    account = session.get_one(Account, shop.account_id)
    return {**shop_summary_json(shop), "buy_tariff_id": shop.buy_tariff_id,
            "default_tariff_id": shop.default_tariff_id,
            "balance": money(account.balance, account.currency),
            "created_at": timestamp(shop.created_at)}


@routes.get("/callshops", Permission.MANAGE_CALLSHOPS, "List your callshops, paged",
            query=PAGING, response=page_of(CALLSHOP))
async def list_callshops(ctx: Ctx) -> dict[str, Any]:
    def work(session: Session, reseller_id: int, paging: dict[str, int]) -> dict[str, Any]:
        query = (select(Callshop).where(Callshop.reseller_id == reseller_id)
                 .order_by(Callshop.name, Callshop.id))
        rows, total = scope.page(session, query, paging["offset"], paging["limit"])
        return {"items": [callshop_json(session, shop) for shop in rows], "total": total,
                **paging}

    return await ctx.db(work, ctx.principal.reseller_id, ctx.query)


def _create(session: Session, clock: Clock, reseller_id: int,
            body: dict[str, Any]) -> dict[str, Any]:
    reseller = session.get_one(Reseller, reseller_id)
    if session.scalar(select(User.id).where(User.username == body["admin_username"])):
        raise Conflict(f"the username {body['admin_username']!r} is taken",
                       field="admin_username")
    buy_tariff = (scope.buy_tariff(session, reseller_id, body["buy_tariff_id"])
                  if body["buy_tariff_id"] is not None else None)
    currency = body.get("currency") or session.get_one(Account, reseller.account_id).currency
    try:
        created = create_callshop(session, clock, reseller, name=body["name"],
                                  currency=currency, admin_username=body["admin_username"],
                                  admin_password=body["admin_password"],
                                  locale=body["locale"], timezone=body["timezone"],
                                  training=body["training"], buy_tariff=buy_tariff)
    except (ShopError, UserError) as exc:
        raise Invalid(str(exc)) from None
    if body["admin_display_name"]:
        created.admin.display_name = body["admin_display_name"]
    session.flush()
    return {"callshop": callshop_json(session, created.callshop),
            "admin": user_json(created.admin)}


@routes.post("/callshops", Permission.MANAGE_CALLSHOPS,
             "Create a callshop with its first admin", request=CALLSHOP_CREATE,
             response=CREATED, status=201)
async def add_callshop(ctx: Ctx) -> dict[str, Any]:
    """The shop gets a prepaid account under yours (balance 0), an empty 'Standard' sell
    tariff, default invoice settings and its admin, who can log in at once."""
    try:
        check_strength(ctx.body["admin_password"])
    except WeakPassword as exc:
        raise Invalid(f"admin_password: {exc}", field="admin_password") from None
    return await ctx.db(_create, ctx.clock, ctx.principal.reseller_id, ctx.body)


@routes.get("/callshops/{shop_id}", Permission.MANAGE_CALLSHOPS, "One of your callshops",
            response=CALLSHOP)
async def get_callshop(ctx: Ctx) -> dict[str, Any]:
    def work(session: Session, reseller_id: int, shop_id: int) -> dict[str, Any]:
        return callshop_json(session, scope.reseller_shop(session, reseller_id, shop_id))

    return await ctx.db(work, ctx.principal.reseller_id, ctx.params["shop_id"])


@routes.patch("/callshops/{shop_id}", Permission.MANAGE_CALLSHOPS,
              "Change one of your callshops (active=false locks its users out)",
              request=CALLSHOP_CHANGE, response=CALLSHOP)
async def update_callshop(ctx: Ctx) -> dict[str, Any]:
    def work(session: Session, reseller_id: int, shop_id: int,
             body: dict[str, Any]) -> dict[str, Any]:
        shop = scope.reseller_shop(session, reseller_id, shop_id)
        try:
            if "locale" in body:
                check_locale(body["locale"])
            if "timezone" in body:
                check_timezone(body["timezone"])
        except ShopError as exc:
            raise Invalid(str(exc)) from None
        for name, value in body.items():
            setattr(shop, name, value)
        session.flush()
        return callshop_json(session, shop)

    return await ctx.db(work, ctx.principal.reseller_id, ctx.params["shop_id"], ctx.body)


@routes.put("/callshops/{shop_id}/buy-tariff", Permission.MANAGE_BUY_RATES,
            "Set the buy tariff a callshop pays you",
            request=Obj({"tariff_id": Int("one of your buy tariffs; null for none",
                                          nullable=True)}),
            response=CALLSHOP)
async def set_buy_tariff(ctx: Ctx) -> dict[str, Any]:
    """Without a buy tariff the shop's calls cannot be priced and are refused."""
    def work(session: Session, reseller_id: int, shop_id: int,
             tariff_id: int | None) -> dict[str, Any]:
        shop = scope.reseller_shop(session, reseller_id, shop_id)
        if tariff_id is not None:
            tariff = scope.buy_tariff(session, reseller_id, tariff_id)
            if tariff.currency != shop.currency:
                raise Invalid(f"the tariff is in {tariff.currency}; the shop pays in "
                              f"{shop.currency}", field="tariff_id")
        shop.buy_tariff_id = tariff_id
        session.flush()
        return callshop_json(session, shop)

    return await ctx.db(work, ctx.principal.reseller_id, ctx.params["shop_id"],
                        ctx.body["tariff_id"])
