"""May this cabin call this number, and at which rates? Everything the fraud guard and
the prepaid guard need to know about a call before it is routed, read in one go.

`rate_call` answers a PBX's question about a dialed number: the cabin (by its SIP
username) and its shop, the normalised number, the sell, buy and provider rates, the
shop's fraud rules, and the budgets the call will draw on with their current limits
(balances as stored, what is left of the session's cap). It refuses, each with its own
reason, what no money question can fix: an unknown or disabled cabin, a suspended
shop, a number that is not one, a blocked destination, a missing rate. Whether the
money suffices is the prepaid guard's question, asked next by the tracker.

`find_place` and `rate_place` are its two halves, for a tracker that keeps places in
memory (`calls.places`): rating a known place needs no database, unless it caps the
cabin's session (what the session spent is stored).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Executable, bindparam, select
from sqlalchemy.orm import Session, aliased

from cashdesk.ledger.sessions import session_figures
from cashdesk.money import to_sub_units
from cashdesk.pbx.bridge import CutReason, RefusalReason
from cashdesk.prepaid.guard import BudgetKey, Draw, account_budget, session_budget
from cashdesk.rating.numbers import InvalidNumber
from cashdesk.rating.pricing import RateTerms
from cashdesk.rating.rater import Rater
from cashdesk.store.models import Account, Cabin, CabinSession, Call, Callshop, Reseller


@dataclass(frozen=True, slots=True)
class BudgetSpec:
    """A budget as it stands in the database now (see `PrepaidGuard.set_budget`)."""

    key: BudgetKey
    limit: int                 # sub-units
    currency: str
    cut_reason: CutReason
    refusal: RefusalReason


@dataclass(frozen=True, slots=True)
class RatedCall:
    """A call that passed the fraud guard and has all its rates."""

    cabin_id: int
    callshop_id: int
    currency: str
    training: bool
    dialed_number: str
    number: str
    sell: RateTerms
    buy: RateTerms
    provider: RateTerms | None     # the reseller's cost, when its provider tariff has one
    max_call_ms: int | None
    budgets: tuple[BudgetSpec, ...]
    draws: tuple[Draw, ...]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a call may not be routed. Cabin and shop are known unless the cabin is not."""

    reason: RefusalReason
    detail: str
    cabin_id: int | None = None
    callshop_id: int | None = None
    number: str = ""


@dataclass(slots=True)
class _CabinRef:
    """What the rater needs of a cabin (`rating.rater.CabinLike`)."""

    id: int
    callshop_id: int
    tariff_id: int | None


@dataclass(frozen=True, slots=True)
class Place:
    """Where a call is made from: its cabin, the cabin's shop and reseller, and the
    shop's account and that account's parent, as stored when read (one row)."""

    cabin: _CabinRef
    cabin_name: str
    cabin_enabled: bool
    cabin_max_session_amount: Decimal | None
    cabin_deposit: Decimal | None
    cabin_max_call_seconds: int | None
    shop_name: str
    shop_active: bool
    currency: str
    training: bool
    blocked_prefixes: str | None
    buy_tariff_id: int | None
    shop_max_session_amount: Decimal | None
    shop_max_call_seconds: int | None
    reseller_name: str
    provider_tariff_id: int | None
    account_id: int
    account_prepaid: bool
    account_balance: Decimal
    account_currency: str
    parent_id: int | None
    parent_prepaid: bool | None
    parent_balance: Decimal | None
    parent_currency: str | None

    @property
    def caps_session(self) -> bool:
        """Whether the cabin's session is capped (an amount, or a deposit)."""
        return (self.cabin_max_session_amount is not None or self.cabin_deposit is not None
                or self.shop_max_session_amount is not None)


_PARENT = aliased(Account)
# Plain columns, not ORM objects: this runs for every call a PBX asks about.
_PLACE = (select(Cabin.id, Cabin.callshop_id, Cabin.tariff_id, Cabin.name, Cabin.enabled,
                 Cabin.max_session_amount, Cabin.deposit, Cabin.max_call_seconds,
                 Callshop.name, Callshop.active, Callshop.currency, Callshop.training,
                 Callshop.blocked_prefixes, Callshop.buy_tariff_id,
                 Callshop.max_session_amount, Callshop.max_call_seconds,
                 Reseller.name, Reseller.provider_tariff_id,
                 Account.id, Account.prepaid, Account.balance, Account.currency,
                 _PARENT.id, _PARENT.prepaid, _PARENT.balance, _PARENT.currency)
          .join(Callshop, Callshop.id == Cabin.callshop_id)
          .join(Reseller, Reseller.id == Callshop.reseller_id)
          .join(Account, Account.id == Callshop.account_id)
          .outerjoin(_PARENT, _PARENT.id == Account.parent_id))
_PLACE_BY_SIP = _PLACE.where(Cabin.sip_username == bindparam("sip"))
_PLACE_BY_CABIN = _PLACE.where(Cabin.id == bindparam("cabin"))
_PLACE_COLUMNS = len(_PLACE.selected_columns)
_ALL_PLACES = _PLACE.where(Cabin.sip_username.is_not(None)).add_columns(Cabin.sip_username)
_PLACES_OF_SHOP = _ALL_PLACES.where(Cabin.callshop_id == bindparam("shop"))
_OPEN_SESSION = select(CabinSession.id).where(CabinSession.cabin_id == bindparam("cabin"),
                                              CabinSession.closed_at.is_(None))


def _place(db: Session, statement: Executable, params: dict[str, Any]) -> Place | None:
    row = db.connection().execute(statement, params).first()
    if row is None:
        return None
    return _place_of(row)


def _place_of(row: Any) -> Place:
    return Place(_CabinRef(row[0], row[1], row[2]), *row[3:_PLACE_COLUMNS])


def find_place(db: Session, sip_username: str) -> Place | None:
    """The place of the cabin `sip_username`, as stored now; None if no cabin has it."""
    return _place(db, _PLACE_BY_SIP, {"sip": sip_username})


def find_places_of_shop(db: Session, callshop_id: int | None = None) -> dict[str, Place]:
    """Every cabin's place in a shop (None: in every shop), by SIP username, in one
    statement."""
    if callshop_id is None:
        rows = db.connection().execute(_ALL_PLACES)
    else:
        rows = db.connection().execute(_PLACES_OF_SHOP, {"shop": callshop_id})
    return {row[-1]: _place_of(row) for row in rows}


def rate_call(db: Session, rater: Rater, sip_username: str,
              dialed_number: str) -> RatedCall | Refusal:
    """Everything about a call from the cabin `sip_username` to `dialed_number`, or
    why it may not be routed (see the module doc)."""
    return rate_found(db, rater, find_place(db, sip_username), sip_username, dialed_number)


def rate_found(db: Session, rater: Rater, place: Place | None, sip_username: str,
               dialed_number: str) -> RatedCall | Refusal:
    """`rate_call` once the place of `sip_username` was read (None: no such cabin)."""
    if place is None:
        return Refusal(RefusalReason.CABIN_UNKNOWN, f"no cabin has SIP username {sip_username!r}")
    rated = rate_place(place, rater, dialed_number, lambda: _session_cap(db, place))
    assert rated is not None      # a session cap is read when there is one
    return rated


def rate_place(place: Place, rater: Rater, dialed_number: str,
               session_cap: Callable[[], BudgetSpec | None] | None = None,
               ) -> RatedCall | Refusal | None:
    """`rate_call` from a place already read. The budgets carry the balances the place
    was read with. `session_cap` reads what is left of a capped session; without it a
    place that caps its sessions cannot be rated here: None."""
    if place.caps_session and session_cap is None:
        return None
    cabin = place.cabin
    number = ""

    def refuse(reason: RefusalReason, detail: str) -> Refusal:
        return Refusal(reason, detail, cabin.id, cabin.callshop_id, number)

    if not place.shop_active:
        return refuse(RefusalReason.SHOP_INACTIVE, f"callshop {place.shop_name!r} is suspended")
    if not place.cabin_enabled:
        return refuse(RefusalReason.CABIN_DISABLED, f"cabin {place.cabin_name!r} is disabled")
    try:
        number = rater.number_plan(cabin.callshop_id).normalise(dialed_number)
    except InvalidNumber as exc:
        return refuse(RefusalReason.INVALID_NUMBER, str(exc))
    blocked = next((p for p in _comma_list(place.blocked_prefixes) if number.startswith(p)),
                   None)
    if blocked is not None:
        return refuse(RefusalReason.BLOCKED_DESTINATION,
                      f"calls to {blocked}… are blocked in this shop")
    sell = rater.rate_sell(cabin, number)
    if sell is None:
        return refuse(RefusalReason.NO_RATE, f"no sell rate for {number}")
    buy = rater.rate_tariff(place.buy_tariff_id, number)
    if buy is None:
        return refuse(RefusalReason.NO_RATE, f"no buy rate for {number}")
    provider = rater.rate_tariff(place.provider_tariff_id, number)
    cap = session_cap() if session_cap is not None else None
    rated = _rated(place, dialed_number, number, sell, buy, provider, cap)
    if isinstance(rated, Refusal):
        return refuse(rated.reason, rated.detail)
    return rated


def rate_stored_call(db: Session, rater: Rater, call: Call) -> RatedCall:
    """The rates and budgets of a call already in the database (a live call found after
    a restart): its frozen sell and buy rates, the provider rate looked up again (the
    CDR keeps only the provider cost). Fraud rules are not applied again: the call is
    up, and stopping it is the guard's and reconciliation's business."""
    place = _place(db, _PLACE_BY_CABIN, {"cabin": call.cabin_id})
    assert place is not None
    sell = RateTerms(call.sell_prefix, call.destination, call.price_per_minute,
                     call.connection_fee, call.initial_increment, call.subsequent_increment,
                     call.grace_seconds)
    buy = RateTerms(call.buy_prefix, call.destination, call.buy_price_per_minute,
                    call.buy_connection_fee, call.buy_initial_increment,
                    call.buy_subsequent_increment, call.buy_grace_seconds)
    provider = rater.rate_tariff(place.provider_tariff_id, call.number)
    rated = _rated(place, call.dialed_number, call.number, sell, buy, provider,
                   _session_cap(db, place), strict=False)
    assert not isinstance(rated, Refusal)
    return rated


def _session_cap(db: Session, place: Place) -> BudgetSpec | None:
    """What the cabin's current customer may still spend at sell prices, when the
    cabin or shop caps a session or the customer left a deposit: the smallest cap minus
    the open session's ended calls. None when nothing caps it."""
    caps: list[tuple[Decimal, CutReason, RefusalReason]] = []
    for amount in (place.cabin_max_session_amount, place.shop_max_session_amount):
        if amount is not None:
            caps.append((amount, CutReason.MAX_SESSION_AMOUNT, RefusalReason.MAX_SESSION_AMOUNT))
    if place.cabin_deposit is not None:
        caps.append((place.cabin_deposit, CutReason.DEPOSIT_EXHAUSTED,
                     RefusalReason.DEPOSIT_EXHAUSTED))
    if not caps:
        return None
    # The smallest cap binds; at equal amounts the deposit names the reason (the
    # customer can do something about it).
    amount, cut_reason, refusal = min(caps, key=lambda cap: (cap[0], cap[1] is not
                                                             CutReason.DEPOSIT_EXHAUSTED))
    open_session = db.scalar(_OPEN_SESSION, {"cabin": place.cabin.id})
    spent = (session_figures(db, [open_session])[0].due_sub_units
             if open_session is not None else 0)
    return BudgetSpec(session_budget(place.cabin.id), to_sub_units(amount) - spent,
                      place.currency, cut_reason, refusal)


def _rated(place: Place, dialed: str, number: str, sell: RateTerms, buy: RateTerms,
           provider: RateTerms | None, cap: BudgetSpec | None, *,
           strict: bool = True) -> RatedCall | Refusal:
    budgets: list[BudgetSpec] = []
    draws: list[Draw] = []
    shop, reseller = account_budgets(place)
    if shop is not None:
        budgets.append(shop)
        draws.append(Draw(shop.key, buy))
    if reseller is not None:
        if provider is not None:
            budgets.append(reseller)
            draws.append(Draw(reseller.key, provider))
        elif strict:
            return Refusal(RefusalReason.NO_RATE, f"no provider rate for {number} at "
                                                  f"reseller {place.reseller_name!r}")
        # A recovered call whose provider rate has gone since: its provider cost is 0,
        # so the reseller's level has nothing to reserve for it.
    if cap is not None:
        budgets.append(cap)
        draws.append(Draw(cap.key, sell))
    limits_s = [s for s in (place.cabin_max_call_seconds, place.shop_max_call_seconds)
                if s is not None]
    return RatedCall(cabin_id=place.cabin.id, callshop_id=place.cabin.callshop_id,
                     currency=place.currency, training=place.training, dialed_number=dialed,
                     number=number, sell=sell, buy=buy, provider=provider,
                     max_call_ms=min(limits_s) * 1000 if limits_s else None,
                     budgets=tuple(budgets), draws=tuple(draws))


def account_budgets(place: Place) -> tuple[BudgetSpec | None, BudgetSpec | None]:
    """The prepaid levels a call from `place` draws on — the shop's account, and its
    reseller's when that is prepaid too — each with its balance as read in the place's
    statement; None for a level that is not prepaid. Training calls never touch a real
    balance: they draw on no account at all."""
    if place.training:
        return None, None
    shop = _account_spec(place.account_id, place.account_balance, place.account_currency) \
        if place.account_prepaid else None
    reseller = None
    if place.parent_id is not None and place.parent_prepaid:
        assert place.parent_balance is not None and place.parent_currency is not None
        reseller = _account_spec(place.parent_id, place.parent_balance, place.parent_currency)
    return shop, reseller


def _account_spec(account_id: int, balance: Decimal, currency: str) -> BudgetSpec:
    return BudgetSpec(account_budget(account_id), to_sub_units(balance), currency,
                      CutReason.CREDIT_EXHAUSTED, RefusalReason.NO_CREDIT)


def _comma_list(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]
