"""Sell tariffs and rates (the shop's), buy tariffs and rates (the reseller's): CRUD,
paged and filtered lists, and the revision bump the rating index relies on."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from cashdesk.store.models import Cabin, Rate, Tariff
from tests.server.conftest import db

API = "/api/v1"


async def revision(engine, tariff_id):
    with db(engine) as session:
        return session.get_one(Tariff, tariff_id).revision


async def test_sell_tariff_crud(client, world, tokens):
    admin = tokens.headers("admin_a")
    listed = await (await client.get(f"{API}/tariffs", headers=admin)).json()
    assert [(t["name"], t["is_default"]) for t in listed] == [("Standard", True)]
    created = await client.post(f"{API}/tariffs", headers=admin, json={"name": "Night"})
    assert created.status == 201
    night = await created.json()
    assert night["currency"] == "EUR" and night["rate_count"] == 0 and not night["is_default"]
    duplicate = await client.post(f"{API}/tariffs", headers=admin, json={"name": "Night"})
    assert duplicate.status == 409
    renamed = await client.patch(f"{API}/tariffs/{night['id']}", headers=admin,
                                 json={"name": "Late"})
    assert (await renamed.json())["name"] == "Late"
    # Operators read tariffs (for the rates screen) but cannot change them.
    operator = tokens.headers("operator_a")
    assert (await client.get(f"{API}/tariffs/{night['id']}", headers=operator)).status == 200
    assert (await client.patch(f"{API}/tariffs/{night['id']}", headers=operator,
                               json={"name": "x"})).status == 403
    assert (await client.delete(f"{API}/tariffs/{night['id']}", headers=admin)).status == 204


async def test_a_tariff_in_use_cannot_be_deleted(client, world, tokens, sqlite_engine):
    admin = tokens.headers("admin_a")
    default = await client.delete(f"{API}/tariffs/{world.tariff_a}", headers=admin)
    assert default.status == 409 and "default" in (await default.json())["error"]["message"]
    night = await (await client.post(f"{API}/tariffs", headers=admin,
                                     json={"name": "Night"})).json()
    await client.post(f"{API}/cabins", headers=admin, json={
        "name": "Cabin 1", "sip_username": "c1", "tariff_id": night["id"]})
    used = await client.delete(f"{API}/tariffs/{night['id']}", headers=admin)
    assert used.status == 409 and "Cabin 1" in (await used.json())["error"]["message"]


async def test_sell_rates_add_edit_delete_bump_the_revision(client, world, tokens,
                                                            sqlite_engine):
    admin = tokens.headers("admin_a")
    start = await revision(sqlite_engine, world.tariff_a)
    response = await client.post(f"{API}/rates", headers=admin, json={
        "tariff_id": world.tariff_a, "prefix": "44", "destination": "United Kingdom",
        "price_per_minute": "0.0125", "initial_increment": 30, "subsequent_increment": 6})
    assert response.status == 201
    rate = await response.json()
    assert rate == {"id": rate["id"], "tariff_id": world.tariff_a, "cabin_id": None,
                    "prefix": "44", "destination": "United Kingdom",
                    "price_per_minute": "0.0125", "connection_fee": "0.0000",
                    "initial_increment": 30, "subsequent_increment": 6, "grace_seconds": 0}
    assert await revision(sqlite_engine, world.tariff_a) == start + 1
    edited = await client.patch(f"{API}/rates/{rate['id']}", headers=admin,
                                json={"price_per_minute": "0.02", "grace_seconds": 3})
    assert (await edited.json())["price_per_minute"] == "0.0200"
    assert await revision(sqlite_engine, world.tariff_a) == start + 2
    with db(sqlite_engine) as session:
        assert session.get_one(Rate, rate["id"]).price_per_minute == Decimal("0.02")
    duplicate = await client.post(f"{API}/rates", headers=admin, json={
        "tariff_id": world.tariff_a, "prefix": "44", "price_per_minute": "1"})
    assert duplicate.status == 409 and (await duplicate.json())["error"]["field"] == "prefix"
    assert (await client.delete(f"{API}/rates/{rate['id']}", headers=admin)).status == 204
    assert await revision(sqlite_engine, world.tariff_a) == start + 3


async def test_cabin_rates_override_and_filter_by_cabin(client, world, tokens, sqlite_engine):
    admin = tokens.headers("admin_a")
    cabin = (await (await client.post(f"{API}/cabins", headers=admin, json={
        "name": "Cabin 1", "sip_username": "c1"})).json())["cabin"]
    start = await revision(sqlite_engine, world.tariff_a)
    response = await client.post(f"{API}/rates", headers=admin, json={
        "cabin_id": cabin["id"], "prefix": "33", "price_per_minute": "0.05"})
    assert response.status == 201 and (await response.json())["cabin_id"] == cabin["id"]
    # The cabin's own revision moves, so the rating index rebuilds just that cabin.
    with db(sqlite_engine) as session:
        assert session.get_one(Cabin, cabin["id"]).rates_revision == 1
    assert await revision(sqlite_engine, world.tariff_a) == start
    page = await (await client.get(f"{API}/rates", headers=admin,
                                   params={"cabin_id": cabin["id"]})).json()
    assert [r["prefix"] for r in page["items"]] == ["33"] and page["total"] == 1
    both = await client.post(f"{API}/rates", headers=admin, json={
        "cabin_id": cabin["id"], "tariff_id": world.tariff_a, "prefix": "1",
        "price_per_minute": "1"})
    assert both.status == 400 and "exactly one" in (await both.json())["error"]["message"]
    neither = await client.get(f"{API}/rates", headers=admin)
    assert neither.status == 400


async def test_rates_are_paged_and_filtered(client, world, tokens, sqlite_engine):
    with db(sqlite_engine) as session, session.begin():
        for prefix, name in (("1", "USA"), ("44", "UK"), ("447", "UK mobile"),
                             ("33", "France"), ("336", "France mobile")):
            session.add(Rate(tariff_id=world.tariff_a, prefix=prefix, destination=name,
                             price_per_minute=Decimal("0.1")))
    operator = tokens.headers("operator_a")

    async def page(**params):
        response = await client.get(f"{API}/rates", headers=operator,
                                    params={"tariff_id": world.tariff_a, **params})
        assert response.status == 200, await response.text()
        return await response.json()

    first = await page(limit=2)
    assert [r["prefix"] for r in first["items"]] == ["1", "33"] and first["total"] == 5
    second = await page(limit=2, offset=2)
    assert [r["prefix"] for r in second["items"]] == ["336", "44"]
    assert [r["prefix"] for r in (await page(prefix="44"))["items"]] == ["44", "447"]
    assert [r["prefix"] for r in (await page(search="mobile"))["items"]] == ["336", "447"]
    bad = await client.get(f"{API}/rates", headers=operator,
                           params={"tariff_id": world.tariff_a, "limit": "5000"})
    assert bad.status == 400 and "at most 1000" in (await bad.json())["error"]["message"]
    unknown = await client.get(f"{API}/rates", headers=operator,
                               params={"tariff_id": world.tariff_a, "sort": "x"})
    assert unknown.status == 400
    other = await client.get(f"{API}/rates", headers=tokens.headers("admin_b"),
                             params={"tariff_id": world.tariff_a})
    assert other.status == 404


async def test_rate_validation(client, world, tokens):
    admin = tokens.headers("admin_a")
    for body, field in (
        ({"prefix": "+44", "price_per_minute": "0.1"}, "prefix"),
        ({"prefix": "44", "price_per_minute": 0.1}, "price_per_minute"),
        ({"prefix": "44", "price_per_minute": "1e3"}, "price_per_minute"),
        ({"prefix": "44", "price_per_minute": "0.1", "initial_increment": 0},
         "initial_increment"),
        ({"prefix": "44", "price_per_minute": "0.1", "connection_fee": "-0.5"},
         "connection_fee"),
    ):
        response = await client.post(f"{API}/rates", headers=admin,
                                     json={"tariff_id": world.tariff_a, **body})
        assert response.status == 400, body
        assert (await response.json())["error"]["field"] == field


async def test_buy_tariffs_and_rates_belong_to_the_reseller(client, world, tokens,
                                                            sqlite_engine):
    reseller = tokens.headers("reseller_r1")
    listed = await (await client.get(f"{API}/buy-tariffs", headers=reseller)).json()
    assert [(t["name"], t["callshop_count"]) for t in listed] == [("Wholesale", 2)]
    created = await (await client.post(f"{API}/buy-tariffs", headers=reseller,
                                       json={"name": "Premium"})).json()
    start = created["revision"]
    rate = await client.post(f"{API}/buy-rates", headers=reseller, json={
        "tariff_id": created["id"], "prefix": "44", "price_per_minute": "0.008"})
    assert rate.status == 201
    rate = await rate.json()
    page = await (await client.get(f"{API}/buy-rates", headers=reseller,
                                   params={"tariff_id": created["id"]})).json()
    assert page["items"] == [rate]
    edited = await client.patch(f"{API}/buy-rates/{rate['id']}", headers=reseller,
                                json={"connection_fee": "0.01"})
    assert (await edited.json())["connection_fee"] == "0.0100"
    assert (await client.delete(f"{API}/buy-rates/{rate['id']}",
                                headers=reseller)).status == 204
    assert await revision(sqlite_engine, created["id"]) == start + 3
    renamed = await client.patch(f"{API}/buy-tariffs/{created['id']}", headers=reseller,
                                 json={"name": "Wholesale"})
    assert renamed.status == 409            # names are unique per reseller
    in_use = await client.delete(f"{API}/buy-tariffs/{world.buy_tariff1}", headers=reseller)
    assert in_use.status == 409 and "Shop A" in (await in_use.json())["error"]["message"]
    assert (await client.delete(f"{API}/buy-tariffs/{created['id']}",
                                headers=reseller)).status == 204
    # Another reseller's tariff, and a shop's sell tariff, are not buy tariffs of r1.
    for tariff_id in (world.buy_tariff2, world.tariff_a):
        assert (await client.get(f"{API}/buy-tariffs/{tariff_id}",
                                 headers=reseller)).status == 404
    assert (await client.get(f"{API}/buy-rates", headers=reseller)).status == 400


async def test_deleting_a_cabin_removes_its_own_rates(client, world, tokens, sqlite_engine):
    admin = tokens.headers("admin_a")
    cabin = (await (await client.post(f"{API}/cabins", headers=admin, json={
        "name": "Cabin 1", "sip_username": "c1"})).json())["cabin"]
    await client.post(f"{API}/rates", headers=admin, json={
        "cabin_id": cabin["id"], "prefix": "33", "price_per_minute": "0.05"})
    assert (await client.delete(f"{API}/cabins/{cabin['id']}", headers=admin)).status == 204
    with db(sqlite_engine) as session:
        assert session.scalars(select(Rate).where(Rate.cabin_id == cabin["id"])).all() == []
        assert session.get(Cabin, cabin["id"]) is None
