"""Cabins: the phones customers call from. Each has a SIP account for the PBX, whose
password is generated here, shown once, and stored only as its digest HA1."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cashdesk.auth.roles import Permission
from cashdesk.server import scope
from cashdesk.server.errors import Conflict
from cashdesk.server.routes import Ctx, RouteTable
from cashdesk.server.schema import Bool, Int, ListOf, MoneyText, Obj, Str
from cashdesk.server.wire import optional_money
from cashdesk.store.models import Cabin, CabinSession, Call, Callshop, Transaction

routes = RouteTable("cabins")

SIP_USERNAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
# No 0/O, 1/l/I: this password is typed into a phone's web page by hand.
_SIP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
SIP_PASSWORD_LENGTH = 16


def sip_ha1(username: str, realm: str, password: str) -> str:
    """HA1 = md5(username:realm:password), what Kamailio's auth_db needs instead of the
    password itself (`calculate_ha1=0`)."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode(),
                       usedforsecurity=False).hexdigest()


def new_sip_password() -> str:
    return "".join(secrets.choice(_SIP_ALPHABET) for _ in range(SIP_PASSWORD_LENGTH))


EDITABLE = Obj({
    "name": Str(min_len=1, max_len=60),
    "site": Str("the physical shop the cabin stands in", max_len=120, default=""),
    "position": Int("order on the cash desk's screen", minimum=0, default=0),
    "tariff_id": Int("the sell tariff; null for the shop's default tariff",
                     nullable=True, default=None),
    "enabled": Bool(default=True),
    "max_call_seconds": Int("longest call allowed; null for no limit", minimum=1,
                            nullable=True, default=None),
    "max_session_amount": MoneyText("largest unpaid total; null for no limit",
                                    nullable=True, default=None),
    "deposit": MoneyText("a customer's prepaid deposit capping the session",
                         nullable=True, default=None),
})

CREATE = EDITABLE.extend({
    "sip_username": Str("the phone's SIP username, unique across the server",
                        pattern=SIP_USERNAME, max_len=64,
                        pattern_help="use letters, digits, '.', '_' or '-' (up to 64)"),
})

CABIN = Obj({
    "id": Int(),
    "name": Str(),
    "site": Str(),
    "position": Int(),
    "sip_username": Str(),
    "sip_realm": Str(),
    "has_sip_password": Bool(),
    "tariff_id": Int(nullable=True),
    "enabled": Bool(),
    "max_call_seconds": Int(nullable=True),
    "max_session_amount": MoneyText(nullable=True),
    "deposit": MoneyText(nullable=True),
})

WITH_PASSWORD = Obj({
    "cabin": CABIN,
    "sip_password": Str("shown this once; only its digest is stored"),
})


def cabin_json(cabin: Cabin, currency: str) -> dict[str, Any]:
    return {
        "id": cabin.id,
        "name": cabin.name,
        "site": cabin.site,
        "position": cabin.position,
        "sip_username": cabin.sip_username,
        "sip_realm": cabin.sip_realm,
        "has_sip_password": bool(cabin.sip_ha1),
        "tariff_id": cabin.tariff_id,
        "enabled": cabin.enabled,
        "max_call_seconds": cabin.max_call_seconds,
        "max_session_amount": optional_money(cabin.max_session_amount, currency),
        "deposit": optional_money(cabin.deposit, currency),
    }


def _currency(session: Session, shop_id: int) -> str:
    return session.get_one(Callshop, shop_id).currency


def _check_name(session: Session, shop_id: int, name: str, cabin_id: int | None) -> None:
    taken = session.scalar(select(Cabin.id).where(Cabin.callshop_id == shop_id,
                                                  Cabin.name == name))
    if taken is not None and taken != cabin_id:
        raise Conflict(f"there is already a cabin named {name!r}", field="name")


def _apply(session: Session, shop_id: int, cabin: Cabin, body: dict[str, Any]) -> None:
    if "name" in body:
        _check_name(session, shop_id, body["name"], cabin.id)
    if body.get("tariff_id") is not None:
        scope.sell_tariff(session, shop_id, body["tariff_id"])
    for name, value in body.items():
        setattr(cabin, name, value)


@routes.get("/cabins", Permission.MANAGE_CABINS, "List the shop's cabins",
            response=ListOf(CABIN))
async def list_cabins(ctx: Ctx) -> list[dict[str, Any]]:
    def work(session: Session, shop_id: int) -> list[dict[str, Any]]:
        currency = _currency(session, shop_id)
        cabins = session.scalars(select(Cabin).where(Cabin.callshop_id == shop_id)
                                 .order_by(Cabin.position, Cabin.name))
        return [cabin_json(cabin, currency) for cabin in cabins]

    return await ctx.db(work, ctx.shop_id)


@routes.post("/cabins", Permission.MANAGE_CABINS, "Add a cabin with a new SIP password",
             request=CREATE, response=WITH_PASSWORD, status=201)
async def create_cabin(ctx: Ctx) -> dict[str, Any]:
    """The SIP password is in this answer only; the server keeps its digest (HA1)."""
    realm = ctx.config.sip_realm

    def work(session: Session, shop_id: int, body: dict[str, Any]) -> dict[str, Any]:
        username = body.pop("sip_username")
        if session.scalar(select(Cabin.id).where(Cabin.sip_username == username)):
            raise Conflict(f"the SIP username {username!r} is taken", field="sip_username")
        password = new_sip_password()
        cabin = Cabin(callshop_id=shop_id, sip_username=username, sip_realm=realm,
                      sip_ha1=sip_ha1(username, realm, password))
        _apply(session, shop_id, cabin, body)
        session.add(cabin)
        session.flush()
        return {"cabin": cabin_json(cabin, _currency(session, shop_id)),
                "sip_password": password}

    return await ctx.db(work, ctx.shop_id, dict(ctx.body))


@routes.get("/cabins/{cabin_id}", Permission.MANAGE_CABINS, "One cabin", response=CABIN)
async def get_cabin(ctx: Ctx) -> dict[str, Any]:
    def work(session: Session, shop_id: int, cabin_id: int) -> dict[str, Any]:
        return cabin_json(scope.cabin(session, shop_id, cabin_id), _currency(session, shop_id))

    return await ctx.db(work, ctx.shop_id, ctx.params["cabin_id"])


@routes.patch("/cabins/{cabin_id}", Permission.MANAGE_CABINS,
              "Change a cabin (enabled=false disables it)", request=EDITABLE.partial(),
              response=CABIN)
async def update_cabin(ctx: Ctx) -> dict[str, Any]:
    """Only the fields given change. The SIP username cannot change: the phone's
    password digest includes it; add a new cabin instead."""
    def work(session: Session, shop_id: int, cabin_id: int,
             body: dict[str, Any]) -> dict[str, Any]:
        cabin = scope.cabin(session, shop_id, cabin_id)
        _apply(session, shop_id, cabin, body)
        session.flush()
        return cabin_json(cabin, _currency(session, shop_id))

    return await ctx.db(work, ctx.shop_id, ctx.params["cabin_id"], ctx.body)


@routes.post("/cabins/{cabin_id}/sip-password", Permission.MANAGE_CABINS,
             "Give a cabin a new SIP password", response=WITH_PASSWORD)
async def reset_sip_password(ctx: Ctx) -> dict[str, Any]:
    """The old password stops working at the PBX's next sync. The new one is in this
    answer only."""
    realm = ctx.config.sip_realm

    def work(session: Session, shop_id: int, cabin_id: int) -> dict[str, Any]:
        cabin = scope.cabin(session, shop_id, cabin_id)
        password = new_sip_password()
        cabin.sip_realm = realm
        cabin.sip_ha1 = sip_ha1(cabin.sip_username, realm, password)
        session.flush()
        return {"cabin": cabin_json(cabin, _currency(session, shop_id)),
                "sip_password": password}

    return await ctx.db(work, ctx.shop_id, ctx.params["cabin_id"])


@routes.delete("/cabins/{cabin_id}", Permission.MANAGE_CABINS,
               "Delete a cabin that has never been used")
async def delete_cabin(ctx: Ctx) -> None:
    """A cabin with calls or payments keeps its history: disable it instead."""
    def work(session: Session, shop_id: int, cabin_id: int) -> None:
        cabin = scope.cabin(session, shop_id, cabin_id)
        for model, what in ((Call, "calls"), (CabinSession, "sessions"),
                            (Transaction, "payments")):
            used = session.scalar(select(func.count()).select_from(model)
                                  .where(model.cabin_id == cabin.id))
            if used:
                raise Conflict(f"the cabin {cabin.name!r} has {used} {what} in its history; "
                               "disable it instead (enabled=false)")
        session.delete(cabin)

    await ctx.db(work, ctx.shop_id, ctx.params["cabin_id"])
