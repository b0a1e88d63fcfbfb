"""Top-ups recorded by the reseller, the balances they leave, and the money history
that merges payments and top-ups by date."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from cashdesk.store.database import session_factory
from cashdesk.store.models import Account, Reseller, Topup
from tests.server.conftest import db
from tests.server.ledger_rows import add_cabin, add_call, invariant_errors, key, pay

API = "/api/v1"


async def record(client, tokens, shop_id, user="reseller_r1", **body):
    body = {"amount": "50.00", "kind": "cash", "idempotency_key": key(), **body}
    response = await client.post(f"{API}/callshops/{shop_id}/topups",
                                 headers=tokens.headers(user), json=body)
    return response.status, await response.json()


async def test_the_reseller_tops_up_a_shop_once_per_key(client, world, tokens,
                                                       sqlite_engine):
    status, first = await record(client, tokens, world.shop_a, amount="50.00",
                                 description="January", idempotency_key="t-1")
    assert status == 200, first
    assert first["amount"] == "50.0000" and first["balance"] == "50.0000"
    assert first["balance_after"] == "50.0000" and first["kind"] == "cash"
    assert first["recorded_by"]["username"] == "reseller_r1"
    assert first["description"] == "January" and first["replayed"] is False
    status, again = await record(client, tokens, world.shop_a, amount="50.00",
                                 description="January", idempotency_key="t-1")
    assert status == 200 and again["replayed"] is True and again["id"] == first["id"]
    status, other = await record(client, tokens, world.shop_a, amount="60.00",
                                 idempotency_key="t-1")
    assert status == 409 and other["error"]["field"] == "idempotency_key"
    with db(sqlite_engine) as session:
        assert session.scalar(select(func.count()).select_from(Topup)) == 1
    assert invariant_errors(sqlite_engine, world.shop_a) == []


async def test_corrections_and_refusals(client, world, tokens):
    await record(client, tokens, world.shop_a, amount="10")
    status, body = await record(client, tokens, world.shop_a, amount="-4", kind="correction")
    assert status == 200 and body["balance"] == "6.0000"
    status, body = await record(client, tokens, world.shop_a, amount="-7", kind="correction")
    assert status == 409 and "below zero" in body["error"]["message"]
    status, body = await record(client, tokens, world.shop_a, amount="-7", kind="cash")
    assert status == 400 and body["error"]["field"] == "amount"
    status, body = await record(client, tokens, world.shop_a, kind="gift")
    assert status == 400 and "kind: must be one of" in body["error"]["message"]
    # Another reseller's shop does not exist for r2; an admin may not top up at all.
    assert (await record(client, tokens, world.shop_a, user="reseller_r2"))[0] == 404
    assert (await record(client, tokens, world.shop_a, user="admin_a"))[0] == 403


async def test_topup_lists_for_the_admin_and_the_reseller(client, world, tokens, clock):
    await record(client, tokens, world.shop_a, amount="10", description="first")
    clock.advance(3600)
    await record(client, tokens, world.shop_a, amount="20", kind="bank_transfer")
    await record(client, tokens, world.shop_b, amount="30")
    response = await client.get(f"{API}/topups", headers=tokens.headers("admin_a"))
    page = await response.json()
    assert page["total"] == 2
    assert [t["amount"] for t in page["items"]] == ["20.0000", "10.0000"]
    assert [t["balance_after"] for t in page["items"]] == ["30.0000", "10.0000"]
    response = await client.get(f"{API}/topups", headers=tokens.headers("admin_a"),
                                params={"kind": "cash"})
    assert [t["description"] for t in (await response.json())["items"]] == ["first"]
    response = await client.get(f"{API}/callshops/{world.shop_b}/topups",
                                headers=tokens.headers("reseller_r1"))
    assert [t["amount"] for t in (await response.json())["items"]] == ["30.0000"]
    response = await client.get(f"{API}/callshops/{world.shop_b}/topups",
                                headers=tokens.headers("admin_a"))
    assert response.status == 404
    response = await client.get(f"{API}/topups", headers=tokens.headers("operator_a"))
    assert response.status == 403


async def test_balance_of_the_shop_and_of_a_prepaid_reseller(client, world, tokens,
                                                              sqlite_engine):
    await record(client, tokens, world.shop_a, amount="12.50")
    response = await client.get(f"{API}/balance", headers=tokens.headers("operator_a"))
    assert await response.json() == {
        "callshop": {"id": world.shop_a, "name": "Shop A", "currency": "EUR",
                     "prepaid": True, "balance": "12.5000"},
        "reseller": None}  # a postpaid reseller's account is none of the till's business
    with session_factory(sqlite_engine).begin() as session:
        reseller = session.get_one(Reseller, world.reseller1)
        account = session.get_one(Account, reseller.account_id)
        account.prepaid = True
        account.balance = Decimal(0)  # no entries: nothing recorded yet
    response = await client.get(f"{API}/balance", headers=tokens.headers("admin_a"))
    assert (await response.json())["reseller"] == {"currency": "EUR", "prepaid": True,
                                                    "balance": "0.0000"}
    response = await client.get(f"{API}/balance", headers=tokens.headers("reseller_r1"))
    body = await response.json()
    assert body["callshop"] is None and body["reseller"]["prepaid"] is True
    response = await client.get(f"{API}/balance", headers=tokens.headers("reseller_r1"),
                                params={"callshop_id": str(world.shop_a)})
    assert (await response.json())["callshop"]["balance"] == "12.5000"


async def test_money_history_merges_payments_and_topups_by_date(client, world, tokens,
                                                                sqlite_engine, clock):
    await record(client, tokens, world.shop_a, amount="40", description="opening credit")
    clock.advance(600)
    cabin = add_cabin(sqlite_engine, world.shop_a, "Cabin 7")
    add_call(sqlite_engine, clock, cabin, price="2.50", cost="1.00")
    paid = pay(sqlite_engine, clock, cabin, world.users["operator_a"], "5")
    clock.advance(600)
    await record(client, tokens, world.shop_a, amount="-3", kind="correction")
    response = await client.get(f"{API}/history/money", headers=tokens.headers("admin_a"))
    assert response.status == 200
    body = await response.json()
    assert [(m["type"], m["amount"]) for m in body["items"]] == [
        ("topup", "-3.0000"), ("payment", "2.5000"), ("topup", "40.0000")]
    payment = body["items"][1]
    assert payment["id"] == paid and payment["cabin"]["name"] == "Cabin 7"
    assert payment["received"] == "5.0000" and payment["change"] == "2.5000"
    assert payment["operator"]["username"] == "operator_a"
    assert body["items"][2]["description"] == "opening credit"
    assert body["totals"] == {"payments": "2.5000", "topups": "37.0000"}
    response = await client.get(f"{API}/history/money", headers=tokens.headers("admin_a"),
                                params={"since": "2026-01-05T09:05:00Z", "limit": "1"})
    body = await response.json()
    assert body["total"] == 2 and [m["type"] for m in body["items"]] == ["topup"]
    assert body["totals"] == {"payments": "2.5000", "topups": "-3.0000"}
    # Shop B sees none of it.
    response = await client.get(f"{API}/history/money", headers=tokens.headers("admin_b"))
    assert (await response.json())["total"] == 0
