"""Profit and loss over the API, checked against the ledger itself: the totals of every
grouping equal `cashdesk.ledger.profit` over the same period, the rows add up to the
totals, and the ledger's invariants hold on the same data."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from cashdesk.ledger.profit import profit
from cashdesk.ledger.snapshot import load_view
from cashdesk.shops import create_callshop
from cashdesk.store.database import session_factory
from cashdesk.store.models import Callshop, Reseller
from tests.server.conftest import PASSWORD
from tests.server.ledger_rows import At, add_cabin, add_call, invariant_errors, pay, top_up

API = "/api/v1"
GROUPS = ("day", "cabin", "destination", "operator")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def trading(sqlite_engine, world):
    return trade(sqlite_engine, world)


def trade(engine: Engine, world) -> dict[str, int]:
    """Three days in shop A (Paris time, UTC+1 in January), two cabins, two people:

    Jan 3 22:30 UTC (Jan 3 23:30 Paris) France 1.20/0.50 + UK 0.80/0.30, paid by the
      operator at Jan 3 23:30 UTC — already Jan 4 in Paris;
    Jan 4 10:00 Morocco 3.00/1.80, paid by the admin the same minute;
    Jan 4 18:00 France 0.60/0.20 charged; paid only on Jan 5 08:00 with a Germany call
      0.90/0.40 of Jan 5 08:00;
    Jan 5 08:30 Spain 0.75/0.35 charged, not paid yet;
    a training call and payment on Jan 4 (practice: counts for nothing).
    """
    with session_factory(engine).begin() as session:
        session.get_one(Callshop, world.shop_a).timezone = "Europe/Paris"
    top_up(engine, At(utc(2026, 1, 1)), world.shop_a, "100")
    c1 = add_cabin(engine, world.shop_a, "Alpha")
    c2 = add_cabin(engine, world.shop_a, "Bravo")
    admin, operator = world.users["admin_a"], world.users["operator_a"]

    add_call(engine, At(utc(2026, 1, 3, 22, 30)), c1, price="1.20", cost="0.50",
             destination="France")
    add_call(engine, At(utc(2026, 1, 3, 22, 40)), c1, price="0.80", cost="0.30",
             destination="United Kingdom", seconds=90)
    pay(engine, At(utc(2026, 1, 3, 23, 30)), c1, operator, "2.00")
    add_call(engine, At(utc(2026, 1, 4, 10)), c2, price="3.00", cost="1.80",
             destination="Morocco", seconds=300)
    pay(engine, At(utc(2026, 1, 4, 10, 1)), c2, admin, "5.00")
    add_call(engine, At(utc(2026, 1, 4, 18)), c1, price="0.60", cost="0.20",
             destination="France", seconds=30)
    add_call(engine, At(utc(2026, 1, 5, 8)), c1, price="0.90", cost="0.40",
             destination="Germany")
    pay(engine, At(utc(2026, 1, 5, 8, 10)), c1, operator, "1.50")
    add_call(engine, At(utc(2026, 1, 5, 8, 30)), c2, price="0.75", cost="0.35",
             destination="Spain")
    practice = add_cabin(engine, world.shop_a, "Practice")
    add_call(engine, At(utc(2026, 1, 4, 12)), practice, price="9.00", cost="4.00",
             destination="France", training=True)
    pay(engine, At(utc(2026, 1, 4, 12, 5)), practice, operator, "9.00")
    return {"alpha": c1, "bravo": c2}


async def report(client, tokens, user="admin_a", **params):
    response = await client.get(f"{API}/profit", headers=tokens.headers(user),
                                params={k: str(v) for k, v in params.items()})
    return response.status, await response.json()


def ledger_report(engine: Engine, shop_id: int, since: datetime | None,
                  until: datetime | None):
    with session_factory(engine)() as session:
        return profit(load_view(session, shop_id), since, until)


def total_of(rows, name):
    return sum((Decimal(row[name]) for row in rows), Decimal(0))


PERIODS = [
    {},  # this month (the clock is in January 2026)
    {"since": "2026-01-04", "until": "2026-01-04"},
    {"since": "2026-01-03", "until": "2026-01-04"},
    {"since": "2026-01-05"},
    {"until": "2026-01-04T12:00:00Z"},
    {"since": "2026-01-04T10:00:30Z", "until": "2026-01-05T08:20:00Z"},
]


@pytest.mark.parametrize("group_by", GROUPS)
@pytest.mark.parametrize("period", PERIODS, ids=lambda p: "&".join(f"{k}={v}" for k, v in
                                                                   p.items()) or "month")
async def test_totals_are_the_ledgers_and_rows_add_up(client, world, tokens, sqlite_engine,
                                                      trading, group_by, period):
    status, body = await report(client, tokens, group_by=group_by, **period)
    assert status == 200, body
    since = datetime.fromisoformat(body["period"]["since"]) if body["period"]["since"] else None
    until = datetime.fromisoformat(body["period"]["until"]) if body["period"]["until"] else None
    expected = ledger_report(sqlite_engine, world.shop_a, since, until)
    totals = body["totals"]
    assert Decimal(totals["revenue"]) == expected.revenue.amount
    assert Decimal(totals["cost"]) == expected.cost.amount
    assert Decimal(totals["profit"]) == expected.profit.amount
    for name in ("revenue", "cost", "profit"):
        assert total_of(body["rows"], name) == Decimal(totals[name]), name
    assert sum(row["calls"] for row in body["rows"]) == totals["calls"]
    assert invariant_errors(sqlite_engine, world.shop_a) == []


async def test_rows_by_day_in_the_shop_time_zone(client, world, tokens, trading):
    status, body = await report(client, tokens, since="2026-01-01", until="2026-01-31")
    assert status == 200
    assert body["period"]["since"] == "2025-12-31T23:00:00+00:00"  # Paris midnight
    rows = {row["key"]: row for row in body["rows"]}
    assert list(rows) == ["2026-01-03", "2026-01-04", "2026-01-05"]
    # Jan 3 (Paris): the first two calls were charged, their payment fell on Jan 4.
    assert (rows["2026-01-03"]["revenue"], rows["2026-01-03"]["cost"]) == ("0.0000", "0.8000")
    assert rows["2026-01-04"]["revenue"] == "5.0000"  # 2.00 + 3.00, training apart
    assert rows["2026-01-04"]["cost"] == "2.0000"     # 1.80 + 0.20
    assert rows["2026-01-04"]["calls"] == 3 and rows["2026-01-04"]["billed_seconds"] == 450
    assert rows["2026-01-04"]["minutes"] == "7.50"
    assert (rows["2026-01-05"]["revenue"], rows["2026-01-05"]["cost"]) == ("1.5000", "0.7500")
    assert body["totals"] == {"revenue": "6.5000", "cost": "3.5500", "profit": "2.9500",
                              "calls": 5, "billed_seconds": 540, "minutes": "9.00"}


async def test_rows_by_cabin_destination_and_operator(client, world, tokens, trading):
    _, by_cabin = await report(client, tokens, group_by="cabin")
    assert [(r["label"], r["revenue"], r["cost"], r["profit"]) for r in by_cabin["rows"]] == [
        ("Alpha", "3.5000", "1.4000", "2.1000"), ("Bravo", "3.0000", "2.1500", "0.8500")]
    assert by_cabin["rows"][0]["key"] == str(trading["alpha"])
    _, by_destination = await report(client, tokens, group_by="destination")
    assert [(r["key"], r["revenue"], r["cost"]) for r in by_destination["rows"]] == [
        ("Morocco", "3.0000", "1.8000"), ("France", "1.8000", "0.7000"),
        ("Germany", "0.9000", "0.4000"), ("United Kingdom", "0.8000", "0.3000"),
        ("Spain", "0.0000", "0.3500")]
    _, by_operator = await report(client, tokens, group_by="operator")
    assert [(r["key"], r["label"], r["revenue"], r["cost"]) for r in by_operator["rows"]] == [
        (str(world.users["admin_a"]), "admin_a", "3.0000", "1.8000"),
        (str(world.users["operator_a"]), "operator_a", "3.5000", "1.4000"),
        ("unpaid", "not paid yet", "0.0000", "0.3500")]


async def test_a_training_shop_never_mixes_into_a_real_one(client, world, tokens,
                                                          sqlite_engine, trading):
    _, before = await report(client, tokens, user="reseller_r1", callshop_id=world.shop_a)
    with session_factory(sqlite_engine).begin() as session:
        practice = create_callshop(session, At(utc(2026, 1, 1)),
                                   session.get_one(Reseller, world.reseller1),
                                   name="Practice shop", currency="EUR",
                                   admin_username="trainer", admin_password=PASSWORD,
                                   training=True)
        shop_id, trainer = practice.callshop.id, practice.admin.id
    top_up(sqlite_engine, At(utc(2026, 1, 1)), shop_id)
    cabin = add_cabin(sqlite_engine, shop_id)
    add_call(sqlite_engine, At(utc(2026, 1, 4, 9)), cabin, price="7.00", cost="3.00",
             training=True)
    pay(sqlite_engine, At(utc(2026, 1, 4, 9, 5)), cabin, trainer, "7.00")
    _, after = await report(client, tokens, user="reseller_r1", callshop_id=world.shop_a)
    assert after == before
    _, training = await report(client, tokens, user="reseller_r1", callshop_id=shop_id)
    assert training["totals"]["revenue"] == "0.0000" and training["rows"] == []


@pytest.mark.parametrize("params, message", [
    ({"group_by": "hour"}, "group_by: must be one of day, cabin, destination, operator"),
    ({"since": "2026-13-01"}, "not a real day"),
    ({"since": "2026-01-05", "until": "2026-01-04"}, "must be before until"),
])
async def test_bad_queries_are_400(client, world, tokens, params, message):
    status, body = await report(client, tokens, **params)
    assert status == 400 and message in body["error"]["message"]


async def test_only_admins_and_resellers(client, world, tokens):
    assert (await report(client, tokens, user="operator_a"))[0] == 403
    assert (await report(client, tokens, user="reseller_r1"))[0] == 400  # names no shop
    status, body = await report(client, tokens, user="reseller_r1", callshop_id=world.shop_a)
    assert status == 200 and body["totals"]["revenue"] == "0.0000"
