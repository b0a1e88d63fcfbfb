"""The owner's dashboard: who is working now, what today brought, and the sales of a
period per operator.

Periods are the shop's own (`Callshop.timezone`), computed from the server's clock:
`today`, `yesterday`, `this_week` and `last_week` (weeks start on Monday, ISO 8601),
`this_month`, `last_month`, or `custom` with `since` and `until`
(`cashdesk.server.periods`). Training payments and calls are practice and never count.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cashdesk.auth.roles import Permission
from cashdesk.server import scope
from cashdesk.server.api.transactions import NAMED, OPERATOR, operator_json
from cashdesk.server.periods import (
    CALLSHOP,
    PERIOD,
    RANGE,
    TODAY,
    Period,
    named_period,
    query_period,
    shop_zone,
)
from cashdesk.server.routes import Ctx, RouteTable
from cashdesk.server.schema import Int, ListOf, MoneyText, Obj, Str, Timestamp
from cashdesk.server.state import Principal
from cashdesk.server.wire import money, timestamp
from cashdesk.store.models import (
    AuthToken,
    Cabin,
    Call,
    Callshop,
    Invoice,
    Shift,
    Transaction,
    User,
)

routes = RouteTable("dashboard")

TOP_PAYMENTS = 5

PERIOD_JSON = Obj({
    "name": Str(),
    "timezone": Str("the shop's time zone the period was computed in"),
    "since": Str(nullable=True),
    "until": Str("excluded", nullable=True),
})

SALES = Obj({"payments": Int(), "amount": MoneyText()})

DASHBOARD = Obj({
    "period": PERIOD_JSON,
    "currency": Str(),
    "operators_on_shift": ListOf(Obj({
        "shift_id": Int(),
        "operator": OPERATOR,
        "opened_at": Timestamp(),
        "logged_in_until": Timestamp("when the latest of their logins expires"),
        "payments": Int("payments taken on this shift"),
        "sales": MoneyText(),
    }), "operators logged in now: open shifts with a login that has not expired"),
    "today": Obj({
        "since": Timestamp(),
        "until": Timestamp(),
        "payments": Int(),
        "sales": MoneyText(),
        "calls": Int("calls started today, answered or not"),
        "answered_calls": Int(),
        "billed_seconds": Int(),
    }),
    "sales": Obj(SALES.fields, "payments taken in the period"),
    "top_payments": ListOf(Obj({
        "transaction_id": Int(),
        "created_at": Timestamp(),
        "cabin": NAMED,
        "operator": OPERATOR,
        "amount_due": MoneyText(),
        "invoice_number": Str(nullable=True),
    }), f"the {TOP_PAYMENTS} highest payments of the period"),
    "sales_by_operator": ListOf(Obj({
        "operator": OPERATOR,
        "payments": Int(),
        "sales": MoneyText(),
    }), "per operator over the period, highest first"),
})


def _real(shop_id: int, since: datetime | None, until: datetime | None) -> list[Any]:
    clauses = [Transaction.callshop_id == shop_id, Transaction.training.is_(False)]
    if since is not None:
        clauses.append(Transaction.created_at >= since)
    if until is not None:
        clauses.append(Transaction.created_at < until)
    return clauses


def _sales(session: Session, shop_id: int, since: datetime | None,
           until: datetime | None) -> tuple[int, Decimal]:
    count, total = session.execute(select(func.count(), func.sum(Transaction.amount_due))
                                   .where(*_real(shop_id, since, until))).one()
    return int(count), total if total is not None else Decimal(0)


def dashboard_of(session: Session, principal: Principal, now: datetime,
                 query: dict[str, Any]) -> dict[str, Any]:
    shop = scope.readable_shop(session, principal, query.get("callshop_id"))
    currency = shop.currency
    period = query_period(shop, query, now, default=TODAY)
    today_since, today_until = named_period(TODAY, now, shop_zone(shop))
    today_payments, today_sales = _sales(session, shop.id, today_since, today_until)
    calls, answered, billed = session.execute(
        select(func.count(), func.count(Call.answered_at),
               func.sum(Call.billed_seconds).filter(Call.answered_at.is_not(None)))
        .where(Call.callshop_id == shop.id, Call.training.is_(False),
               Call.started_at >= today_since, Call.started_at < today_until)).one()
    period_payments, period_sales = _sales(session, shop.id, period.since, period.until)
    return {
        "period": period.json(),
        "currency": currency,
        "operators_on_shift": _on_shift(session, shop, now),
        "today": {"since": timestamp(today_since), "until": timestamp(today_until),
                  "payments": today_payments, "sales": money(today_sales, currency),
                  "calls": int(calls), "answered_calls": int(answered),
                  "billed_seconds": int(billed or 0)},
        "sales": {"payments": period_payments, "amount": money(period_sales, currency)},
        "top_payments": _top_payments(session, shop, period),
        "sales_by_operator": _by_operator(session, shop, period),
    }


def _on_shift(session: Session, shop: Callshop, now: datetime) -> list[dict[str, Any]]:
    # An open shift whose logins have all expired is not someone at the till now.
    logins = (select(AuthToken.shift_id, func.max(AuthToken.expires_at).label("until"))
              .where(AuthToken.callshop_id == shop.id, AuthToken.shift_id.is_not(None),
                     AuthToken.revoked_at.is_(None), AuthToken.expires_at > now)
              .group_by(AuthToken.shift_id).subquery())
    taken = (select(Transaction.shift_id, func.count().label("payments"),
                    func.sum(Transaction.amount_due).label("sales"))
             .where(Transaction.callshop_id == shop.id, Transaction.training.is_(False),
                    Transaction.shift_id.is_not(None))
             .group_by(Transaction.shift_id).subquery())
    rows = session.execute(
        select(Shift, User.username, User.display_name, taken.c.payments, taken.c.sales,
               logins.c.until)
        .join(User, User.id == Shift.operator_id)
        .join(logins, logins.c.shift_id == Shift.id)
        .outerjoin(taken, taken.c.shift_id == Shift.id)
        .where(Shift.callshop_id == shop.id, Shift.closed_at.is_(None))
        .order_by(Shift.opened_at, Shift.id))
    return [{"shift_id": shift.id,
             "operator": operator_json(shift.operator_id, username, display_name),
             "opened_at": timestamp(shift.opened_at),
             "logged_in_until": timestamp(until),
             "payments": int(payments or 0),
             "sales": money(sales if sales is not None else Decimal(0), shop.currency)}
            for shift, username, display_name, payments, sales, until in rows]


def _top_payments(session: Session, shop: Callshop, period: Period) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Transaction, Cabin.name, User.username, User.display_name, Invoice.number)
        .join(Cabin, Cabin.id == Transaction.cabin_id)
        .join(User, User.id == Transaction.operator_id)
        .outerjoin(Invoice, Invoice.id == Transaction.invoice_id)
        .where(*_real(shop.id, period.since, period.until))
        .order_by(Transaction.amount_due.desc(), Transaction.created_at.desc(),
                  Transaction.id.desc())
        .limit(TOP_PAYMENTS))
    return [{"transaction_id": transaction.id,
             "created_at": timestamp(transaction.created_at),
             "cabin": {"id": transaction.cabin_id, "name": cabin_name},
             "operator": operator_json(transaction.operator_id, username, display_name),
             "amount_due": money(transaction.amount_due, shop.currency),
             "invoice_number": number}
            for transaction, cabin_name, username, display_name, number in rows]


def _by_operator(session: Session, shop: Callshop, period: Period) -> list[dict[str, Any]]:
    total = func.sum(Transaction.amount_due)
    rows = session.execute(
        select(Transaction.operator_id, User.username, User.display_name, func.count(), total)
        .join(User, User.id == Transaction.operator_id)
        .where(*_real(shop.id, period.since, period.until))
        .group_by(Transaction.operator_id, User.username, User.display_name)
        .order_by(total.desc(), Transaction.operator_id))
    return [{"operator": operator_json(operator_id, username, display_name),
             "payments": int(count), "sales": money(sales, shop.currency)}
            for operator_id, username, display_name, count, sales in rows]


@routes.get("/dashboard", Permission.VIEW_DASHBOARD,
            "Operators on shift, today's sales and calls, top payments, sales per operator",
            query={**CALLSHOP, "period": PERIOD, **RANGE}, response=DASHBOARD)
async def dashboard(ctx: Ctx) -> dict[str, Any]:
    """`today` is always today; `sales`, `top_payments` and `sales_by_operator` cover
    `period` (default today) in the shop's time zone; weeks start on Monday."""
    return await ctx.db(dashboard_of, ctx.principal, ctx.now(), ctx.query)
