"""Pay over the API: change, retries with the same key, two desks at once, the
refusals (short cash, live call, nothing to pay), and invoices issued in the payment's
own transaction with gap-free numbers."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from cashdesk.call_state import CallState
from cashdesk.server.api import payments as payments_api
from cashdesk.server.app import create_app
from cashdesk.server.config import ServerConfig
from cashdesk.store.models import (
    AuthToken,
    CabinSession,
    Invoice,
    InvoiceSettings,
    Shift,
    Transaction,
)
from tests.server.conftest import Tokens, bearer, build_world, db
from tests.server.ledger_rows import add_cabin, add_call, invariant_errors, key, top_up

API = "/api/v1"


def pay_path(cabin_id: int) -> str:
    return f"{API}/cabins/{cabin_id}/pay"


@pytest.fixture
def cabin(sqlite_engine, clock, world) -> int:
    """Shop A's cabin with 2 calls (1.20 + 0.80 = 2.00 due) and a failed one."""
    top_up(sqlite_engine, clock, world.shop_a)
    cabin_id = add_cabin(sqlite_engine, world.shop_a, "Cabin 1")
    add_call(sqlite_engine, clock, cabin_id, price="1.20", cost="0.50")
    add_call(sqlite_engine, clock, cabin_id, price="0.80", cost="0.30", number="44207946")
    add_call(sqlite_engine, clock, cabin_id, answered=False)
    return cabin_id


def transactions(engine: Engine) -> list[Transaction]:
    with db(engine) as session:
        return list(session.scalars(select(Transaction).order_by(Transaction.id)))


async def test_pay_answers_the_change_and_closes_the_session(client, world, tokens,
                                                             sqlite_engine, cabin):
    response = await client.post(pay_path(cabin), headers=tokens.headers("operator_a"),
                                 json={"received": "5.00", "idempotency_key": "k-1"})
    assert response.status == 200, await response.text()
    answer = await response.json()
    [paid] = transactions(sqlite_engine)
    with db(sqlite_engine) as session:
        shift = session.scalar(select(Shift).where(
            Shift.operator_id == world.users["operator_a"]))
        assert session.get_one(CabinSession, paid.session_id).closed_at is not None
    assert answer == {
        "transaction_id": paid.id, "session_id": paid.session_id, "cabin_id": cabin,
        "amount_due": "2.0000", "received": "5.0000", "change": "3.0000", "currency": "EUR",
        "created_at": paid.created_at.isoformat(), "operator_id": world.users["operator_a"],
        "shift_id": shift.id, "training": False, "invoice": None, "replayed": False}
    assert invariant_errors(sqlite_engine, world.shop_a) == []
    # The cabin is free: nothing more to pay.
    again = await client.post(pay_path(cabin), headers=tokens.headers("operator_a"),
                              json={"received": "5.00", "idempotency_key": "k-2"})
    assert again.status == 409
    error = (await again.json())["error"]
    assert error["code"] == "nothing_to_pay"
    assert "has nothing to pay" in error["message"]
    assert f"transaction {paid.id}" in error["message"]


async def test_the_same_key_twice_is_one_payment_and_the_same_answer(client, world, tokens,
                                                                    sqlite_engine, cabin):
    body = {"received": "5.00", "idempotency_key": "retry-me"}
    first = await client.post(pay_path(cabin), headers=tokens.headers("operator_a"), json=body)
    second = await client.post(pay_path(cabin), headers=tokens.headers("operator_a"), json=body)
    assert first.status == second.status == 200
    one, two = await first.json(), await second.json()
    assert one.pop("replayed") is False and two.pop("replayed") is True
    assert one == two
    assert len(transactions(sqlite_engine)) == 1
    # The same key for another amount is not a retry.
    other = await client.post(pay_path(cabin), headers=tokens.headers("operator_a"),
                              json={"received": "9.00", "idempotency_key": "retry-me"})
    assert other.status == 409
    error = (await other.json())["error"]
    assert error["code"] == "payment_conflict"
    assert error["message"] == ("the idempotency key 'retry-me' was already used to pay "
                                "€5.00 for another cabin or amount")


async def test_short_cash_is_422_showing_both_amounts(client, world, tokens, sqlite_engine,
                                                      cabin):
    response = await client.post(pay_path(cabin), headers=tokens.headers("operator_a"),
                                 json={"received": "1.50", "idempotency_key": key()})
    assert response.status == 422
    body = await response.json()
    assert body["error"]["code"] == "insufficient_cash"
    assert "€1.50" in body["error"]["message"] and "€2.00" in body["error"]["message"]
    assert "€0.50 more" in body["error"]["message"]
    assert body["amount_due"] == "2.0000" and body["received"] == "1.5000"
    assert transactions(sqlite_engine) == []


async def test_a_live_call_is_409(client, world, tokens, sqlite_engine, clock, cabin):
    add_call(sqlite_engine, clock, cabin, state=CallState.ANSWERED)
    response = await client.post(pay_path(cabin), headers=tokens.headers("operator_a"),
                                 json={"received": "5.00", "idempotency_key": key()})
    assert response.status == 409
    error = (await response.json())["error"]
    assert error["code"] == "call_still_live"
    assert "still has a call answered" in error["message"]
    assert transactions(sqlite_engine) == []


async def test_nothing_to_pay_and_other_shops(client, world, tokens, sqlite_engine, cabin):
    empty = add_cabin(sqlite_engine, world.shop_a)
    response = await client.post(pay_path(empty), headers=tokens.headers("admin_a"),
                                 json={"received": "0", "idempotency_key": key()})
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "nothing_to_pay"
    elsewhere = await client.post(pay_path(cabin), headers=tokens.headers("operator_b"),
                                  json={"received": "5", "idempotency_key": key()})
    assert elsewhere.status == 404


@pytest.mark.parametrize("body, message", [
    ({"received": 5, "idempotency_key": "k"}, "never as a JSON number"),
    ({"received": "-1", "idempotency_key": "k"}, "received: must be at least 0"),
    ({"received": "5"}, "idempotency_key: is required"),
    ({"received": "5", "idempotency_key": "k" * 65}, "longer than 64"),
])
async def test_bad_bodies_are_400(client, world, tokens, cabin, body, message):
    response = await client.post(pay_path(cabin), headers=tokens.headers("operator_a"),
                                 json=body)
    assert response.status == 400
    assert message in (await response.json())["error"]["message"]


async def test_an_admin_pays_without_a_shift_an_operator_needs_an_open_one(
        client, world, tokens, sqlite_engine, clock, cabin):
    paid = await client.post(pay_path(cabin), headers=tokens.headers("admin_a"),
                             json={"received": "2", "idempotency_key": key()})
    assert paid.status == 200
    assert (await paid.json())["shift_id"] is None
    add_call(sqlite_engine, clock, cabin, price="1.00")
    token = tokens.mint("operator_a")
    with db(sqlite_engine) as session, session.begin():
        shift_id = session.scalar(select(AuthToken.shift_id)
                                  .where(AuthToken.user_id == world.users["operator_a"]))
        session.get_one(Shift, shift_id).closed_at = clock.now()
    refused = await client.post(pay_path(cabin), headers=bearer(token),
                                json={"received": "2", "idempotency_key": key()})
    assert refused.status == 409
    assert (await refused.json())["error"]["code"] == "shift_closed"


# --- two desks at once ------------------------------------------------------------------

async def race(client: Any, cabin: int, tokens: Tokens, **extra: Any) -> list[Any]:
    desks = [client.post(pay_path(cabin), headers=tokens.headers(user),
                         json={"received": "5.00", "idempotency_key": key(), **extra})
             for user in ("operator_a", "admin_a")]
    return list(await asyncio.gather(*desks))


async def test_two_desks_paying_one_cabin_make_one_payment_and_one_409(
        client, world, tokens, sqlite_engine, cabin):
    responses = await race(client, cabin, tokens)
    assert sorted(r.status for r in responses) == [200, 409]
    [loser] = [r for r in responses if r.status == 409]
    error = (await loser.json())["error"]
    assert error["code"] == "nothing_to_pay"
    [paid] = transactions(sqlite_engine)
    assert f"transaction {paid.id}" in error["message"]  # says who won
    assert invariant_errors(sqlite_engine, world.shop_a) == []


async def test_two_desks_naming_the_session_get_a_payment_conflict(
        client, world, tokens, sqlite_engine, cabin):
    with db(sqlite_engine) as session:
        session_id = session.scalar(select(CabinSession.id)
                                    .where(CabinSession.cabin_id == cabin))
    responses = await race(client, cabin, tokens, session_id=session_id)
    assert sorted(r.status for r in responses) == [200, 409]
    [loser] = [r for r in responses if r.status == 409]
    error = (await loser.json())["error"]
    assert error["code"] == "payment_conflict"
    assert "already paid by another payment" in error["message"]
    [paid] = transactions(sqlite_engine)
    assert f"transaction {paid.id}" in error["message"]


@pytest.mark.pg
async def test_two_desks_at_once_on_postgresql(aiohttp_client, pg_engine, clock, tmp_path,
                                               monkeypatch):
    world = build_world(pg_engine, clock)
    tokens = Tokens(pg_engine, clock, world)
    top_up(pg_engine, clock, world.shop_a)
    cabin = add_cabin(pg_engine, world.shop_a)
    add_call(pg_engine, clock, cabin, price="2.00", cost="1.00")
    # Both desks reach the ledger before either goes on: their transactions overlap
    # for real, and the session's row lock decides.
    barrier = threading.Barrier(2, timeout=10)
    real = payments_api.pay_cabin

    def pay_together(*args: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(payments_api, "pay_cabin", pay_together)
    config = ServerConfig(database_url=pg_engine.url.render_as_string(hide_password=False),
                          migrate=False, validate_responses=True,
                          log_file=tmp_path / "server.log")
    client = await aiohttp_client(create_app(config, clock=clock))
    responses = await race(client, cabin, tokens)
    assert sorted(r.status for r in responses) == [200, 409]
    assert len(transactions(pg_engine)) == 1
    assert invariant_errors(pg_engine, world.shop_a) == []


# --- invoices -----------------------------------------------------------------------

def invoice_numbers(engine: Engine, shop_id: int) -> list[str]:
    with db(engine) as session:
        return list(session.scalars(select(Invoice.number).where(Invoice.callshop_id == shop_id)
                                    .order_by(Invoice.sequence)))


async def test_an_invoice_is_issued_with_the_payment_and_served_as_pdf(
        client, world, tokens, sqlite_engine, clock, cabin):
    response = await client.post(pay_path(cabin), headers=tokens.headers("operator_a"),
                                 json={"received": "2.00", "idempotency_key": "inv-1",
                                       "invoice": True})
    assert response.status == 200, await response.text()
    answer = await response.json()
    year = clock.now().year
    assert answer["invoice"]["number"] == f"INV-{year}-000001"
    [paid] = transactions(sqlite_engine)
    assert paid.invoice_id == answer["invoice"]["id"]
    # A retry answers the same invoice and issues no other.
    retry = await client.post(pay_path(cabin), headers=tokens.headers("operator_a"),
                              json={"received": "2.00", "idempotency_key": "inv-1",
                                    "invoice": True})
    assert (await retry.json())["invoice"] == answer["invoice"]
    assert invoice_numbers(sqlite_engine, world.shop_a) == [f"INV-{year}-000001"]

    pdf = await client.get(f"{API}/transactions/{paid.id}/invoice.pdf",
                           headers=tokens.headers("operator_a"))
    assert pdf.status == 200
    assert pdf.content_type == "application/pdf"
    assert (await pdf.read()).startswith(b"%PDF")
    assert f"INV-{year}-000001.pdf" in pdf.headers["Content-Disposition"]
    other_shop = await client.get(f"{API}/transactions/{paid.id}/invoice.pdf",
                                  headers=tokens.headers("operator_b"))
    assert other_shop.status == 404


async def test_a_payment_without_invoice_has_no_pdf(client, world, tokens, sqlite_engine,
                                                    cabin):
    paid = await (await client.post(pay_path(cabin), headers=tokens.headers("operator_a"),
                                    json={"received": "2", "idempotency_key": key()})).json()
    response = await client.get(f"{API}/transactions/{paid['transaction_id']}/invoice.pdf",
                                headers=tokens.headers("operator_a"))
    assert response.status == 404
    assert (await response.json())["error"]["message"] == \
        f"transaction {paid['transaction_id']} has no invoice"


async def test_invoice_numbers_stay_gap_free_through_refusals(client, world, tokens,
                                                              sqlite_engine, clock):
    top_up(sqlite_engine, clock, world.shop_a)
    cabins = [add_cabin(sqlite_engine, world.shop_a) for _ in range(4)]
    for cabin in cabins:
        add_call(sqlite_engine, clock, cabin, price="1.00")
    headers = tokens.headers("operator_a")

    async def pay_with_invoice(cabin: int, received: str = "1.00") -> Any:
        return await client.post(pay_path(cabin), headers=headers,
                                 json={"received": received, "idempotency_key": key(),
                                       "invoice": True})

    assert (await pay_with_invoice(cabins[0])).status == 200
    assert (await pay_with_invoice(cabins[1], "0.50")).status == 422  # short: no number
    # The invoice cannot be made (prices said to exclude VAT would not add up to what
    # is due): the payment rolls back with it, and the number is not used.
    with db(sqlite_engine) as session, session.begin():
        settings = session.get_one(InvoiceSettings, world.shop_a)
        settings.vat_rate, settings.prices_include_vat = Decimal(20), False
    failed = await pay_with_invoice(cabins[2])
    assert failed.status == 422
    body = await failed.json()
    assert body["error"]["code"] == "invoice_failed"
    assert "nothing was paid" in body["error"]["message"]
    with db(sqlite_engine) as session, session.begin():
        assert session.scalar(select(func.count()).select_from(CabinSession).where(
            CabinSession.cabin_id == cabins[2], CabinSession.closed_at.is_(None))) == 1
        session.get_one(InvoiceSettings, world.shop_a).prices_include_vat = True
    # Two desks at once, each with an invoice: two numbers, in sequence.
    both = await asyncio.gather(pay_with_invoice(cabins[2]), pay_with_invoice(cabins[3]))
    assert [r.status for r in both] == [200, 200]
    year = clock.now().year
    assert invoice_numbers(sqlite_engine, world.shop_a) == [
        f"INV-{year}-{n:06d}" for n in (1, 2, 3)]
    assert invariant_errors(sqlite_engine, world.shop_a) == []


async def test_a_payment_s_receipt_data_for_the_thermal_printer(client, world, tokens, cabin):
    paid = await (await client.post(pay_path(cabin), headers=tokens.headers("operator_a"),
                                    json={"received": "5", "idempotency_key": key()})).json()
    response = await client.get(f"{API}/transactions/{paid['transaction_id']}/receipt",
                                headers=tokens.headers("operator_a"))
    assert response.status == 200, await response.text()
    data = await response.json()
    from cashdesk.invoices import InvoiceData

    receipt = InvoiceData.from_wire(data)
    assert receipt.number == ""  # a plain receipt, no invoice number taken
    assert receipt.totals.gross.to_json() == paid["amount_due"]
    assert receipt.received.to_json() == paid["received"]
    assert receipt.change.to_json() == paid["change"]
    other_shop = await client.get(f"{API}/transactions/{paid['transaction_id']}/receipt",
                                  headers=tokens.headers("operator_b"))
    assert other_shop.status == 404
