"""The bundled sync server as a child process: `cashdesk-server serve` on 127.0.0.1
with the shop's SQLite database, started with the desk and stopped with it.

The desk never opens the database itself (DESIGN.md's layering): it runs the
server's CLI as a subprocess (`init` for a new shop, `serve` for the till) and talks to
it over HTTP like any remote desk would. `wait_ready` blocks (it polls /health), so the
UI calls it from a worker thread.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from cashdesk import paths

log = logging.getLogger("ui.server_process")
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def server_command(*args: str) -> list[str]:
    """The server's CLI, with this interpreter (works in a venv and when frozen)."""
    if getattr(sys, "frozen", False):  # PyInstaller: the server ships beside the desk
        return [str(Path(sys.executable).with_name("cashdesk-server")), *args]
    return [sys.executable, "-m", "cashdesk.cli", *args]


class ServerFailed(RuntimeError):
    """The bundled server could not be started or did not become healthy."""


def init_shop(db_url: str, *, shop: str, currency: str, locale: str, timezone: str,
              admin: str, password: str, timeout: float = 120.0) -> str:
    """`cashdesk-server init` for a first run; answers its message. Blocking."""
    env = dict(os.environ, CASHDESK_ADMIN_PASSWORD=password)
    result = subprocess.run(
        server_command("init", "--db", db_url, "--shop", shop, "--currency", currency,
                       "--locale", locale, "--timezone", timezone, "--admin", admin),
        env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise ServerFailed((result.stderr or result.stdout).strip().splitlines()[-1]
                           if (result.stderr or result.stdout).strip()
                           else f"init failed ({result.returncode})")
    return result.stdout.strip()


@dataclass
class LocalServer:
    """One child `cashdesk-server serve` process."""

    db_url: str = field(default_factory=paths.default_database_url)
    port: int = 0
    demo: bool = False
    log_file: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        if self.port == 0:
            self.port = free_port()
        args = ["serve", "--host", HOST, "--port", str(self.port), "--db", self.db_url]
        if self.log_file is not None:
            args += ["--log-file", str(self.log_file)]
        if self.demo:
            args.append("--demo")
        flags = subprocess.CREATE_NO_WINDOW if sys.platform == "win32" else 0  # type: ignore[attr-defined]
        self.process = subprocess.Popen(server_command(*args), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        creationflags=flags)
        log.info("started the bundled server (pid %d) on %s", self.process.pid, self.url)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Poll /health until it answers ok; raise `ServerFailed` if the process
        exits or the time runs out. Blocking: call from a worker."""
        deadline = time.monotonic() + timeout
        with requests.Session() as http:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    error = b""
                    if self.process.stderr is not None:
                        error = self.process.stderr.read() or b""
                    lines = error.decode(errors="replace").strip().splitlines()
                    raise ServerFailed(lines[-1] if lines else
                                       f"the server exited ({self.process.returncode})")
                try:
                    answer = http.get(self.url + "/api/v1/health", timeout=1.0)
                    if answer.ok and answer.json().get("status") == "ok":
                        return
                except (requests.RequestException, ValueError):
                    pass
                time.sleep(0.1)
        raise ServerFailed(f"the server did not answer within {timeout:.0f} s")

    def stop(self, timeout: float = 8.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None
