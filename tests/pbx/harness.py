"""Real Kamailio and SIPp processes for the end-to-end tests, and a Python stand-in for
the sync server on the evapi socket.

Every process is started under `timeout(1)` in its own session, so it ends by itself
even if pytest is killed, and fixtures stop it (SIGTERM to the group, then SIGKILL).
Only loopback addresses: Kamailio and the cabins on 127.0.0.1, the carrier on
127.0.0.2 (so pike, which exempts the carrier, still watches the cabins).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from cashdesk.pbx.kamailio.config import HostPort, KamailioSettings, render_config
from cashdesk.pbx.kamailio.evapi import EvapiClient, JsonObject
from cashdesk.pbx.kamailio.subscribers import SubscriberTable

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
CABIN_HOST = "127.0.0.1"
CARRIER_HOST = "127.0.0.2"
KAMAILIO_LIFETIME_S = 120  # hard ceiling per Kamailio process (timeout(1))


class BinaryMissing(RuntimeError):
    pass


def require_binary(name: str) -> str:
    path = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()),
        None)
    if path is None:
        raise BinaryMissing(f"{name} is not installed")
    return path


_handed_out: set[int] = set()


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_DGRAM, *, block: int = 1) -> int:
    """A port nobody uses right now on `host` (UDP by default; TCP with SOCK_STREAM),
    or the first of `block` consecutive ones. Checked for both protocols, since SIPp and
    Kamailio open UDP and TCP sockets. Never the same port twice in one process: ten
    SIPps built before any of them binds would otherwise be told the same free port now
    and then."""
    while True:
        with socket.socket(socket.AF_INET, kind) as first:
            first.bind((host, 0))
            port = int(first.getsockname()[1])
            ports = range(port, port + block)
            if port + block > 65536 or any(p in _handed_out for p in ports):
                continue
            if all(_bindable(host, p, protocol) for p in ports[1:]
                   for protocol in (socket.SOCK_DGRAM, socket.SOCK_STREAM)) and \
                    _bindable(host, port, socket.SOCK_STREAM if kind == socket.SOCK_DGRAM
                              else socket.SOCK_DGRAM):
                _handed_out.update(ports)
                return port


def _bindable(host: str, port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _stop_group(process: subprocess.Popen[bytes] | asyncio.subprocess.Process,
                grace: float = 5.0) -> None:
    """SIGTERM the process group, SIGKILL it after `grace` seconds."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    if isinstance(process, subprocess.Popen):
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    if isinstance(process, subprocess.Popen):
        process.wait(grace)


# --- Kamailio ---------------------------------------------------------------------

class KamailioNotReady(RuntimeError):
    """Kamailio exited at start, or runs but does not answer on its ports in time."""


@dataclass
class Kamailio:
    """A Kamailio in the foreground with its own config, run dir, database and log."""

    directory: Path
    settings: KamailioSettings
    subscribers: SubscriberTable
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def prepare(cls, directory: Path, **overrides: Any) -> Kamailio:
        run_dir = directory / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        values: dict[str, Any] = {
            "listen": HostPort(CABIN_HOST, free_port()),
            "carrier": HostPort(CARRIER_HOST, free_port(CARRIER_HOST)),
            "evapi": HostPort("127.0.0.1", free_port(kind=socket.SOCK_STREAM)),
            "subscriber_db": directory / "subscribers.sqlite3",
            "run_dir": run_dir,
            "auth_timeout_ms": 1000,
            "pike_density": 1000,
            "children": 4,
            "log_level": 2,
        }
        values.update(overrides)
        settings = KamailioSettings(**values)
        table = SubscriberTable(settings.subscriber_db, realm=settings.realm)
        table.create()
        return cls(directory, settings, table)

    @property
    def config_path(self) -> Path:
        return self.directory / "kamailio.cfg"

    @property
    def log_path(self) -> Path:
        return self.directory / "kamailio.log"

    @property
    def ctl_socket(self) -> str:
        return f"unix:{self.settings.run_dir}/kamailio_ctl"

    def start(self, timeout: float = 15.0, attempts: int = 3) -> Kamailio:
        """Start and wait until ready. The SIP and evapi ports were free when chosen,
        but another process (a SIPp, a probe) may bind one before Kamailio does; a
        Kamailio that never answers is then stopped and started again on fresh ports."""
        for attempt in range(1, attempts + 1):
            try:
                return self._start_once(timeout)
            except KamailioNotReady:
                self.stop()
                if attempt == attempts:
                    raise
                self.settings = dataclasses.replace(
                    self.settings, listen=HostPort(CABIN_HOST, free_port()),
                    evapi=HostPort("127.0.0.1", free_port(kind=socket.SOCK_STREAM)))
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float) -> Kamailio:
        binary = require_binary("kamailio")
        self.config_path.write_text(render_config(self.settings), encoding="utf-8")
        command = ["timeout", "--kill-after=5", str(KAMAILIO_LIFETIME_S), binary,
                   "-DD", "-E", "-f", str(self.config_path),
                   "-P", str(self.settings.run_dir / "kamailio.pid"),
                   "-Y", str(self.settings.run_dir), "-w", str(self.directory),
                   "-m", "64", "-M", "8"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        """Ready when the evapi socket accepts and SIP OPTIONS gets its 200."""
        deadline = time.monotonic() + timeout
        assert self.process is not None
        evapi_up = False
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                # e.g. "Address already in use": worth a retry on fresh ports too.
                raise KamailioNotReady(f"kamailio exited ({self.process.returncode}):\n"
                                       + self.log_tail())
            # evapi once (each probe is a client connect Kamailio logs), then SIP.
            evapi_up = evapi_up or self._evapi_accepts()
            if evapi_up and self._sip_answers():
                return
            time.sleep(0.05)
        raise KamailioNotReady(f"kamailio not ready after {timeout} s:\n{self.log_tail()}")

    def _evapi_accepts(self) -> bool:
        # A probe connection is counted as a server client for a moment; the close
        # event brings the counter back before any test connects.
        try:
            with socket.create_connection((self.settings.evapi.host,
                                           self.settings.evapi.port), timeout=0.2):
                return True
        except OSError:
            return False

    def _sip_answers(self) -> bool:
        listen = self.settings.listen
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((CABIN_HOST, 0))
            port = sock.getsockname()[1]
            request = (f"OPTIONS sip:{listen} SIP/2.0\r\n"
                       f"Via: SIP/2.0/UDP {CABIN_HOST}:{port};branch=z9hG4bK-probe{time.time_ns()}\r\n"
                       f"From: <sip:probe@{CABIN_HOST}>;tag=probe\r\n"
                       f"To: <sip:{listen}>\r\nCall-ID: probe-{time.time_ns()}\r\n"
                       "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
            sock.settimeout(0.2)
            try:
                sock.sendto(request.encode(), (listen.host, listen.port))
                reply = sock.recv(4096)
            except OSError:
                return False
        return reply.startswith(b"SIP/2.0 200")

    def stop(self) -> None:
        if self.process is not None:
            _stop_group(self.process)

    def log_tail(self, lines: int = 60) -> str:
        """The end of the log, without the shutdown chatter."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        kept = [line for line in text.splitlines()
                if "sig_usr()" not in line and "handle_sigs()" not in line]
        return "\n".join(kept[-lines:])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def rpc(self, *args: str) -> str:
        """A management command through kamcmd (for checks, not the code under test)."""
        result = subprocess.run([require_binary("kamcmd"), "-s", self.ctl_socket, *args],
                                capture_output=True, text=True, timeout=5, check=False)
        return result.stdout + result.stderr


# --- SIPp -------------------------------------------------------------------------

@dataclass(frozen=True)
class SipMessage:
    """One message in SIPp's message log (-trace_msg)."""

    at: float          # SIPp's wall-clock timestamp
    sent: bool         # False: received
    first_line: str    # "INVITE sip:… SIP/2.0" or "SIP/2.0 200 OK"
    text: str

    @property
    def method(self) -> str | None:
        return None if self.first_line.startswith("SIP/2.0") else self.first_line.split()[0]

    @property
    def status(self) -> int | None:
        return int(self.first_line.split()[1]) if self.first_line.startswith("SIP/2.0") else None


_LOG_SEPARATOR = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)$", re.MULTILINE)


def parse_message_log(text: str) -> list[SipMessage]:
    messages: list[SipMessage] = []
    parts = _LOG_SEPARATOR.split(text)
    for stamp, block in zip(parts[1::2], parts[2::2]):
        lines = block.strip("\n").split("\n")
        if not lines or "message" not in lines[0]:
            continue
        body = [line for line in lines[1:]]
        while body and not body[0].strip():
            body.pop(0)
        if not body:
            continue
        at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
        messages.append(SipMessage(at, " sent " in f" {lines[0]} ", body[0].strip(),
                                   "\n".join(body)))
    return messages


@dataclass
class SippResult:
    name: str
    returncode: int
    messages: list[SipMessage]
    errors: str
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def received(self) -> list[SipMessage]:
        return [m for m in self.messages if not m.sent]

    def sent(self) -> list[SipMessage]:
        return [m for m in self.messages if m.sent]

    def received_requests(self, method: str) -> list[SipMessage]:
        return [m for m in self.received() if m.method == method]

    def received_statuses(self) -> list[int]:
        return [m.status for m in self.received() if m.status is not None]

    def describe(self) -> str:
        return (f"sipp {self.name}: exit {self.returncode}\n"
                f"received: {[m.first_line for m in self.received()]}\n"
                f"sent: {[m.first_line for m in self.sent()]}\n"
                f"errors:\n{self.errors[-2000:]}\noutput:\n{self.output[-800:]}")


@dataclass
class Sipp:
    """One SIPp process running one scenario file, always bounded by -timeout/-m."""

    name: str
    scenario: str
    directory: Path
    args: list[str]
    timeout_s: float
    process: asyncio.subprocess.Process | None = None

    @classmethod
    def build(cls, directory: Path, scenario: str, *, local_host: str, remote: HostPort | None,
              service: str = "0033123456789", cabin: str | None = None,
              password: str | None = None, duration_ms: int = 0, calls: int = 1,
              timeout_s: float = 15.0, port: int | None = None, name: str | None = None,
              extra: list[str] | None = None) -> Sipp:
        name = name or scenario
        directory.mkdir(parents=True, exist_ok=True)
        args = ["-sf", str(SCENARIOS / f"{scenario}.xml"),
                "-i", local_host, "-p", str(port or free_port(local_host)),
                # SIPp binds its media ports from -mp up: audio RTP and RTCP, video
                # RTP and RTCP (a video port taken by another process fails the run).
                "-mp", str(free_port(local_host, block=4)),
                "-cp", str(free_port(local_host)),
                "-m", str(calls), "-l", "1", "-r", "10",
                "-timeout", f"{int(timeout_s)}s", "-timeout_error",
                "-recv_timeout", str(int(timeout_s * 1000)),
                "-d", str(duration_ms), "-s", service,
                "-nostdin", "-trace_msg", "-message_file", str(directory / f"{name}.messages"),
                "-trace_err", "-error_file", str(directory / f"{name}.errors")]
        if cabin is not None:
            args += ["-key", "cabin", cabin, "-au", cabin, "-ap", password or ""]
        if extra:
            args += extra
        if remote is not None:
            args.append(str(remote))
        return cls(name, scenario, directory, args, timeout_s)

    @property
    def port(self) -> int:
        return int(self.args[self.args.index("-p") + 1])

    async def async_start(self) -> Sipp:
        binary = require_binary("sipp")
        lifetime = int(self.timeout_s) + 5
        # At the lowest priority: SIPp's main loop wakes every millisecond (epoll_wait
        # with a 1 ms timeout), so ten cabins are 10,000 wake-ups a second on the
        # cores Kamailio and the server need, and the phones they stand for are other
        # machines. They still run, and give way when Kamailio or the server wakes.
        # In a session of its own, SIPp is its own scheduling group where Linux groups
        # sessions (autogroup): its nice then counts only inside that group, so the
        # group's own nice is set too (benchmarks/cutoff.py, 3 runs of 12 rounds each
        # way: authorisation added p50 1.95 → 1.53, p99 5.59 → 4.69 ms).
        self.process = await asyncio.create_subprocess_exec(
            "nice", "-n", "19", "timeout", "--kill-after=3", str(lifetime), binary, *self.args,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        with contextlib.suppress(OSError):      # no autogroup: the nice above is enough
            Path(f"/proc/{self.process.pid}/autogroup").write_text("19")
        return self

    async def async_result(self) -> SippResult:
        assert self.process is not None, "not started"
        try:
            output, _ = await asyncio.wait_for(self.process.communicate(), self.timeout_s + 10)
        except TimeoutError:
            _stop_group(self.process)
            output = b"(killed: did not stop in time)"
            await self.process.wait()
        return SippResult(self.name, self.process.returncode or 0,
                          parse_message_log(_read(self.directory / f"{self.name}.messages")),
                          _read(self.directory / f"{self.name}.errors"),
                          output.decode(errors="replace"))

    async def async_run(self) -> SippResult:
        await self.async_start()
        return await self.async_result()

    def kill(self) -> None:
        if self.process is not None:
            _stop_group(self.process, grace=0)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


class UdpSink(asyncio.DatagramProtocol):
    """Listens where the carrier would, to show that nothing at all arrives there."""

    def __init__(self, address: HostPort) -> None:
        self.address = address
        self.datagrams: list[bytes] = []
        self._transport: asyncio.DatagramTransport | None = None

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.datagrams.append(data)

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=(self.address.host, self.address.port))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._transport is not None:
            self._transport.close()


# --- the sync server's stand-in ---------------------------------------------------

@dataclass
class ReceivedEvent:
    message: JsonObject
    received_at: float  # time.time() when the peer got it

    @property
    def type(self) -> str:
        return str(self.message.get("type", ""))


# The answer's fields besides type/tindex/tlabel; None: never answer.
AuthPolicy = Callable[[JsonObject], JsonObject | None]


def allow(max_seconds: int = 0) -> AuthPolicy:
    def policy(request: JsonObject) -> JsonObject:
        answer: JsonObject = {"allow": True}
        if max_seconds:
            answer["max_seconds"] = max_seconds
        return answer
    return policy


def silent() -> AuthPolicy:
    return lambda request: None


def refuse(code: int, reason: str) -> AuthPolicy:
    def policy(request: JsonObject) -> JsonObject:
        return {"allow": False, "code": code, "reason": reason}
    return policy


@dataclass
class EvapiPeer:
    """Answers authorisation requests like the sync server will, records every event
    with the time it arrived, and sends cuts and backstop updates."""

    host: str
    port: int
    policy: AuthPolicy = field(default_factory=allow)
    events: list[ReceivedEvent] = field(default_factory=list)
    on_event: Callable[[ReceivedEvent], object] | None = None
    client: EvapiClient | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def async_start(self, timeout: float = 5.0) -> EvapiPeer:
        self.client = EvapiClient(self.host, self.port, self._on_message)
        await self.client.async_start()
        await self.client.async_wait_connected(timeout)
        return self

    async def async_stop(self) -> None:
        if self.client is not None:
            await self.client.async_stop()

    def _on_message(self, message: JsonObject) -> None:
        event = ReceivedEvent(message, time.time())
        self.events.append(event)
        self._changed.set()
        if self.on_event is not None:
            self.on_event(event)
        if message.get("type") == "authorize":
            decision = self.policy(message)
            if decision is None:
                return
            answer = {"type": "authorization", "tindex": message["tindex"],
                      "tlabel": message["tlabel"], **decision}
            assert self.client is not None
            asyncio.get_running_loop().create_task(self.client.async_send(answer))

    def of_type(self, kind: str, call_id: str | None = None) -> list[ReceivedEvent]:
        return [e for e in self.events if e.type == kind
                and (call_id is None or e.message.get("call_id") == call_id)]

    async def async_wait_for(self, kind: str, count: int = 1, *, timeout: float = 5.0,
                             call_id: str | None = None) -> list[ReceivedEvent]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found := self.of_type(kind, call_id)) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"waited {timeout} s for {count} {kind!r} events; got "
                                     f"{[e.message for e in self.events]}")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return found

    async def async_send(self, message: JsonObject) -> None:
        assert self.client is not None
        await self.client.async_send(message)
