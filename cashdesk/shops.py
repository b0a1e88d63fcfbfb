"""Resellers and the callshops they sell airtime to."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_name
from sqlalchemy import select
from sqlalchemy.orm import Session

from cashdesk.auth.roles import Role
from cashdesk.clock import Clock
from cashdesk.ledger.kinds import AccountOwner
from cashdesk.store.models import Account, Callshop, InvoiceSettings, Reseller, Tariff, User
from cashdesk.users import create_user


class ShopError(ValueError):
    pass


def check_currency(currency: str) -> str:
    code = currency.strip().upper()
    if len(code) != 3 or get_currency_name(code, locale="en") == code:
        raise ShopError(f"unknown currency {currency!r} (use an ISO 4217 code such as EUR)")
    return code


def check_locale(locale: str) -> str:
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        raise ShopError(f"unknown locale {locale!r} (for example en, fr_FR, ar_MA)") from None
    return locale


def check_timezone(timezone: str) -> str:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ShopError(f"unknown time zone {timezone!r} (for example Europe/Paris)") from None
    return timezone


def create_reseller(session: Session, clock: Clock, *, name: str, currency: str,
                    prepaid: bool = False) -> Reseller:
    """A reseller with its own account. Postpaid by default: its provider trusts it."""
    currency = check_currency(currency)
    if session.scalar(select(Reseller.id).where(Reseller.name == name)) is not None:
        raise ShopError(f"a reseller named {name!r} exists")
    account = Account(owner=AccountOwner.RESELLER, currency=currency, prepaid=prepaid)
    session.add(account)
    session.flush()
    reseller = Reseller(name=name, account_id=account.id, created_at=clock.now())
    session.add(reseller)
    session.flush()
    return reseller


@dataclass(frozen=True)
class NewCallshop:
    callshop: Callshop
    admin: User
    sell_tariff: Tariff


def create_callshop(session: Session, clock: Clock, reseller: Reseller, *, name: str,
                    currency: str, admin_username: str, admin_password: str,
                    locale: str = "en", timezone: str = "UTC", training: bool = False,
                    buy_tariff: Tariff | None = None) -> NewCallshop:
    """A callshop with its prepaid account (under the reseller's), an empty default sell
    tariff, default invoice settings and its first admin."""
    currency = check_currency(currency)
    reseller_account = session.get_one(Account, reseller.account_id)
    if reseller_account.currency != currency:
        raise ShopError(f"the reseller's account is in {reseller_account.currency}; "
                        f"a shop under it must use the same currency")
    if buy_tariff is not None and buy_tariff.reseller_id != reseller.id:
        raise ShopError("the buy tariff belongs to another reseller")
    now = clock.now()
    account = Account(owner=AccountOwner.CALLSHOP, currency=currency, prepaid=True,
                      parent_id=reseller_account.id)
    session.add(account)
    session.flush()
    shop = Callshop(reseller_id=reseller.id, account_id=account.id, name=name.strip(),
                    currency=currency, locale=check_locale(locale),
                    timezone=check_timezone(timezone), training=training,
                    buy_tariff_id=buy_tariff.id if buy_tariff else None, created_at=now)
    session.add(shop)
    session.flush()
    tariff = Tariff(reseller_id=reseller.id, callshop_id=shop.id, name="Standard",
                    currency=currency, updated_at=now)
    session.add(tariff)
    session.flush()
    shop.default_tariff_id = tariff.id
    session.add(InvoiceSettings(callshop_id=shop.id, company_name=shop.name,
                                language=shop.locale.split("_")[0]))
    admin = create_user(session, clock, username=admin_username, password=admin_password,
                        role=Role.ADMIN, reseller_id=reseller.id, callshop=shop)
    session.flush()
    return NewCallshop(callshop=shop, admin=admin, sell_tariff=tariff)


def create_buy_tariff(session: Session, clock: Clock, reseller: Reseller, name: str) -> Tariff:
    """A tariff the reseller sells at (a shop's cost) or buys at (its provider's)."""
    currency = session.get_one(Account, reseller.account_id).currency
    tariff = Tariff(reseller_id=reseller.id, callshop_id=None, name=name, currency=currency,
                    updated_at=clock.now())
    session.add(tariff)
    session.flush()
    return tariff
