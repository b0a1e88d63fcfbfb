"""May this cabin call this number, and at which rates? Everything the fraud guard and
the prepaid guard need to know about a call before it is routed, read in one go.

`rate_call` answers a PBX's question about a dialed number: the cabin (by its SIP
username) and its shop, the normalised number, the sell, buy and provider rates, the
shop's fraud rules, and the budgets the call will draw on with their current limits
(balances as stored, what is left of the session's cap). It refuses, each with its own
reason, what no money question can fix: an unknown or disabled cabin, a suspended
shop, a number that is not one, a blocked destination, a missing rate. Whether the
money suffices is the prepaid guard's question, asked next by the tracker.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from cashdesk.ledger.sessions import session_due
from cashdesk.money import to_sub_units
from cashdesk.pbx.bridge import CutReason, RefusalReason
from cashdesk.prepaid.guard import BudgetKey, Draw, account_budget, session_budget
from cashdesk.rating.numbers import InvalidNumber
from cashdesk.rating.pricing import RateTerms
from cashdesk.rating.rater import Rater
from cashdesk.store.models import Account, Cabin, CabinSession, Call, Callshop, Reseller

#: The shop account's parent, in `rate_call`'s one statement (made once: a new alias
#: per call would miss SQLAlchemy's statement cache).
_PARENT = aliased(Account)


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


def rate_call(db: Session, rater: Rater, sip_username: str,
              dialed_number: str) -> RatedCall | Refusal:
    """Everything about a call from the cabin `sip_username` to `dialed_number`, or
    why it may not be routed (see the module doc)."""
    # One statement for the cabin, its shop, the shop's reseller and account and that
    # account's parent: the `get_one`s below then find them in the session (a fresh
    # one per transaction, so as fresh as reading them one by one).
    parent = _PARENT
    row = db.execute(select(Cabin, Callshop, Reseller, Account, parent)
                     .join(Callshop, Callshop.id == Cabin.callshop_id)
                     .join(Reseller, Reseller.id == Callshop.reseller_id)
                     .join(Account, Account.id == Callshop.account_id)
                     .outerjoin(parent, parent.id == Account.parent_id)
                     .where(Cabin.sip_username == sip_username)).first()
    if row is None:
        return Refusal(RefusalReason.CABIN_UNKNOWN, f"no cabin has SIP username {sip_username!r}")
    cabin, shop = row[0], row[1]
    number = ""

    def refuse(reason: RefusalReason, detail: str) -> Refusal:
        return Refusal(reason, detail, cabin.id, shop.id, number)

    if not shop.active:
        return refuse(RefusalReason.SHOP_INACTIVE, f"callshop {shop.name!r} is suspended")
    if not cabin.enabled:
        return refuse(RefusalReason.CABIN_DISABLED, f"cabin {cabin.name!r} is disabled")
    try:
        number = rater.number_plan(shop.id).normalise(dialed_number)
    except InvalidNumber as exc:
        return refuse(RefusalReason.INVALID_NUMBER, str(exc))
    blocked = next((p for p in _comma_list(shop.blocked_prefixes) if number.startswith(p)), None)
    if blocked is not None:
        return refuse(RefusalReason.BLOCKED_DESTINATION,
                      f"calls to {blocked}… are blocked in this shop")
    sell = rater.rate_sell(cabin, number)
    if sell is None:
        return refuse(RefusalReason.NO_RATE, f"no sell rate for {number}")
    buy = rater.rate_buy(shop, number)
    if buy is None:
        return refuse(RefusalReason.NO_RATE, f"no buy rate for {number}")
    reseller = db.get_one(Reseller, shop.reseller_id)
    provider = rater.rate_provider(reseller, number)
    rated = _rated(db, shop, cabin, reseller, dialed_number, number, sell, buy, provider)
    if isinstance(rated, Refusal):
        return refuse(rated.reason, rated.detail)
    return rated


def rate_stored_call(db: Session, rater: Rater, call: Call) -> RatedCall:
    """The rates and budgets of a call already in the database (a live call found after
    a restart): its frozen sell and buy rates, the provider rate looked up again (the
    CDR keeps only the provider cost). Fraud rules are not applied again: the call is
    up, and stopping it is the guard's and reconciliation's business."""
    shop = db.get_one(Callshop, call.callshop_id)
    cabin = db.get_one(Cabin, call.cabin_id)
    reseller = db.get_one(Reseller, shop.reseller_id)
    sell = RateTerms(call.sell_prefix, call.destination, call.price_per_minute,
                     call.connection_fee, call.initial_increment, call.subsequent_increment,
                     call.grace_seconds)
    buy = RateTerms(call.buy_prefix, call.destination, call.buy_price_per_minute,
                    call.buy_connection_fee, call.buy_initial_increment,
                    call.buy_subsequent_increment, call.buy_grace_seconds)
    provider = rater.rate_provider(reseller, call.number)
    rated = _rated(db, shop, cabin, reseller, call.dialed_number, call.number, sell, buy,
                   provider, strict=False)
    assert not isinstance(rated, Refusal)
    return rated


def account_limits(db: Session, account_ids: list[int]) -> dict[int, tuple[int, str]]:
    """Stored balances (sub-units) and currencies of accounts, read afresh."""
    rows = db.execute(select(Account.id, Account.balance, Account.currency)
                      .where(Account.id.in_(account_ids))
                      .execution_options(populate_existing=True))
    return {row.id: (to_sub_units(row.balance), row.currency) for row in rows}


def session_cap(db: Session, shop: Callshop, cabin: Cabin) -> BudgetSpec | None:
    """What the cabin's current customer may still spend at sell prices, when the
    cabin or shop caps a session or the customer left a deposit: the smallest cap minus
    the open session's ended calls. None when nothing caps it."""
    caps: list[tuple[Decimal, CutReason, RefusalReason]] = []
    for amount in (cabin.max_session_amount, shop.max_session_amount):
        if amount is not None:
            caps.append((amount, CutReason.MAX_SESSION_AMOUNT, RefusalReason.MAX_SESSION_AMOUNT))
    if cabin.deposit is not None:
        caps.append((cabin.deposit, CutReason.DEPOSIT_EXHAUSTED,
                     RefusalReason.DEPOSIT_EXHAUSTED))
    if not caps:
        return None
    # The smallest cap binds; at equal amounts the deposit names the reason (the
    # customer can do something about it).
    amount, cut_reason, refusal = min(caps, key=lambda cap: (cap[0], cap[1] is not
                                                             CutReason.DEPOSIT_EXHAUSTED))
    open_session = db.scalar(select(CabinSession).where(CabinSession.cabin_id == cabin.id,
                                                        CabinSession.closed_at.is_(None)))
    spent = session_due(db, open_session).amount if open_session is not None else Decimal(0)
    return BudgetSpec(session_budget(cabin.id), to_sub_units(amount - spent), shop.currency,
                      cut_reason, refusal)


def _rated(db: Session, shop: Callshop, cabin: Cabin, reseller: Reseller, dialed: str,
           number: str, sell: RateTerms, buy: RateTerms, provider: RateTerms | None,
           *, strict: bool = True) -> RatedCall | Refusal:
    budgets: list[BudgetSpec] = []
    draws: list[Draw] = []
    if not shop.training:
        # Training calls never touch a real balance: they draw on no account at all.
        shop_account = db.get_one(Account, shop.account_id)
        chain = [(shop_account, buy)]
        if shop_account.parent_id is not None:
            parent = db.get_one(Account, shop_account.parent_id)
            if parent.prepaid:
                if provider is not None:
                    chain.append((parent, provider))
                elif strict:
                    return Refusal(RefusalReason.NO_RATE,
                                   f"no provider rate for {number} at reseller {reseller.name!r}")
                # A recovered call whose provider rate has gone since: its provider cost
                # is 0, so the reseller's level has nothing to reserve for it.
        limits = account_limits(db, [account.id for account, _ in chain])
        for account, terms in chain:
            if not account.prepaid:
                continue
            limit, currency = limits[account.id]
            key = account_budget(account.id)
            budgets.append(BudgetSpec(key, limit, currency, CutReason.CREDIT_EXHAUSTED,
                                      RefusalReason.NO_CREDIT))
            draws.append(Draw(key, terms))
    cap = session_cap(db, shop, cabin)
    if cap is not None:
        budgets.append(cap)
        draws.append(Draw(cap.key, sell))
    limits_s = [s for s in (cabin.max_call_seconds, shop.max_call_seconds) if s is not None]
    return RatedCall(cabin_id=cabin.id, callshop_id=shop.id, currency=shop.currency,
                     training=shop.training, dialed_number=dialed, number=number, sell=sell,
                     buy=buy, provider=provider,
                     max_call_ms=min(limits_s) * 1000 if limits_s else None,
                     budgets=tuple(budgets), draws=tuple(draws))


def _comma_list(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]
