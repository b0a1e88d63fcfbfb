"""`cashdesk-server serve` as a real process: it starts on a loopback port, answers,
logs to its file, and stops cleanly on SIGTERM; and HTTPS with a configured certificate."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import ClientSession, web

from cashdesk.auth.roles import Permission
from cashdesk.server.app import create_app
from cashdesk.server.config import ServerConfig
from cashdesk.server.process import event_loop, tls_context
from cashdesk.server.routes import RouteTable, install

START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_command() -> list[str]:
    script = Path(sys.executable).with_name("cashdesk-server")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from cashdesk.cli import main; sys.exit(main())"]


def wait_for_health(url: str, process: subprocess.Popen[bytes]) -> dict[str, str]:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited early: {process.communicate()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"no answer from {url} within {START_TIMEOUT} s")


def test_serve_starts_answers_and_stops_on_sigterm(tmp_path):
    port = free_port()
    log_file = tmp_path / "logs" / "server.log"
    config = tmp_path / "server.toml"
    config.write_text(f'[server]\nport = 1\ndatabase = "sqlite:///{tmp_path / "db.sqlite3"}"\n'
                      f'log_file = "{log_file}"\n', encoding="utf-8")
    env = {**os.environ, "CASHDESK_PORT": str(port),   # the environment beats the file
           "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_STATE_HOME": str(tmp_path / "state")}
    env.pop("CASHDESK_DB", None)
    process = subprocess.Popen([*server_command(), "serve", "--config", str(config)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        health = wait_for_health(f"http://127.0.0.1:{port}/api/v1/health", process)
        assert health["status"] == "ok"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=STOP_TIMEOUT)
        assert time.monotonic() - started < STOP_TIMEOUT
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err.decode()
    log = log_file.read_text(encoding="utf-8")
    assert f"starting on http://127.0.0.1:{port}" in log
    # uvloop is a dependency everywhere but Windows (cashdesk.server.process.event_loop)
    assert ("event loop asyncio" if sys.platform == "win32" else "event loop uvloop") in log
    assert "GET /api/v1/health 200" in log          # the access log
    assert "database closed" in log and "server stopped" in log
    assert b"server stopped" in err                  # stderr too


def test_without_uvloop_the_server_runs_on_asyncios_own_loop(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)      # import uvloop → ImportError
    loop = event_loop()
    try:
        assert type(loop).__module__.startswith("asyncio.")
    finally:
        loop.close()


def test_serve_refuses_a_bad_setting_in_one_line(tmp_path):
    result = subprocess.run([*server_command(), "serve", "--host", "0.0.0.0",
                             "--log-file", str(tmp_path / "s.log"),
                             "--db", f"sqlite:///{tmp_path / 'db.sqlite3'}"],
                            capture_output=True, text=True, timeout=30, check=False,
                            env={**os.environ, "HOME": str(tmp_path),
                                 "XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert result.returncode == 2
    assert "clear text" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def certificate(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


async def test_https_with_the_configured_certificate(certificate, sqlite_engine, tmp_path):
    cert, key = certificate
    config = ServerConfig(database_url=sqlite_engine.url.render_as_string(hide_password=False),
                          migrate=False, tls_cert=cert, tls_key=key, port=free_port(),
                          log_file=tmp_path / "server.log")
    runner = web.AppRunner(create_app(config))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", config.port, ssl_context=tls_context(config))
    await site.start()
    try:
        trusted = ssl.create_default_context(cafile=str(cert))
        async with ClientSession() as session, \
                session.get(f"{config.base_url}/api/v1/health", ssl=trusted) as answer:
            assert answer.status == 200
            assert config.base_url.startswith("https://")
    finally:
        await runner.cleanup()



async def test_a_request_in_flight_finishes_before_the_database_closes(config, clock, world,
                                                                       tokens):
    """What SIGTERM does (aiohttp's graceful shutdown): stop listening, let handlers
    finish, then run the cleanup that closes the database."""
    started, release = asyncio.Event(), asyncio.Event()
    slow = RouteTable("test")

    @slow.get("/test/slow", Permission.VIEW_LIVE, "A slow request")
    async def slow_request(ctx):
        started.set()
        await release.wait()
        return {"finished": True}

    port = free_port()
    app = create_app(replace(config, port=port), clock=clock)
    install(app, [slow])
    runner = web.AppRunner(app, shutdown_timeout=5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    async with ClientSession() as session:
        request = asyncio.create_task(session.get(
            f"http://127.0.0.1:{port}/api/v1/test/slow",
            headers={"Authorization": f"Bearer {tokens['operator_a']}"}))
        await started.wait()
        stopping = asyncio.create_task(runner.cleanup())
        await asyncio.sleep(0.1)
        assert not stopping.done()      # waiting for the request, not cutting it
        release.set()
        answer = await request
        assert answer.status == 200 and await answer.json() == {"finished": True}
        await stopping
