"""Payments taken at the till, looked back on: the shop's transactions (for its admin
and its reseller) and one cabin's past sessions (for the cashier at the till).

Lists are newest first and paged (at most 500 a page). A shop's users read their own
shop; a reseller names one of its shops with `callshop_id`. Buy costs are for the
admin and the reseller only: the cabin history a cashier reads shows prices, never
costs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cashdesk.auth.roles import Permission
from cashdesk.server import scope
from cashdesk.server.periods import CALLSHOP, PAGE, RANGE, custom_period, shop_zone
from cashdesk.server.routes import Ctx, RouteTable
from cashdesk.server.schema import Bool, Int, ListOf, MoneyText, Obj, Str, Timestamp, page_of
from cashdesk.server.state import Principal
from cashdesk.server.wire import money, optional_timestamp, timestamp
from cashdesk.store.models import Cabin, CabinSession, Call, Callshop, Invoice, Transaction, User

routes = RouteTable("transactions")

# --- shapes shared with the call history -------------------------------------------

NAMED = Obj({"id": Int(), "name": Str()})
OPERATOR = Obj({"id": Int(), "username": Str(), "display_name": Str()})
INVOICE_REF = Obj({"id": Int(), "number": Str()}, "the invoice; null when none was issued",
                  nullable=True)

#: A call as the till shows it: no buy cost.
CALL_LINE = Obj({
    "id": Int(),
    "started_at": Timestamp(),
    "answered_at": Timestamp(nullable=True),
    "ended_at": Timestamp(nullable=True),
    "dialed_number": Str(),
    "number": Str("the normalised number that was rated"),
    "destination": Str(),
    "state": Str(),
    "duration_seconds": Int("talk time, from answer to hang-up", nullable=True),
    "billed_seconds": Int(),
    "price_per_minute": MoneyText(),
    "price": MoneyText("what the customer pays (nothing for a call never answered)"),
    "hangup_reason": Str(),
    "training": Bool(),
})

#: A call as the admin and the reseller see it: with what it cost the shop.
CALL = CALL_LINE.extend({
    "cabin_id": Int(),
    "session_id": Int(nullable=True),
    "cost": MoneyText("what the shop pays its reseller for it"),
})


def duration(call: Call) -> int | None:
    if call.answered_at is None or call.ended_at is None:
        return None
    return max(0, int((call.ended_at - call.answered_at).total_seconds()))


def call_line_json(call: Call, currency: str) -> dict[str, Any]:
    return {
        "id": call.id,
        "started_at": timestamp(call.started_at),
        "answered_at": optional_timestamp(call.answered_at),
        "ended_at": optional_timestamp(call.ended_at),
        "dialed_number": call.dialed_number,
        "number": call.number,
        "destination": call.destination,
        "state": call.state.value,
        "duration_seconds": duration(call),
        "billed_seconds": call.billed_seconds,
        "price_per_minute": money(call.price_per_minute, currency),
        "price": money(call.price if call.answered_at is not None else Decimal(0), currency),
        "hangup_reason": call.hangup_reason,
        "training": call.training,
    }


def call_json(call: Call, currency: str) -> dict[str, Any]:
    return {**call_line_json(call, currency), "cabin_id": call.cabin_id,
            "session_id": call.session_id, "cost": money(call.cost, currency)}


def operator_json(user_id: int, username: str, display_name: str) -> dict[str, Any]:
    return {"id": user_id, "username": username, "display_name": display_name or username}


def invoice_json(invoice_id: int | None, number: str | None) -> dict[str, Any] | None:
    return None if invoice_id is None else {"id": invoice_id, "number": number or ""}


def page_rows(session: Session, query: Select[*tuple[Any, ...]], offset: int,
              limit: int) -> tuple[list[Any], int]:
    """One page of a multi-column query and how many rows match in all."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return list(session.execute(query.offset(offset).limit(limit))), int(total or 0)


def calls_of_sessions(session: Session, session_ids: Iterable[int]) -> dict[int, list[Call]]:
    """The calls of each session, oldest first."""
    ids = list(session_ids)
    calls: dict[int, list[Call]] = defaultdict(list)
    if ids:
        for call in session.scalars(select(Call).where(Call.session_id.in_(ids))
                                    .order_by(Call.started_at, Call.id)):
            assert call.session_id is not None
            calls[call.session_id].append(call)
    return calls


# --- transactions ------------------------------------------------------------------

CALLS_SUMMARY = Obj({
    "count": Int("every call of the session, answered or not"),
    "answered": Int(),
    "billed_seconds": Int(),
    "destinations": ListOf(Str(), "the destinations called, in order, each once"),
})

TRANSACTION = Obj({
    "id": Int(),
    "callshop_id": Int(),
    "session_id": Int(),
    "created_at": Timestamp(),
    "cabin": NAMED,
    "operator": OPERATOR,
    "shift_id": Int(nullable=True),
    "amount_due": MoneyText(),
    "received": MoneyText(),
    "change": MoneyText(),
    "currency": Str(),
    "training": Bool("a practice payment: never counted in the shop's figures"),
    "invoice": INVOICE_REF,
    "calls": CALLS_SUMMARY,
})

TRANSACTION_DETAIL = TRANSACTION.extend({"calls": ListOf(CALL)})


def _summary(calls: list[Call]) -> dict[str, Any]:
    answered = [call for call in calls if call.answered_at is not None]
    return {"count": len(calls), "answered": len(answered),
            "billed_seconds": sum(call.billed_seconds for call in answered),
            "destinations": list(dict.fromkeys(call.destination for call in calls
                                               if call.destination))}


def _transactions() -> Select[*tuple[Any, ...]]:
    return (select(Transaction, Cabin.name, User.username, User.display_name, Invoice.number)
            .join(Cabin, Cabin.id == Transaction.cabin_id)
            .join(User, User.id == Transaction.operator_id)
            .outerjoin(Invoice, Invoice.id == Transaction.invoice_id))


def transaction_json(row: Any, currency: str, calls: list[Call], *,
                     detail: bool = False) -> dict[str, Any]:
    transaction, cabin_name, username, display_name, invoice_number = row
    return {
        "id": transaction.id,
        "callshop_id": transaction.callshop_id,
        "session_id": transaction.session_id,
        "created_at": timestamp(transaction.created_at),
        "cabin": {"id": transaction.cabin_id, "name": cabin_name},
        "operator": operator_json(transaction.operator_id, username, display_name),
        "shift_id": transaction.shift_id,
        "amount_due": money(transaction.amount_due, currency),
        "received": money(transaction.received, currency),
        "change": money(transaction.change, currency),
        "currency": currency,
        "training": transaction.training,
        "invoice": invoice_json(transaction.invoice_id, invoice_number),
        "calls": ([call_json(call, currency) for call in calls] if detail
                  else _summary(calls)),
    }


LIST_QUERY = {
    **CALLSHOP,
    "operator_id": Int("only payments this operator took", minimum=1, required=False),
    "cabin_id": Int("only payments of this cabin", minimum=1, required=False),
    **RANGE,
    **PAGE,
}


def list_transactions_in(session: Session, principal: Principal,
                         query: dict[str, Any]) -> dict[str, Any]:
    shop = scope.readable_shop(session, principal, query.get("callshop_id"))
    period = custom_period(query.get("since"), query.get("until"), shop_zone(shop))
    select_ = _transactions().where(Transaction.callshop_id == shop.id)
    if query.get("operator_id") is not None:
        select_ = select_.where(Transaction.operator_id == query["operator_id"])
    if query.get("cabin_id") is not None:
        select_ = select_.where(Transaction.cabin_id == query["cabin_id"])
    if period.since is not None:
        select_ = select_.where(Transaction.created_at >= period.since)
    if period.until is not None:
        select_ = select_.where(Transaction.created_at < period.until)
    select_ = select_.order_by(Transaction.created_at.desc(), Transaction.id.desc())
    rows, total = page_rows(session, select_, query["offset"], query["limit"])
    calls = calls_of_sessions(session, (row[0].session_id for row in rows))
    return {"items": [transaction_json(row, shop.currency, calls[row[0].session_id])
                      for row in rows],
            "total": total, "offset": query["offset"], "limit": query["limit"]}


@routes.get("/transactions", Permission.VIEW_TRANSACTIONS,
            "The shop's payments, newest first, paged", query=LIST_QUERY,
            response=page_of(TRANSACTION))
async def list_transactions(ctx: Ctx) -> dict[str, Any]:
    """Each payment with its operator, cabin, invoice number and a summary of its
    calls. `since`/`until` filter on when the payment was taken."""
    return await ctx.db(list_transactions_in, ctx.principal, ctx.query)


@routes.get("/transactions/{transaction_id}", Permission.VIEW_TRANSACTIONS,
            "One payment with its calls", response=TRANSACTION_DETAIL)
async def get_transaction(ctx: Ctx) -> dict[str, Any]:
    def work(session: Session, principal: Principal, transaction_id: int) -> dict[str, Any]:
        found = scope.shop_transaction(session, principal, transaction_id)
        row = session.execute(_transactions().where(Transaction.id == found.id)).one()
        currency = session.get_one(Callshop, found.callshop_id).currency
        calls = calls_of_sessions(session, [found.session_id])[found.session_id]
        return transaction_json(row, currency, calls, detail=True)

    return await ctx.db(work, ctx.principal, ctx.params["transaction_id"])


# --- one cabin's history, for the till ---------------------------------------------------

PAST_SESSION = Obj({
    "id": Int(),
    "opened_at": Timestamp(),
    "closed_at": Timestamp(),
    "training": Bool(),
    "transaction_id": Int(),
    "operator": OPERATOR,
    "amount_due": MoneyText(),
    "received": MoneyText(),
    "change": MoneyText(),
    "has_invoice": Bool(),
    "invoice": INVOICE_REF,
    "calls": ListOf(CALL_LINE),
})


@routes.get("/cabins/{cabin_id}/sessions", Permission.VIEW_CABIN_HISTORY,
            "A cabin's past (paid) sessions with their calls, newest first",
            query=PAGE, response=page_of(PAST_SESSION))
async def cabin_sessions(ctx: Ctx) -> dict[str, Any]:
    """What the cashier needs when a customer comes back: each paid session's calls
    (time, number, destination, duration, price), who took the cash, the amounts, and
    whether an invoice was issued (its PDF: GET /transactions/{id}/invoice.pdf)."""
    def work(session: Session, shop_id: int, cabin_id: int,
             query: dict[str, Any]) -> dict[str, Any]:
        cabin = scope.cabin(session, shop_id, cabin_id)
        currency = session.get_one(Callshop, shop_id).currency
        select_ = (select(CabinSession, Transaction, User.username, User.display_name,
                          Invoice.number)
                   .join(Transaction, Transaction.session_id == CabinSession.id)
                   .join(User, User.id == Transaction.operator_id)
                   .outerjoin(Invoice, Invoice.id == Transaction.invoice_id)
                   .where(CabinSession.cabin_id == cabin.id)
                   .order_by(Transaction.created_at.desc(), Transaction.id.desc()))
        rows, total = page_rows(session, select_, query["offset"], query["limit"])
        calls = calls_of_sessions(session, (row[0].id for row in rows))
        items = []
        for cabin_session, transaction, username, display_name, number in rows:
            items.append({
                "id": cabin_session.id,
                "opened_at": timestamp(cabin_session.opened_at),
                "closed_at": timestamp(cabin_session.closed_at or transaction.created_at),
                "training": cabin_session.training,
                "transaction_id": transaction.id,
                "operator": operator_json(transaction.operator_id, username, display_name),
                "amount_due": money(transaction.amount_due, currency),
                "received": money(transaction.received, currency),
                "change": money(transaction.change, currency),
                "has_invoice": transaction.invoice_id is not None,
                "invoice": invoice_json(transaction.invoice_id, number),
                "calls": [call_line_json(call, currency) for call in calls[cabin_session.id]],
            })
        return {"items": items, "total": total, "offset": query["offset"],
                "limit": query["limit"]}

    return await ctx.db(work, ctx.shop_id, ctx.params["cabin_id"], ctx.query)
