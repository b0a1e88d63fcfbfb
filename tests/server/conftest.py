"""The server under test: the app from `create_app` on the test's SQLite file, driven
by `aiohttp_client`, with a small world of two resellers and three callshops.

Tokens are minted directly (`issue_token`, the function login uses) so only the login
tests pay for argon2 verification; hashing is memoised per password, so each distinct
password is hashed once per run.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cashdesk import users as users_module
from cashdesk.auth.passwords import hash_password
from cashdesk.auth.roles import Role
from cashdesk.clock import FakeClock
from cashdesk.server.app import create_app
from cashdesk.server.auth import issue_token
from cashdesk.server.config import ServerConfig
from cashdesk.shops import create_buy_tariff, create_callshop, create_reseller
from cashdesk.store.database import session_factory
from cashdesk.store.models import AuthToken, User
from cashdesk.users import create_user

PASSWORD = "correct-horse-1"
TTL = timedelta(hours=12)
_cached_hash = functools.lru_cache(maxsize=None)(hash_password)


@pytest.fixture(autouse=True)
def hash_each_password_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users_module, "hash_password", _cached_hash)


@dataclass
class World:
    """Reseller r1 sells to shops A and B; reseller r2 to shop C."""

    reseller1: int
    reseller2: int
    shop_a: int
    shop_b: int
    shop_c: int
    tariff_a: int        # shop A's default sell tariff
    tariff_b: int
    buy_tariff1: int     # reseller r1's buy tariff
    buy_tariff2: int
    users: dict[str, int]  # username → id


def build_world(engine: Engine, clock: FakeClock) -> World:
    with session_factory(engine).begin() as session:
        r1 = create_reseller(session, clock, name="Reseller One", currency="EUR")
        r2 = create_reseller(session, clock, name="Reseller Two", currency="EUR")
        buy1 = create_buy_tariff(session, clock, r1, "Wholesale")
        buy2 = create_buy_tariff(session, clock, r2, "Wholesale two")
        shops = {}
        for key, reseller, name in (("a", r1, "Shop A"), ("b", r1, "Shop B"),
                                    ("c", r2, "Shop C")):
            shops[key] = create_callshop(session, clock, reseller, name=name, currency="EUR",
                                         admin_username=f"admin_{key}",
                                         admin_password=PASSWORD,
                                         buy_tariff=buy1 if reseller is r1 else buy2)
            create_user(session, clock, username=f"operator_{key}", password=PASSWORD,
                        role=Role.OPERATOR, reseller_id=reseller.id,
                        callshop=shops[key].callshop)
        for key, reseller in (("r1", r1), ("r2", r2)):
            create_user(session, clock, username=f"reseller_{key}", password=PASSWORD,
                        role=Role.RESELLER, reseller_id=reseller.id)
        session.flush()
        users = {u.username: u.id for u in session.scalars(select(User))}
        return World(reseller1=r1.id, reseller2=r2.id, shop_a=shops["a"].callshop.id,
                     shop_b=shops["b"].callshop.id, shop_c=shops["c"].callshop.id,
                     tariff_a=shops["a"].sell_tariff.id, tariff_b=shops["b"].sell_tariff.id,
                     buy_tariff1=buy1.id, buy_tariff2=buy2.id, users=users)


@pytest.fixture
def world(sqlite_engine: Engine, clock: FakeClock) -> World:
    return build_world(sqlite_engine, clock)


@pytest.fixture
def config(sqlite_engine: Engine, tmp_path: Any) -> ServerConfig:
    return ServerConfig(database_url=sqlite_engine.url.render_as_string(hide_password=False),
                        migrate=False, validate_responses=True,
                        log_file=tmp_path / "server.log")


@pytest.fixture
async def client(aiohttp_client: Any, config: ServerConfig, clock: FakeClock) -> Any:
    return await aiohttp_client(create_app(config, clock=clock))


class Tokens:
    """Bearer tokens minted straight into the database, like a login would."""

    def __init__(self, engine: Engine, clock: FakeClock, world: World) -> None:
        self.engine = engine
        self.clock = clock
        self.world = world
        self._cache: dict[str, str] = {}

    def mint(self, username: str, *, ttl: timedelta = TTL, revoked: bool = False,
             age: timedelta = timedelta(0)) -> str:
        with session_factory(self.engine).begin() as session:
            user = session.get_one(User, self.world.users[username])
            token, row = issue_token(session, user, self.clock.now() - age, ttl)
            if revoked:
                row.revoked_at = self.clock.now()
            return token

    def __getitem__(self, username: str) -> str:
        if username not in self._cache:
            self._cache[username] = self.mint(username)
        return self._cache[username]

    def headers(self, username: str) -> dict[str, str]:
        return bearer(self[username])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(sqlite_engine: Engine, clock: FakeClock, world: World) -> Tokens:
    return Tokens(sqlite_engine, clock, world)


def db(engine: Engine) -> Session:
    """A session on the test's database, for arranging and checking rows."""
    return session_factory(engine)()


def token_rows(engine: Engine, user_id: int) -> list[AuthToken]:
    with db(engine) as session:
        return list(session.scalars(select(AuthToken).where(AuthToken.user_id == user_id)))
