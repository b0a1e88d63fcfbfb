"""Fixtures for the rating tests: a reseller with one callshop, and its cabins."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from cashdesk.clock import FakeClock
from cashdesk.shops import create_buy_tariff, create_callshop, create_reseller
from cashdesk.store.models import Cabin, Callshop, Reseller, Tariff


@dataclass
class Shop:
    reseller: Reseller
    callshop: Callshop
    sell_tariff: Tariff


def make_shop(session: Session, clock: FakeClock, *, name: str = "Corner Calls",
              locale: str = "en", currency: str = "EUR") -> Shop:
    reseller = create_reseller(session, clock, name=f"{name} reseller", currency=currency)
    created = create_callshop(session, clock, reseller, name=name, currency=currency,
                              admin_username=f"admin-{len(name)}-{locale}",
                              admin_password="Rating-tests-2026", locale=locale)
    return Shop(reseller, created.callshop, created.sell_tariff)


def add_cabin(session: Session, shop: Shop, name: str, tariff: Tariff | None = None) -> Cabin:
    cabin = Cabin(callshop_id=shop.callshop.id, name=name,
                  sip_username=f"{shop.callshop.id}-{name}".replace(" ", "-").lower(),
                  tariff_id=tariff.id if tariff is not None else None)
    session.add(cabin)
    session.flush()
    return cabin


def add_buy_tariff(session: Session, clock: FakeClock, shop: Shop, name: str) -> Tariff:
    return create_buy_tariff(session, clock, shop.reseller, name)


@pytest.fixture
def shop(session: Session, clock: FakeClock) -> Shop:
    """A shop in the `session` database (SQLite and PostgreSQL)."""
    made = make_shop(session, clock)
    session.commit()
    return made
