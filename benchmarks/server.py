"""Sync server benchmark: calls through the real billing core, fanned out to desks.

    python benchmarks/server.py [--seconds 30] [--warmup 10] [--clients 20]
                                [--concurrent 500] [--rate 50]

The real server (`create_app`: tracker on its writer thread, prepaid guard, SQLite
file in a temporary directory, live board, hub, WebSocket sockets) listens on
loopback. A scripted PBX inside the server process (the bridge interface, as Kamailio's
or Asterisk's bridge would use it) starts `--rate` calls a second — authorised, then
started, ringing 0.3 s later, answered 0.7 s after that, talking long enough that about
`--concurrent` calls are up at once — in a shop with one cabin per call and a balance
that never runs out. `--clients` desks follow `/events` from another process.

Latency is measured from the moment the PBX event is handed to the service
(`listener.on_event`) to its `call` event's receipt at each desk (CLOCK_MONOTONIC is
shared by the two processes), for events after the warm-up; the server's CPU is its
process time (all threads, the scripted PBX included) over the same window.

Figures (DESIGN.md format), after the human-readable output:
    METRIC event_fanout_p99_ms <ms> ms     PBX event → desk, 99th percentile (goal ≤ 10)
    METRIC event_fanout_p50_ms <ms> ms     median
    METRIC server_cpu_percent <%> %        the server process, share of one core
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import ClientSession, WSMsgType, web

from cashdesk.auth.roles import Role
from cashdesk.clock import SystemClock
from cashdesk.ledger.accounts import record_topup
from cashdesk.ledger.kinds import TopupKind
from cashdesk.money import Money
from cashdesk.pbx.bridge import AuthorisationRequest, CutReason, LiveCall, PbxBridge
from cashdesk.pbx.events import (
    CallAnswered,
    CallEnded,
    CallRinging,
    CallStarted,
    HangupBy,
    PbxEvent,
)
from cashdesk.rating.deck import import_deck
from cashdesk.server.app import create_app
from cashdesk.server.auth import issue_token
from cashdesk.server.billing import BILLING, HUB
from cashdesk.server.config import ServerConfig
from cashdesk.shops import create_buy_tariff, create_callshop, create_reseller
from cashdesk.store.database import open_engine, session_factory, upgrade
from cashdesk.store.models import Cabin, Tariff, User
from cashdesk.users import create_user

DECK_SELL = (b"prefix,destination,rate,fee,initial,subsequent\n"
             b"44,UK,0.20,0,60,60\n33,France,0.15,0.05,30,6\n1,USA,0.05,0,1,1\n"
             b"212,Morocco,0.90,0.10,60,60\n")
DECK_BUY = (b"prefix,destination,rate,fee,initial,subsequent\n"
            b"44,UK,0.10,0,1,1\n33,France,0.08,0.02,30,6\n1,USA,0.02,0,1,1\n"
            b"212,Morocco,0.60,0.05,1,1\n")
NUMBERS = ["00442079460000", "0033140000000", "0012125550100", "00212522000000"]
STATE = {"started": "dialing", "ringing": "ringing", "answered": "answered",
         "ended": "ended"}


# --- the world ---------------------------------------------------------------------------

def build_database(path: Path, cabins: int) -> tuple[list[str], int]:
    """A migrated SQLite file with one shop of `cabins` cabins; its operator's user id."""
    engine = open_engine(f"sqlite:///{path}")
    upgrade(engine)
    clock = SystemClock()
    with session_factory(engine).begin() as session:
        reseller = create_reseller(session, clock, name="Bench reseller", currency="EUR")
        buy = create_buy_tariff(session, clock, reseller, "Bench wholesale")
        import_deck(session, clock, tariff=buy, data=DECK_BUY)
        made = create_callshop(session, clock, reseller, name="Bench shop", currency="EUR",
                               admin_username="bench-admin",
                               admin_password="correct horse battery", buy_tariff=buy)
        import_deck(session, clock, tariff=session.get_one(Tariff, made.sell_tariff.id),
                    data=DECK_SELL)
        names = [f"bench-{n}" for n in range(cabins)]
        session.add_all(Cabin(callshop_id=made.callshop.id, name=f"Cabin {n}", position=n,
                              sip_username=name) for n, name in enumerate(names))
        record_topup(session, clock, made.callshop.account,
                     Money.of("1000000", "EUR"), TopupKind.CASH)
        operator = create_user(session, clock, username="bench-operator",
                               password="correct horse battery", role=Role.OPERATOR,
                               reseller_id=reseller.id, callshop=made.callshop)
        operator_id = operator.id
    engine.dispose()
    return names, operator_id


def mint_tokens(path: Path, user_id: int, count: int) -> list[str]:
    engine = open_engine(f"sqlite:///{path}")
    with session_factory(engine).begin() as session:
        user = session.get_one(User, user_id)
        tokens = [issue_token(session, user, datetime.now(UTC), timedelta(hours=2))[0]
                  for _ in range(count)]
    engine.dispose()
    return tokens


# --- the PBX -----------------------------------------------------------------------------

class ScriptedPbx(PbxBridge):
    """The bridge interface driven by the benchmark; stamps each event handed over."""

    name = "bench"

    def __init__(self) -> None:
        super().__init__()
        self.stamps: dict[tuple[str, str], int] = {}
        self.cuts = 0

    async def async_start(self) -> None: ...

    async def async_stop(self) -> None: ...

    async def cut(self, pbx_call_id: str, reason: CutReason) -> None:
        self.cuts += 1

    async def set_backstop(self, pbx_call_id: str, max_duration_s: int) -> None: ...

    async def list_live_calls(self) -> list[LiveCall]:
        return []

    def emit(self, event: PbxEvent) -> None:
        self.stamps[(event.pbx_call_id, STATE[event.kind.value])] = time.monotonic_ns()
        self.listener.on_event(event)


@dataclass
class Driver:
    pbx: ScriptedPbx
    cabins: deque[str]
    rate: float
    talk_s: float
    started: int = 0
    refused: int = 0
    live: int = 0
    peak: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def run(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        interval, next_at, end = 1 / self.rate, loop.time(), loop.time() + seconds
        ids = itertools.count(1)
        while next_at < end:
            if self.cabins:
                task = asyncio.create_task(self.call(f"bench-call-{next(ids)}",
                                                     self.cabins.popleft()))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    async def call(self, call: str, cabin: str) -> None:
        try:
            number = random.choice(NUMBERS)
            now = datetime.now(UTC)
            answer = await self.pbx.listener.async_authorise(
                AuthorisationRequest(call, cabin, number, at=now))
            if not answer.allowed:
                self.refused += 1
                return
            self.started += 1
            self.live += 1
            self.peak = max(self.peak, self.live)
            self.pbx.emit(CallStarted(call, cabin, number, at=datetime.now(UTC)))
            await asyncio.sleep(0.3)
            self.pbx.emit(CallRinging(call, at=datetime.now(UTC)))
            await asyncio.sleep(0.7)
            self.pbx.emit(CallAnswered(call, at=datetime.now(UTC)))
            await asyncio.sleep(self.talk_s * random.uniform(0.8, 1.2))
            self.pbx.emit(CallEnded(call, "normal clearing", HangupBy.CABIN,
                                    at=datetime.now(UTC)))
            self.live -= 1
        finally:
            self.cabins.append(cabin)


class Probe:
    """Where the time goes on the server's side, over the measured window: the writer
    thread's batches (events, with the authorisations decided before and between them),
    the authorisations the writer took together and how long deciding them took, those
    allowed from memory, and the delay from a PBX event to its publication (before any
    desk is written to)."""

    def __init__(self, tracker: Any, hub: Any, pbx: ScriptedPbx) -> None:
        self.batches: list[tuple[int, float]] = []
        self.authorisations: list[tuple[int, float]] = []
        self.to_publish: list[float] = []
        self.from_memory: list[float] = []
        self._on = False
        handle_many, publish = tracker.handle_many, hub.publish
        from_memory = tracker.authorise_from_memory
        probe = self

        def timed_from_memory(request: Any) -> Any:
            began = time.perf_counter()
            decision = from_memory(request)
            if probe._on and decision is not None:
                probe.from_memory.append((time.perf_counter() - began) * 1000)
            return decision

        class TimedQueue:
            """The service's waiting authorisations, timed from taken to answered."""

            def __init__(self, queue: Any) -> None:
                self.queue, self.taken = queue, 0.0

            def take(self) -> Any:
                self.taken = time.perf_counter()
                return self.queue.take()

            def answer(self, decisions: list[Any]) -> None:
                if probe._on:
                    probe.authorisations.append(
                        (len(decisions), (time.perf_counter() - self.taken) * 1000))
                self.queue.answer(decisions)

        def timed_handle_many(events: Any, asking: Any = None) -> None:
            events = list(events)
            began = time.perf_counter()
            try:
                handle_many(events, None if asking is None else TimedQueue(asking))
            finally:
                if self._on:
                    self.batches.append((len(events), (time.perf_counter() - began) * 1000))

        def timed_publish(shop: int, kind: str, data: dict[str, Any]) -> int:
            if self._on and kind == "call":
                stamped = pbx.stamps.get((data["pbx_call_id"], data["state"]))
                if stamped is not None:
                    self.to_publish.append((time.monotonic_ns() - stamped) / 1e6)
            return publish(shop, kind, data)

        tracker.handle_many = timed_handle_many
        tracker.authorise_from_memory = timed_from_memory
        hub.publish = timed_publish

    def start(self) -> None:
        self._on = True

    def stop(self) -> None:
        self._on = False

    def report(self, wall: float) -> list[str]:
        sizes = [size for size, _ in self.batches]
        spent = [ms for _, ms in self.batches]
        asked = [size for size, _ in self.authorisations]
        deciding = [ms for _, ms in self.authorisations]
        busy = sum(spent) / 1000 / wall * 100
        lines = []
        if spent:
            taken = (f"; authorisations taken {len(deciding)} times (mean "
                     f"{statistics.mean(asked):.1f}, decided in p50 "
                     f"{statistics.median(deciding):.2f} ms, p99 "
                     f"{percentile(deciding, 0.99):.2f} ms)" if deciding else "")
            lines.append(f"writer thread: busy {busy:.0f} % — {len(self.batches)} event "
                         f"batches with the authorisations among them (mean "
                         f"{statistics.mean(sizes):.1f} events, p50 "
                         f"{statistics.median(spent):.2f} ms, p99 "
                         f"{percentile(spent, 0.99):.2f} ms){taken}")
        if self.from_memory:
            lines.append(f"authorisations allowed from memory (on the loop, or by the writer "
                         f"before any statement): {len(self.from_memory)} "
                         f"(decided in p50 {statistics.median(self.from_memory):.3f} ms, p99 "
                         f"{percentile(self.from_memory, 0.99):.3f} ms)")
        if self.to_publish:
            lines.append(f"PBX event → published (a live move as soon as its event is "
                         f"applied; before the desks): p50 "
                         f"{statistics.median(self.to_publish):.2f} ms, p99 "
                         f"{percentile(self.to_publish, 0.99):.2f} ms")
        return lines


# --- the desks (another process) ---------------------------------------------------------

def desks_main(url: str, tokens: list[str], seconds: float, ready: Any, results: Any) -> None:
    asyncio.run(_desks(url, tokens, seconds, ready, results))


async def _desks(url: str, tokens: list[str], seconds: float, ready: Any,
                 results: Any) -> None:
    async with ClientSession() as http:
        sockets = [await http.ws_connect(url, headers={"Authorization": f"Bearer {token}"},
                                         max_msg_size=0) for token in tokens]
        ready.put(len(sockets))
        records: list[list[tuple[str, str, int]]] = [[] for _ in sockets]
        problems: list[str] = []

        async def follow(index: int, ws: Any) -> None:
            last = None
            mine = records[index]
            while True:
                message = await ws.receive()
                received = time.monotonic_ns()
                if message.type is not WSMsgType.TEXT:
                    if message.type is WSMsgType.CLOSE:
                        problems.append(f"desk {index} closed with {message.data}")
                    return
                data = json.loads(message.data)
                if data["type"] == "hello":
                    last = data["seq"]
                    continue
                if data["type"] != "event":
                    continue
                if data["seq"] != last + 1:
                    problems.append(f"desk {index}: gap {last} → {data['seq']}")
                last = data["seq"]
                if data["kind"] == "call":
                    body = data["data"]
                    mine.append((body["pbx_call_id"], body["state"], received))

        followers = [asyncio.create_task(follow(i, ws)) for i, ws in enumerate(sockets)]
        await asyncio.sleep(seconds)
        for ws in sockets:
            await ws.close()
        await asyncio.gather(*followers, return_exceptions=True)
        results.put((records, problems))


# --- the run -----------------------------------------------------------------------------

def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    database = directory / "bench.sqlite3"
    cabins, operator_id = build_database(database, int(args.concurrent * 1.4))
    tokens = mint_tokens(database, operator_id, args.clients)
    pbx = ScriptedPbx()
    config = ServerConfig(database_url=f"sqlite:///{database}", migrate=False,
                          log_file=directory / "server.log", log_level="WARNING")
    app = create_app(config, pbx=lambda context: pbx)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}/api/v1/events"

    context = multiprocessing.get_context("spawn")
    ready, results = context.Queue(), context.Queue()
    total = args.seconds + 3
    desks = context.Process(target=desks_main, args=(url, tokens, total, ready, results))
    desks.start()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, ready.get, True, 60)
    hub = app[HUB]
    while hub.subscriber_count() < args.clients:
        await asyncio.sleep(0.05)

    probe = Probe(app[BILLING].tracker, hub, pbx)
    driver = Driver(pbx, deque(cabins), args.rate, max(1.0, args.concurrent / args.rate - 1.0))
    drive = asyncio.create_task(driver.run(args.seconds))
    await asyncio.sleep(args.warmup)
    window_start = time.monotonic_ns()
    cpu_start, wall_start = time.process_time(), time.monotonic()
    live_at_start = driver.live
    probe.start()
    await drive
    wall = time.monotonic() - wall_start
    cpu = (time.process_time() - cpu_start) / wall * 100
    probe.stop()
    window_end = time.monotonic_ns()
    peak = driver.peak
    records, problems = await loop.run_in_executor(None, results.get, True, total + 60)
    desks.join(30)
    for task in list(driver.tasks):
        task.cancel()
    published = hub.published
    await runner.cleanup()

    latencies: list[float] = []
    missing = 0
    for desk in records:
        seen = {(call, state): at for call, state, at in desk}
        for key, stamped in pbx.stamps.items():
            if not window_start <= stamped <= window_end:
                continue
            received = seen.get(key)
            if received is None:
                missing += 1
            else:
                latencies.append((received - stamped) / 1e6)
    return {"latencies": latencies, "missing": missing, "problems": problems,
            "cpu": cpu, "started": driver.started, "refused": driver.refused,
            "peak": peak, "live_at_window": live_at_start, "published": published,
            "cuts": pbx.cuts, "probe": probe, "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cashdesk-bench-") as directory:
        result = asyncio.run(run(args, Path(directory)))
    latencies = result["latencies"]
    print(f"calls started: {result['started']} ({args.rate:g}/s), refused: "
          f"{result['refused']}, cut: {result['cuts']}; live at the window's start: "
          f"{result['live_at_window']}, peak {result['peak']}")
    print(f"events published per shop: {result['published']}; desks: {args.clients}")
    print(f"call events measured after {args.warmup:g} s of warm-up: {len(latencies)} "
          f"deliveries, {result['missing']} missing")
    for problem in result["problems"][:10]:
        print(f"  problem: {problem}")
    if not latencies:
        raise SystemExit("no deliveries measured")
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    print(f"PBX event → desk: p50 {p50:.2f} ms, p90 {percentile(latencies, 0.9):.2f} ms, "
          f"p99 {p99:.2f} ms, max {max(latencies):.2f} ms")
    for line in result["probe"].report(result["wall"]):
        print(line)
    print(f"server process CPU: {result['cpu']:.0f} % of one core "
          f"(the scripted PBX included)")
    print(f"METRIC event_fanout_p99_ms {p99:.2f} ms")
    print(f"METRIC event_fanout_p50_ms {p50:.2f} ms")
    print(f"METRIC server_cpu_percent {result['cpu']:.0f} %")


if __name__ == "__main__":
    main()
