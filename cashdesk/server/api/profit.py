"""Profit and loss over a period, grouped by day, cabin, destination or operator.

The figures are the ledger's (`cashdesk.ledger.profit`), split into rows:

- revenue: the prices of the answered calls of the sessions *paid* in the period
  (which add up to those payments' amounts due), counted when the cash was taken;
- cost: what the shop's balance was charged for calls in the period (each call's buy
  cost), counted when it was charged — at the end of the call, so a call whose session
  is still unpaid has its cost here before its revenue;
- profit = revenue − cost; `calls` and `minutes` count the paid, answered calls.

So the totals equal `cashdesk.ledger.profit.profit` over the same period, always. In
the operator grouping, the cost of a call not paid yet has no operator: it is the row
with key `unpaid`. Days are the shop's local days. Training calls and payments count
for nothing, and each shop's figures are its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cashdesk.auth.roles import Permission
from cashdesk.ledger.kinds import EntryKind
from cashdesk.server import scope
from cashdesk.server.periods import (
    CALLSHOP,
    RANGE,
    THIS_MONTH,
    Period,
    local_day,
    query_period,
    shop_zone,
)
from cashdesk.server.routes import Ctx, RouteTable
from cashdesk.server.schema import Int, ListOf, MoneyText, Obj, Str
from cashdesk.server.state import Principal
from cashdesk.server.wire import money
from cashdesk.store.models import AccountEntry, Cabin, Call, Callshop, Transaction, User

routes = RouteTable("reports")

GROUPS = ("day", "cabin", "destination", "operator")
UNPAID = "unpaid"
NO_DESTINATION = "unknown"

FIGURES = {
    "revenue": MoneyText(minimum=None),
    "cost": MoneyText(minimum=None),
    "profit": MoneyText(minimum=None),
    "calls": Int("paid, answered calls", minimum=0),
    "billed_seconds": Int(minimum=0),
    "minutes": Str("billed minutes, 2 decimals (billed_seconds / 60)"),
}

PROFIT = Obj({
    "period": Obj({"name": Str(), "timezone": Str(), "since": Str(nullable=True),
                   "until": Str(nullable=True)}),
    "group_by": Str(choices=GROUPS),
    "currency": Str(),
    "rows": ListOf(Obj({"key": Str("the day (YYYY-MM-DD), the cabin's or operator's id, "
                                   "the destination, or 'unpaid'"),
                        "label": Str("for a person"), **FIGURES})),
    "totals": Obj(FIGURES),
})

QUERY = {
    **CALLSHOP,
    **RANGE,
    "group_by": Str("how the rows are split", choices=GROUPS, default="day"),
}


@dataclass
class Row:
    label: str
    revenue: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    calls: int = 0
    billed_seconds: int = 0
    sort: Any = field(default=None)

    def json(self, currency: str) -> dict[str, Any]:
        minutes = (Decimal(self.billed_seconds) / 60).quantize(Decimal("0.01"), ROUND_HALF_UP)
        return {"revenue": money(self.revenue, currency), "cost": money(self.cost, currency),
                "profit": money(self.revenue - self.cost, currency), "calls": self.calls,
                "billed_seconds": self.billed_seconds, "minutes": f"{minutes:f}"}


def _period_clauses(column: Any, period: Period) -> list[Any]:
    clauses = []
    if period.since is not None:
        clauses.append(column >= period.since)
    if period.until is not None:
        clauses.append(column < period.until)
    return clauses


def profit_of(session: Session, principal: Principal, now: datetime,
              query: dict[str, Any]) -> dict[str, Any]:
    shop = scope.readable_shop(session, principal, query.get("callshop_id"))
    period = query_period(shop, query, now, default=THIS_MONTH)
    group_by = query["group_by"]
    zone = shop_zone(shop)
    rows: dict[str, Row] = {}
    totals = Row(label="total")
    names = _names(session, shop, group_by)

    def row_for(key: str, sort: Any = None) -> Row:
        if key not in rows:
            rows[key] = Row(label=names(key), sort=sort if sort is not None else key)
        return rows[key]

    # Revenue: answered calls of the sessions paid in the period (training apart).
    paid = session.execute(
        select(Transaction.created_at, Transaction.cabin_id, Transaction.operator_id,
               Call.destination, Call.price, Call.billed_seconds)
        .join(Call, Call.session_id == Transaction.session_id)
        .where(Transaction.callshop_id == shop.id, Transaction.training.is_(False),
               Call.answered_at.is_not(None),
               *_period_clauses(Transaction.created_at, period)))
    for created_at, cabin_id, operator_id, destination, price, billed in paid:
        key = _key(group_by, created_at, cabin_id, operator_id, destination, zone)
        for target in (row_for(key), totals):
            target.revenue += price
            target.calls += 1
            target.billed_seconds += billed

    # Cost: the shop's own account's call charges in the period.
    charged = session.execute(
        select(AccountEntry.created_at, AccountEntry.amount, Call.cabin_id,
               Transaction.operator_id, Call.destination)
        .join(Call, Call.id == AccountEntry.call_id)
        .outerjoin(Transaction, Transaction.session_id == Call.session_id)
        .where(AccountEntry.account_id == shop.account_id,
               AccountEntry.kind == EntryKind.CALL,
               *_period_clauses(AccountEntry.created_at, period)))
    for created_at, amount, cabin_id, operator_id, destination in charged:
        key = _key(group_by, created_at, cabin_id, operator_id, destination, zone)
        for target in (row_for(key), totals):
            target.cost -= amount  # a charge is a negative entry

    ordered = sorted(rows.items(), key=_sorter(group_by))
    return {
        "period": period.json(),
        "group_by": group_by,
        "currency": shop.currency,
        "rows": [{"key": key, "label": row.label, **row.json(shop.currency)}
                 for key, row in ordered],
        "totals": totals.json(shop.currency),
    }


def _key(group_by: str, moment: datetime, cabin_id: int, operator_id: int | None,
         destination: str, zone: Any) -> str:
    if group_by == "day":
        return local_day(moment, zone).isoformat()
    if group_by == "cabin":
        return str(cabin_id)
    if group_by == "operator":
        return str(operator_id) if operator_id is not None else UNPAID
    return destination or NO_DESTINATION


def _names(session: Session, shop: Callshop, group_by: str) -> Callable[[str], str]:
    if group_by == "cabin":
        cabins = {cabin_id: name for cabin_id, name in session.execute(
            select(Cabin.id, Cabin.name).where(Cabin.callshop_id == shop.id))}
        return lambda key: cabins.get(int(key), f"cabin {key}")
    if group_by == "operator":
        people = {user_id: display_name or username for user_id, username, display_name in
                  session.execute(select(User.id, User.username, User.display_name)
                                  .where(User.callshop_id == shop.id))}
        return lambda key: ("not paid yet" if key == UNPAID
                            else people.get(int(key), f"user {key}"))
    if group_by == "destination":
        return lambda key: "no destination" if key == NO_DESTINATION else key
    return lambda key: key


def _sorter(group_by: str) -> Callable[[tuple[str, Row]], Any]:
    if group_by == "day":
        return lambda item: item[0]                      # oldest day first
    if group_by == "destination":
        return lambda item: (-item[1].revenue, item[0])  # best sellers first
    # cabins and operators by name; the unpaid row last
    return lambda item: (item[0] == UNPAID, item[1].label.lower(), item[0])


@routes.get("/profit", Permission.VIEW_PROFIT,
            "Profit and loss: revenue, cost and profit per day, cabin, destination or "
            "operator", query=QUERY, response=PROFIT)
async def profit_report(ctx: Ctx) -> dict[str, Any]:
    """Over `[since, until)` (default: this month, in the shop's time zone). Revenue is
    counted when sessions are paid, cost when calls are charged: the totals are
    exactly `cashdesk.ledger.profit` over the same period."""
    return await ctx.db(profit_of, ctx.principal, ctx.now(), ctx.query)
