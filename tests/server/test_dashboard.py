"""The dashboard: periods in the shop's own time zone (weeks start on Monday), who is
on shift, today's sales and calls, the top payments and the sales per operator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cashdesk.store.database import session_factory
from cashdesk.store.models import Callshop, Shift
from tests.server.conftest import bearer
from tests.server.ledger_rows import At, add_cabin, add_call, pay, top_up

API = "/api/v1"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def new_york(sqlite_engine, clock, world):
    """Shop A in New York (UTC−5). The clock says Monday 2026-01-05 09:00 UTC, 04:00 in
    New York. Payments (by UTC time → New York day):

    P4 2025-12-31 12:00 → Wed Dec 31 (last week, last month)   9.00 admin
    P1 2026-01-04 20:00 → Sun Jan 4  (yesterday, last week)     1.00 operator
    P2 2026-01-05 04:30 → Sun Jan 4  (still yesterday there)    2.00 operator
    P3 2026-01-05 06:00 → Mon Jan 5  (today, this week)         3.00 operator, on shift
    """
    engine = sqlite_engine
    with session_factory(engine).begin() as session:
        session.get_one(Callshop, world.shop_a).timezone = "America/New_York"
    top_up(engine, At(utc(2025, 12, 1)), world.shop_a)
    cabin = add_cabin(engine, world.shop_a, "Cabin 1")
    admin, operator = world.users["admin_a"], world.users["operator_a"]
    ids = {}
    for name, moment, price, who in (("P4", utc(2025, 12, 31, 12), "9.00", admin),
                                     ("P1", utc(2026, 1, 4, 20), "1.00", operator),
                                     ("P2", utc(2026, 1, 5, 4, 30), "2.00", operator),
                                     ("P3", utc(2026, 1, 5, 6), "3.00", operator)):
        add_call(engine, At(moment), cabin, price=price, cost="0.10")
        ids[name] = pay(engine, At(moment), cabin, who, price)
    return ids


async def dashboard(client, tokens, user="admin_a", **params):
    response = await client.get(f"{API}/dashboard", headers=tokens.headers(user),
                                params={k: str(v) for k, v in params.items()})
    return response.status, await response.json()


@pytest.mark.parametrize("period, payments, since, until", [
    ("today", ["P3"], "2026-01-05T05:00:00+00:00", "2026-01-06T05:00:00+00:00"),
    ("yesterday", ["P2", "P1"], "2026-01-04T05:00:00+00:00", "2026-01-05T05:00:00+00:00"),
    ("this_week", ["P3"], "2026-01-05T05:00:00+00:00", "2026-01-12T05:00:00+00:00"),
    ("last_week", ["P4", "P2", "P1"], "2025-12-29T05:00:00+00:00",
     "2026-01-05T05:00:00+00:00"),
    ("this_month", ["P3", "P2", "P1"], "2026-01-01T05:00:00+00:00",
     "2026-02-01T05:00:00+00:00"),
    ("last_month", ["P4"], "2025-12-01T05:00:00+00:00", "2026-01-01T05:00:00+00:00"),
])
async def test_periods_are_the_shop_local_ones(client, world, tokens, new_york, period,
                                               payments, since, until):
    status, body = await dashboard(client, tokens, period=period)
    assert status == 200, body
    assert body["period"] == {"name": period, "timezone": "America/New_York",
                              "since": since, "until": until}
    assert [p["transaction_id"] for p in body["top_payments"]] == \
        [new_york[name] for name in payments]
    amounts = {"P1": 1, "P2": 2, "P3": 3, "P4": 9}
    assert body["sales"] == {"payments": len(payments),
                             "amount": f"{sum(amounts[p] for p in payments)}.0000"}


async def test_today_operators_on_shift_and_sales_per_operator(client, world, tokens,
                                                               sqlite_engine, clock,
                                                               new_york):
    tokens["operator_a"]  # logging in opens the operator's shift
    with session_factory(sqlite_engine).begin() as session:
        shift = session.scalar(select(Shift).where(
            Shift.operator_id == world.users["operator_a"]))
    cabin = add_cabin(sqlite_engine, world.shop_a, "Cabin 2")
    add_call(sqlite_engine, clock, cabin, price="4.00")
    add_call(sqlite_engine, clock, cabin, answered=False)
    add_call(sqlite_engine, clock, cabin, price="5.00", training=False, seconds=120)
    pay(sqlite_engine, clock, cabin, world.users["operator_a"], "10", shift_id=shift.id)
    training = add_cabin(sqlite_engine, world.shop_a, "Practice")
    add_call(sqlite_engine, clock, training, price="50.00", training=True)
    pay(sqlite_engine, clock, training, world.users["operator_a"], "50", shift_id=shift.id)

    status, body = await dashboard(client, tokens, period="this_month")
    assert status == 200
    assert body["operators_on_shift"] == [{
        "shift_id": shift.id, "opened_at": shift.opened_at.isoformat(),
        "logged_in_until": "2026-01-05T21:00:00+00:00",
        "operator": {"id": world.users["operator_a"], "username": "operator_a",
                     "display_name": "operator_a"},
        "payments": 1, "sales": "9.0000"}]  # the training payment is practice
    assert body["today"] == {
        "since": "2026-01-05T05:00:00+00:00", "until": "2026-01-06T05:00:00+00:00",
        "payments": 2, "sales": "12.0000", "calls": 4, "answered_calls": 3,
        "billed_seconds": 240}
    assert body["sales_by_operator"] == [
        {"operator": {"id": world.users["operator_a"], "username": "operator_a",
                      "display_name": "operator_a"}, "payments": 4, "sales": "15.0000"}]
    assert [p["amount_due"] for p in body["top_payments"]] == \
        ["9.0000", "3.0000", "2.0000", "1.0000"]


async def test_a_shift_whose_logins_all_expired_is_not_on_the_till(client, world, tokens,
                                                                  clock):
    tokens.mint("operator_a")
    status, body = await dashboard(client, tokens)
    assert status == 200
    assert [s["operator"]["username"] for s in body["operators_on_shift"]] == ["operator_a"]
    clock.advance(13 * 3600)  # the login expired without a logout: the shift is still open
    response = await client.get(f"{API}/dashboard", headers=bearer(tokens.mint("admin_a")))
    assert response.status == 200
    assert (await response.json())["operators_on_shift"] == []


async def test_top_five_and_the_admins_share(client, world, tokens, sqlite_engine, clock):
    top_up(sqlite_engine, clock, world.shop_a)
    cabin = add_cabin(sqlite_engine, world.shop_a)
    for n, who in enumerate(["admin_a", "operator_a"] * 3, start=1):
        add_call(sqlite_engine, clock, cabin, price=f"{n}.00")
        pay(sqlite_engine, clock, cabin, world.users[who], f"{n}")
    status, body = await dashboard(client, tokens)
    assert status == 200
    assert [p["amount_due"] for p in body["top_payments"]] == \
        ["6.0000", "5.0000", "4.0000", "3.0000", "2.0000"]
    assert [(row["operator"]["username"], row["payments"], row["sales"])
            for row in body["sales_by_operator"]] == [("operator_a", 3, "12.0000"),
                                                      ("admin_a", 3, "9.0000")]


async def test_custom_periods_include_the_until_day(client, world, tokens, new_york):
    status, body = await dashboard(client, tokens, period="custom", since="2026-01-01",
                                   until="2026-01-04")
    assert status == 200
    assert sorted(p["transaction_id"] for p in body["top_payments"]) == \
        sorted([new_york["P1"], new_york["P2"]])
    status, body = await dashboard(client, tokens, since="2026-01-05T00:00:00Z")
    assert body["period"]["name"] == "custom" and body["period"]["until"] is None
    assert [p["transaction_id"] for p in body["top_payments"]] == \
        [new_york["P3"], new_york["P2"]]


@pytest.mark.parametrize("params, message", [
    ({"period": "fortnight"}, "period: must be one of today, yesterday"),
    ({"period": "custom", "since": "2026-01-01"}, "period=custom needs both since and until"),
    ({"period": "today", "since": "2026-01-01"}, "go with period=custom"),
    ({"since": "5 January"}, "neither a day"),
])
async def test_bad_periods_are_400(client, world, tokens, params, message):
    status, body = await dashboard(client, tokens, **params)
    assert status == 400 and message in body["error"]["message"]


async def test_a_reseller_reads_one_of_its_shops(client, world, tokens, new_york):
    status, body = await dashboard(client, tokens, "reseller_r1", callshop_id=world.shop_a,
                                   period="yesterday")
    assert status == 200 and body["sales"]["payments"] == 2
    assert (await dashboard(client, tokens, "reseller_r1"))[0] == 400
    assert (await dashboard(client, tokens, "reseller_r2", callshop_id=world.shop_a))[0] == 404
    assert (await dashboard(client, tokens, "operator_a"))[0] == 403
