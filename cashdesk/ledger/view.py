"""A plain, database-free snapshot of one callshop's ledger, for the invariants and the
profit report. Frozen dataclasses of Money and ids: easy to build by hand in a test,
impossible to change by accident while checking it. `snapshot.load_view` fills one
from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cashdesk.call_state import CallState
from cashdesk.ledger.kinds import EntryKind, TopupKind
from cashdesk.money import Money


@dataclass(frozen=True)
class AccountView:
    id: int
    currency: str
    prepaid: bool
    balance: Money
    parent_id: int | None = None


@dataclass(frozen=True)
class EntryView:
    id: int
    account_id: int
    kind: EntryKind
    amount: Money          # signed: + top-up, − call
    balance_after: Money
    created_at: datetime
    topup_id: int | None = None
    call_id: int | None = None


@dataclass(frozen=True)
class TopupView:
    id: int
    account_id: int
    kind: TopupKind
    amount: Money
    created_at: datetime


@dataclass(frozen=True)
class CallView:
    id: int
    cabin_id: int
    session_id: int | None
    state: CallState
    answered: bool
    training: bool
    price: Money           # what the customer pays
    cost: Money            # what the shop pays its reseller
    provider_cost: Money   # what the reseller pays its provider

    @property
    def billable_price(self) -> Money:
        """What the customer owes for this call: nothing if it was never answered."""
        return self.price if self.answered else Money.zero(self.price.currency)


@dataclass(frozen=True)
class SessionView:
    id: int
    cabin_id: int
    opened_at: datetime
    closed_at: datetime | None = None
    training: bool = False


@dataclass(frozen=True)
class TransactionView:
    id: int
    cabin_id: int
    session_id: int
    amount_due: Money
    received: Money
    change: Money
    created_at: datetime
    training: bool = False


@dataclass(frozen=True)
class LedgerView:
    """One callshop's accounts (its own and the levels above it), their entries and
    top-ups, and the shop's calls, sessions and transactions."""

    callshop_id: int
    currency: str
    shop_account_id: int
    accounts: tuple[AccountView, ...] = ()
    entries: tuple[EntryView, ...] = ()
    topups: tuple[TopupView, ...] = ()
    calls: tuple[CallView, ...] = ()
    sessions: tuple[SessionView, ...] = ()
    transactions: tuple[TransactionView, ...] = ()

    def account(self, account_id: int | None) -> AccountView | None:
        return next((a for a in self.accounts if a.id == account_id), None)

    def paying_levels(self) -> list[tuple[AccountView, str]]:
        """The accounts that pay for this shop's calls, with the call column each pays:
        the shop's own account pays `cost`; the level above pays `provider_cost` when
        it is prepaid (a postpaid reseller is billed by its provider, not by us)."""
        levels: list[tuple[AccountView, str]] = []
        shop = self.account(self.shop_account_id)
        if shop is None:
            return levels
        levels.append((shop, "cost"))
        parent = self.account(shop.parent_id)
        if parent is not None and parent.prepaid:
            levels.append((parent, "provider_cost"))
        return levels
