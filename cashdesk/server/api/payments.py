"""Pay: the cashier takes cash for a cabin's session and the cabin is free again.

`POST /cabins/{cabin_id}/pay` runs `cashdesk.ledger.payments.pay_cabin` — and, when
asked, `cashdesk.invoices.issue_invoice` — in one database transaction on a database
thread: the payment, its invoice and the shop's invoice counter commit together or
not at all, so invoice numbers stay gap-free.

- The operator is the caller; the shift is the one their login opened. An admin has
  no shift and may pay without one.
- A retry with the same `idempotency_key` (a client that never saw the answer) gets
  the first answer again, with `replayed: true`; nothing new is written. A replay
  answers the first payment as it was: asking for an invoice on the retry issues none.
- Two desks paying the same cabin at once: one payment, and the other desk a 409
  saying who paid (the ledger locks the session; SQLite also serialises writers).
- Refusals: 422 when the cash received is less than what is due (the answer shows
  both), 409 when a call is still live, when there is nothing to pay, or when another
  payment won; 422 when the invoice cannot be issued (then nothing is paid at all).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from cashdesk.auth.roles import Permission, Role
from cashdesk.clock import Clock
from cashdesk.ledger.errors import (
    CallStillLive,
    InsufficientCash,
    InvalidAmount,
    InvalidPayment,
    LedgerError,
    NothingToPay,
    PaymentConflict,
)
from cashdesk.ledger.payments import Payment, pay_cabin
from cashdesk.ledger.sessions import session_due
from cashdesk.money import Money
from cashdesk.server import scope
from cashdesk.server.billing import after_payment
from cashdesk.server.errors import Conflict, Invalid, NotFound, Unprocessable
from cashdesk.server.routes import Ctx, RouteTable
from cashdesk.server.schema import Bool, Int, MoneyText, Obj, Str, Timestamp
from cashdesk.server.state import Principal
from cashdesk.server.wire import money, timestamp
from cashdesk.store.models import (
    Cabin,
    CabinSession,
    Callshop,
    Invoice,
    Shift,
    Transaction,
    User,
)

log = logging.getLogger("cashdesk.server.payments")
routes = RouteTable("payments")


class PaymentRefused(Conflict):
    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


PAY = Obj({
    "received": MoneyText("the cash the customer handed over"),
    "idempotency_key": Str("made by the client once per Pay press (a UUID); a retry "
                           "sends the same key", min_len=1, max_len=64),
    "invoice": Bool("issue a numbered PDF invoice with the payment", default=False),
    "session_id": Int("the session the desk showed; when given, a session someone else "
                      "paid meanwhile is a 409 payment_conflict", minimum=1,
                      required=False),
})

PAID = Obj({
    "transaction_id": Int(),
    "session_id": Int(),
    "cabin_id": Int(),
    "amount_due": MoneyText(),
    "received": MoneyText(),
    "change": MoneyText("received − due, to hand back"),
    "currency": Str(),
    "created_at": Timestamp(),
    "operator_id": Int(),
    "shift_id": Int(nullable=True),
    "training": Bool(),
    "invoice": Obj({"id": Int(), "number": Str()}, "the invoice, if one was issued",
                   nullable=True),
    "replayed": Bool("true when this answers a retry with the same idempotency key: "
                     "nothing new was written"),
})


def _paid_json(session: Session, payment: Payment, currency: str) -> dict[str, Any]:
    transaction = payment.transaction
    invoice = (session.get(Invoice, transaction.invoice_id)
               if transaction.invoice_id is not None else None)
    return {
        "transaction_id": transaction.id,
        "session_id": transaction.session_id,
        "cabin_id": transaction.cabin_id,
        "amount_due": money(transaction.amount_due, currency),
        "received": money(transaction.received, currency),
        "change": money(payment.change.amount, currency),
        "currency": currency,
        "created_at": timestamp(transaction.created_at),
        "operator_id": transaction.operator_id,
        "shift_id": transaction.shift_id,
        "training": transaction.training,
        "invoice": {"id": invoice.id, "number": invoice.number} if invoice else None,
        "replayed": payment.replayed,
    }


def _shift(session: Session, principal: Principal) -> Shift | None:
    if principal.shift_id is None:
        if principal.role is Role.OPERATOR:
            raise PaymentRefused("your login has no shift; log out and in again to open "
                                 "one", code="no_open_shift")
        return None  # an admin takes cash without a shift
    shift = session.get_one(Shift, principal.shift_id)
    if shift.closed_at is not None:
        raise PaymentRefused(f"your shift {shift.id} was closed at "
                             f"{shift.closed_at.isoformat()}; log in again to open a new "
                             "one", code="shift_closed")
    return shift


def _last_payment(session: Session, cabin: Cabin, locale: str) -> str:
    """Who paid the cabin last, to tell a desk that lost the race what happened."""
    row = session.execute(
        select(Transaction, User.username, User.display_name)
        .join(User, User.id == Transaction.operator_id)
        .where(Transaction.cabin_id == cabin.id)
        .order_by(Transaction.created_at.desc(), Transaction.id.desc()).limit(1)).first()
    if row is None:
        return ""
    transaction, username, display_name = row
    currency = session.get_one(Callshop, cabin.callshop_id).currency
    return (f"; its last session was paid at {transaction.created_at.isoformat()} by "
            f"{display_name or username} ({Money(transaction.amount_due, currency).format(locale)}, "
            f"transaction {transaction.id})")


def _due(session: Session, cabin: Cabin, session_id: int | None) -> Money | None:
    query = select(CabinSession).where(CabinSession.cabin_id == cabin.id)
    query = (query.where(CabinSession.id == session_id) if session_id is not None
             else query.where(CabinSession.closed_at.is_(None)))
    target = session.scalar(query)
    return session_due(session, target) if target is not None else None


def _issue_invoice(session: Session, clock: Clock, transaction: Transaction) -> None:
    # Imported here: rendering PDFs pulls in reportlab, which nothing else needs.
    from cashdesk.invoices import InvoiceError, issue_invoice

    try:
        issue_invoice(session, clock, transaction)
    except InvoiceError as exc:
        # Raised inside the payment's transaction: the payment rolls back with it, so
        # the cashier can pay again without an invoice, or fix the settings first.
        raise Unprocessable(f"the invoice could not be issued, so nothing was paid: {exc}. "
                            "Pay without an invoice, or correct the invoice settings",
                            code="invoice_failed") from None


def pay(session: Session, clock: Clock, principal: Principal, shop_id: int, cabin_id: int,
        body: dict[str, Any]) -> dict[str, Any]:
    cabin = scope.cabin(session, shop_id, cabin_id)
    shop = session.get_one(Callshop, shop_id)
    operator = session.get_one(User, principal.user_id)
    received = Money(body["received"], shop.currency)
    try:
        payment = pay_cabin(session, clock, cabin=cabin, operator=operator,
                            shift=_shift(session, principal), received=received,
                            idempotency_key=body["idempotency_key"],
                            cabin_session_id=body.get("session_id"))
    except InsufficientCash as exc:
        due = _due(session, cabin, body.get("session_id"))
        raise Unprocessable(
            f"{exc}; ask for {(due - received).format(shop.locale)} more"
            if due is not None else str(exc),
            code="insufficient_cash",
            amount_due=money(due.amount, shop.currency) if due is not None else None,
            received=money(received.amount, shop.currency)) from None
    except CallStillLive as exc:
        raise PaymentRefused(str(exc), code="call_still_live") from None
    except NothingToPay as exc:
        raise PaymentRefused(f"{exc}{_last_payment(session, cabin, shop.locale)}",
                             code="nothing_to_pay") from None
    except PaymentConflict as exc:
        # Lost a race for the session (rather than reusing a key): say who won.
        raced = session.scalar(select(Transaction.id).where(
            Transaction.callshop_id == shop.id,
            Transaction.idempotency_key == body["idempotency_key"])) is None
        context = _last_payment(session, cabin, shop.locale) if raced else ""
        raise PaymentRefused(f"{exc}{context}", code="payment_conflict") from None
    except InvalidPayment as exc:
        raise PaymentRefused(str(exc), code="invalid_payment") from None
    except InvalidAmount as exc:
        raise Invalid(f"received: {exc}", field="received") from None
    except LedgerError as exc:
        raise Invalid(str(exc)) from None
    if body["invoice"] and not payment.replayed:
        _issue_invoice(session, clock, payment.transaction)
    return _paid_json(session, payment, shop.currency)


@routes.post("/cabins/{cabin_id}/pay", Permission.PAY_CABIN,
             "Pay a cabin: take cash for its session, optionally with an invoice",
             request=PAY, response=PAID)
async def pay_cabin_endpoint(ctx: Ctx) -> dict[str, Any]:
    """Closes the cabin's open session into a transaction (the operator is the caller,
    the shift their login's). Answers the change to hand back. HTTP 200 also for a
    retry with the same idempotency key (`replayed: true`). 409 `nothing_to_pay`,
    `call_still_live`, `payment_conflict`, `shift_closed`; 422 `insufficient_cash`
    (with `amount_due` and `received` beside the error) and `invoice_failed`."""
    answer = await ctx.db(pay, ctx.clock, ctx.principal, ctx.shop_id, ctx.params["cabin_id"],
                          ctx.body)
    await after_payment(ctx.app, ctx.shop_id, answer["cabin_id"], answer["session_id"])
    if not answer["replayed"]:
        log.info("%s took %s for cabin %d (transaction %d%s)", ctx.principal.username,
                 answer["received"], answer["cabin_id"], answer["transaction_id"],
                 f", invoice {answer['invoice']['number']}" if answer["invoice"] else "")
    return answer


@routes.get("/transactions/{transaction_id}/invoice.pdf", Permission.VIEW_CABIN_HISTORY,
            "The PDF invoice of a payment (application/pdf)")
async def invoice_pdf(ctx: Ctx) -> web.Response:
    """The invoice exactly as issued, to show or print again. 404 when the payment
    has no invoice."""
    def work(session: Session, shop_id: int, transaction_id: int) -> tuple[str, bytes]:
        row = session.execute(
            select(Transaction.id, Invoice.number, Invoice.pdf)
            .outerjoin(Invoice, Invoice.id == Transaction.invoice_id)
            .where(Transaction.id == transaction_id,
                   Transaction.callshop_id == shop_id)).first()
        if row is None:
            raise NotFound(f"there is no transaction {transaction_id} in this callshop")
        if row.number is None or not row.pdf:
            raise NotFound(f"transaction {transaction_id} has no invoice")
        return row.number, row.pdf

    number, pdf = await ctx.db(work, ctx.shop_id, ctx.params["transaction_id"])
    filename = "".join(c if c.isalnum() or c in "-_." else "_" for c in number) or "invoice"
    return web.Response(body=pdf, content_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{filename}.pdf"'})


@routes.get("/transactions/{transaction_id}/receipt", Permission.VIEW_CABIN_HISTORY,
            "What a payment's receipt prints (shop, calls, totals, cash, change), as JSON")
async def receipt(ctx: Ctx) -> web.Response:
    """The data of a payment's receipt, for the desk to print on its thermal printer
    (cashdesk.invoices.InvoiceData's wire form: money as decimal strings)."""
    def work(session: Session, shop_id: int, transaction_id: int) -> dict[str, Any]:
        from cashdesk.invoices import InvoiceError, invoice_data_for

        transaction = session.scalar(select(Transaction).where(
            Transaction.id == transaction_id, Transaction.callshop_id == shop_id))
        if transaction is None:
            raise NotFound(f"there is no transaction {transaction_id} in this callshop")
        try:
            return invoice_data_for(session, transaction, number="").to_wire()
        except InvoiceError as exc:
            raise Unprocessable(f"the receipt of transaction {transaction_id} cannot be "
                                f"made: {exc}") from None

    data = await ctx.db(work, ctx.shop_id, ctx.params["transaction_id"])
    return web.json_response(data)
