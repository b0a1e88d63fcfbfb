"""Looking back: the shop's transactions, a cabin's past sessions at the till, and the
call history, each paged newest first, filtered, and kept to the caller's shop."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cashdesk.call_state import CallState
from tests.server.ledger_rows import add_cabin, add_call, pay, top_up

API = "/api/v1"


@pytest.fixture
def history(sqlite_engine, clock, world):
    """Shop A: three paid sessions over two days (two operators), one unpaid call;
    shop B: one paid session."""
    engine = sqlite_engine
    top_up(engine, clock, world.shop_a)
    top_up(engine, clock, world.shop_b)
    c1 = add_cabin(engine, world.shop_a, "Cabin 1")
    c2 = add_cabin(engine, world.shop_a, "Cabin 2")
    admin, operator = world.users["admin_a"], world.users["operator_a"]

    add_call(engine, clock, c1, price="1.20", number="33140000000", destination="France")
    add_call(engine, clock, c1, answered=False, number="44200000000",
             destination="United Kingdom")
    first = pay(engine, clock, c1, operator, "2.00")
    clock.advance(3600)
    add_call(engine, clock, c2, price="3.00", number="212600000000", destination="Morocco")
    second = pay(engine, clock, c2, admin, "5.00")
    clock.advance(86400)
    add_call(engine, clock, c1, price="0.50", number="33600000000", destination="France")
    third = pay(engine, clock, c1, operator, "0.50")
    clock.advance(60)
    add_call(engine, clock, c1, price="0.70", number="4917000000", destination="Germany")

    b_cabin = add_cabin(engine, world.shop_b, "Cabin B")
    add_call(engine, clock, b_cabin, price="9.00")
    pay(engine, clock, b_cabin, world.users["admin_b"], "9.00")
    return {"cabins": (c1, c2), "transactions": (first, second, third)}


async def get(client, tokens, user, path, **params):
    response = await client.get(f"{API}{path}", headers=tokens.headers(user),
                                params={k: str(v) for k, v in params.items()})
    return response.status, await response.json()


async def test_transactions_newest_first_with_calls_operator_cabin_and_invoice(
        client, world, tokens, history):
    first, second, third = history["transactions"]
    status, page = await get(client, tokens, "admin_a", "/transactions")
    assert status == 200
    assert page["total"] == 3 and [t["id"] for t in page["items"]] == [third, second, first]
    oldest = page["items"][-1]
    assert oldest["cabin"] == {"id": history["cabins"][0], "name": "Cabin 1"}
    assert oldest["operator"] == {"id": world.users["operator_a"], "username": "operator_a",
                                  "display_name": "operator_a"}
    assert (oldest["amount_due"], oldest["received"], oldest["change"]) == \
        ("1.2000", "2.0000", "0.8000")
    assert oldest["calls"] == {"count": 2, "answered": 1, "billed_seconds": 60,
                               "destinations": ["France", "United Kingdom"]}
    assert oldest["invoice"] is None

    status, page = await get(client, tokens, "admin_a", "/transactions",
                             operator_id=world.users["operator_a"], limit=1, offset=1)
    assert page["total"] == 2 and [t["id"] for t in page["items"]] == [first]
    status, page = await get(client, tokens, "admin_a", "/transactions",
                             cabin_id=history["cabins"][1])
    assert [t["id"] for t in page["items"]] == [second]


async def test_transactions_by_day_in_the_shop_time_zone(client, world, tokens, history):
    # The clock started at 2026-01-05 09:00 UTC; the third payment is on the 6th.
    first, second, third = history["transactions"]
    status, page = await get(client, tokens, "admin_a", "/transactions",
                             since="2026-01-05", until="2026-01-05")
    assert status == 200 and [t["id"] for t in page["items"]] == [second, first]
    status, page = await get(client, tokens, "admin_a", "/transactions",
                             since="2026-01-05T09:30:00Z")
    assert [t["id"] for t in page["items"]] == [third, second]
    # An offset typed with a bare "+" arrives as a space; it is still understood.
    response = await client.get(f"{API}/transactions?until=2026-01-05T10:30:00+01:00",
                                headers=tokens.headers("admin_a"))
    assert [t["id"] for t in (await response.json())["items"]] == [first]


async def test_one_transaction_with_its_calls(client, world, tokens, history):
    first = history["transactions"][0]
    status, detail = await get(client, tokens, "admin_a", f"/transactions/{first}")
    assert status == 200
    france, uk = detail["calls"]
    assert france["number"] == "33140000000" and france["destination"] == "France"
    assert france["price"] == "1.2000" and france["cost"] == "0.4000"
    assert france["duration_seconds"] == 0 and france["billed_seconds"] == 60
    assert uk["state"] == "failed" and uk["price"] == "0.0000"
    assert uk["duration_seconds"] is None
    # The reseller of the shop reads it too; another shop's people do not find it.
    assert (await get(client, tokens, "reseller_r1", f"/transactions/{first}"))[0] == 200
    assert (await get(client, tokens, "admin_b", f"/transactions/{first}"))[0] == 404
    assert (await get(client, tokens, "reseller_r2", f"/transactions/{first}"))[0] == 404


async def test_a_reseller_names_the_shop(client, world, tokens, history):
    status, body = await get(client, tokens, "reseller_r1", "/transactions")
    assert status == 400
    assert body["error"]["field"] == "callshop_id"
    status, page = await get(client, tokens, "reseller_r1", "/transactions",
                             callshop_id=world.shop_b)
    assert status == 200 and page["total"] == 1
    assert (await get(client, tokens, "reseller_r2", "/transactions",
                      callshop_id=world.shop_b))[0] == 404
    assert (await get(client, tokens, "admin_a", "/transactions",
                      callshop_id=world.shop_b))[0] == 404


@pytest.mark.parametrize("params, message", [
    ({"limit": "501"}, "limit: must be at most 500"),
    ({"since": "yesterday"}, "since: 'yesterday' is neither a day"),
    ({"since": "2026-02-30"}, "since: '2026-02-30' is not a real day"),
    ({"until": "2026-01-05T10:00:00"}, "with its offset"),
    ({"since": "2026-01-06", "until": "2026-01-05"}, "must be before until"),
    ({"sort": "amount"}, "sort: unknown query parameter"),
])
async def test_bad_queries_are_400_saying_why(client, world, tokens, params, message):
    status, body = await get(client, tokens, "admin_a", "/transactions", **params)
    assert status == 400
    assert message in body["error"]["message"]


async def test_the_till_reads_a_cabin_history_without_costs(client, world, tokens, history):
    c1 = history["cabins"][0]
    first, _, third = history["transactions"]
    status, page = await get(client, tokens, "operator_a", f"/cabins/{c1}/sessions")
    assert status == 200
    assert page["total"] == 2  # the unpaid call is not history yet
    newest, oldest = page["items"]
    assert (newest["transaction_id"], oldest["transaction_id"]) == (third, first)
    assert oldest["operator"]["username"] == "operator_a"
    assert (oldest["amount_due"], oldest["received"], oldest["change"]) == \
        ("1.2000", "2.0000", "0.8000")
    assert oldest["has_invoice"] is False and oldest["invoice"] is None
    call = oldest["calls"][0]
    assert {"started_at", "number", "destination", "duration_seconds", "price"} <= set(call)
    assert "cost" not in call
    # Operators may not list cabins, but may read this; not another shop's cabin.
    assert (await get(client, tokens, "operator_a", "/cabins"))[0] == 403
    assert (await get(client, tokens, "operator_b", f"/cabins/{c1}/sessions"))[0] == 404


async def test_call_history_filters_pages_and_counts(client, world, tokens, history, clock,
                                                     sqlite_engine):
    add_call(sqlite_engine, clock, history["cabins"][1], state=CallState.RINGING,
             number="33999", destination="France")
    status, page = await get(client, tokens, "admin_a", "/calls", limit=2)
    assert status == 200 and page["total"] == 6 and len(page["items"]) == 2
    assert page["items"][0]["state"] == "ringing"  # newest first
    status, page = await get(client, tokens, "admin_a", "/calls", destination="franc")
    assert page["total"] == 3
    status, page = await get(client, tokens, "admin_a", "/calls", number="+33")
    assert {c["number"] for c in page["items"]} == {"33140000000", "33600000000", "33999"}
    status, page = await get(client, tokens, "admin_a", "/calls", state="failed")
    [failed] = page["items"]
    assert failed["cabin_name"] == "Cabin 1" and failed["transaction_id"] is not None
    status, page = await get(client, tokens, "admin_a", "/calls",
                             cabin_id=history["cabins"][0], since="2026-01-06")
    assert [c["destination"] for c in page["items"]] == ["Germany", "France"]
    assert page["items"][0]["transaction_id"] is None  # not paid yet
    status, body = await get(client, tokens, "admin_a", "/calls", state="talking")
    assert status == 400 and "state: must be one of" in body["error"]["message"]
    status, page = await get(client, tokens, "reseller_r1", "/calls", callshop_id=world.shop_b)
    assert page["total"] == 1


async def test_training_payments_are_listed_and_marked(client, world, tokens, sqlite_engine,
                                                       clock):
    cabin = add_cabin(sqlite_engine, world.shop_a)
    add_call(sqlite_engine, clock, cabin, price="1.00", training=True)
    clock.advance(timedelta(minutes=1).total_seconds())
    paid = pay(sqlite_engine, clock, cabin, world.users["admin_a"], "1.00")
    status, page = await get(client, tokens, "admin_a", "/transactions")
    assert status == 200
    assert [(t["id"], t["training"]) for t in page["items"]] == [(paid, True)]
