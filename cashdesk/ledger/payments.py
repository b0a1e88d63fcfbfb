"""Pay: close a cabin's session into a cash `Transaction`.

Two cash desks may press Pay on the same cabin at the same moment, and a client may
retry a payment whose answer it never received. The session row is locked before
anything is read, closed with a conditional UPDATE (`… WHERE closed_at IS NULL`, whose
row count says who won), and the idempotency key is looked up again whenever a payment
loses, so a retry of the winner gets the winner's transaction and anyone else a
`PaymentConflict`. On SQLite, `BEGIN IMMEDIATE` serialises the two desks anyway; the
same code is correct on PostgreSQL under READ COMMITTED.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cashdesk.clock import Clock
from cashdesk.ledger.accounts import check_idempotency_key
from cashdesk.ledger.errors import (
    CallStillLive,
    InsufficientCash,
    InvalidAmount,
    InvalidPayment,
    NothingToPay,
    PaymentConflict,
    WrongCurrency,
)
from cashdesk.ledger.sessions import calls_due, session_calls
from cashdesk.money import Money
from cashdesk.store.models import Cabin, CabinSession, Callshop, Shift, Transaction, User


@dataclass(frozen=True)
class Payment:
    """The outcome of Pay: the transaction, the change to hand back, and whether this
    was a retry answered with the first result (nothing new was written)."""

    transaction: Transaction
    change: Money
    replayed: bool


def pay_cabin(session: Session, clock: Clock, *, cabin: Cabin, operator: User,
              shift: Shift | None, received: Money, idempotency_key: str,
              cabin_session_id: int | None = None) -> Payment:
    """Take `received` in cash for the cabin's open session and close it.

    The amount due is the sum of the session's answered calls' prices; the change is
    `received − due`. `cabin_session_id` is the session the cash desk showed the
    cashier: when given, a session that someone else paid meanwhile is a
    `PaymentConflict` rather than `NothingToPay`. Refusals, each its own class:
    `NothingToPay`, `CallStillLive`, `InsufficientCash` (shows both amounts),
    `PaymentConflict`, `InvalidPayment`, `InvalidAmount`. Repeating the payment with
    the same `idempotency_key`, cabin and amount returns the same transaction and
    change with `replayed=True`.
    """
    shop = session.get_one(Callshop, cabin.callshop_id)
    currency = shop.currency
    if received.currency != currency:
        raise WrongCurrency(f"{cabin.name!r} is paid in {currency}, not {received.currency}")
    if received.is_negative():
        raise InvalidAmount(f"cash received cannot be negative ({received.format()})")
    check_idempotency_key(idempotency_key)

    first = _by_key(session, shop.id, idempotency_key)
    if first is not None:
        return _replay(first, cabin, received, idempotency_key)
    _check_operator(cabin, operator, shift)

    target = _lock_session(session, cabin, cabin_session_id)
    if target is None or target.closed_at is not None:
        # Lost a race, or a retry whose first attempt committed while we waited.
        first = _by_key(session, shop.id, idempotency_key)
        if first is not None:
            return _replay(first, cabin, received, idempotency_key)
        if target is None:
            raise NothingToPay(f"cabin {cabin.name!r} has nothing to pay")
        raise PaymentConflict(f"the session of cabin {cabin.name!r} was already paid "
                              f"by another payment")

    calls = session_calls(session, target)
    if not calls:
        raise NothingToPay(f"cabin {cabin.name!r} has no calls to pay")
    live = [call for call in calls if call.state.is_live]
    if live:
        raise CallStillLive(f"cabin {cabin.name!r} still has a call {live[0].state.value} "
                            f"to {live[0].dialed_number}; pay when it has ended")
    due = calls_due(calls, currency)
    if received < due:
        raise InsufficientCash(f"received {received.format(shop.locale)} is less than the "
                               f"{due.format(shop.locale)} due")

    now = clock.now()
    closed = session.execute(update(CabinSession)
                             .where(CabinSession.id == target.id,
                                    CabinSession.closed_at.is_(None))
                             .values(closed_at=now)
                             .execution_options(synchronize_session="fetch"))
    if closed.rowcount != 1:  # type: ignore[attr-defined]
        # Only reachable if the lock above was bypassed; still, never pay a session twice.
        first = _by_key(session, shop.id, idempotency_key)
        if first is not None:
            return _replay(first, cabin, received, idempotency_key)
        raise PaymentConflict(f"the session of cabin {cabin.name!r} was already paid "
                              f"by another payment")
    change = received - due
    transaction = Transaction(callshop_id=shop.id, cabin_id=cabin.id, session_id=target.id,
                              operator_id=operator.id,
                              shift_id=shift.id if shift is not None else None,
                              amount_due=due.amount, received=received.amount,
                              change=change.amount, idempotency_key=idempotency_key,
                              training=target.training, created_at=now)
    try:
        # A savepoint keeps the session usable to look the key up if the insert loses.
        with session.begin_nested():
            session.add(transaction)
            session.flush()
    except IntegrityError:
        # On PostgreSQL a concurrent payment with the same key (for another cabin) can
        # pass the first look-up and win the unique index.
        raise PaymentConflict(f"the idempotency key {idempotency_key!r} was used by "
                              f"another payment at the same time") from None
    return Payment(transaction=transaction, change=change, replayed=False)


def _by_key(session: Session, callshop_id: int, key: str) -> Transaction | None:
    return session.scalar(select(Transaction)
                          .where(Transaction.callshop_id == callshop_id,
                                 Transaction.idempotency_key == key)
                          .execution_options(populate_existing=True))


def _replay(first: Transaction, cabin: Cabin, received: Money, key: str) -> Payment:
    if first.cabin_id != cabin.id or first.received != received.amount:
        raise PaymentConflict(
            f"the idempotency key {key!r} was already used to pay "
            f"{Money(first.received, received.currency).format()} for another cabin or amount")
    return Payment(transaction=first, change=Money(first.change, received.currency),
                   replayed=True)


def _check_operator(cabin: Cabin, operator: User, shift: Shift | None) -> None:
    if operator.callshop_id != cabin.callshop_id or not operator.active:
        raise InvalidPayment(f"{operator.username!r} cannot take cash in this shop")
    if shift is None:
        return
    if shift.operator_id != operator.id or shift.callshop_id != cabin.callshop_id:
        raise InvalidPayment(f"shift {shift.id} is not {operator.username!r}'s shift here")
    if shift.closed_at is not None:
        raise InvalidPayment(f"shift {shift.id} is closed; open a shift to take cash")


def _lock_session(session: Session, cabin: Cabin,
                  cabin_session_id: int | None) -> CabinSession | None:
    query = select(CabinSession)
    if cabin_session_id is None:
        query = query.where(CabinSession.cabin_id == cabin.id, CabinSession.closed_at.is_(None))
    else:
        query = query.where(CabinSession.id == cabin_session_id)
    target = session.scalar(query.with_for_update().execution_options(populate_existing=True))
    if target is not None and target.cabin_id != cabin.id:
        raise InvalidPayment(f"session {target.id} is not a session of cabin {cabin.name!r}")
    return target
