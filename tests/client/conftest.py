"""Fixtures of the client's tests: a small world on the test's SQLite file, the real
server serving it on a loopback port in a background thread, and logged-in clients.

Passwords are hashed once per run (as in the server's tests); logging in still runs
the real argon2 verification over HTTP.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from cashdesk import users as users_module
from cashdesk.auth.passwords import hash_password
from cashdesk.auth.roles import Role
from cashdesk.clock import FakeClock
from cashdesk.server.app import create_app
from cashdesk.server.config import ServerConfig
from cashdesk.shops import create_buy_tariff, create_callshop, create_reseller
from cashdesk.store.database import session_factory
from cashdesk.store.models import User
from cashdesk.users import create_user
from server_client.client import ServerClient
from tests.client.harness import ServerThread

PASSWORD = "correct-horse-1"
_cached_hash = functools.lru_cache(maxsize=None)(hash_password)


@pytest.fixture(autouse=True)
def hash_each_password_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users_module, "hash_password", _cached_hash)


@dataclass
class World:
    """Reseller "Resell" sells to shop A (admin_a, operator_a) and shop B (admin_b)."""

    reseller: int
    shop_a: int
    shop_b: int
    tariff_a: int
    buy_tariff: int
    users: dict[str, int]


@pytest.fixture
def world(sqlite_engine: Engine, clock: FakeClock) -> World:
    with session_factory(sqlite_engine).begin() as session:
        reseller = create_reseller(session, clock, name="Resell", currency="EUR")
        buy = create_buy_tariff(session, clock, reseller, "Wholesale")
        shops = {}
        for key in ("a", "b"):
            shops[key] = create_callshop(session, clock, reseller, name=f"Shop {key.upper()}",
                                         currency="EUR", admin_username=f"admin_{key}",
                                         admin_password=PASSWORD, buy_tariff=buy,
                                         timezone="Europe/Paris")
        create_user(session, clock, username="operator_a", password=PASSWORD,
                    role=Role.OPERATOR, reseller_id=reseller.id, callshop=shops["a"].callshop,
                    display_name="Olga")
        create_user(session, clock, username="reseller", password=PASSWORD,
                    role=Role.RESELLER, reseller_id=reseller.id)
        session.flush()
        users = {u.username: u.id for u in session.scalars(select(User))}
        return World(reseller=reseller.id, shop_a=shops["a"].callshop.id,
                     shop_b=shops["b"].callshop.id, tariff_a=shops["a"].sell_tariff.id,
                     buy_tariff=buy.id, users=users)


@pytest.fixture
def config(sqlite_engine: Engine, tmp_path: Path) -> ServerConfig:
    return ServerConfig(database_url=sqlite_engine.url.render_as_string(hide_password=False),
                        migrate=False, validate_responses=True,
                        log_file=tmp_path / "server.log")


@pytest.fixture
def server(config: ServerConfig, clock: FakeClock, world: World) -> Iterator[ServerThread]:
    running = ServerThread(lambda: create_app(config, clock=clock)).start()
    yield running
    running.stop()


@pytest.fixture
def connect(server: ServerThread) -> Iterator[Callable[..., ServerClient]]:
    """A new client of the test server; `connect("admin_a")` is logged in already."""
    made: list[ServerClient] = []

    def make(username: str | None = None, **options: object) -> ServerClient:
        client = ServerClient(server.url, **options)  # type: ignore[arg-type]
        made.append(client)
        if username is not None:
            client.login(username, PASSWORD)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def admin(connect: Callable[..., ServerClient]) -> ServerClient:
    return connect("admin_a")


@pytest.fixture
def operator(connect: Callable[..., ServerClient]) -> ServerClient:
    return connect("operator_a")


@pytest.fixture
def reseller(connect: Callable[..., ServerClient]) -> ServerClient:
    return connect("reseller")
