"""The live view end to end: a scripted PBX drives calls through the real tracker and
guard, and desks follow `GET /live` and the `/events` socket (docs/sync-protocol.md)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from cashdesk.call_state import CallState
from cashdesk.calls.changes import CallUpdated
from cashdesk.pbx.bridge import CutReason
from cashdesk.prepaid.timeline import epoch_ms, from_epoch_ms
from cashdesk.rating.pricing import charge
from cashdesk.server.live import instant
from cashdesk.store.database import session_factory
from cashdesk.store.models import Call
from tests.server.live_world import FRANCE, UK, UK_SELL, account_balance, furnish, start
from tests.server.scripted import Desk

KEY = lambda: uuid.uuid4().hex


def cabin_in(snapshot: dict[str, Any], cabin_id: int) -> dict[str, Any]:
    return next(c for c in snapshot["cabins"] if c["id"] == cabin_id)


def calls(desk: Desk, pbx_call_id: str) -> list[dict[str, Any]]:
    return [c for c in desk.of("call") if c["pbx_call_id"] == pbx_call_id]


def state_of(desk: Desk, pbx_call_id: str) -> str | None:
    seen = calls(desk, pbx_call_id)
    return seen[-1]["state"] if seen else None


async def test_the_snapshot(aiohttp_client, config, clock, world, tokens, sqlite_engine):
    cabins = furnish(sqlite_engine, clock, world)
    live = await start(aiohttp_client, config, clock)
    status, snapshot = await live.get("/live", tokens["operator_a"])
    assert status == 200  # and the app checked it against the declared schema
    # One event so far: the PBX link came up after the board was loaded.
    assert snapshot["instance"] == live.hub.instance and snapshot["seq"] == 1
    assert snapshot["server_time"] == "2026-01-05T09:00:00.000000+00:00"
    assert snapshot["callshop"] == {"id": world.shop_a, "name": "Shop A", "currency": "EUR",
                                    "locale": "en", "timezone": "UTC", "training": False}
    assert snapshot["balance"] == {"balance": "10.0000", "available": "10.0000",
                                   "currency": "EUR"}
    assert snapshot["switch"] == {"connected": True, "kind": "scripted"}
    # By position (Cabin 3 has 0), then name.
    assert [c["name"] for c in snapshot["cabins"]] == ["Cabin 3", "Cabin 2", "Cabin 1"]
    assert {c["id"] for c in snapshot["cabins"]} == set(cabins.a_ids)
    for cabin in snapshot["cabins"]:
        assert cabin["state"] == "free" and cabin["enabled"] is True
        assert cabin["session"] is None and cabin["pending"] == []
    status, other = await live.get("/live", tokens["admin_b"])
    assert status == 200 and other["callshop"]["id"] == world.shop_b
    assert {c["id"] for c in other["cabins"]} == set(cabins.b_ids)
    assert (await live.get("/live", tokens["reseller_r1"]))[0] == 403


async def test_a_call_from_dialing_to_its_bill(aiohttp_client, config, clock, world, tokens,
                                               sqlite_engine):
    cabins = furnish(sqlite_engine, clock, world)
    live = await start(aiohttp_client, config, clock)
    token = tokens["operator_a"]
    _, before = await live.get("/live", token)
    desk = await Desk.connect(live.client, token)
    await desk.until(lambda d: bool(d.messages))
    assert desk.hello == {"type": "hello", "instance": live.hub.instance,
                          "seq": before["seq"], "heartbeat_s": 5.0}
    bridge, cabin_id = live.bridge, cabins.a_ids[0]

    assert (await bridge.dial("c1", cabins.a[0], UK)).allowed
    await desk.until(lambda d: state_of(d, "c1") == "dialing"
                     and cabin_in({"cabins": d.of("cabin")}, cabin_id)["state"] == "in_use")
    dialing = desk.of("cabin")[-1]
    assert dialing["session"] is None and [c["state"] for c in dialing["pending"]] == ["dialing"]
    assert dialing["pending"][0]["rate"] == {
        "prefix": "44", "price_per_minute": "0.2000", "connection_fee": "0.0000",
        "initial_increment": 60, "subsequent_increment": 60, "grace_seconds": 0}

    live.advance(2)
    bridge.ring("c1")
    await desk.until(lambda d: state_of(d, "c1") == "ringing")
    live.advance(3)
    bridge.answer("c1")
    await desk.until(lambda d: state_of(d, "c1") == "answered"
                     and d.of("cabin")[-1]["session"] is not None)
    answered = calls(desk, "c1")[-1]
    assert answered["session_id"] is not None
    assert answered["answered_at"] == "2026-01-05T09:00:05.000000+00:00"
    live.advance(30)
    _, during = await live.get("/live", token)
    tile = cabin_in(during, cabin_id)
    assert tile["state"] == "in_use" and tile["pending"] == []
    assert [c["state"] for c in tile["session"]["calls"]] == ["answered"]
    # What the call holds now (31 s begun, at the buy rate) is not available.
    assert during["balance"] == {"balance": "10.0000", "available": "9.9500",
                                 "currency": "EUR"}

    live.advance(65.25)
    bridge.hang_up("c1")
    await desk.until(lambda d: state_of(d, "c1") == "ended" and bool(d.of("balance"))
                     and d.of("cabin")[-1]["state"] == "awaiting_payment")
    ended = calls(desk, "c1")[-1]
    bill = charge(UK_SELL, 95_250, "EUR")
    assert (ended["billed_seconds"], ended["price"]) == (bill.billed_seconds,
                                                         bill.amount.to_json())
    assert (ended["billed_seconds"], ended["price"]) == (120, "0.4000")
    with session_factory(sqlite_engine)() as session:
        cdr = session.scalar(select(Call).where(Call.pbx_call_id == "c1"))
        assert cdr.state is CallState.ENDED and cdr.price == Decimal("0.4") \
            and cdr.billed_seconds == 120
    # The buy side: 0.10 a minute by the second, for 96 s.
    assert desk.of("balance")[-1] == {"balance": "9.8400", "available": "9.8400",
                                      "currency": "EUR"}
    assert account_balance(sqlite_engine, world.shop_a) == Decimal("9.84")
    tile = desk.of("cabin")[-1]
    assert tile["session"]["total"] == "0.4000" and tile["pending"] == []

    # Gap-free, and the snapshot before plus the events is the snapshot after.
    first = before["seq"] + 1
    assert [e["seq"] for e in desk.events] == list(range(first, first + len(desk.events)))
    assert {e["instance"] for e in desk.events} == {live.hub.instance}
    _, after = await live.get("/live", token)
    assert after["seq"] == desk.events[-1]["seq"]
    replayed = {c["id"]: c for c in before["cabins"]}
    for cabin in desk.of("cabin"):
        replayed[cabin["id"]] = cabin
    assert [replayed[c["id"]] for c in after["cabins"]] == after["cabins"]
    assert desk.of("balance")[-1] == after["balance"]
    await desk.close()


async def test_pay_frees_the_cabin_and_changes_nothing_else(aiohttp_client, config, clock,
                                                            world, tokens, sqlite_engine):
    cabins = furnish(sqlite_engine, clock, world)
    live = await start(aiohttp_client, config, clock)
    token = tokens["operator_a"]
    desk = await Desk.connect(live.client, token)
    bridge = live.bridge
    await bridge.dial("c1", cabins.a[1], FRANCE)
    bridge.answer("c1")
    live.advance(40)
    bridge.hang_up("c1")
    await desk.until(lambda d: bool(d.of("cabin"))
                     and d.of("cabin")[-1]["state"] == "awaiting_payment")
    session = desk.of("cabin")[-1]["session"]
    assert session["total"] == "0.1600"   # 0.05 + 42 s (30/6) at 0.15, rounded once
    seen = len(desk.events)
    status, paid = await live.post(f"/cabins/{cabins.a_ids[1]}/pay", token,
                                   {"received": "1.00", "idempotency_key": KEY(),
                                    "session_id": session["id"]})
    assert status == 200 and paid["change"] == "0.8400"
    await desk.until(lambda d: len(d.events) > seen)
    await asyncio.sleep(0.05)  # anything else would have arrived by now
    after = desk.events[seen:]
    assert [(e["kind"], e["data"]["id"], e["data"]["state"], e["data"]["session"])
            for e in after] == [("cabin", cabins.a_ids[1], "free", None)]
    _, snapshot = await live.get("/live", token)
    assert cabin_in(snapshot, cabins.a_ids[1])["state"] == "free"
    # A retry of the payment publishes nothing new.
    await desk.close()


async def test_a_top_up_moves_the_cut_later(aiohttp_client, config, clock, world, tokens,
                                            sqlite_engine):
    cabins = furnish(sqlite_engine, clock, world, balance_a="1")
    live = await start(aiohttp_client, config, clock)
    desk = await Desk.connect(live.client, tokens["operator_a"])
    bridge = live.bridge
    await bridge.dial("c1", cabins.a[0], UK)
    bridge.answer("c1")
    await desk.until(lambda d: state_of(d, "c1") == "answered")

    def deadline(tracker: Any) -> int | None:
        return tracker.guard.deadline_of("c1")
    answered_ms = epoch_ms(clock.now())
    first = await live.billing.service.async_inspect(deadline)
    # 1 EUR at 0.10 a minute (a little more: 602 s still round to 1.00)
    assert answered_ms + 600_000 <= first < answered_ms + 605_000
    status, _ = await live.post(f"/callshops/{world.shop_a}/topups", tokens["reseller_r1"],
                                {"amount": "1.00", "kind": "cash", "idempotency_key": KEY()})
    assert status == 200
    await desk.until(lambda d: any(b["balance"] == "2.0000" for b in d.of("balance")))
    later = await live.billing.service.async_inspect(deadline)
    assert answered_ms + 1_200_000 <= later < answered_ms + 1_205_000

    live.advance((first - answered_ms) / 1000 + 1)      # past the old cut: still talking
    await asyncio.sleep(0.05)
    assert state_of(desk, "c1") == "answered" and bridge.cuts == []
    live.advance((later - first) / 1000)                # past the new one
    await desk.until(lambda d: state_of(d, "c1") == "cut")
    assert bridge.cuts == [("c1", CutReason.CREDIT_EXHAUSTED)]
    cut = calls(desk, "c1")[-1]
    assert cut["ended_at"] == instant(from_epoch_ms(later))
    await desk.until(lambda d: d.of("balance")[-1]["balance"] == "0.0000")
    await desk.close()


async def test_two_shops_never_see_each_others_events(aiohttp_client, config, clock, world,
                                                      tokens, sqlite_engine):
    cabins = furnish(sqlite_engine, clock, world)
    live = await start(aiohttp_client, config, clock)
    desk_a = await Desk.connect(live.client, tokens["operator_a"])
    desk_b = await Desk.connect(live.client, tokens["admin_b"])
    bridge = live.bridge
    await bridge.dial("a1", cabins.a[0], UK)
    await bridge.dial("b1", cabins.b[0], FRANCE)
    bridge.answer("a1")
    bridge.answer("b1")
    live.advance(30)
    bridge.hang_up("a1")
    bridge.hang_up("b1")
    await desk_a.until(lambda d: state_of(d, "a1") == "ended" and bool(d.of("balance")))
    await desk_b.until(lambda d: state_of(d, "b1") == "ended" and bool(d.of("balance")))
    await asyncio.sleep(0.05)
    for desk, mine, own_call in ((desk_a, cabins.a_ids, "a1"), (desk_b, cabins.b_ids, "b1")):
        assert {c["cabin_id"] for c in desk.of("call")} <= set(mine)
        assert {c["pbx_call_id"] for c in desk.of("call")} == {own_call}
        assert {c["id"] for c in desk.of("cabin")} <= set(mine)
        first = desk.hello["seq"] + 1
        assert [e["seq"] for e in desk.events] == list(range(first, first + len(desk.events)))
    assert desk_a.of("balance")[-1]["balance"] != desk_b.of("balance")[-1]["balance"]
    await desk_a.close()
    await desk_b.close()


async def test_the_switch_going_down_and_up(aiohttp_client, config, clock, world, tokens,
                                            sqlite_engine):
    furnish(sqlite_engine, clock, world)
    live = await start(aiohttp_client, config, clock)
    token = tokens["operator_a"]
    desk = await Desk.connect(live.client, token)
    other = await Desk.connect(live.client, tokens["operator_b"])
    live.bridge.link.down()
    await desk.until(lambda d: d.of("switch") == [{"connected": False, "kind": "scripted"}])
    _, snapshot = await live.get("/live", token)
    assert snapshot["switch"] == {"connected": False, "kind": "scripted"}
    live.bridge.link.reconnected([], None)
    await desk.until(lambda d: d.of("switch")[-1] == {"connected": True, "kind": "scripted"})
    await other.until(lambda d: len(d.of("switch")) == 2)   # every shop it serves
    await desk.close()
    await other.close()


async def test_a_pending_call_that_fails_leaves_the_tile(aiohttp_client, config, clock, world,
                                                         tokens, sqlite_engine):
    cabins = furnish(sqlite_engine, clock, world)
    live = await start(aiohttp_client, config, clock)
    desk = await Desk.connect(live.client, tokens["operator_a"])
    await live.bridge.dial("c1", cabins.a[2], UK)
    live.bridge.ring("c1")
    live.advance(4)
    live.bridge.fail("c1", 486)
    await desk.until(lambda d: state_of(d, "c1") == "failed"
                     and d.of("cabin")[-1]["state"] == "free")
    failed = calls(desk, "c1")[-1]
    assert failed["sip_code"] == 486 and failed["session_id"] is None
    assert desk.of("cabin")[-1]["pending"] == []
    await desk.close()


async def test_a_call_shown_before_it_was_stored_is_one_pending_call(
        aiohttp_client, config, clock, world, tokens, sqlite_engine):
    """A live move shown from memory has no id yet (`CallTracker.show_from_memory`);
    the stored one that follows is the same call: the tile has one pending call."""
    cabins = furnish(sqlite_engine, clock, world)
    live = await start(aiohttp_client, config, clock)
    token = tokens["operator_a"]
    desk = await Desk.connect(live.client, token)
    assert (await live.bridge.dial("c1", cabins.a[0], UK)).allowed
    await desk.until(lambda d: state_of(d, "c1") == "dialing")
    stored = await live.billing.service.async_inspect(
        lambda tracker: tracker._live["c1"].snapshot)
    ringing = replace(stored, state=CallState.RINGING, ringing_at=clock.now())
    board = live.billing.board
    board.apply(CallUpdated(stored.callshop_id, replace(ringing, id=None)))
    board.apply(CallUpdated(stored.callshop_id, ringing))
    _, now = await live.get("/live", token)
    pending = cabin_in(now, cabins.a_ids[0])["pending"]
    assert [(c["id"], c["state"]) for c in pending] == [(stored.id, "ringing")]
    await desk.until(lambda d: [c["id"] for c in calls(d, "c1")][-2:] == [None, stored.id])
    await desk.close()


async def test_rates_and_cabins_edited_through_the_api_take_effect(
        aiohttp_client, config, clock, world, tokens, sqlite_engine):
    cabins = furnish(sqlite_engine, clock, world)
    live = await start(aiohttp_client, config, clock)
    provisioned: list[list[Any]] = []
    live.pbx.contexts[-1].cabins.subscribe(provisioned.append)
    germany = "0049301234567"
    assert not (await live.bridge.dial("g1", cabins.a[0], germany)).allowed
    assert (await live.post("/rates", tokens["admin_a"], {
        "tariff_id": world.tariff_a, "prefix": "49", "price_per_minute": "0.10"}))[0] == 201
    assert (await live.post("/buy-rates", tokens["reseller_r1"], {
        "tariff_id": world.buy_tariff1, "prefix": "49", "price_per_minute": "0.04"}))[0] == 201
    assert (await live.bridge.dial("g2", cabins.a[0], germany)).allowed

    desk = await Desk.connect(live.client, tokens["operator_a"])
    response = await live.client.patch(f"/api/v1/cabins/{cabins.a_ids[1]}",
                                       json={"name": "Booth 2", "enabled": False},
                                       headers={"Authorization": f"Bearer {tokens['admin_a']}"})
    assert response.status == 200
    await desk.until(lambda d: any(c["name"] == "Booth 2" for c in d.of("cabin")))
    edited = desk.of("cabin")[-1]
    assert (edited["enabled"], edited["state"]) == (False, "disabled")
    accounts = {a.cabin_id: a for a in provisioned[-1]}
    assert accounts[cabins.a_ids[1]].enabled is False
    assert accounts[cabins.a_ids[1]].sip_username == cabins.a[1]
    await desk.close()


async def test_shop_edits_and_new_shops_reach_the_snapshot(aiohttp_client, config, clock,
                                                           world, tokens, sqlite_engine):
    furnish(sqlite_engine, clock, world)
    live = await start(aiohttp_client, config, clock)
    response = await live.client.patch(f"/api/v1/callshops/{world.shop_a}",
                                       json={"name": "Shop A, Main Street"},
                                       headers=tokens.headers("reseller_r1"))
    assert response.status == 200
    _, snapshot = await live.get("/live", tokens["operator_a"])
    assert snapshot["callshop"]["name"] == "Shop A, Main Street"
    status, _ = await live.post("/callshops", tokens["reseller_r1"], {
        "name": "Shop D", "admin_username": "admin_d", "admin_password": "correct-horse-1"})
    assert status == 201
    login = await live.client.post("/api/v1/auth/login", json={
        "username": "admin_d", "password": "correct-horse-1"})
    token = (await login.json())["token"]
    status, fresh = await live.get("/live", token)
    assert status == 200 and fresh["callshop"]["name"] == "Shop D" and fresh["cabins"] == []
    response = await live.client.post("/api/v1/cabins", json={
        "name": "Booth 1", "sip_username": "d-1"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status == 201
    _, fresh = await live.get("/live", token)
    assert [c["name"] for c in fresh["cabins"]] == ["Booth 1"]
