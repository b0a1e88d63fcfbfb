"""The real server for the desk's live tests, two ways:

- `ScriptedServer`: the aiohttp app on a loopback port in a thread (tests/client's
  `ServerThread`), its PBX the server tests' `ScriptedBridge` (calls go through the
  real tracker, rater and database), its clock a `FakeClock` the desk shares, so every
  running figure is exact;
- `ServerProcess`: `cashdesk-server serve` as a child process on a SQLite file, its
  PBX `tests.server.pbx_peer` (`PeerPbx` runs the PBX side in this process, on its own
  event loop thread, and outlives the server), so the server can be SIGKILLed and
  started again on the same port and file.

`furnish` gives shop A (tests/client's world) rates, cabins with SIP accounts and
credit, in the database, before the server reads it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, select

from cashdesk.clock import FakeClock
from cashdesk.rating.deck import import_deck
from cashdesk.rating.pricing import RateTerms
from cashdesk.server.app import create_app
from cashdesk.server.billing import BILLING
from cashdesk.server.config import ServerConfig
from cashdesk.store.database import session_factory
from cashdesk.store.models import Cabin, Call, Tariff, Transaction
from tests.client.conftest import World
from tests.client.harness import HOST, ServerThread, free_port, top_up
from tests.server.pbx_peer import FakePbx
from tests.server.scripted import Pbx, ScriptedBridge

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
PEER_PBX = "tests.server.pbx_peer:create_bridge"

SELL = (b"prefix,destination,rate,connection fee,initial,subsequent\n"
        b"44,United Kingdom,0.20,0,60,60\n"
        b"33,France,0.15,0.05,30,6\n"
        b"212,Morocco,0.45,0.05,60,60\n")
BUY = (b"prefix,destination,rate,connection fee,initial,subsequent\n"
       b"44,United Kingdom,0.10,0,1,1\n"
       b"33,France,0.08,0.02,30,6\n"
       b"212,Morocco,0.22,0,1,1\n")
FRANCE = "0033140000000"
UK = "0044207946000"
MOROCCO = "00212612345678"
FRANCE_SELL = RateTerms("33", "France", Decimal("0.15"), Decimal("0.05"), 30, 6)


def furnish(engine: Engine, clock: FakeClock, world: World, cabins: int = 4) -> list[int]:
    """Shop A's sell and buy rates, `cabins` cabins (SIP accounts gui-1, gui-2, …) and
    100 € of credit; the cabins' ids."""
    with session_factory(engine).begin() as session:
        import_deck(session, clock, tariff=session.get_one(Tariff, world.tariff_a), data=SELL)
        import_deck(session, clock, tariff=session.get_one(Tariff, world.buy_tariff), data=BUY)
        made = [Cabin(callshop_id=world.shop_a, name=f"Cabin {n}", position=n,
                      sip_username=f"gui-{n}") for n in range(1, cabins + 1)]
        session.add_all(made)
        session.flush()
        ids = [cabin.id for cabin in made]
    top_up(engine, clock, world.shop_a, "100")
    return ids


def cdr(engine: Engine, pbx_call_id: str) -> Call:
    """The call as the server wrote it."""
    with session_factory(engine)() as session:
        call = session.scalar(select(Call).where(Call.pbx_call_id == pbx_call_id))
        assert call is not None, f"no CDR for {pbx_call_id}"
        session.expunge(call)
        return call


def transactions(engine: Engine) -> list[Transaction]:
    with session_factory(engine)() as session:
        rows = list(session.scalars(select(Transaction).order_by(Transaction.id)))
        for row in rows:
            session.expunge(row)
        return rows


class ScriptedServer:
    """The app in a thread with a scripted PBX and the test's clock."""

    def __init__(self, config: ServerConfig, clock: FakeClock,
                 heartbeat_s: float = 0.5) -> None:
        self.clock = clock
        self.pbx = Pbx()
        faster = replace(config, events_heartbeat_seconds=heartbeat_s)
        self.thread = ServerThread(lambda: create_app(faster, clock=clock, pbx=self.pbx))

    @property
    def url(self) -> str:
        return self.thread.url

    @property
    def bridge(self) -> ScriptedBridge:
        return self.pbx.bridge

    def start(self) -> ScriptedServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.thread.stop()

    def on_loop(self, work: Callable[[], object]) -> Any:
        """Run `work` on the server's event loop (the bridge lives there)."""
        return self.thread.call(work)

    def advance(self, seconds: float) -> None:
        """Time passes for the server (and the desk, which reads the same clock)."""
        self.clock.advance(seconds)
        app = self.thread.app
        assert app is not None
        self.on_loop(lambda: app[BILLING].service.runner.wake())

    # -- the PBX, as a cabin's phone and the carrier would drive it ---------------------
    def dial(self, call: str, cabin: str, number: str) -> None:
        answer = self.on_loop(lambda: self.bridge.dial(call, cabin, number))
        assert answer.allowed, answer

    def ring(self, call: str) -> None:
        self.on_loop(lambda: self.bridge.ring(call))

    def answer(self, call: str) -> None:
        self.on_loop(lambda: self.bridge.answer(call))

    def hang_up(self, call: str) -> None:
        self.on_loop(lambda: self.bridge.hang_up(call))


class PeerPbx(FakePbx):
    """`FakePbx` on its own event loop thread, driven from the test's thread."""

    def __init__(self) -> None:
        super().__init__()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-pbx",
                                        daemon=True)

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 20) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    def _soon(self, work: Callable[[], None]) -> None:
        async def call() -> None:
            work()
        self.run(call())

    def open(self) -> PeerPbx:
        self._thread.start()
        self.run(self.start())
        return self

    def close(self) -> None:
        self.run(self.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        assert not self._thread.is_alive(), "the PBX's loop did not stop"
        self._loop.close()

    def connected(self, timeout: float = 20) -> None:
        """Wait for the server's bridge to connect (after each start)."""
        self.run(self.wait_bridge(timeout), timeout + 1)

    def place(self, call: str, cabin: str, number: str, at: datetime) -> None:
        assert self.run(self.dial(call, cabin, number, at)), f"{call} refused"

    def ring_at(self, call: str, at: datetime) -> None:
        self._soon(lambda: self._send({"op": "event", "kind": "ringing", "call": call,
                                       "at": at.isoformat()}))

    def answer_at(self, call: str, at: datetime) -> None:
        self._soon(lambda: self.answer(call, at))

    def hang_up_at(self, call: str, at: datetime) -> None:
        self._soon(lambda: self.hang_up(call, at))


class ServerProcess:
    """`cashdesk-server serve` on `database` and a fixed loopback port, with the peer
    PBX; killed with SIGKILL and started again at will."""

    def __init__(self, tmp_path: Path, database: str, pbx_port: int,
                 heartbeat_s: float = 0.5) -> None:
        self.port = free_port()
        self.log = tmp_path / "serve.stderr"
        self.config = tmp_path / "server.toml"
        self.config.write_text(
            f'[server]\ndatabase = "{database}"\nport = {self.port}\n'
            f'pbx = "{PEER_PBX}"\nlog_file = "{tmp_path / "server.log"}"\n'
            f"events_heartbeat_seconds = {heartbeat_s}\n\n"
            f'[pbx."{PEER_PBX}"]\nport = {pbx_port}\n')
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 30) -> ServerProcess:
        command = shutil.which("cashdesk-server", path=str(Path(sys.executable).parent))
        assert command is not None, "cashdesk-server is not installed in this environment"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("CASHDESK_CONFIG", None)
        with self.log.open("ab") as stderr:
            self.process = subprocess.Popen([command, "serve", "--config", str(self.config)],
                                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                            stderr=stderr)
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=1):
                    return self
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no close frames, no clean stop, nothing flushed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


class TrainingServer:
    """The app in training mode (`demo = true`: the training shop, its rates, its 10
    cabins and simulated customers) in a thread, on the test's clock, so an afternoon
    of customers is stepped in a moment and the same every time."""

    def __init__(self, config: ServerConfig, clock: FakeClock) -> None:
        self.clock = clock
        training = replace(config, demo=True, events_heartbeat_seconds=60)
        self.thread = ServerThread(lambda: create_app(training, clock=clock))

    @property
    def url(self) -> str:
        return self.thread.url

    def start(self) -> TrainingServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.thread.stop()

    def customers_for(self, seconds: float) -> None:
        """Let the simulated customers come, call and leave for `seconds`."""
        app = self.thread.app
        assert app is not None
        clock = self.clock

        async def step() -> None:
            billing = app[BILLING]
            [slot] = billing.slots
            bridge = slot.bridge.inner
            end = clock.now() + timedelta(seconds=seconds)
            while (upcoming := bridge.next_action_at()) is not None and upcoming <= end:
                clock.advance(max(0.0, (upcoming - clock.now()).total_seconds()))
                billing.service.runner.wake()
                await bridge.run_due()
            clock.advance(max(0.0, (end - clock.now()).total_seconds()))
            await billing.service.async_inspect(lambda tracker: None)  # written, published

        self.thread.call(step)


def training_logins(printed: str) -> dict[str, str]:
    """The logins `demo = true` prints at start (their passwords are new each time)."""
    return dict(re.findall(r"^\s+(training\.\w+)\s+(\S+)$", printed, re.MULTILINE))
