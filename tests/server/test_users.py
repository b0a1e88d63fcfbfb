"""The shop's users: an admin adds, edits, disables, resets and deletes them."""

from __future__ import annotations

from sqlalchemy import select

from cashdesk.auth.passwords import verify_password
from cashdesk.store.models import Shift, User
from tests.server.conftest import PASSWORD, db, token_rows

USERS = "/api/v1/users"


async def test_list_shows_only_the_shops_users(client, world, tokens):
    listed = await (await client.get(USERS, headers=tokens.headers("admin_a"))).json()
    assert [u["username"] for u in listed] == ["admin_a", "operator_a"]
    assert all("password" not in str(u) for u in listed)


async def test_create_an_operator_who_can_then_log_in(client, world, tokens, sqlite_engine):
    response = await client.post(USERS, headers=tokens.headers("admin_a"), json={
        "username": "sara", "password": "another-secret", "display_name": "Sara",
        "language": "fr"})
    assert response.status == 201
    created = await response.json()
    assert created["role"] == "operator" and created["callshop_id"] == world.shop_a
    assert created["display_name"] == "Sara" and created["active"] is True
    with db(sqlite_engine) as session:
        row = session.get_one(User, created["id"])
        assert verify_password(row.password_hash, "another-secret")
    login = await client.post("/api/v1/auth/login",
                              json={"username": "sara", "password": "another-secret"})
    assert login.status == 200


async def test_create_refusals(client, world, tokens):
    admin = tokens.headers("admin_a")
    taken = await client.post(USERS, headers=admin,
                              json={"username": "operator_c", "password": PASSWORD})
    assert taken.status == 409 and "taken" in (await taken.json())["error"]["message"]
    weak = await client.post(USERS, headers=admin, json={"username": "x1", "password": "short"})
    assert weak.status == 400
    assert (await weak.json())["error"] == {
        "code": "validation_error", "field": "password",
        "message": "password: a password needs at least 8 characters"}
    reseller = await client.post(USERS, headers=admin, json={
        "username": "x2", "password": PASSWORD, "role": "reseller"})
    assert reseller.status == 400
    assert "one of operator, admin" in (await reseller.json())["error"]["message"]


async def test_disable_logs_out_and_closes_the_shift(client, world, tokens, sqlite_engine):
    operator_token = (await (await client.post("/api/v1/auth/login", json={
        "username": "operator_a", "password": PASSWORD})).json())["token"]
    response = await client.patch(f"{USERS}/{world.users['operator_a']}",
                                  headers=tokens.headers("admin_a"), json={"active": False})
    assert response.status == 200 and (await response.json())["active"] is False
    assert all(row.revoked_at is not None
               for row in token_rows(sqlite_engine, world.users["operator_a"]))
    with db(sqlite_engine) as session:
        shift = session.scalars(select(Shift).where(
            Shift.operator_id == world.users["operator_a"])).one()
        assert shift.closed_at is not None
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {operator_token}"})
    assert me.status == 401


async def test_an_admin_cannot_disable_demote_or_delete_themselves(client, world, tokens):
    admin, me = tokens.headers("admin_a"), world.users["admin_a"]
    for body in ({"active": False}, {"role": "operator"}):
        response = await client.patch(f"{USERS}/{me}", headers=admin, json=body)
        assert response.status == 403
    assert (await client.patch(f"{USERS}/{me}", headers=admin,
                               json={"display_name": "Boss"})).status == 200
    response = await client.delete(f"{USERS}/{me}", headers=admin)
    assert response.status == 403
    assert (await response.json())["error"]["message"] == "you cannot delete your own account"


async def test_set_password_logs_the_user_out_elsewhere(client, world, tokens, sqlite_engine):
    operator = tokens.headers("operator_a")
    response = await client.post(f"{USERS}/{world.users['operator_a']}/password",
                                 headers=tokens.headers("admin_a"),
                                 json={"password": "brand-new-pass"})
    assert response.status == 200
    assert (await client.get("/api/v1/me", headers=operator)).status == 401
    login = await client.post("/api/v1/auth/login", json={"username": "operator_a",
                                                           "password": "brand-new-pass"})
    assert login.status == 200
    # An admin changing their own password stays logged in.
    admin = tokens.headers("admin_a")
    await client.post(f"{USERS}/{world.users['admin_a']}/password", headers=admin,
                      json={"password": "admins-new-pass"})
    assert (await client.get("/api/v1/me", headers=admin)).status == 200


async def test_delete_only_a_user_without_history(client, world, tokens):
    admin = tokens.headers("admin_a")
    created = await (await client.post(USERS, headers=admin, json={
        "username": "temp", "password": PASSWORD})).json()
    assert (await client.delete(f"{USERS}/{created['id']}", headers=admin)).status == 204
    assert (await client.get(f"{USERS}/{created['id']}", headers=admin)).status == 404
    # operator_a worked a shift (logging in opens one): kept for the records.
    await client.post("/api/v1/auth/login", json={"username": "operator_a",
                                                  "password": PASSWORD})
    refused = await client.delete(f"{USERS}/{world.users['operator_a']}", headers=admin)
    assert refused.status == 409
    assert "disable the account instead" in (await refused.json())["error"]["message"]


async def test_other_shops_users_and_resellers_are_not_found(client, world, tokens):
    admin = tokens.headers("admin_a")
    for username in ("operator_b", "admin_c", "reseller_r1"):
        response = await client.get(f"{USERS}/{world.users[username]}", headers=admin)
        assert response.status == 404


async def test_a_new_role_starts_with_a_new_login(client, world, tokens):
    operator = tokens.headers("operator_a")
    promoted = await client.patch(f"{USERS}/{world.users['operator_a']}",
                                  headers=tokens.headers("admin_a"), json={"role": "admin"})
    assert (await promoted.json())["role"] == "admin"
    assert (await client.get("/api/v1/me", headers=operator)).status == 401
