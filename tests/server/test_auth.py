"""Logging in and out: tokens stored only as hashes, shifts opened and closed, expiry,
revocation, and the slow-down of password guessing (on the injected clock)."""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import select

from cashdesk.auth.roles import Permission
from cashdesk.server.app import create_app
from cashdesk.server.routes import RouteTable, install
from cashdesk.store.models import AuthToken, Callshop, Shift, User
from tests.server.conftest import PASSWORD, bearer, db, token_rows


async def login(client, username, password=PASSWORD):
    return await client.post("/api/v1/auth/login",
                             json={"username": username, "password": password})


async def test_operator_login_opens_a_shift_and_answers_a_token(client, world, sqlite_engine):
    response = await login(client, "operator_a")
    assert response.status == 200
    answer = await response.json()
    assert answer["user"] == {"id": world.users["operator_a"], "username": "operator_a",
                              "display_name": "operator_a", "role": "operator",
                              "callshop_id": world.shop_a}
    assert answer["expires_at"] == "2026-01-05T21:00:00+00:00"   # 12 h on the FakeClock
    token = answer["token"]
    assert len(token) == 43    # 32 random bytes, URL-safe base64
    [row] = token_rows(sqlite_engine, world.users["operator_a"])
    # Only the SHA-256 is kept: a copy of the database logs nobody in.
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.shift_id == answer["shift_id"] is not None
    with db(sqlite_engine) as session:
        shift = session.get_one(Shift, answer["shift_id"])
        assert shift.closed_at is None and shift.callshop_id == world.shop_a
    me = await client.get("/api/v1/me", headers=bearer(token))
    assert (await me.json())["shift_id"] == answer["shift_id"]


async def test_a_second_login_reuses_the_open_shift_and_logout_closes_it_last(
        client, world, sqlite_engine, clock):
    first = await (await login(client, "operator_a")).json()
    second = await (await login(client, "operator_a")).json()
    assert first["shift_id"] == second["shift_id"]
    clock.advance(3600)
    out = await client.post("/api/v1/auth/logout", headers=bearer(first["token"]))
    assert await out.json() == {"shift_id": first["shift_id"], "shift_closed": False}
    out = await client.post("/api/v1/auth/logout", headers=bearer(second["token"]))
    assert await out.json() == {"shift_id": first["shift_id"], "shift_closed": True}
    with db(sqlite_engine) as session:
        assert session.get_one(Shift, first["shift_id"]).closed_at == clock.now()
    third = await (await login(client, "operator_a")).json()
    assert third["shift_id"] != first["shift_id"]   # a new shift


async def test_admins_and_resellers_have_no_shift(client, world):
    admin = await (await login(client, "admin_a")).json()
    reseller = await (await login(client, "reseller_r1")).json()
    assert admin["shift_id"] is None and reseller["shift_id"] is None
    assert reseller["user"]["callshop_id"] is None
    me = await (await client.get("/api/v1/me", headers=bearer(reseller["token"]))).json()
    assert me["callshop"] is None and "manage_callshops" in me["permissions"]
    assert "pay_cabin" not in me["permissions"]


async def test_logout_revokes_the_token(client, world):
    token = (await (await login(client, "admin_a")).json())["token"]
    assert (await client.post("/api/v1/auth/logout", headers=bearer(token))).status == 200
    again = await client.get("/api/v1/me", headers=bearer(token))
    assert again.status == 401
    assert "logged out" in (await again.json())["error"]["message"]
    assert again.headers["WWW-Authenticate"].startswith("Bearer")


async def test_tokens_expire(client, world, clock):
    token = (await (await login(client, "admin_a")).json())["token"]
    clock.advance(12 * 3600 - 1)
    assert (await client.get("/api/v1/me", headers=bearer(token))).status == 200
    clock.advance(1)
    expired = await client.get("/api/v1/me", headers=bearer(token))
    assert expired.status == 401
    assert "expired" in (await expired.json())["error"]["message"]


async def test_wrong_password_unknown_user_and_disabled_account_look_alike(
        client, world, sqlite_engine):
    with db(sqlite_engine) as session, session.begin():
        session.get_one(User, world.users["operator_b"]).active = False
    for username, password in (("admin_a", "wrong-password"), ("nobody", PASSWORD),
                               ("operator_b", PASSWORD)):
        response = await login(client, username, password)
        assert response.status == 401
        assert await response.json() == {"error": {
            "code": "unauthorized", "message": "wrong username or password"}}


async def test_disabling_a_user_or_a_shop_locks_out_their_tokens(client, world, tokens,
                                                                 sqlite_engine):
    operator, admin_b = tokens.headers("operator_a"), tokens.headers("admin_b")
    with db(sqlite_engine) as session, session.begin():
        session.get_one(User, world.users["operator_a"]).active = False
        session.get_one(Callshop, world.shop_b).active = False
    assert (await client.get("/api/v1/me", headers=operator)).status == 401
    refused = await client.get("/api/v1/me", headers=admin_b)
    assert refused.status == 403 and "disabled" in (await refused.json())["error"]["message"]
    assert (await login(client, "admin_b")).status == 403


async def test_malformed_authorization_headers(client, world, tokens):
    for header in ("Basic YWRtaW46eA==", "Bearer", "Bearer ", "token-without-scheme",
                   "Bearer " + "x" * 500, "Bearer not-a-real-token"):
        response = await client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status == 401, header
        assert (await response.json())["error"]["code"] == "unauthorized"
    missing = await client.get("/api/v1/me")
    assert "bearer token" in (await missing.json())["error"]["message"]


async def test_a_query_token_is_refused_outside_the_websocket(client, world, tokens):
    # Tokens in URLs end up in logs and histories: only the WebSocket handshake may.
    response = await client.get("/api/v1/me", params={"token": tokens["admin_a"]})
    assert response.status == 401


async def test_repeated_failures_are_slowed_down_per_username(client, world, clock, caplog):
    caplog.set_level(logging.WARNING, logger="cashdesk.server.auth")
    for _ in range(5):
        assert (await login(client, "admin_a", "wrong-password")).status == 401
    # After the 5th failure the next attempt must wait 1 s, even with the right password.
    blocked = await login(client, "admin_a")
    assert blocked.status == 429 and blocked.headers["Retry-After"] == "1"
    assert (await blocked.json())["error"]["code"] == "too_many_attempts"
    clock.advance(1)
    assert (await login(client, "admin_a", "wrong-again")).status == 401
    blocked = await login(client, "admin_a")
    assert blocked.headers["Retry-After"] == "2"              # doubled
    clock.advance(2)
    assert (await login(client, "admin_a")).status == 200     # and forgiven on success
    assert (await login(client, "admin_a", "wrong-password")).status == 401
    assert (await login(client, "admin_a")).status == 200
    assert "failed login for 'admin_a' from 127.0.0.1" in caplog.text
    assert "too many failures" in caplog.text


async def test_repeated_failures_are_slowed_down_per_address(client, world, clock):
    # Guessing across many usernames from one address is slowed down too.
    for n in range(5):
        assert (await login(client, f"guess{n}", "wrong-password")).status == 401
    blocked = await login(client, "admin_a")
    assert blocked.status == 429
    clock.advance(int(blocked.headers["Retry-After"]))
    assert (await login(client, "admin_a")).status == 200


async def test_login_validation(client, world):
    response = await client.post("/api/v1/auth/login", json={"username": "admin_a"})
    assert response.status == 400
    assert await response.json() == {"error": {"code": "validation_error",
                                               "message": "password: is required",
                                               "field": "password"}}
    response = await client.post("/api/v1/auth/login", data=b"{not json",
                                 headers={"Content-Type": "application/json"})
    assert response.status == 400 and "not valid JSON" in (await response.text())


async def test_the_token_table_never_holds_a_token(client, world, sqlite_engine):
    token = (await (await login(client, "admin_a")).json())["token"]
    with db(sqlite_engine) as session:
        stored = session.scalars(select(AuthToken.token_hash)).all()
    assert token not in stored


async def test_a_websocket_route_may_take_its_token_from_the_query(aiohttp_client, config,
                                                                   clock, world, tokens):
    events = RouteTable("test")

    @events.get("/test/events", Permission.VIEW_LIVE, "Stands in for the WebSocket",
                token_in_query=True)
    async def stream(ctx):
        return {"user": ctx.principal.username}

    app = create_app(config, clock=clock)
    install(app, [events])
    client = await aiohttp_client(app)
    by_query = await client.get("/api/v1/test/events", params={"token": tokens["operator_a"]})
    assert by_query.status == 200 and await by_query.json() == {"user": "operator_a"}
    by_header = await client.get("/api/v1/test/events", headers=tokens.headers("operator_a"))
    assert by_header.status == 200
    refused = await client.get("/api/v1/test/events", params={"token": tokens["reseller_r1"]})
    assert refused.status == 403
