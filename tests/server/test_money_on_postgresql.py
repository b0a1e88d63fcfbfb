"""The money endpoints on PostgreSQL: the same queries (unions, filtered aggregates,
local-day periods) must answer there exactly as on SQLite, and the profit must still
be the ledger's."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from cashdesk.server.app import create_app
from cashdesk.server.config import ServerConfig
from tests.server.conftest import Tokens, World, build_world
from tests.server.ledger_rows import add_cabin, add_call, invariant_errors, key, top_up
from tests.server.test_profit import GROUPS, ledger_report, trade

pytestmark = pytest.mark.pg
API = "/api/v1"


@pytest.fixture
def pg_world(pg_engine: Engine, clock: Any) -> World:
    return build_world(pg_engine, clock)


@pytest.fixture
def pg_tokens(pg_engine: Engine, clock: Any, pg_world: World) -> Tokens:
    return Tokens(pg_engine, clock, pg_world)


@pytest.fixture
async def pg_client(aiohttp_client: Any, pg_engine: Engine, clock: Any, tmp_path: Any) -> Any:
    config = ServerConfig(database_url=pg_engine.url.render_as_string(hide_password=False),
                          migrate=False, validate_responses=True,
                          log_file=tmp_path / "server.log")
    return await aiohttp_client(create_app(config, clock=clock))


async def read(client: Any, tokens: Tokens, path: str, user: str = "admin_a",
               **params: Any) -> Any:
    response = await client.get(f"{API}{path}", headers=tokens.headers(user),
                                params={k: str(v) for k, v in params.items()})
    assert response.status == 200, await response.text()
    return await response.json()


async def test_profit_is_the_ledgers_on_postgresql(pg_client, pg_engine, pg_world, pg_tokens):
    trade(pg_engine, pg_world)
    for group_by in GROUPS:
        body = await read(pg_client, pg_tokens, "/profit", group_by=group_by,
                          since="2026-01-01", until="2026-01-31")
        expected = ledger_report(pg_engine, pg_world.shop_a,
                                 datetime.fromisoformat(body["period"]["since"]),
                                 datetime.fromisoformat(body["period"]["until"]))
        assert Decimal(body["totals"]["revenue"]) == expected.revenue.amount
        assert Decimal(body["totals"]["cost"]) == expected.cost.amount
        assert sum(Decimal(row["profit"]) for row in body["rows"]) == expected.profit.amount
    assert invariant_errors(pg_engine, pg_world.shop_a) == []
    # Monday 10:00 in Paris: last week ended at Sunday's midnight there.
    dashboard = await read(pg_client, pg_tokens, "/dashboard", period="last_week")
    assert dashboard["sales"] == {"payments": 2, "amount": "5.0000"}
    assert [row["sales"] for row in dashboard["sales_by_operator"]] == ["3.0000", "2.0000"]


async def test_pay_history_and_money_on_postgresql(pg_client, pg_engine, pg_world, pg_tokens,
                                                   clock):
    response = await pg_client.post(f"{API}/callshops/{pg_world.shop_a}/topups",
                                    headers=pg_tokens.headers("reseller_r1"),
                                    json={"amount": "20", "kind": "cash",
                                          "idempotency_key": key()})
    assert response.status == 200
    top_up(pg_engine, clock, pg_world.shop_a)
    cabin = add_cabin(pg_engine, pg_world.shop_a, "Cabin 1")
    add_call(pg_engine, clock, cabin, price="1.40", cost="0.60")
    clock.advance(60)
    paid = await pg_client.post(f"{API}/cabins/{cabin}/pay",
                                headers=pg_tokens.headers("operator_a"),
                                json={"received": "2", "idempotency_key": key(),
                                      "invoice": True})
    assert paid.status == 200, await paid.text()
    transaction = (await paid.json())["transaction_id"]

    listed = await read(pg_client, pg_tokens, "/transactions")
    assert [t["id"] for t in listed["items"]] == [transaction]
    assert listed["items"][0]["invoice"]["number"].startswith("INV-")
    sessions = await read(pg_client, pg_tokens, f"/cabins/{cabin}/sessions", "operator_a")
    assert sessions["items"][0]["has_invoice"] is True
    calls = await read(pg_client, pg_tokens, "/calls", number="33")
    assert calls["total"] == 1 and calls["items"][0]["transaction_id"] == transaction
    history = await read(pg_client, pg_tokens, "/history/money")
    assert [m["type"] for m in history["items"]] == ["payment", "topup", "topup"]
    assert history["totals"] == {"payments": "1.4000", "topups": "120.0000"}
    balance = await read(pg_client, pg_tokens, "/balance", "operator_a")
    assert balance["callshop"]["balance"] == "119.4000"
    today = await read(pg_client, pg_tokens, "/dashboard")
    assert today["today"]["sales"] == "1.4000" and today["today"]["calls"] == 1
    assert [s["payments"] for s in today["operators_on_shift"]] == [1]
    assert invariant_errors(pg_engine, pg_world.shop_a) == []
