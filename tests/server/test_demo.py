"""Training mode: `demo = true` makes the training shop once, prints its logins, and
runs simulated customers whose calls are billed as training and never touch a balance."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

from sqlalchemy import func, select

from cashdesk.pbx.training import TrainingBridge
from cashdesk.server import demo
from cashdesk.server.app import create_app
from cashdesk.server.billing import BILLING
from cashdesk.store.database import session_factory
from cashdesk.store.models import Callshop, Rate, Tariff
from tests.server.live_world import account_balance


def _logins(printed: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+(training\.\w+)\s+(\S+)$", printed, re.MULTILINE))


async def test_training_mode(aiohttp_client, config, clock, sqlite_engine, capsys):
    client = await aiohttp_client(create_app(replace(config, demo=True), clock=clock))
    logins = _logins(capsys.readouterr().out)
    assert set(logins) == {demo.ADMIN, demo.CASHIER}
    response = await client.post("/api/v1/auth/login", json={
        "username": demo.CASHIER, "password": logins[demo.CASHIER]})
    assert response.status == 200
    login = await response.json()
    token = login["token"]
    assert login["user"]["role"] == "operator" and login["shift_id"] is not None
    headers = {"Authorization": f"Bearer {token}"}

    snapshot = await (await client.get("/api/v1/live", headers=headers)).json()
    shop_id = snapshot["callshop"]["id"]
    assert snapshot["callshop"]["training"] is True
    assert snapshot["callshop"]["name"] == "Training shop"
    assert snapshot["switch"] == {"connected": True, "kind": "training"}
    assert snapshot["balance"]["balance"] == "200.0000"
    assert 8 <= len(snapshot["cabins"]) <= 12
    with session_factory(sqlite_engine)() as session:
        shop = session.get_one(Callshop, shop_id)
        for tariff_id in (shop.default_tariff_id, shop.buy_tariff_id):
            rates = session.scalar(select(func.count()).select_from(Rate)
                                   .where(Rate.tariff_id == tariff_id))
            assert rates >= 36
        assert session.get_one(Tariff, shop.buy_tariff_id).callshop_id is None

    # An afternoon of simulated customers, stepped on the fake clock.
    billing = client.app[BILLING]
    [slot] = billing.slots
    bridge = slot.bridge.inner
    assert isinstance(bridge, TrainingBridge)
    end = clock.now().timestamp() + 1800
    while (upcoming := bridge.next_action_at()) is not None and upcoming.timestamp() <= end:
        clock.advance(max(0.0, (upcoming - clock.now()).total_seconds()))
        billing.service.runner.wake()
        await bridge.run_due()
    await billing.service.async_inspect(lambda tracker: None)   # the writer caught up
    ended = [event for event in bridge.emitted if event.kind.value == "ended"]
    assert len(ended) >= 5
    snapshot = await (await client.get("/api/v1/live", headers=headers)).json()
    calls = [call for cabin in snapshot["cabins"] if cabin["session"]
             for call in cabin["session"]["calls"]]
    calls += [call for cabin in snapshot["cabins"] for call in cabin["pending"]]
    assert calls and all(call["training"] for call in calls)
    assert any(Decimal(call["price"]) > 0 for call in calls)
    # Training calls never touch a real balance.
    assert snapshot["balance"]["balance"] == "200.0000"
    assert account_balance(sqlite_engine, shop_id) == Decimal(200)
    await client.close()

    # A second start finds the shop again and gives its logins new passwords.
    again = await aiohttp_client(create_app(replace(config, demo=True), clock=clock))
    fresh = _logins(capsys.readouterr().out)
    assert fresh[demo.CASHIER] != logins[demo.CASHIER]
    with session_factory(sqlite_engine)() as session:
        assert session.scalar(select(func.count()).select_from(Callshop)
                              .where(Callshop.name == demo.SHOP_NAME)) == 1
    response = await again.post("/api/v1/auth/login", json={
        "username": demo.ADMIN, "password": fresh[demo.ADMIN]})
    assert response.status == 200
