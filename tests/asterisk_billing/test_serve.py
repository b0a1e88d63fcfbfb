"""`cashdesk-server serve` with `pbx = "asterisk"` as a real process: it starts and
answers with no Asterisk to reach (the desks' switch shows disconnected), connects
when one appears, carries a call through FastAGI and the AMI, and stops cleanly on
SIGTERM; a bad `[pbx.asterisk]` stops it at start with one line naming the setting."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import Engine

from cashdesk.call_state import CallState
from tests.asterisk_billing.asterisk import Dialplan, ScriptedAsterisk
from tests.asterisk_billing.conftest import (
    NUMBER,
    SECRET,
    Server,
    ShopFactory,
    now_in,
    states,
)
from tests.server.scripted import Desk
from tests.server.test_serve import free_port

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0


def command() -> str:
    found = shutil.which("cashdesk-server", path=str(Path(sys.executable).parent))
    assert found is not None, "cashdesk-server is not installed in this environment"
    return found


def write_config(tmp_path: Path, engine: Engine, port: int, pbx: str) -> Path:
    path = tmp_path / "server.toml"
    database = engine.url.render_as_string(hide_password=False)
    path.write_text(f'[server]\ndatabase = "{database}"\nport = {port}\npbx = "asterisk"\n'
                    f'log_file = "{tmp_path / "server.log"}"\nlog_level = "INFO"\n'
                    f'\n[pbx.asterisk]\n{pbx}', encoding="utf-8")
    return path


@dataclass
class Process:
    process: subprocess.Popen[bytes]
    log: Path
    stderr: Path

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    started: list[subprocess.Popen[bytes]] = []

    def start(config: Path) -> Process:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        env.pop("CASHDESK_CONFIG", None)
        stderr = tmp_path / "stderr.log"
        process = subprocess.Popen([command(), "serve", "--config", str(config)], cwd=REPO,
                                   env=env, stdout=subprocess.DEVNULL,
                                   stderr=stderr.open("ab"), start_new_session=True)
        started.append(process)
        return Process(process, tmp_path / "server.log", stderr)

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(5)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def wait_healthy(http: aiohttp.ClientSession, base: str, served: Process) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while True:
        assert served.process.poll() is None, served.stderr.read_text()[-3000:]
        try:
            async with http.get(f"{base}/health") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        assert loop.time() < deadline, "the server did not start"
        await asyncio.sleep(0.05)


async def test_serve_starts_without_asterisk_connects_later_and_stops_cleanly(
        tmp_path: Path, sqlite_engine: Engine, shop_with: ShopFactory, serve: Any,
        http: aiohttp.ClientSession, sessions: Any) -> None:
    shop = shop_with(balance="5.00")
    port, ami_port, agi_port = free_port(), free_port(), free_port()
    config = write_config(tmp_path, sqlite_engine, port,
                          f'ami_port = {ami_port}\nsecret = "{SECRET}"\nagi_port = {agi_port}\n'
                          'ping_interval = 1\nreconnect_delay = [0.1, 0.5]\n')
    served = serve(config)
    base = f"http://127.0.0.1:{port}/api/v1"
    headers = {"Authorization": f"Bearer {shop.admin_token}"}
    await wait_healthy(http, base, served)
    async with http.get(f"{base}/live", headers=headers) as response:
        assert response.status == 200
        assert (await response.json())["switch"] == {"connected": False, "kind": "asterisk"}
    desk = Desk(await http.ws_connect(f"{base}/events", headers=headers))
    await desk.until(lambda d: bool(d.messages))

    asterisk = ScriptedAsterisk(secret=SECRET)
    await asterisk.start(ami_port)
    try:
        # SupervisedBridge tries again after 0.5 s, 1 s, 2 s…
        await desk.until(lambda d: d.of("switch")[-1:] == [{"connected": True,
                                                            "kind": "asterisk"}],
                         timeout=10)
        call = await Dialplan(asterisk, agi_port).call(shop.cabins[0], NUMBER)
        assert call.allowed
        await desk.until(now_in(call.pbx_call_id, "answered"))
        await asyncio.sleep(0.5)
        asterisk.hang_up(call, "cabin")
        await desk.until(lambda d: states(d, call.pbx_call_id) == [
            "dialing", "ringing", "answered", "ended"])
        stored = Server(None, asterisk, sessions).call(call.pbx_call_id)
        assert stored.state is CallState.ENDED and stored.price > 0

        served.process.send_signal(signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_TIMEOUT
        while served.process.poll() is None:
            assert loop.time() < deadline, "the server did not stop in time"
            await asyncio.sleep(0.05)
        assert served.process.returncode == 0, served.stderr.read_text()[-3000:]
        assert asterisk.actions_named("Logoff")       # it said goodbye to the AMI
    finally:
        await desk.ws.close()
        await asterisk.stop()
    log = served.text()
    assert "PBX (asterisk) could not be started" in log and "retried in the background" in log
    assert "PBX (asterisk) connected" in log
    assert "billing stopped" in log and "database closed" in log and "server stopped" in log
    assert "Traceback" not in served.stderr.read_text()


def test_a_bad_asterisk_setting_stops_serve_in_one_line(tmp_path: Path,
                                                         sqlite_engine: Engine) -> None:
    config = write_config(tmp_path, sqlite_engine, free_port(), "ami_port = 5038\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("CASHDESK_CONFIG", None)
    result = subprocess.run([command(), "serve", "--config", str(config)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2, result.stderr
    assert "[pbx.asterisk] secret: missing" in result.stderr
    assert "Traceback" not in result.stderr
