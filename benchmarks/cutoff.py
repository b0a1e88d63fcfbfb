"""Cut-off benchmark: how late the prepaid cut reaches the carrier, how late the desks
hear of PBX events, and what authorisation adds to call setup.

    python benchmarks/cutoff.py [--rounds 24] [--calls-per-round 10]

Everything real, on loopback: Kamailio (the rendered config), `cashdesk-server serve`
with `pbx = "kamailio"` in its own process on a SQLite file, SIPp cabins (added and
provisioned through the server's API), a cash desk on `/api/v1/events`, and a carrier
written here in Python that answers every call. The carrier and the desk each read
their socket in a thread of their own and take the kernel's arrival time of what they
read (SO_TIMESTAMPNS), so a BYE or a desk message is timed without SIPp's or this
process's scheduling in it. Needs `kamailio`, `kamcmd`, `sipp` and an installed
`cashdesk-server`. Where Linux groups sessions for scheduling (autogroup), the run is a
copy of this script in a group of the lowest priority, like the SIPp phones: the
other machines of a shop give way to Kamailio and the server (`run_behind_the_switch`).

The default 24 rounds of 10 calls (about two minutes) give 240 samples of cut-off lag
and authorisation (720 of events): a p99 is then the third worst, not the worst of
the run (as of 60) or its second worst (of 120, which moved by 2 ms between runs of
the same code on this two-core machine).

Each round, one shop has N cabins call at once (1/1 increments at 0.60 a minute plus
0.02) with a balance of 0.06 a call (0.60 for ten): about four seconds each. The guard
computes the instant the balance can pay no more and the server cuts every call then.

- cut-off lag: the exhaustion instant (the CDRs' `ended_at`, exact to the millisecond)
  → the BYE at the carrier (kernel timestamp). Goal p99 ≤ 20 ms.
- event → client: Kamailio's own stamp of an event (started, ringing, answered; `ts`,
  to the microsecond, read on a second evapi connection) → the desk's WebSocket
  message about it (kernel timestamp). Goal p99 ≤ 10 ms.
- authorisation added: Kamailio holds the INVITE (`invite_ts`) → goes on with it after
  the server's answer (`resumed_ts`), read from the `started` events on a second evapi
  connection. Goal p99 ≤ 5 ms. Routing it on (dialog, relay to the carrier: `ts`) is
  what any call needs and is printed apart.

Figures (DESIGN.md format), after the human-readable output:
    METRIC cutoff_lag_p50_ms <ms> ms
    METRIC cutoff_lag_p99_ms <ms> ms
    METRIC event_to_client_p99_ms <ms> ms
    METRIC auth_added_latency_p99_ms <ms> ms
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import math
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp

from cashdesk.pbx.kamailio.evapi import EvapiClient
from cashdesk.prepaid.timeline import epoch_ms
from cashdesk.store.database import open_engine, session_factory, upgrade
from tests.pbx.billing import (
    NUMBER,
    CabinLogin,
    ServeProcess,
    all_calls,
    make_world,
)
from tests.pbx.harness import CABIN_HOST, Kamailio, Sipp
from tests.support import websocket

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
RING_MS = 20
#: A call's state on the desk → the Kamailio event that brought it.
PBX_EVENTS = {"dialing": "started", "ringing": "ringing", "answered": "answered"}


# --- the carrier --------------------------------------------------------------------------

def _kernel_time(ancillary: list[tuple[int, int, bytes]]) -> float:
    """When the kernel received what was read with `ancillary` (SO_TIMESTAMPNS)."""
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = struct.unpack("qq", value[:16])
            return seconds + nanoseconds / 1e9
    return time.time()


def _headers(text: str) -> tuple[str, list[tuple[str, str]]]:
    head = text.split("\r\n\r\n", 1)[0]
    first, *lines = head.split("\r\n")
    pairs = []
    for line in lines:
        name, _, value = line.partition(":")
        pairs.append((name.strip(), value.strip()))
    return first, pairs


def _all(headers: list[tuple[str, str]], *names: str) -> list[str]:
    wanted = {n.lower() for n in names}
    return [value for name, value in headers if name.lower() in wanted]


class StampedReader(threading.Thread):
    """Reads its socket in a thread of its own, each read with the kernel's arrival
    time (SO_TIMESTAMPNS), so what is measured does not wait for this process's Python.
    Subclasses handle what was read (`_received`), say how much to read at most
    (`_wanted`) and do what is due meanwhile (`_idle`)."""

    def __init__(self, name: str, sock: socket.socket) -> None:
        super().__init__(name=name, daemon=True)
        self.sock = sock
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.settimeout(0.05)
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()
        self.join(2)
        self._closing()
        self.sock.close()

    def run(self) -> None:
        while not self._stopping.is_set():
            self._idle()
            try:
                data, ancillary, _, address = self.sock.recvmsg(self._wanted(), 256)
            except TimeoutError:
                continue
            except OSError:
                return
            self._received(data, _kernel_time(ancillary), address)

    def _idle(self) -> None:
        pass

    def _wanted(self) -> int:
        return 65536

    def _closing(self) -> None:
        pass

    def _received(self, data: bytes, arrived: float, address: Any) -> None:
        raise NotImplementedError


class Carrier(StampedReader):
    """A SIP trunk on UDP: answers INVITEs (100, 180, 200 after RING_MS, with the
    Record-Route copied), answers BYEs, and keeps the kernel's arrival time of each
    request."""

    def __init__(self, host: str, port: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((host, port))
        super().__init__("carrier", sock)
        self.host, self.port = host, port
        self.invites: dict[str, float] = {}
        self.byes: dict[str, float] = {}
        self._later: list[tuple[float, int, bytes, Any]] = []
        self._count = 0

    def _idle(self) -> None:
        now = time.time()
        while self._later and self._later[0][0] <= now:
            _, _, data, address = heapq.heappop(self._later)
            self.sock.sendto(data, address)

    def _received(self, data: bytes, arrived: float, address: Any) -> None:
        self._handle(data.decode(errors="replace"), arrived, address)

    def _send_later(self, delay: float, data: bytes, address: Any) -> None:
        self._count += 1
        heapq.heappush(self._later, (time.time() + delay, self._count, data, address))

    def _handle(self, text: str, arrived: float, address: Any) -> None:
        first, headers = _headers(text)
        method = first.split(" ", 1)[0]
        if first.startswith("SIP/2.0") or method == "ACK":
            return
        call_id = _all(headers, "Call-ID", "i")[0]
        if method == "INVITE":
            if call_id in self.invites:
                return  # a retransmission: our answers are on their way
            self.invites[call_id] = arrived
            tag = f"carrier{len(self.invites)}"
            self.sock.sendto(self._reply(headers, "100 Trying", None), address)
            self.sock.sendto(self._reply(headers, "180 Ringing", tag, record_route=True),
                             address)
            self._send_later(RING_MS / 1000, self._reply(headers, "200 OK", tag,
                                                         record_route=True, sdp=True), address)
        elif method == "BYE":
            self.byes.setdefault(call_id, arrived)
            self.sock.sendto(self._reply(headers, "200 OK", None), address)
        else:
            self.sock.sendto(self._reply(headers, "200 OK", None), address)

    def _reply(self, headers: list[tuple[str, str]], status: str, tag: str | None, *,
               record_route: bool = False, sdp: bool = False) -> bytes:
        lines = [f"SIP/2.0 {status}"]
        lines += [f"Via: {via}" for via in _all(headers, "Via", "v")]
        lines.append(f"From: {_all(headers, 'From', 'f')[0]}")
        to = _all(headers, "To", "t")[0]
        lines.append(f"To: {to};tag={tag}" if tag and ";tag=" not in to else f"To: {to}")
        lines.append(f"Call-ID: {_all(headers, 'Call-ID', 'i')[0]}")
        lines.append(f"CSeq: {_all(headers, 'CSeq')[0]}")
        if record_route:
            lines += [f"Record-Route: {rr}" for rr in _all(headers, "Record-Route")]
        lines.append(f"Contact: <sip:carrier@{self.host}:{self.port}>")
        body = ""
        if sdp:
            body = (f"v=0\r\no=carrier 1 1 IN IP4 {self.host}\r\ns=-\r\n"
                    f"c=IN IP4 {self.host}\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"
                    "a=rtpmap:0 PCMU/8000\r\n")
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode())}")
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


# --- the cash desk ----------------------------------------------------------------------------

class DeskSocket(StampedReader):
    """A cash desk following `/events` (RFC 6455) on a plain socket, keeping the
    kernel's arrival time of each message, as the carrier does for BYEs: the figure is
    the server's latency, not this process's scheduling. A TCP read carries the time of
    the last segment it took, so the desk reads no further than the end of the frame
    in hand (`websocket.bytes_wanted`): frames that queued up while this thread waited
    for the CPU are not all stamped with the last one's arrival. Text frames only,
    unmasked from the server; pings are answered."""

    def __init__(self, base_url: str, token: str) -> None:
        url = urlsplit(base_url)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        sock = socket.create_connection((host, port), timeout=5)
        self._buffer = websocket.upgrade(sock, host, port, f"{url.path}/events", token,
                                         read_size=1)
        super().__init__("desk", sock)
        self.received: list[tuple[float, dict[str, Any]]] = []
        self._frames(time.time())

    def _wanted(self) -> int:
        return websocket.bytes_wanted(self._buffer) or 65536

    def _closing(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(websocket.client_frame(websocket.CLOSE, b""))

    def _received(self, data: bytes, arrived: float, address: Any) -> None:
        if not data:
            self._stopping.set()   # the server closed the connection
            return
        self._buffer += data
        self._frames(arrived)

    def _frames(self, arrived: float) -> None:
        while (frame := websocket.next_frame(self._buffer)) is not None:
            opcode, payload, self._buffer = frame
            if opcode == websocket.TEXT:
                self.received.append((arrived, json.loads(payload)))
            elif opcode == websocket.PING:
                self.sock.sendall(websocket.client_frame(websocket.PONG, payload))


# --- the run --------------------------------------------------------------------------------

@dataclass
class Figures:
    cut_lag_ms: list[float] = field(default_factory=list)
    event_ms: list[float] = field(default_factory=list)
    auth_ms: list[float] = field(default_factory=list)
    relay_ms: list[float] = field(default_factory=list)
    calls: int = 0
    carrier_missing_bye: int = 0
    not_cut: int = 0


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the values at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


async def run(directory: Path, rounds: int, per_round: int) -> Figures:
    figures = Figures()
    kamailio = Kamailio.prepare(directory / "kamailio", children=8)
    database = directory / "cashdesk.sqlite3"
    engine = open_engine(f"sqlite:///{database}")
    upgrade(engine)
    sessions = session_factory(engine)
    # 0.02 + 4 s at 0.01 a call: the balance runs out about 4 s after the answers.
    balance = f"{Decimal('0.06') * per_round:.2f}"
    worlds = [make_world(sessions, balance=balance) for _ in range(rounds)]
    carrier = Carrier(kamailio.settings.carrier.host, kamailio.settings.carrier.port)
    carrier.start()
    kamailio.start()
    server = ServeProcess(directory / "serve", f"sqlite:///{database}", kamailio,
                          worlds[0][1], lifetime_s=60 + 15 * rounds)
    observer = None
    # When Kamailio held each INVITE for authorisation and went on with it.
    held: dict[str, tuple[float, float]] = {}
    # Kamailio's own stamp (seconds, to the microsecond) of each call event.
    stamps: dict[tuple[str, str], float] = {}
    try:
        await server.start()
        # A second evapi client sees the events too (the server's connection came first,
        # so authorisation requests still go to the server alone).
        evapi = kamailio.settings.evapi
        def on_message(message: dict[str, Any]) -> None:
            kind = str(message.get("type"))
            if kind == "started" and "invite_ts" in message:
                held.setdefault(message["call_id"], (float(message["invite_ts"]),
                                                     float(message["resumed_ts"])))
            if kind in PBX_EVENTS.values() and "ts" in message:
                stamps.setdefault((message["call_id"], kind), float(message["ts"]))
        observer = EvapiClient(evapi.host, evapi.port, on_message)
        await observer.async_start()
        await observer.async_wait_connected(5)
        async with aiohttp.ClientSession() as http:
            for number, (shop, token) in enumerate(worlds, start=1):
                before = {c.pbx_call_id for c in all_calls(sessions)}
                await one_round(http, server, kamailio, directory / f"round{number}",
                                number, token, per_round, figures, carrier, sessions, before,
                                stamps)
                print(f"round {number}: {per_round} calls; cut-off lag so far p50 "
                      f"{percentile(figures.cut_lag_ms, 0.5):.2f} ms, max "
                      f"{max(figures.cut_lag_ms):.2f} ms", flush=True)
        for call_id, (invite_ts, resumed_ts) in held.items():
            figures.auth_ms.append((resumed_ts - invite_ts) * 1000)
            figures.relay_ms.append((stamps[(call_id, "started")] - resumed_ts) * 1000)
    finally:
        if observer is not None:
            await observer.async_stop()
        server.kill()
        kamailio.stop()
        carrier.stop()
        engine.dispose()
    return figures


async def one_round(http: aiohttp.ClientSession, server: ServeProcess, kamailio: Kamailio,
                    directory: Path, number: int, token: str, per_round: int,
                    figures: Figures, carrier: Carrier, sessions: Any,
                    before: set[str], stamps: dict[tuple[str, str], float]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    cabins = []
    for n in range(1, per_round + 1):
        async with http.post(f"{server.base}/cabins", headers=headers,
                             json={"name": f"Cabin {n}",
                                   "sip_username": f"r{number}c{n}"}) as response:
            body = await response.json()
            assert response.status == 201, body
            cabins.append(CabinLogin(body["cabin"]["id"], f"r{number}c{n}",
                                     body["sip_password"]))

    def sipp(scenario: str, cabin: CabinLogin, **kwargs: Any) -> Sipp:
        return Sipp.build(directory, scenario, local_host=CABIN_HOST,
                          remote=kamailio.settings.listen, cabin=cabin.sip_username,
                          password=cabin.sip_password, service=NUMBER,
                          name=f"{scenario}-{cabin.sip_username}", **kwargs)

    registered = await asyncio.gather(*(sipp("cabin_register", c).async_run() for c in cabins))
    assert all(r.ok for r in registered), [r.describe() for r in registered if not r.ok]
    desk = DeskSocket(server.base, token)
    desk.start()
    try:
        results = await asyncio.gather(*(sipp("cabin_call_until_bye", c, timeout_s=20)
                                          .async_run() for c in cabins))
        for result in results:
            assert result.ok, result.describe()
        deadline = time.monotonic() + 5
        while True:
            calls = [c for c in all_calls(sessions) if c.pbx_call_id not in before]
            if len(calls) == per_round and all(c.state.is_final for c in calls):
                break
            assert time.monotonic() < deadline, "the calls did not end"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
    finally:
        desk.stop()
    for call in calls:
        figures.calls += 1
        if call.state.value != "cut" or call.ended_at is None:
            figures.not_cut += 1
            continue
        bye = carrier.byes.get(call.pbx_call_id)
        if bye is None:
            figures.carrier_missing_bye += 1
            continue
        figures.cut_lag_ms.append((bye - epoch_ms(call.ended_at) / 1000) * 1000)
    seen: set[tuple[str, str]] = set()
    for at, message in desk.received:
        if message.get("type") != "event" or message.get("kind") != "call":
            continue
        data = message["data"]
        key = (data["pbx_call_id"], data["state"])
        stamp = stamps.get((data["pbx_call_id"], PBX_EVENTS.get(data["state"], "")))
        if stamp is None or key in seen:
            continue
        seen.add(key)
        figures.event_ms.append((at - stamp) * 1000)


#: Set in the copy of this script that does the run (see `run_behind_the_switch`).
BEHIND = "CASHDESK_CUTOFF_BENCH_BEHIND"


def run_behind_the_switch() -> int | None:
    """Run this script again in a session of its own whose scheduling group (Linux's
    autogroup) has the lowest priority, and return its exit status; None: this is that
    run, or Linux groups nothing here (run as is).

    This process is the carrier, the desk and the observer: the other machines of a
    real shop (the carrier's is far away, the desk's screen waits on no one), here on
    the two cores Kamailio and the server need, like the SIPp phones, which run at the
    lowest priority for that reason (tests/pbx/harness.py). It only stands by: what it
    times is the kernel's arrival time or Kamailio's own stamps, so giving way delays
    none of the figures, only its own answers (the carrier's 180 and 200, after which
    the instants are computed). Kamailio and the server are sessions of their own at
    the usual priority. 3 runs of 12 rounds each way: authorisation added p99 6.05 →
    4.27 ms, event → desk p99 11.27 → 7.76, cut-off p50 4.85 → 3.23."""
    if os.environ.get(BEHIND) or not Path("/proc/self/autogroup").exists():
        return None
    child = subprocess.Popen([sys.executable, __file__, *sys.argv[1:]],
                             env={**os.environ, BEHIND: "1"}, start_new_session=True)
    try:
        Path(f"/proc/{child.pid}/autogroup").write_text("19")
    except OSError as error:
        print(f"(could not lower the benchmark's own priority: {error})", flush=True)
    try:
        return child.wait()
    except KeyboardInterrupt:      # its own session hears no Ctrl-C from the terminal
        child.send_signal(signal.SIGINT)
        return child.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=24)
    parser.add_argument("--calls-per-round", type=int, default=10)
    args = parser.parse_args()
    behind = run_behind_the_switch()
    if behind is not None:
        return behind
    with tempfile.TemporaryDirectory(prefix="cashdesk-cutoff-bench-") as tmp:
        figures = asyncio.run(run(Path(tmp), args.rounds, args.calls_per_round))
    print(f"{figures.calls} calls in {args.rounds} rounds of {args.calls_per_round} at once; "
          f"cut by the server: {figures.calls - figures.not_cut}; "
          f"carrier legs without a BYE: {figures.carrier_missing_bye}")
    for label, values in (("cut-off lag (instant → BYE at the carrier)", figures.cut_lag_ms),
                          ("PBX event → desk's WebSocket", figures.event_ms),
                          ("authorisation added to setup", figures.auth_ms),
                          ("then routing on to the carrier", figures.relay_ms)):
        print(f"{label}: {len(values)} samples, p50 {percentile(values, 0.5):.2f} ms, "
              f"p99 {percentile(values, 0.99):.2f} ms, max {max(values):.2f} ms")
    print(f"METRIC cutoff_lag_p50_ms {percentile(figures.cut_lag_ms, 0.5):.2f} ms")
    print(f"METRIC cutoff_lag_p99_ms {percentile(figures.cut_lag_ms, 0.99):.2f} ms")
    print(f"METRIC event_to_client_p99_ms {percentile(figures.event_ms, 0.99):.2f} ms")
    print(f"METRIC auth_added_latency_p99_ms {percentile(figures.auth_ms, 0.99):.2f} ms")
    return 0 if figures.carrier_missing_bye == 0 and figures.not_cut == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
