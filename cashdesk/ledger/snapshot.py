"""Reading a `LedgerView` out of the database: the one place the invariants touch SQL.

Plain column queries on the session's connection, not ORM objects, so the snapshot
shows what is stored (after a flush) rather than whatever objects a session happens to
hold. The statements are built once, with bound parameters: SQLAlchemy then reuses
its compiled form as is, which makes a snapshot several times cheaper — it matters when
tests take one after every step of a thousand random sequences.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from cashdesk.ledger.view import (
    AccountView,
    CallView,
    EntryView,
    LedgerView,
    SessionView,
    TopupView,
    TransactionView,
)
from cashdesk.money import Money
from cashdesk.store.models import (
    Account,
    AccountEntry,
    CabinSession,
    Call,
    Callshop,
    Topup,
    Transaction,
)

_SHOP = select(Callshop.account_id, Callshop.currency).where(Callshop.id == bindparam("shop"))
_ACCOUNT = (select(Account.id, Account.currency, Account.prepaid, Account.balance,
                   Account.parent_id)
            .where(Account.id == bindparam("account")))
_ENTRIES = (select(AccountEntry.id, AccountEntry.account_id, AccountEntry.kind,
                   AccountEntry.amount, AccountEntry.balance_after, AccountEntry.created_at,
                   AccountEntry.topup_id, AccountEntry.call_id)
            .where(AccountEntry.account_id.in_(bindparam("accounts", expanding=True)))
            .order_by(AccountEntry.id))
_TOPUPS = (select(Topup.id, Topup.account_id, Topup.kind, Topup.amount, Topup.created_at)
           .where(Topup.account_id.in_(bindparam("accounts", expanding=True)))
           .order_by(Topup.id))
_CALLS = (select(Call.id, Call.cabin_id, Call.session_id, Call.state, Call.answered_at,
                 Call.training, Call.price, Call.cost, Call.provider_cost)
          .where(Call.callshop_id == bindparam("shop")).order_by(Call.id))
_SESSIONS = (select(CabinSession.id, CabinSession.cabin_id, CabinSession.opened_at,
                    CabinSession.closed_at, CabinSession.training)
             .where(CabinSession.callshop_id == bindparam("shop")).order_by(CabinSession.id))
_TRANSACTIONS = (select(Transaction.id, Transaction.cabin_id, Transaction.session_id,
                        Transaction.amount_due, Transaction.received, Transaction.change,
                        Transaction.created_at, Transaction.training)
                 .where(Transaction.callshop_id == bindparam("shop"))
                 .order_by(Transaction.id))


def load_view(session: Session, callshop_id: int) -> LedgerView:
    """Snapshot of one callshop's ledger: its account and the levels above it (with all
    their entries and top-ups, including those of sibling shops on a shared reseller
    account), and the shop's calls, sessions and transactions.

    Meant for tests and audits: it reads every row, so it is not for the hot path.
    """
    session.flush()
    connection = session.connection()
    shop = connection.execute(_SHOP, {"shop": callshop_id}).one()
    currency = shop.currency

    def money(value: Decimal) -> Money:
        return Money(value, currency)

    accounts: list[AccountView] = []
    account_id: int | None = shop.account_id
    while account_id is not None and len(accounts) < 16:  # bounded: a cycle is no hang
        row = connection.execute(_ACCOUNT, {"account": account_id}).one()
        accounts.append(AccountView(id=row.id, currency=row.currency, prepaid=row.prepaid,
                                    balance=Money(row.balance, row.currency),
                                    parent_id=row.parent_id))
        account_id = row.parent_id
    levels = {"accounts": [a.id for a in accounts]}
    currency_of = {a.id: a.currency for a in accounts}
    by_shop = {"shop": callshop_id}

    entries = tuple(
        EntryView(id=r.id, account_id=r.account_id, kind=r.kind,
                  amount=Money(r.amount, currency_of[r.account_id]),
                  balance_after=Money(r.balance_after, currency_of[r.account_id]),
                  created_at=r.created_at, topup_id=r.topup_id, call_id=r.call_id)
        for r in connection.execute(_ENTRIES, levels))
    topups = tuple(
        TopupView(id=r.id, account_id=r.account_id, kind=r.kind,
                  amount=Money(r.amount, currency_of[r.account_id]), created_at=r.created_at)
        for r in connection.execute(_TOPUPS, levels))
    calls = tuple(
        CallView(id=r.id, cabin_id=r.cabin_id, session_id=r.session_id, state=r.state,
                 answered=r.answered_at is not None, training=r.training,
                 price=money(r.price), cost=money(r.cost),
                 provider_cost=money(r.provider_cost))
        for r in connection.execute(_CALLS, by_shop))
    sessions = tuple(
        SessionView(id=r.id, cabin_id=r.cabin_id, opened_at=r.opened_at,
                    closed_at=r.closed_at, training=r.training)
        for r in connection.execute(_SESSIONS, by_shop))
    transactions = tuple(
        TransactionView(id=r.id, cabin_id=r.cabin_id, session_id=r.session_id,
                        amount_due=money(r.amount_due), received=money(r.received),
                        change=money(r.change), created_at=r.created_at, training=r.training)
        for r in connection.execute(_TRANSACTIONS, by_shop))
    return LedgerView(callshop_id=callshop_id, currency=currency,
                      shop_account_id=shop.account_id, accounts=tuple(accounts),
                      entries=entries, topups=topups, calls=calls, sessions=sessions,
                      transactions=transactions)
