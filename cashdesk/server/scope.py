"""Every lookup by id goes through here, filtered by who asks: a shop's own rows for its
admins and operators, a reseller's own shops and buy tariffs for the reseller. Another
shop's id answers exactly like an id that does not exist (404), so ids reveal nothing.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from cashdesk.server.errors import Invalid, NotFound
from cashdesk.server.state import Principal
from cashdesk.store.models import Cabin, Callshop, Rate, Tariff, Transaction, User

M = TypeVar("M")


def cabin(session: Session, shop_id: int, cabin_id: int) -> Cabin:
    found = session.scalar(select(Cabin).where(Cabin.id == cabin_id,
                                               Cabin.callshop_id == shop_id))
    if found is None:
        raise NotFound(f"there is no cabin {cabin_id} in this callshop")
    return found


def shop_user(session: Session, shop_id: int, user_id: int) -> User:
    found = session.scalar(select(User).where(User.id == user_id, User.callshop_id == shop_id))
    if found is None:
        raise NotFound(f"there is no user {user_id} in this callshop")
    return found


def sell_tariff(session: Session, shop_id: int, tariff_id: int) -> Tariff:
    found = session.scalar(select(Tariff).where(Tariff.id == tariff_id,
                                                Tariff.callshop_id == shop_id))
    if found is None:
        raise NotFound(f"there is no tariff {tariff_id} in this callshop")
    return found


def buy_tariff(session: Session, reseller_id: int, tariff_id: int) -> Tariff:
    found = session.scalar(select(Tariff).where(Tariff.id == tariff_id,
                                                Tariff.reseller_id == reseller_id,
                                                Tariff.callshop_id.is_(None)))
    if found is None:
        raise NotFound(f"there is no buy tariff {tariff_id} of yours")
    return found


def reseller_shop(session: Session, reseller_id: int, shop_id: int) -> Callshop:
    found = session.scalar(select(Callshop).where(Callshop.id == shop_id,
                                                  Callshop.reseller_id == reseller_id))
    if found is None:
        raise NotFound(f"there is no callshop {shop_id} of yours")
    return found


def sell_rate(session: Session, shop_id: int, rate_id: int) -> Rate:
    """A rate of one of the shop's tariffs, or of one of its cabins."""
    found = session.scalar(
        select(Rate)
        .outerjoin(Tariff, Tariff.id == Rate.tariff_id)
        .outerjoin(Cabin, Cabin.id == Rate.cabin_id)
        .where(Rate.id == rate_id,
               (Tariff.callshop_id == shop_id) | (Cabin.callshop_id == shop_id)))
    if found is None:
        raise NotFound(f"there is no rate {rate_id} in this callshop")
    return found


def buy_rate(session: Session, reseller_id: int, rate_id: int) -> Rate:
    found = session.scalar(
        select(Rate).join(Tariff, Tariff.id == Rate.tariff_id)
        .where(Rate.id == rate_id, Tariff.reseller_id == reseller_id,
               Tariff.callshop_id.is_(None)))
    if found is None:
        raise NotFound(f"there is no buy rate {rate_id} of yours")
    return found


def readable_shops(principal: Principal) -> ColumnElement[bool]:
    """A filter on `Callshop` for the shops a caller may read: a shop user's own, or
    every shop of the caller's reseller."""
    if principal.callshop_id is not None:
        return Callshop.id == principal.callshop_id
    return Callshop.reseller_id == principal.reseller_id


def readable_shop(session: Session, principal: Principal, shop_id: int | None) -> Callshop:
    """The one callshop a read is about. A shop's users read their own shop (naming
    another one is a 404); a reseller reads one of its shops and must name it."""
    if shop_id is None:
        if principal.callshop_id is None:
            raise Invalid("callshop_id: a reseller names the callshop to read "
                          "(callshop_id=<id>)", field="callshop_id")
        shop_id = principal.callshop_id
    found = session.scalar(select(Callshop).where(Callshop.id == shop_id,
                                                  readable_shops(principal)))
    if found is None:
        raise NotFound(f"there is no callshop {shop_id} of yours")
    return found


def shop_transaction(session: Session, principal: Principal,
                     transaction_id: int) -> Transaction:
    """A payment in one of the shops the caller may read."""
    found = session.scalar(select(Transaction)
                           .join(Callshop, Callshop.id == Transaction.callshop_id)
                           .where(Transaction.id == transaction_id,
                                  readable_shops(principal)))
    if found is None:
        raise NotFound(f"there is no transaction {transaction_id} in this callshop")
    return found


def page(session: Session, query: Select[Any], offset: int, limit: int) -> tuple[list[Any], int]:
    """One page of `query`'s rows and how many rows match in all."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = list(session.scalars(query.offset(offset).limit(limit)))
    return rows, int(total or 0)
