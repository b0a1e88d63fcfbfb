"""The real server app with `pbx = "asterisk"` pointed at a scripted Asterisk.

`create_app` on the test's SQLite file, on the system clock (the guard's timer and the
PBX's timers run in real time, with one-second increments so credit runs out within
seconds), its bridge built by `cashdesk.pbx.asterisk.server:create_bridge` from the
`[pbx.asterisk]` settings — AMI at the scripted Asterisk's port, FastAGI on a free
port the dialplan then connects to. Shops are made like the Kamailio end-to-end
tests' (the same rates), with an admin's token for the desk and a reseller's for
top-ups.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from cashdesk.auth.roles import Role
from cashdesk.clock import SystemClock
from cashdesk.ledger.invariants import check_all
from cashdesk.ledger.sessions import session_due
from cashdesk.ledger.snapshot import load_view
from cashdesk.money import Money
from cashdesk.pbx.asterisk.bridge import AsteriskBridge
from cashdesk.server.app import create_app
from cashdesk.server.auth import issue_token
from cashdesk.server.billing import BILLING, Billing
from cashdesk.server.bridges import LinkStatus
from cashdesk.server.config import ServerConfig
from cashdesk.store.database import session_factory
from cashdesk.store.models import Account, AccountEntry, CabinSession, Call, User
from cashdesk.users import create_user
from tests.asterisk_billing.asterisk import Dialplan, ScriptedAsterisk
from tests.calls.factories import _HASH, RateRow, ShopSetup, make_shop
from tests.server.scripted import Desk

SECRET = "s3cret-s3cret"
NUMBER = "0033123456789"            # France: rated
NO_RATE_NUMBER = "0081312345678"    # Japan: a valid number nobody sells
# The Kamailio end-to-end tests' rates: the customer pays 6/6 at 1.20 a minute plus
# 0.05, the shop buys 1/1 at 0.60 plus 0.02 — 0.01 a second after the fee.
RATES = (RateRow("33", "France", sell="1.20", buy="0.60", provider="0.10", sell_fee="0.05",
                 buy_fee="0.02", sell_steps="6/6", buy_steps="1/1", provider_steps="1/1"),)


@dataclass
class Shop:
    setup: ShopSetup
    admin_token: str
    reseller_token: str

    @property
    def cabins(self) -> list[str]:
        return self.setup.cabins


@dataclass
class Server:
    client: Any
    asterisk: ScriptedAsterisk
    sessions: sessionmaker[Session]

    @property
    def billing(self) -> Billing:
        return self.client.app[BILLING]

    @property
    def link(self) -> LinkStatus:
        return self.billing.slots[-1].link

    @property
    def bridge(self) -> AsteriskBridge:
        inner = self.billing.slots[-1].bridge.inner   # type: ignore[attr-defined]
        assert isinstance(inner, AsteriskBridge)
        return inner

    @property
    def dialplan(self) -> Dialplan:
        assert self.bridge.agi is not None
        return Dialplan(self.asterisk, self.bridge.agi.bound_port)

    async def desk(self, token: str) -> Desk:
        desk = await Desk.connect(self.client, token)
        await desk.until(lambda d: bool(d.messages))
        return desk

    async def post(self, path: str, token: str, body: dict[str, Any]) -> tuple[int, Any]:
        response = await self.client.post(f"/api/v1{path}", json=body,
                                          headers={"Authorization": f"Bearer {token}"})
        return response.status, await response.json()

    async def get(self, path: str, token: str) -> tuple[int, Any]:
        response = await self.client.get(f"/api/v1{path}",
                                         headers={"Authorization": f"Bearer {token}"})
        return response.status, await response.json()

    # -- the database, as billing left it ----------------------------------------------
    def calls(self) -> list[Call]:
        with self.sessions() as db:
            return list(db.scalars(select(Call).order_by(Call.id)))

    def call(self, pbx_call_id: str) -> Call:
        with self.sessions() as db:
            return db.scalars(select(Call).where(Call.pbx_call_id == pbx_call_id)).one()

    def final(self, count: int) -> list[Call] | None:
        calls = self.calls()
        return calls if len(calls) == count and all(c.state.is_final for c in calls) else None

    def balance(self, account_id: int) -> Decimal:
        with self.sessions() as db:
            return db.scalars(select(Account.balance).where(Account.id == account_id)).one()

    def topups(self, account_id: int) -> Decimal:
        """What was put into the account (every entry that is not a call's charge)."""
        with self.sessions() as db:
            return sum(db.scalars(select(AccountEntry.amount).where(
                AccountEntry.account_id == account_id, AccountEntry.call_id.is_(None))),
                Decimal(0))

    def charges(self, account_id: int) -> dict[int, int]:
        """Call id → how many times the account was charged for it."""
        with self.sessions() as db:
            rows = db.execute(select(AccountEntry.call_id, func.count()).where(
                AccountEntry.account_id == account_id, AccountEntry.call_id.is_not(None))
                .group_by(AccountEntry.call_id))
            return {call_id: count for call_id, count in rows if call_id is not None}

    def open_session(self, cabin_id: int, currency: str = "EUR") -> tuple[Money, list[Call]]:
        with self.sessions() as db:
            cabin_session = db.scalars(select(CabinSession).where(
                CabinSession.cabin_id == cabin_id, CabinSession.closed_at.is_(None))).one()
            calls = list(db.scalars(select(Call).where(Call.session_id == cabin_session.id)))
            return session_due(db, cabin_session), calls

    def ledger_errors(self, callshop_id: int) -> list[Any]:
        with self.sessions() as db:
            return check_all(load_view(db, callshop_id))


async def eventually(check: Callable[[], Any], timeout: float = 5.0,
                     what: str = "condition") -> Any:
    """Poll `check` every 5 ms until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := check()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.005)
    return result


def states(desk: Desk, pbx_call_id: str) -> list[str]:
    """The states the desk was told of for this call, in order, repeats folded."""
    seen: list[str] = []
    for call in desk.of("call"):
        if call["pbx_call_id"] == pbx_call_id and (not seen or seen[-1] != call["state"]):
            seen.append(call["state"])
    return seen


def now_in(pbx_call_id: str, state: str) -> Callable[[Desk], bool]:
    """For `desk.until`: the last state the desk was told of for the call is `state`."""
    return lambda desk: states(desk, pbx_call_id)[-1:] == [state]


@pytest.fixture
def sessions(sqlite_engine: Engine) -> sessionmaker[Session]:
    return session_factory(sqlite_engine)


ShopFactory = Callable[..., Shop]


@pytest.fixture
def shop_with(sessions: sessionmaker[Session]) -> ShopFactory:
    """`shop_with(balance="0.60", cabins=10)`: a shop with `RATES`, that balance topped
    up, its admin's token and its reseller's."""
    def make(*, balance: str, cabins: int = 2) -> Shop:
        clock = SystemClock()
        with sessions.begin() as db:
            setup = make_shop(db, clock, balance=balance, rates=RATES,  # type: ignore[arg-type]
                              cabins=cabins)
            admin = db.scalars(select(User).where(User.callshop_id == setup.callshop_id,
                                                  User.role == Role.ADMIN)).one()
            with mock.patch("cashdesk.users.hash_password", return_value=_HASH):
                reseller = create_user(db, clock, username=f"reseller-{uuid.uuid4().hex[:8]}",
                                       password="correct horse battery", role=Role.RESELLER,
                                       reseller_id=setup.reseller_id)
            db.flush()
            admin_token, _ = issue_token(db, admin, clock.now(), timedelta(hours=1))
            reseller_token, _ = issue_token(db, reseller, clock.now(), timedelta(hours=1))
        return Shop(setup, admin_token, reseller_token)
    return make


@pytest.fixture
async def asterisk() -> AsyncIterator[ScriptedAsterisk]:
    pbx = ScriptedAsterisk(secret=SECRET)
    await pbx.start()
    yield pbx
    await pbx.stop()


StartServer = Callable[..., Awaitable[Server]]


def pbx_settings(ami_port: int, **overrides: Any) -> dict[str, Any]:
    """`[pbx.asterisk]` for a scripted Asterisk on `ami_port` (FastAGI on any port)."""
    return {"ami_port": ami_port, "username": "cashdesk", "secret": SECRET,
            "agi_port": 0, "ping_interval": 5.0, "action_timeout": 2.0,
            "connect_timeout": 2.0, "reconnect_delay": [0.05, 0.2], **overrides}


@pytest.fixture
def start_server(asterisk: ScriptedAsterisk, aiohttp_client: Any, sqlite_engine: Engine,
                 sessions: sessionmaker[Session], tmp_path: Path) -> StartServer:
    """`await start_server(**pbx_overrides)`: the app, started, its AMI logged in (and
    stopped before the scripted Asterisk is)."""
    async def start(**overrides: Any) -> Server:
        config = ServerConfig(
            database_url=sqlite_engine.url.render_as_string(hide_password=False),
            migrate=False, validate_responses=True, log_file=tmp_path / "server.log",
            pbx="asterisk", pbx_settings={"asterisk": pbx_settings(asterisk.port,
                                                                   **overrides)})
        server = Server(await aiohttp_client(create_app(config)), asterisk, sessions)
        await eventually(lambda: server.link.connected, what="the AMI link")
        return server
    return start
