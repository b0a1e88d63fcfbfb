"""Cabins: CRUD in the admin's own shop, SIP passwords shown once and kept as HA1."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from cashdesk.call_state import CallState
from cashdesk.server.app import create_app
from cashdesk.store.models import Cabin, Call
from tests.server.conftest import db

CABINS = "/api/v1/cabins"


async def add_cabin(client, headers, **fields):
    body = {"name": "Cabin 1", "sip_username": "cabin1", **fields}
    response = await client.post(CABINS, json=body, headers=headers)
    assert response.status == 201, await response.text()
    return await response.json()


async def test_create_shows_the_sip_password_once_and_stores_only_ha1(client, world, tokens,
                                                                      sqlite_engine):
    admin = tokens.headers("admin_a")
    created = await add_cabin(client, admin, site="Main street", position=2,
                              max_call_seconds=3600, max_session_amount="50.00",
                              deposit="20", tariff_id=world.tariff_a)
    cabin, password = created["cabin"], created["sip_password"]
    assert len(password) == 16 and password.isalnum()
    assert cabin == {"id": cabin["id"], "name": "Cabin 1", "site": "Main street",
                     "position": 2, "sip_username": "cabin1", "sip_realm": "cashdesk",
                     "has_sip_password": True, "tariff_id": world.tariff_a, "enabled": True,
                     "max_call_seconds": 3600, "max_session_amount": "50.0000",
                     "deposit": "20.0000"}
    with db(sqlite_engine) as session:
        row = session.get_one(Cabin, cabin["id"])
        assert row.sip_ha1 == hashlib.md5(f"cabin1:cashdesk:{password}".encode()).hexdigest()
        assert row.max_session_amount == Decimal(50)
    # Never again: not in the list, not in the cabin.
    listed = await (await client.get(CABINS, headers=admin)).json()
    assert password not in str(listed) and listed == [cabin]
    one = await (await client.get(f"{CABINS}/{cabin['id']}", headers=admin)).json()
    assert one == cabin


async def test_reset_gives_a_new_password(client, world, tokens, sqlite_engine):
    admin = tokens.headers("admin_a")
    created = await add_cabin(client, admin)
    cabin_id = created["cabin"]["id"]
    reset = await client.post(f"{CABINS}/{cabin_id}/sip-password", headers=admin)
    assert reset.status == 200
    new_password = (await reset.json())["sip_password"]
    assert new_password != created["sip_password"]
    with db(sqlite_engine) as session:
        assert session.get_one(Cabin, cabin_id).sip_ha1 == hashlib.md5(
            f"cabin1:cashdesk:{new_password}".encode()).hexdigest()


async def test_sip_usernames_are_unique_across_shops_and_names_within_a_shop(client, world,
                                                                             tokens):
    await add_cabin(client, tokens.headers("admin_a"))
    taken = await client.post(CABINS, json={"name": "Other", "sip_username": "cabin1"},
                              headers=tokens.headers("admin_b"))
    assert taken.status == 409
    assert await taken.json() == {"error": {"code": "conflict", "field": "sip_username",
                                            "message": "the SIP username 'cabin1' is taken"}}
    same_name = await client.post(CABINS, json={"name": "Cabin 1", "sip_username": "c2"},
                                  headers=tokens.headers("admin_a"))
    assert same_name.status == 409 and (await same_name.json())["error"]["field"] == "name"
    # Another shop may use the same cabin name.
    await add_cabin(client, tokens.headers("admin_b"), sip_username="cabin-b1")


async def test_edit_and_disable(client, world, tokens):
    admin = tokens.headers("admin_a")
    cabin_id = (await add_cabin(client, admin))["cabin"]["id"]
    response = await client.patch(f"{CABINS}/{cabin_id}", headers=admin,
                                  json={"enabled": False, "name": "Booth 1",
                                        "max_session_amount": None})
    assert response.status == 200
    cabin = await response.json()
    assert cabin["enabled"] is False and cabin["name"] == "Booth 1"
    assert cabin["sip_username"] == "cabin1"


async def test_validation_messages(client, world, tokens):
    admin = tokens.headers("admin_a")
    cases = [
        ({"name": "C", "sip_username": "c", "deposit": 5}, "deposit",
         "never as a JSON number"),
        ({"name": "C", "sip_username": "c", "deposit": "5.123456"}, "deposit",
         "at most 4 decimals"),
        ({"name": "C", "sip_username": "c", "deposit": "-1"}, "deposit", "at least 0"),
        ({"name": "C", "sip_username": "bad name"}, "sip_username", "letters, digits"),
        ({"name": "", "sip_username": "c"}, "name", "cannot be empty"),
        ({"sip_username": "c"}, "name", "is required"),
        ({"name": "C", "sip_username": "c", "colour": "red"}, "colour", "unknown field"),
        ({"name": "C", "sip_username": "c", "position": "1"}, "position", "whole number"),
        ({"name": "C", "sip_username": "c", "enabled": 1}, "enabled", "true or false"),
    ]
    for body, field, text in cases:
        response = await client.post(CABINS, json=body, headers=admin)
        assert response.status == 400, body
        error = (await response.json())["error"]
        assert error["code"] == "validation_error" and error["field"] == field, error
        assert text in error["message"], error
    other_shops_tariff = await client.post(CABINS, headers=admin, json={
        "name": "C", "sip_username": "c", "tariff_id": world.tariff_b})
    assert other_shops_tariff.status == 404


async def test_delete_only_an_unused_cabin(client, world, tokens, sqlite_engine, clock):
    admin = tokens.headers("admin_a")
    unused = (await add_cabin(client, admin))["cabin"]["id"]
    used = (await add_cabin(client, admin, name="Cabin 2", sip_username="cabin2"))["cabin"]["id"]
    with db(sqlite_engine) as session, session.begin():
        session.add(Call(callshop_id=world.shop_a, cabin_id=used, pbx_call_id="x1",
                         dialed_number="0044123", number="44123", state=CallState.ENDED,
                         started_at=clock.now() - timedelta(minutes=5)))
    assert (await client.delete(f"{CABINS}/{unused}", headers=admin)).status == 204
    assert (await client.get(f"{CABINS}/{unused}", headers=admin)).status == 404
    refused = await client.delete(f"{CABINS}/{used}", headers=admin)
    assert refused.status == 409
    assert "disable it instead" in (await refused.json())["error"]["message"]


async def test_another_shops_cabin_is_not_found(client, world, tokens):
    cabin_id = (await add_cabin(client, tokens.headers("admin_a")))["cabin"]["id"]
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(method, f"{CABINS}/{cabin_id}",
                                        headers=tokens.headers("admin_b"),
                                        json={} if method == "PATCH" else None)
        assert response.status == 404
        assert await response.json() == {"error": {
            "code": "not_found", "message": f"there is no cabin {cabin_id} in this callshop"}}
    assert await (await client.get(CABINS, headers=tokens.headers("admin_b"))).json() == []
    not_an_id = await client.get(f"{CABINS}/abc", headers=tokens.headers("admin_a"))
    assert not_an_id.status == 404


async def test_the_realm_comes_from_the_config(aiohttp_client, config, clock, world, tokens,
                                               sqlite_engine):
    app = create_app(replace(config, sip_realm="shop.example"), clock=clock)
    client = await aiohttp_client(app)
    created = await add_cabin(client, tokens.headers("admin_a"))
    assert created["cabin"]["sip_realm"] == "shop.example"
    with db(sqlite_engine) as session:
        assert session.get_one(Cabin, created["cabin"]["id"]).sip_ha1 == hashlib.md5(
            f"cabin1:shop.example:{created['sip_password']}".encode()).hexdigest()
