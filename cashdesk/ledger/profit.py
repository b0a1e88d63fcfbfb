"""Profit over a period: cash taken at the desk minus airtime spent from the balance.

Both sides are counted when the money moved: revenue when a session is paid (its
transaction's `amount_due`; the change handed back is not revenue), cost when a call
is charged to the shop's account (its entry). Training transactions and calls are
practice and count for nothing. Periods are half-open, `since <= t < until`, so
adjacent periods add up exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cashdesk.ledger.kinds import EntryKind
from cashdesk.ledger.view import LedgerView
from cashdesk.money import Money


@dataclass(frozen=True)
class ProfitReport:
    revenue: Money
    cost: Money
    profit: Money


def in_period(moment: datetime, since: datetime | None, until: datetime | None) -> bool:
    """True when `since <= moment < until` (an open end is unbounded)."""
    return (since is None or moment >= since) and (until is None or moment < until)


def profit(view: LedgerView, since: datetime | None = None,
           until: datetime | None = None) -> ProfitReport:
    """The shop's revenue, cost and profit (revenue − cost) in `[since, until)`."""
    revenue = Money.zero(view.currency)
    for transaction in view.transactions:
        if not transaction.training and in_period(transaction.created_at, since, until):
            revenue = revenue + transaction.amount_due
    cost = Money.zero(view.currency)
    for entry in view.entries:
        # Only the shop's own account: the reseller's debits are the reseller's cost.
        if (entry.account_id == view.shop_account_id and entry.kind is EntryKind.CALL
                and in_period(entry.created_at, since, until)):
            cost = cost - entry.amount
    return ProfitReport(revenue=revenue, cost=cost, profit=revenue - cost)
