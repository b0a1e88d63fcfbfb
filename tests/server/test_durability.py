"""What the server acknowledged survives SIGKILL: `cashdesk-server serve` runs as a
process on a SQLite file with a PBX that outlives it (`pbx_peer`); calls, a payment and
open sessions go through the real tracker; the server is killed, started again on the
same file, and must show exactly what it had acknowledged, carry on billing the call
that was up, and keep every ledger invariant."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import Engine

from cashdesk.clock import FakeClock
from cashdesk.ledger.invariants import check_all
from cashdesk.ledger.snapshot import load_view
from cashdesk.rating.pricing import charge
from cashdesk.store.database import open_engine, session_factory
from tests.server.conftest import PASSWORD, World, build_world
from tests.server.live_world import FRANCE, UK, UK_SELL, Cabins, furnish
from tests.server.pbx_peer import FakePbx
from tests.server.scripted import Desk

REPO = Path(__file__).resolve().parents[2]
KIND = "tests.server.pbx_peer:create_bridge"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """`cashdesk-server serve` in a child process, and an HTTP session to it."""

    config: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    http: aiohttp.ClientSession | None = None
    token: str = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    async def start(self) -> None:
        command = shutil.which("cashdesk-server", path=str(Path(sys.executable).parent))
        assert command is not None, "cashdesk-server is not installed in this environment"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        env.pop("CASHDESK_CONFIG", None)
        # Starting a process does not wait for it.
        self.process = subprocess.Popen(  # noqa: ASYNC220
            [command, "serve", "--config", str(self.config)], cwd=REPO, env=env,
            stdout=subprocess.DEVNULL, stderr=self.log.open("ab"))
        self.http = aiohttp.ClientSession()
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                async with self.http.get(f"{self.base}/health") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            assert asyncio.get_running_loop().time() < deadline, "the server did not start"
            await asyncio.sleep(0.05)
        # An admin: takes payments (without a shift) and may read them back.
        self.token = (await self.post("/auth/login", {"username": "admin_a",
                                                      "password": PASSWORD}))["token"]

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
        if self.process is not None and self.process.poll() is None:
            self.kill()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str, **params: Any) -> Any:
        assert self.http is not None
        async with self.http.get(self.base + path, params=params,
                                 headers=self.headers) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        assert self.http is not None
        async with self.http.post(self.base + path, json=body,
                                  headers=self.headers) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def desk(self) -> Desk:
        assert self.http is not None
        ws = await self.http.ws_connect(f"{self.base}/events", headers=self.headers)
        desk = Desk(ws)
        await desk.until(lambda d: bool(d.messages))
        return desk

    async def acknowledged(self) -> dict[str, Any]:
        """Everything the desk is told: the live view, the balance, the payments."""
        live = await self.get("/live")
        return {"cabins": live["cabins"], "balance": live["balance"]["balance"],
                "transactions": (await self.get("/transactions"))["items"]}


@dataclass
class Setup:
    engine: Engine
    world: World
    cabins: Cabins
    pbx: FakePbx
    server: Server


@pytest.fixture
async def setup(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Setup]:
    path = tmp_path / "cashdesk.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = open_engine(f"sqlite:///{path}")
    clock = FakeClock(datetime.now(UTC) - timedelta(days=1))
    world = build_world(engine, clock)
    cabins = furnish(engine, clock, world)
    pbx = FakePbx()
    await pbx.start()
    port = _free_port()
    config = tmp_path / "server.toml"
    config.write_text(f'[server]\ndatabase = "sqlite:///{path}"\nport = {port}\n'
                      f'pbx = "{KIND}"\nlog_file = "{tmp_path / "server.log"}"\n'
                      f'log_level = "INFO"\n\n[pbx."{KIND}"]\nport = {pbx.port}\n')
    server = Server(config, port, tmp_path / "stderr.log")
    yield Setup(engine, world, cabins, pbx, server)
    await server.close()
    await pbx.stop()
    engine.dispose()


def _cabin(state: dict[str, Any], cabin_id: int) -> dict[str, Any]:
    return next(c for c in state["cabins"] if c["id"] == cabin_id)


def _invariants(engine: Engine, shop_id: int) -> list[str]:
    with session_factory(engine)() as session:
        return check_all(load_view(session, shop_id))


async def test_what_was_acknowledged_survives_sigkill(setup: Setup) -> None:
    server, pbx, cabins = setup.server, setup.pbx, setup.cabins
    await server.start()
    await pbx.wait_bridge()
    desk = await server.desk()
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=60)
    at = lambda seconds: base + timedelta(seconds=seconds)

    def call_state(call: str) -> str | None:
        seen = [c["state"] for c in desk.of("call") if c["pbx_call_id"] == call]
        return seen[-1] if seen else None

    # Cabin 1: a call, ended, then paid. Cabin 2: an ended call and one still up, unpaid.
    # Cabin 3: a call still dialing.
    assert await pbx.dial("a", cabins.a[0], UK, at(0))
    pbx.answer("a", at(1))
    pbx.hang_up("a", at(31))
    assert await pbx.dial("b", cabins.a[1], FRANCE, at(2))
    pbx.answer("b", at(3))
    pbx.hang_up("b", at(43))
    assert await pbx.dial("c", cabins.a[1], UK, at(5))
    pbx.answer("c", at(6))
    assert await pbx.dial("d", cabins.a[2], UK, at(8))
    await desk.until(lambda d: (call_state("a"), call_state("b"), call_state("c"),
                                call_state("d")) == ("ended", "ended", "answered", "dialing")
                     and any(c["id"] == cabins.a_ids[0] and c["state"] == "awaiting_payment"
                             for c in d.of("cabin")), timeout=10)
    paid = await server.post(f"/cabins/{cabins.a_ids[0]}/pay",
                             {"received": "5.00", "idempotency_key": uuid.uuid4().hex})
    await desk.until(lambda d: any(c["id"] == cabins.a_ids[0] and c["state"] == "free"
                                   for c in d.of("cabin")), timeout=10)
    before = await server.acknowledged()
    assert [t["id"] for t in before["transactions"]] == [paid["transaction_id"]]
    assert _cabin(before, cabins.a_ids[0])["state"] == "free"
    assert [c["pbx_call_id"] for c in _cabin(before, cabins.a_ids[1])["session"]["calls"]] \
        == ["b", "c"]
    assert [c["pbx_call_id"] for c in _cabin(before, cabins.a_ids[2])["pending"]] == ["d"]

    server.kill()
    await server.start()
    await pbx.wait_bridge()
    after = await server.acknowledged()
    assert after == before
    assert _invariants(setup.engine, setup.world.shop_a) == []

    # Billing carried on: the call that was up ends now and is billed from its answer.
    desk = await server.desk()
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    pbx.hang_up("c", end)
    await desk.until(lambda d: call_state("c") == "ended", timeout=10)
    c = next(x for x in desk.of("call") if x["pbx_call_id"] == "c" and x["state"] == "ended")
    bill = charge(UK_SELL, int((end - at(6)).total_seconds() * 1000), "EUR")
    assert (c["billed_seconds"], c["price"]) == (bill.billed_seconds, bill.amount.to_json())

    # Killed in the middle of a burst: whatever the desk was told stays true.
    for n in range(12):
        call = f"burst{n}"
        assert await pbx.dial(call, cabins.a[0], UK, end + timedelta(seconds=n))
        pbx.answer(call, end + timedelta(seconds=n, milliseconds=500))
        pbx.hang_up(call, end + timedelta(seconds=n + 1))
    # Killed as soon as the desk was told of the first end (the INVITEs are answered
    # at once, from memory: the events are still on their way).
    await desk.until(lambda d: any(c["pbx_call_id"].startswith("burst")
                                   and c["state"] == "ended" for c in d.of("call")),
                     timeout=10)
    server.kill()
    told = {c["pbx_call_id"]: c for c in desk.of("call") if c["state"] == "ended"}
    await server.start()
    await pbx.wait_bridge()
    live = await server.get("/live")
    stored = {c["pbx_call_id"]: c for cabin in live["cabins"] if cabin["session"]
              for c in cabin["session"]["calls"]}
    burst = [call for call in told if call.startswith("burst")]
    print(f"burst: {len(burst)} of 12 acknowledged before the kill; after the restart "
          f"{sum(c.startswith('burst') for c in stored)} in the session")
    assert burst, "the kill came before any of the burst was acknowledged"
    for call in burst:
        assert stored[call] == told[call]
    assert _invariants(setup.engine, setup.world.shop_a) == []
