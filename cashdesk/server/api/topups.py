"""A shop's prepaid money: top-ups recorded by its reseller, the balance they leave,
and the combined history of payments and top-ups.

A top-up goes through `cashdesk.ledger.accounts.record_topup`, which locks the
account, writes the top-up and its entry, and answers a retry with the same
idempotency key with the first top-up (`replayed: true`, HTTP 200 both times).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, literal, select, union_all
from sqlalchemy.orm import Session

from cashdesk.auth.roles import Permission
from cashdesk.clock import Clock
from cashdesk.ledger.accounts import lock_account, record_topup
from cashdesk.ledger.errors import InsufficientCredit, InvalidAmount, LedgerError, TopupConflict
from cashdesk.ledger.kinds import TopupKind
from cashdesk.money import Money
from cashdesk.server import scope
from cashdesk.server.api.transactions import NAMED, OPERATOR, operator_json, page_rows
from cashdesk.server.billing import after_topup
from cashdesk.server.errors import Conflict, Invalid
from cashdesk.server.periods import CALLSHOP, PAGE, RANGE, Period, custom_period, shop_zone
from cashdesk.server.routes import Ctx, RouteTable
from cashdesk.server.schema import Bool, Int, MoneyText, Obj, Str, Timestamp, page_of
from cashdesk.server.state import Principal
from cashdesk.server.wire import money, timestamp
from cashdesk.store.models import (
    Account,
    AccountEntry,
    Cabin,
    Invoice,
    Reseller,
    Topup,
    Transaction,
    User,
)

log = logging.getLogger("cashdesk.server.topups")
routes = RouteTable("money")

KINDS = tuple(kind.value for kind in TopupKind)

RECORD = Obj({
    "amount": MoneyText("credited to the shop's balance; only a correction may be "
                        "negative", minimum=None),
    "kind": Str(choices=KINDS),
    "description": Str(max_len=500, default=""),
    "idempotency_key": Str("made by the client once per top-up; a retry sends the same",
                           min_len=1, max_len=64),
})

TOPUP = Obj({
    "id": Int(),
    "callshop_id": Int(),
    "amount": MoneyText(minimum=None),
    "currency": Str(),
    "kind": Str(choices=KINDS),
    "description": Str(),
    "recorded_by": Obj(OPERATOR.fields, "who recorded it", nullable=True),
    "balance_after": MoneyText("the shop's balance right after it", minimum=None),
    "created_at": Timestamp(),
})

RECORDED = TOPUP.extend({
    "balance": MoneyText("the shop's balance now", minimum=None),
    "replayed": Bool("true when this answers a retry with the same idempotency key"),
})


def _topups() -> Select[*tuple[Any, ...]]:
    return (select(Topup, AccountEntry.balance_after, User.username, User.display_name)
            .outerjoin(AccountEntry, AccountEntry.topup_id == Topup.id)
            .outerjoin(User, User.id == Topup.recorded_by))


def topup_json(row: Any, currency: str) -> dict[str, Any]:
    topup, balance_after, username, display_name = row
    return {
        "id": topup.id,
        "callshop_id": topup.callshop_id,
        "amount": money(topup.amount, currency),
        "currency": currency,
        "kind": topup.kind.value,
        "description": topup.description,
        "recorded_by": (operator_json(topup.recorded_by, username, display_name)
                        if topup.recorded_by is not None else None),
        "balance_after": money(balance_after if balance_after is not None else Decimal(0),
                               currency),
        "created_at": timestamp(topup.created_at),
    }


def record(session: Session, clock: Clock, principal: Principal, shop_id: int,
           body: dict[str, Any]) -> dict[str, Any]:
    shop = scope.reseller_shop(session, principal.reseller_id, shop_id)
    # Locked before the key is looked up, so a concurrent retry waits for the first
    # and then knows it is one (record_topup takes the same lock again, harmlessly).
    account = lock_account(session, shop.account_id)
    key = body["idempotency_key"]
    seen = session.scalar(select(Topup.id).where(Topup.account_id == account.id,
                                                 Topup.idempotency_key == key))
    amount = Money(body["amount"], shop.currency)
    try:
        topup = record_topup(session, clock, account, amount, TopupKind(body["kind"]),
                             description=body["description"],
                             recorded_by=session.get_one(User, principal.user_id),
                             callshop_id=shop.id, idempotency_key=key)
    except InvalidAmount as exc:
        raise Invalid(f"amount: {exc}", field="amount") from None
    except TopupConflict as exc:
        raise Conflict(str(exc), field="idempotency_key") from None
    except InsufficientCredit as exc:
        raise Conflict(str(exc), field="amount") from None
    except LedgerError as exc:
        raise Invalid(str(exc)) from None
    row = session.execute(_topups().where(Topup.id == topup.id)).one()
    balance = session.scalar(select(Account.balance).where(Account.id == account.id))
    return {**topup_json(row, shop.currency),
            "balance": money(balance if balance is not None else Decimal(0), shop.currency),
            "replayed": seen is not None}


@routes.post("/callshops/{shop_id}/topups", Permission.RECORD_TOPUP,
             "Record a top-up of one of your shops' balance", request=RECORD,
             response=RECORDED)
async def record_shop_topup(ctx: Ctx) -> dict[str, Any]:
    """Credits the shop's prepaid account. A correction is a signed adjustment that
    may take credit away, but never below zero (409). HTTP 200 for a retry with the
    same key too (`replayed: true`); the same key with another amount or kind is 409."""
    answer = await ctx.db(record, ctx.clock, ctx.principal, ctx.params["shop_id"], ctx.body)
    await after_topup(ctx.app, answer["callshop_id"])
    if not answer["replayed"]:
        log.info("%s recorded a %s top-up of %s for callshop %d", ctx.principal.username,
                 answer["kind"], answer["amount"], answer["callshop_id"])
    return answer


LIST_QUERY = {
    "kind": Str("only top-ups of this kind", choices=KINDS, required=False),
    **RANGE,
    **PAGE,
}


def list_topups_of(session: Session, principal: Principal, shop_id: int | None,
                   query: dict[str, Any]) -> dict[str, Any]:
    shop = scope.readable_shop(session, principal, shop_id)
    period = custom_period(query.get("since"), query.get("until"), shop_zone(shop))
    select_ = _topups().where(Topup.callshop_id == shop.id)
    if query.get("kind"):
        select_ = select_.where(Topup.kind == TopupKind(query["kind"]))
    if period.since is not None:
        select_ = select_.where(Topup.created_at >= period.since)
    if period.until is not None:
        select_ = select_.where(Topup.created_at < period.until)
    select_ = select_.order_by(Topup.created_at.desc(), Topup.id.desc())
    rows, total = page_rows(session, select_, query["offset"], query["limit"])
    return {"items": [topup_json(row, shop.currency) for row in rows], "total": total,
            "offset": query["offset"], "limit": query["limit"]}


@routes.get("/topups", Permission.VIEW_TOPUPS, "The shop's top-ups, newest first, paged",
            query={**CALLSHOP, **LIST_QUERY}, response=page_of(TOPUP))
async def list_topups(ctx: Ctx) -> dict[str, Any]:
    """A shop's admin reads their own shop's; a reseller names the shop
    (`callshop_id`), or uses GET /callshops/{shop_id}/topups."""
    return await ctx.db(list_topups_of, ctx.principal, ctx.query.get("callshop_id"),
                        ctx.query)


@routes.get("/callshops/{shop_id}/topups", Permission.VIEW_TOPUPS,
            "One of your shops' top-ups, newest first, paged", query=LIST_QUERY,
            response=page_of(TOPUP))
async def list_shop_topups(ctx: Ctx) -> dict[str, Any]:
    return await ctx.db(list_topups_of, ctx.principal, ctx.params["shop_id"], ctx.query)


# --- balance ----------------------------------------------------------------------

LEVEL = Obj({
    "currency": Str(),
    "prepaid": Bool("a prepaid level must be able to pay for every call"),
    "balance": MoneyText(minimum=None),
})

BALANCE = Obj({
    "callshop": Obj({"id": Int(), "name": Str(), **LEVEL.fields},
                    "the shop's account; null for a reseller that names no shop",
                    nullable=True),
    "reseller": Obj(LEVEL.fields, "the reseller's own account: for a shop's users only "
                    "when it is prepaid (its credit also limits the shop's calls)",
                    nullable=True),
})


def _level(account: Account) -> dict[str, Any]:
    return {"currency": account.currency, "prepaid": account.prepaid,
            "balance": money(account.balance, account.currency)}


def balance_of(session: Session, principal: Principal,
               shop_id: int | None) -> dict[str, Any]:
    answer: dict[str, Any] = {"callshop": None, "reseller": None}
    reseller_account: Account | None = None
    if shop_id is not None or principal.callshop_id is not None:
        shop = scope.readable_shop(session, principal, shop_id)
        account = session.get_one(Account, shop.account_id)
        answer["callshop"] = {"id": shop.id, "name": shop.name, **_level(account)}
        if account.parent_id is not None:
            reseller_account = session.get_one(Account, account.parent_id)
    if principal.callshop_id is None:
        reseller = session.get_one(Reseller, principal.reseller_id)
        reseller_account = session.get_one(Account, reseller.account_id)
    if reseller_account is not None and (reseller_account.prepaid
                                         or principal.callshop_id is None):
        answer["reseller"] = _level(reseller_account)
    return answer


@routes.get("/balance", Permission.VIEW_BALANCE, "The prepaid balance, as stored now",
            query=CALLSHOP, response=BALANCE)
async def get_balance(ctx: Ctx) -> dict[str, Any]:
    """The shop's balance, and its reseller's when that level is prepaid too (calls
    stop when either runs out). Credit the live calls have reserved is not deducted
    here. A reseller without `callshop_id` reads its own account."""
    return await ctx.db(balance_of, ctx.principal, ctx.query.get("callshop_id"))


# --- the money history: payments and top-ups, merged by date ----------------------------

MOVEMENT = Obj({
    "type": Str(choices=("payment", "topup")),
    "id": Int("the transaction's or the top-up's id"),
    "created_at": Timestamp(),
    "amount": MoneyText("a payment's amount due, or the amount credited", minimum=None),
    "training": Bool(),
    "cabin": Obj(NAMED.fields, "a payment's cabin", nullable=True),
    "operator": Obj(OPERATOR.fields, "who took the payment or recorded the top-up",
                    nullable=True),
    "received": MoneyText("a payment's cash received", nullable=True),
    "change": MoneyText("a payment's change", nullable=True),
    "invoice_number": Str(nullable=True),
    "topup_kind": Str(choices=KINDS, nullable=True),
    "description": Str(),
})

MONEY_HISTORY = page_of(MOVEMENT).extend({
    "period": Obj({"name": Str(), "timezone": Str(), "since": Str(nullable=True),
                   "until": Str(nullable=True)}),
    "totals": Obj({
        "payments": MoneyText("the amounts due of the (real) payments that match"),
        "topups": MoneyText("the top-ups that match, corrections included", minimum=None),
    }),
})


def _in(column: Any, period: Period) -> list[Any]:
    clauses = []
    if period.since is not None:
        clauses.append(column >= period.since)
    if period.until is not None:
        clauses.append(column < period.until)
    return clauses


def money_history_of(session: Session, principal: Principal,
                     query: dict[str, Any]) -> dict[str, Any]:
    shop = scope.readable_shop(session, principal, query.get("callshop_id"))
    currency = shop.currency
    period = custom_period(query.get("since"), query.get("until"), shop_zone(shop))
    payments = (select(literal("payment").label("type"), Transaction.id.label("id"),
                       Transaction.created_at.label("created_at"))
                .where(Transaction.callshop_id == shop.id,
                       *_in(Transaction.created_at, period)))
    topups = (select(literal("topup").label("type"), Topup.id.label("id"),
                     Topup.created_at.label("created_at"))
              .where(Topup.callshop_id == shop.id, *_in(Topup.created_at, period)))
    merged = union_all(payments, topups).subquery()
    ordered = (select(merged.c.type, merged.c.id, merged.c.created_at)
               .order_by(merged.c.created_at.desc(), merged.c.type, merged.c.id.desc()))
    rows, total = page_rows(session, ordered, query["offset"], query["limit"])

    payment_ids = [row.id for row in rows if row.type == "payment"]
    topup_ids = [row.id for row in rows if row.type == "topup"]
    paid = {t.id: (t, cabin, username, display_name, number)
            for t, cabin, username, display_name, number in session.execute(
                select(Transaction, Cabin.name, User.username, User.display_name,
                       Invoice.number)
                .join(Cabin, Cabin.id == Transaction.cabin_id)
                .join(User, User.id == Transaction.operator_id)
                .outerjoin(Invoice, Invoice.id == Transaction.invoice_id)
                .where(Transaction.id.in_(payment_ids)))} if payment_ids else {}
    credited = {row[0].id: row for row in session.execute(
        _topups().where(Topup.id.in_(topup_ids)))} if topup_ids else {}

    items = []
    for row in rows:
        if row.type == "payment":
            transaction, cabin_name, username, display_name, number = paid[row.id]
            items.append({
                "type": "payment", "id": transaction.id,
                "created_at": timestamp(transaction.created_at),
                "amount": money(transaction.amount_due, currency),
                "training": transaction.training,
                "cabin": {"id": transaction.cabin_id, "name": cabin_name},
                "operator": operator_json(transaction.operator_id, username, display_name),
                "received": money(transaction.received, currency),
                "change": money(transaction.change, currency),
                "invoice_number": number, "topup_kind": None,
                "description": f"cabin {cabin_name}",
            })
        else:
            topup = topup_json(credited[row.id], currency)
            items.append({
                "type": "topup", "id": topup["id"], "created_at": topup["created_at"],
                "amount": topup["amount"], "training": False, "cabin": None,
                "operator": topup["recorded_by"], "received": None, "change": None,
                "invoice_number": None, "topup_kind": topup["kind"],
                "description": topup["description"],
            })

    paid_total = session.scalar(
        select(func.sum(Transaction.amount_due))
        .where(Transaction.callshop_id == shop.id, Transaction.training.is_(False),
               *_in(Transaction.created_at, period)))
    topped_total = session.scalar(
        select(func.sum(Topup.amount))
        .where(Topup.callshop_id == shop.id, *_in(Topup.created_at, period)))
    return {"items": items, "total": total, "offset": query["offset"],
            "limit": query["limit"], "period": period.json(),
            "totals": {"payments": money(_amount(paid_total), currency),
                       "topups": money(_amount(topped_total), currency)}}


def _amount(value: Decimal | None) -> Decimal:
    """A SUM of an Amount column (converted by the column's type), or 0 for no rows."""
    return value if value is not None else Decimal(0)


@routes.get("/history/money", Permission.VIEW_TRANSACTIONS,
            "Payments and top-ups together, newest first, paged",
            query={**CALLSHOP, **RANGE, **PAGE}, response=MONEY_HISTORY)
async def money_history(ctx: Ctx) -> dict[str, Any]:
    """Every payment taken and every top-up recorded, merged by date, with the totals
    of each over the filter. Training payments are listed (marked) but not totalled.
    Every role that may read payments may also read top-ups (roles.py)."""
    return await ctx.db(money_history_of, ctx.principal, ctx.query)
