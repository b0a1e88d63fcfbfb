"""Callshops: the shop's own settings (numbering plan, fraud guard) and the reseller's
side (creating shops with their admin, listing them, setting their buy tariff)."""

from __future__ import annotations

from decimal import Decimal

from cashdesk.store.models import Callshop
from tests.server.conftest import PASSWORD, db

API = "/api/v1"


async def test_every_user_of_a_shop_sees_its_settings(client, world, tokens):
    shop = await (await client.get(f"{API}/shop", headers=tokens.headers("operator_a"))).json()
    assert shop["id"] == world.shop_a and shop["name"] == "Shop A"
    assert shop["rating"] == {"default_tariff_id": world.tariff_a,
                              "international_prefixes": ["00", "011"], "tech_prefixes": [],
                              "national_prefix": "", "country_code": ""}
    assert shop["fraud_guard"] == {"blocked_prefixes": [], "max_call_seconds": None,
                                   "max_session_amount": None}


async def test_fraud_guard(client, world, tokens, sqlite_engine):
    admin = tokens.headers("admin_a")
    response = await client.patch(f"{API}/shop/fraud-guard", headers=admin, json={
        "blocked_prefixes": ["881", "882", "881"], "max_call_seconds": 1800,
        "max_session_amount": "100.50"})
    assert response.status == 200
    guard = (await response.json())["fraud_guard"]
    assert guard == {"blocked_prefixes": ["881", "882"], "max_call_seconds": 1800,
                     "max_session_amount": "100.5000"}
    with db(sqlite_engine) as session:
        shop = session.get_one(Callshop, world.shop_a)
        assert shop.blocked_prefixes == "881,882"
        assert shop.max_session_amount == Decimal("100.5")
    cleared = await client.patch(f"{API}/shop/fraud-guard", headers=admin,
                                 json={"max_call_seconds": None})
    assert (await cleared.json())["fraud_guard"]["max_call_seconds"] is None
    bad = await client.patch(f"{API}/shop/fraud-guard", headers=admin,
                             json={"blocked_prefixes": ["88a"]})
    assert bad.status == 400 and (await bad.json())["error"]["field"] == "blocked_prefixes[0]"
    assert (await client.patch(f"{API}/shop/fraud-guard", headers=tokens.headers("operator_a"),
                               json={})).status == 403


async def test_rating_settings(client, world, tokens):
    admin = tokens.headers("admin_a")
    night = await (await client.post(f"{API}/tariffs", headers=admin,
                                     json={"name": "Night"})).json()
    response = await client.patch(f"{API}/shop/rating", headers=admin, json={
        "default_tariff_id": night["id"], "tech_prefixes": ["9", "*77"],
        "national_prefix": "0", "country_code": "33"})
    assert response.status == 200
    rating = (await response.json())["rating"]
    assert rating["default_tariff_id"] == night["id"] and rating["tech_prefixes"] == ["9", "*77"]
    other = await client.patch(f"{API}/shop/rating", headers=admin,
                               json={"default_tariff_id": world.tariff_b})
    assert other.status == 404


async def test_a_reseller_creates_a_shop_whose_admin_can_log_in(client, world, tokens):
    reseller = tokens.headers("reseller_r1")
    response = await client.post(f"{API}/callshops", headers=reseller, json={
        "name": "Shop D", "locale": "fr_FR", "timezone": "Europe/Paris",
        "buy_tariff_id": world.buy_tariff1, "admin_username": "owner_d",
        "admin_password": PASSWORD, "admin_display_name": "Dina"})
    assert response.status == 201, await response.text()
    created = await response.json()
    shop = created["callshop"]
    assert shop["currency"] == "EUR" and shop["balance"] == "0.0000"
    assert shop["buy_tariff_id"] == world.buy_tariff1 and shop["locale"] == "fr_FR"
    assert created["admin"]["role"] == "admin" and created["admin"]["display_name"] == "Dina"
    login = await client.post(f"{API}/auth/login", json={"username": "owner_d",
                                                          "password": PASSWORD})
    assert (await login.json())["user"]["callshop_id"] == shop["id"]
    page = await (await client.get(f"{API}/callshops", headers=reseller)).json()
    assert [s["name"] for s in page["items"]] == ["Shop A", "Shop B", "Shop D"]
    assert page["total"] == 3
    theirs = await (await client.get(f"{API}/callshops",
                                     headers=tokens.headers("reseller_r2"))).json()
    assert [s["name"] for s in theirs["items"]] == ["Shop C"]


async def test_create_shop_refusals(client, world, tokens):
    reseller = tokens.headers("reseller_r1")
    base = {"name": "X", "admin_username": "newowner", "admin_password": PASSWORD}
    cases = [
        ({**base, "admin_username": "admin_a"}, 409, "taken"),
        ({**base, "admin_password": "short"}, 400, "at least 8 characters"),
        ({**base, "currency": "USD"}, 400, "same currency"),
        ({**base, "timezone": "Mars/Olympus"}, 400, "unknown time zone"),
        ({**base, "buy_tariff_id": world.buy_tariff2}, 404, "no buy tariff"),
    ]
    for body, status, text in cases:
        response = await client.post(f"{API}/callshops", headers=reseller, json=body)
        assert response.status == status, body
        assert text in (await response.json())["error"]["message"]


async def test_set_buy_tariff_and_edit_a_shop(client, world, tokens, sqlite_engine):
    reseller = tokens.headers("reseller_r1")
    premium = await (await client.post(f"{API}/buy-tariffs", headers=reseller,
                                       json={"name": "Premium"})).json()
    response = await client.put(f"{API}/callshops/{world.shop_b}/buy-tariff",
                                headers=reseller, json={"tariff_id": premium["id"]})
    assert (await response.json())["buy_tariff_id"] == premium["id"]
    cleared = await client.put(f"{API}/callshops/{world.shop_b}/buy-tariff",
                               headers=reseller, json={"tariff_id": None})
    assert (await cleared.json())["buy_tariff_id"] is None
    edited = await client.patch(f"{API}/callshops/{world.shop_b}", headers=reseller,
                                json={"name": "Shop B2", "timezone": "Africa/Casablanca"})
    assert (await edited.json())["timezone"] == "Africa/Casablanca"
    bad = await client.patch(f"{API}/callshops/{world.shop_b}", headers=reseller,
                             json={"locale": "zz_ZZ"})
    assert bad.status == 400
    # Disabling a shop locks its users out.
    await client.patch(f"{API}/callshops/{world.shop_b}", headers=reseller,
                       json={"active": False})
    assert (await client.get(f"{API}/me", headers=tokens.headers("admin_b"))).status == 403
    # Another reseller's shop is not found.
    assert (await client.get(f"{API}/callshops/{world.shop_c}",
                             headers=reseller)).status == 404
    assert (await client.put(f"{API}/callshops/{world.shop_c}/buy-tariff", headers=reseller,
                             json={"tariff_id": None})).status == 404
