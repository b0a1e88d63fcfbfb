"""The real sync server against a real Kamailio: a shop on SQLite with rates and a
prepaid balance, the server's app (`create_app`, `pbx = "kamailio"`) in this process —
or `cashdesk-server serve` as a process of its own for the tests that SIGKILL it —
cabins created through its HTTP API (their SIP passwords provisioned into Kamailio by
the server itself), and a cash desk following `/api/v1/events`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cashdesk.auth.roles import Role
from cashdesk.calls.service import CallService
from cashdesk.clock import SystemClock
from cashdesk.ledger.invariants import check_all
from cashdesk.ledger.sessions import session_due
from cashdesk.ledger.snapshot import load_view
from cashdesk.money import Money
from cashdesk.pbx.kamailio.bridge import KamailioBridge
from cashdesk.server.app import create_app
from cashdesk.server.auth import issue_token
from cashdesk.server.billing import BILLING
from cashdesk.server.bridges import SupervisedBridge
from cashdesk.server.config import ServerConfig
from cashdesk.store.models import Account, AccountEntry, CabinSession, Call, User
from tests.calls.factories import RateRow, ShopSetup, make_shop
from tests.pbx.harness import Kamailio

ROOT = Path(__file__).resolve().parents[2]

NUMBER = "0033123456789"            # France: rated
NO_RATE_NUMBER = "0081312345678"    # Japan: a valid number nobody sells
# Short increments so calls bill (and credit runs out) within seconds: the customer
# pays 6/6 at 1.20 a minute plus 0.05, the shop buys 1/1 at 0.60 plus 0.02 — 0.01 a
# second, so a balance of 0.06 pays one call exactly 4 s.
RATES = (RateRow("33", "France", sell="1.20", buy="0.60", provider="0.10", sell_fee="0.05",
                 buy_fee="0.02", sell_steps="6/6", buy_steps="1/1", provider_steps="1/1"),)
# Below the tests' Kamailio auth_timeout_ms (1000).
AUTHORISE_TIMEOUT_S = 0.8
TOKEN_TTL = timedelta(hours=1)


def make_world(sessions: sessionmaker[Session], *, balance: str) -> tuple[ShopSetup, str]:
    """A shop with `RATES`, `balance` topped up and no cabin yet (the tests add them
    through the API); and a bearer token of its admin."""
    clock = SystemClock()
    with sessions.begin() as db:
        shop = make_shop(db, clock, balance=balance, rates=RATES, cabins=0)  # type: ignore[arg-type]
        admin = db.scalars(select(User).where(User.callshop_id == shop.callshop_id,
                                              User.role == Role.ADMIN)).one()
        token, _ = issue_token(db, admin, clock.now(), TOKEN_TTL)
    return shop, token


def server_config(kamailio: Kamailio, database_url: str, log_file: Path,
                  **pbx_settings: Any) -> ServerConfig:
    """The sync server with `pbx = "kamailio"` pointed at this Kamailio."""
    evapi = kamailio.settings.evapi
    return ServerConfig(database_url=database_url, migrate=False, validate_responses=True,
                        log_file=log_file, sip_realm=kamailio.settings.realm, pbx="kamailio",
                        pbx_settings={"kamailio": {
                            "evapi": f"{evapi.host}:{evapi.port}",
                            "subscriber_db": str(kamailio.settings.subscriber_db),
                            "authorise_timeout": AUTHORISE_TIMEOUT_S, **pbx_settings}})


@dataclass
class CabinLogin:
    id: int
    sip_username: str
    sip_password: str


class Desk:
    """A cash desk following `/events`: every message, with when it arrived."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.received_at: list[float] = []
        self.listeners: list[Callable[[dict[str, Any]], object]] = []
        self._task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            at = time.time()
            data = json.loads(message.data)
            self.messages.append(data)
            self.received_at.append(at)
            for listener in self.listeners:
                listener(data)

    def calls(self, pbx_call_id: str | None = None) -> list[dict[str, Any]]:
        """The `call` events' data, in order (of one call, if named)."""
        return [m["data"] for m in self.messages if m.get("type") == "event"
                and m["kind"] == "call"
                and (pbx_call_id is None or m["data"]["pbx_call_id"] == pbx_call_id)]

    def states(self, pbx_call_id: str) -> list[str]:
        """The states the desk was told about for this call, repeats folded."""
        states: list[str] = []
        for call in self.calls(pbx_call_id):
            if not states or states[-1] != call["state"]:
                states.append(call["state"])
        return states

    def told(self, pbx_call_id: str, state: str) -> bool:
        return self.states(pbx_call_id)[-1:] == [state]

    async def close(self) -> None:
        await self.ws.close()
        await self._task


@dataclass
class AppServer:
    """The server's app in this process (an aiohttp test client on it)."""

    client: Any
    token: str
    desks: list[Desk] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def service(self) -> CallService:
        return self.client.app[BILLING].service

    @property
    def bridge(self) -> KamailioBridge:
        (slot,) = self.client.app[BILLING].slots
        bridge = slot.bridge.inner if isinstance(slot.bridge, SupervisedBridge) else slot.bridge
        assert isinstance(bridge, KamailioBridge)
        return bridge

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = await self.client.request(method, f"/api/v1{path}", json=body,
                                             headers=self.headers)
        text = await response.text()
        return response.status, json.loads(text) if text else None

    async def add_cabin(self, name: str, sip_username: str) -> CabinLogin:
        """Through the API: the server makes the password and provisions Kamailio."""
        status, body = await self.request("POST", "/cabins", {"name": name,
                                                              "sip_username": sip_username})
        assert status == 201, body
        return CabinLogin(body["cabin"]["id"], sip_username, body["sip_password"])

    async def add_cabins(self, count: int, prefix: str = "cabin") -> list[CabinLogin]:
        return [await self.add_cabin(f"Cabin {n}", f"{prefix}{n}") for n in range(1, count + 1)]

    async def desk(self) -> Desk:
        ws = await self.client.ws_connect("/api/v1/events", headers=self.headers)
        desk = Desk(ws)
        self.desks.append(desk)
        await eventually(lambda: desk.messages, what="the events socket's hello")
        return desk

    async def live(self) -> dict[str, Any]:
        status, body = await self.request("GET", "/live")
        assert status == 200, body
        return body

    async def close(self) -> None:
        for desk in self.desks:
            await desk.close()


# --- looking into the database ---------------------------------------------------------

def all_calls(sessions: sessionmaker[Session]) -> list[Call]:
    with sessions() as db:
        return list(db.scalars(select(Call).order_by(Call.id)))


def one_call(sessions: sessionmaker[Session], pbx_call_id: str) -> Call:
    with sessions() as db:
        return db.scalars(select(Call).where(Call.pbx_call_id == pbx_call_id)).one()


def final_calls(sessions: sessionmaker[Session], count: int) -> list[Call] | None:
    """All calls, once there are `count` and every one is over (None until then)."""
    calls = all_calls(sessions)
    return calls if len(calls) == count and all(c.state.is_final for c in calls) else None


def balance(sessions: sessionmaker[Session], account_id: int) -> Decimal:
    with sessions() as db:
        return db.scalars(select(Account.balance).where(Account.id == account_id)).one()


def topups(sessions: sessionmaker[Session], account_id: int) -> Decimal:
    """What was put into the account (every entry that is not a call's charge)."""
    with sessions() as db:
        amounts = db.scalars(select(AccountEntry.amount)
                             .where(AccountEntry.account_id == account_id,
                                    AccountEntry.call_id.is_(None)))
        return sum(amounts, Decimal(0))


def open_session_total(sessions: sessionmaker[Session], cabin_id: int) -> tuple[Money, list[Call]]:
    """The cabin's open session: what Pay would take, and its calls."""
    with sessions() as db:
        cabin_session = db.scalars(select(CabinSession).where(
            CabinSession.cabin_id == cabin_id, CabinSession.closed_at.is_(None))).one()
        calls = list(db.scalars(select(Call).where(Call.session_id == cabin_session.id)))
        return session_due(db, cabin_session), calls


def check_ledger(sessions: sessionmaker[Session], callshop_id: int) -> None:
    with sessions() as db:
        errors = check_all(load_view(db, callshop_id))
    assert errors == [], errors


async def eventually(check: Callable[[], Any], timeout: float = 5.0,
                     what: str = "condition") -> Any:
    """Poll `check` (every 10 ms) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


# --- `cashdesk-server serve` as a process (killed and restarted by the tests) ---------

def _free_tcp_port() -> int:
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServeProcess:
    """`cashdesk-server serve` with `pbx = "kamailio"` on a SQLite file, under
    timeout(1) in its own session; SIGKILLed by the tests."""

    directory: Path
    database_url: str
    kamailio: Kamailio
    token: str
    port: int = field(default_factory=_free_tcp_port)
    lifetime_s: int = 60
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

    def write_config(self) -> Path:
        evapi = self.kamailio.settings.evapi
        path = self.directory / "server.toml"
        path.write_text(
            "[server]\n"
            f'host = "127.0.0.1"\nport = {self.port}\n'
            f"database = {json.dumps(self.database_url)}\n"
            f'sip_realm = "{self.kamailio.settings.realm}"\n'
            f"log_file = {json.dumps(str(self.directory / 'server-file.log'))}\n"
            'pbx = "kamailio"\n\n'
            "[pbx.kamailio]\n"
            f'evapi = "{evapi.host}:{evapi.port}"\n'
            f"subscriber_db = {json.dumps(str(self.kamailio.settings.subscriber_db))}\n"
            f"authorise_timeout = {AUTHORISE_TIMEOUT_S}\n", encoding="utf-8")
        return path

    async def start(self, timeout: float = 20.0) -> None:
        """Start and wait until it answers and its switch (Kamailio) is connected."""
        self.directory.mkdir(parents=True, exist_ok=True)
        command = shutil.which("cashdesk-server", path=str(Path(sys.executable).parent))
        assert command is not None, "cashdesk-server is not installed in this environment"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("CASHDESK_CONFIG", None)
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            self.process = subprocess.Popen(  # noqa: ASYNC220 - starting does not wait
                ["timeout", "--kill-after=2", str(self.lifetime_s), command, "serve",
                 "--config", str(self.write_config())],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=log, start_new_session=True)
        headers = {"Authorization": f"Bearer {self.token}"}
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                assert self.process.poll() is None, self.log_tail()
                try:
                    async with http.get(f"{self.base}/live", headers=headers) as response:
                        if response.status == 200 and (await response.json())["switch"][
                                "connected"]:
                            return
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, f"the server did not start:\n" \
                                                    f"{self.log_tail()}"
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL, the whole group: no cleanup, no goodbye to Kamailio."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def log_tail(self, lines: int = 80) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


async def start_app(aiohttp_client: Any, config: ServerConfig, token: str) -> AppServer:
    app = create_app(config, clock=SystemClock())
    return AppServer(await aiohttp_client(app), token)
