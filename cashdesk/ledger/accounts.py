"""Prepaid balances: top-ups in, call costs out, each movement an `AccountEntry`.

A balance only ever changes here, and always together with an entry that records the
amount and the balance after it, so the invariants can replay an account's history.
The account row is locked (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's `BEGIN
IMMEDIATE` already serialises writers) before it is read, so two writers queue
instead of both spending the same credit; the optimistic `version` column is the
backstop if a caller ever bypasses these functions.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from cashdesk.clock import Clock
from cashdesk.ledger.errors import (
    CallNotFinished,
    InsufficientCredit,
    InvalidAmount,
    LedgerError,
    TopupConflict,
    WrongCurrency,
)
from cashdesk.ledger.kinds import AccountOwner, EntryKind, TopupKind
from cashdesk.money import Money
from cashdesk.store.models import Account, AccountEntry, Call, Callshop, Topup, User

#: Longest idempotency key the schema stores.
MAX_KEY_LENGTH = 64


def balance(session: Session, account: Account) -> Money:
    """The account's balance as stored now (read from the database, not the identity map)."""
    row = session.execute(select(Account.balance, Account.currency)
                          .where(Account.id == account.id)).one()
    return Money(row.balance, row.currency)


def record_topup(session: Session, clock: Clock, account: Account, amount: Money,
                 kind: TopupKind, *, description: str = "", recorded_by: User | None = None,
                 callshop_id: int | None = None,
                 idempotency_key: str | None = None) -> Topup:
    """Credit `account` with `amount` and record the top-up and its entry.

    A CORRECTION is a signed adjustment: it may be negative but never takes a prepaid
    balance below zero (`InsufficientCredit`). Every other kind must be positive
    (`InvalidAmount`). The currency must be the account's (`WrongCurrency`). A top-up
    repeated with the same `idempotency_key` returns the first one unchanged; the same
    key with another amount or kind is a `TopupConflict`. `callshop_id` defaults to
    the shop owning the account, so a shop's history is one indexed query.
    """
    kind = TopupKind(kind)
    if amount.currency != account.currency:
        raise WrongCurrency(f"a top-up of {amount.format()} cannot go to an account kept "
                            f"in {account.currency}")
    if kind is TopupKind.CORRECTION:
        if not amount:
            raise InvalidAmount("a correction of zero changes nothing")
    elif amount.amount <= 0:
        raise InvalidAmount(f"a {kind.value} top-up must be positive, not {amount.format()}; "
                            f"use a correction to take credit away")
    if idempotency_key is not None:
        check_idempotency_key(idempotency_key)

    locked = lock_account(session, account.id)
    # Looked up under the lock: a concurrent retry with the same key waits for the first
    # and then finds it, instead of both inserting.
    if idempotency_key is not None:
        first = session.scalar(select(Topup).where(Topup.account_id == locked.id,
                                                   Topup.idempotency_key == idempotency_key))
        if first is not None:
            if first.amount != amount.amount or first.kind is not kind:
                raise TopupConflict(
                    f"the idempotency key {idempotency_key!r} was already used for a "
                    f"{first.kind.value} top-up of {Money(first.amount, locked.currency).format()}")
            return first

    new_balance = locked.balance + amount.amount
    if locked.prepaid and new_balance < 0:
        raise InsufficientCredit(
            f"a correction of {amount.format()} would take the balance of account "
            f"{locked.id} ({Money(locked.balance, locked.currency).format()}) below zero",
            account_id=locked.id)

    now = clock.now()
    topup = Topup(account_id=locked.id, callshop_id=_owning_shop(session, locked, callshop_id),
                  amount=amount.amount, kind=kind, description=description,
                  recorded_by=recorded_by.id if recorded_by is not None else None,
                  idempotency_key=idempotency_key, created_at=now)
    session.add(topup)
    session.flush()
    locked.balance = new_balance
    session.add(AccountEntry(account_id=locked.id, kind=EntryKind.TOPUP, amount=amount.amount,
                             balance_after=new_balance, topup_id=topup.id, created_at=now))
    session.flush()
    return topup


def charge_call(session: Session, clock: Clock, call: Call) -> list[AccountEntry]:
    """Debit a finished call's buy cost from every prepaid level that pays for it.

    The callshop's account pays `call.cost`; the reseller's account (the callshop's
    parent) pays `call.provider_cost` when it is prepaid. Calls never answered and
    training calls touch no balance (returns []). Charging is idempotent: a call that
    was charged before returns its existing entries. If any prepaid level cannot pay,
    nothing is debited and `InsufficientCredit` names the account: the prepaid guard
    cuts calls before this can happen, but the ledger still never lets a prepaid
    balance go below zero. A live call raises `CallNotFinished`.
    """
    if not call.state.is_final:
        raise CallNotFinished(f"call {call.id} is still {call.state.value}; "
                              f"it is charged once it has ended")
    if call.training or call.answered_at is None:
        return []
    session.flush()
    debited = debit_call(session, clock, call_id=call.id, callshop_id=call.callshop_id,
                         cost=call.cost, provider_cost=call.provider_cost)
    # The balances moved under any Account this session holds: read them again on use.
    for account_id in debited:
        held = session.identity_map.get(identity_key(Account, account_id))
        if held is not None:
            session.expire(held)
    return list(session.scalars(select(AccountEntry).where(AccountEntry.call_id == call.id)
                                .order_by(AccountEntry.id)))


# `debit_call`'s statements, built once: it runs for every call the tracker closes.
_ACCOUNT_COLUMNS = (Account.id, Account.balance, Account.currency, Account.prepaid,
                    Account.parent_id)
_LOCKED_SHOP_ACCOUNT = (select(*_ACCOUNT_COLUMNS)
                        .join(Callshop, Callshop.account_id == Account.id)
                        .where(Callshop.id == bindparam("shop")).with_for_update(of=Account))
_LOCKED_ACCOUNT = (select(*_ACCOUNT_COLUMNS).where(Account.id == bindparam("account"))
                   .with_for_update())
_CHARGED = (select(AccountEntry.account_id).where(AccountEntry.call_id == bindparam("call"))
            .order_by(AccountEntry.id))
_SET_BALANCE = (update(Account).where(Account.id == bindparam("account"))
                .values(balance=bindparam("balance"), version=Account.version + 1))
_ADD_ENTRY = insert(AccountEntry)


def debit_call(session: Session, clock: Clock, *, call_id: int, callshop_id: int,
               cost: Decimal, provider_cost: Decimal) -> list[int]:
    """The debit of `charge_call` for a call the caller knows is finished, answered and
    not training, in plain statements (the call tracker runs it for every call, holding
    no ORM objects): the same locks, checks and entries. Returns the accounts debited,
    the shop's first; a call charged before returns the accounts it was charged to."""
    db = session.connection()
    # Child before parent, always: two shops of one reseller then lock in the same order.
    shop_account = db.execute(_LOCKED_SHOP_ACCOUNT, {"shop": callshop_id}).first()
    if shop_account is None:
        raise LedgerError(f"call {call_id} belongs to no known callshop")
    existing = db.scalars(_CHARGED, {"call": call_id}).all()
    if existing:
        return list(existing)

    debits = [(shop_account, cost)]
    if shop_account.parent_id is not None:
        parent = db.execute(_LOCKED_ACCOUNT, {"account": shop_account.parent_id}).one()
        if parent.prepaid:
            debits.append((parent, provider_cost))
    # Check every level before touching any, so a refusal leaves nothing half-charged.
    for account, amount in debits:
        if account.prepaid and account.balance < amount:
            raise InsufficientCredit(
                f"account {account.id} cannot pay {Money(amount, account.currency).format()} "
                f"for call {call_id}: its balance is "
                f"{Money(account.balance, account.currency).format()}",
                account_id=account.id)

    now = clock.now()
    for account, amount in debits:
        after = account.balance - amount
        db.execute(_SET_BALANCE, {"account": account.id, "balance": after})
        db.execute(_ADD_ENTRY, {"account_id": account.id, "kind": EntryKind.CALL,
                                "amount": -amount, "balance_after": after,
                                "call_id": call_id, "created_at": now})
    return [account.id for account, _ in debits]


def lock_account(session: Session, account_id: int) -> Account:
    """The account row, freshly read and locked until the end of the transaction."""
    return session.execute(select(Account).where(Account.id == account_id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one()


def check_idempotency_key(key: str) -> str:
    """Keys are client-generated (a UUID, typically); refuse what the schema cannot store."""
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise LedgerError(f"an idempotency key is 1 to {MAX_KEY_LENGTH} characters")
    return key


def _owning_shop(session: Session, account: Account, callshop_id: int | None) -> int | None:
    if callshop_id is None and account.owner is not AccountOwner.CALLSHOP:
        return None  # a reseller's own account belongs to no shop
    owner = session.scalar(select(Callshop.id).where(Callshop.account_id == account.id))
    if callshop_id is None:
        return owner
    if owner != callshop_id:
        raise LedgerError(f"account {account.id} is not the account of callshop {callshop_id}")
    return callshop_id
