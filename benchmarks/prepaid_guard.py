"""Prepaid guard benchmark: what one recompute of the exhaustion instant costs, what the
guard's bookkeeping costs per call at 50 new calls a second, and what the tracker's
database work costs per call.

    python benchmarks/prepaid_guard.py [--runs N]

1. `exhaustion_instant` over 50 and 500 answered calls (mixed 60/60, 30/6 and 1/1
   rates, some with connection fees, answered over the last ten minutes, the balance
   running out about five minutes ahead), a search from scratch: nothing carried over
   from the run before but each meter's compiled term, which the guard makes once per
   answered call (the time to make them all is printed beside, not counted).
2. Churn on a guard holding 50 / 500 live calls on one shop account under a prepaid
   reseller (two levels per call), 50 new calls a second: one "new call" = authorise
   (with its exact maximum talk time) + answer + one older call finishing + the next
   deadline, and every 200 ms the backstops of all calls (as the tracker sends them).
   Also printed (no METRIC): the same with 500 live calls on one account whose balance
   lasts days, answered a second after their authorisation, the oldest ending — the
   case of benchmarks/server.py.
3. The tracker on a SQLite file: a whole call (authorise, started, ringing, answered,
   ended with its charge), each step one committed transaction, 100 / 500 other calls
   live on the same shop account.

Each figure is the median of `--runs` runs; every run is printed.

Figures (DESIGN.md format), after the human-readable output:
    METRIC guard_recompute_50_ms <ms> ms      one exhaustion search, 50 calls
    METRIC guard_recompute_500_ms <ms> ms     one exhaustion search, 500 calls
    METRIC guard_new_call_50_ms <ms> ms       guard work per new call, 50 live
    METRIC guard_new_call_500_ms <ms> ms      guard work per new call, 500 live
    METRIC tracker_call_100_sqlite_ms <ms> ms   a call's five steps on SQLite, 100 live
    METRIC tracker_call_500_sqlite_ms <ms> ms   the same, 500 live
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cashdesk.clock import FakeClock
from cashdesk.prepaid.budget import Meter, SearchStats, exhaustion_instant
from cashdesk.prepaid.guard import Draw, PrepaidGuard, account_budget
from cashdesk.prepaid.timeline import epoch_ms
from cashdesk.rating.pricing import RateTerms

STEPS = [(60, 60), (30, 6), (1, 1)]
RATES = ["0.02", "0.10", "0.35", "1.20"]


def random_terms(rng: random.Random) -> RateTerms:
    initial, subsequent = rng.choice(STEPS)
    return RateTerms(str(rng.randint(1, 999)), "x", Decimal(rng.choice(RATES)),
                     Decimal(rng.choice(["0", "0", "0.05"])), initial, subsequent)


def bench_recompute(count: int, runs: int) -> float:
    rng = random.Random(count)
    now = 10**12
    meters = [Meter(random_terms(rng), "EUR", now - rng.randint(0, 600_000))
              for _ in range(count)]
    limit = sum(m.reserved(now + 300_000) for m in meters)
    times = []
    for run in range(runs):
        for meter in meters:
            meter.answered_ms = meter.answered_ms      # forget its compiled term
        start = time.perf_counter()
        for meter in meters:
            meter.compiled()                           # once per answered call
        compiled = (time.perf_counter() - start) * 1000
        stats: list[SearchStats] = []
        start = time.perf_counter()
        instant = exhaustion_instant(meters, limit, now, stats)
        elapsed = (time.perf_counter() - start) * 1000
        times.append(elapsed)
        print(f"  recompute, {count} calls, run {run + 1}: {elapsed:.3f} ms "
              f"({stats[-1].evaluations} meter evaluations, {stats[-1].iterations} "
              f"probes in a {stats[-1].window_ms} ms window; cut in "
              f"{(instant - now) / 1000 if instant else 0:.1f} s; compiling the "
              f"meters before: {compiled:.3f} ms)")
    return statistics.median(times)


def _new_call(guard: PrepaidGuard, rng: random.Random, live: list[str]) -> None:
    call = uuid.uuid4().hex
    guard.authorise(call, [Draw(account_budget(1), random_terms(rng)),
                           Draw(account_budget(2), random_terms(rng))])
    guard.answer(call)
    live.append(call)


def bench_churn(count: int, runs: int, ops: int = 100) -> float:
    times = []
    for run in range(runs):
        rng = random.Random(run)
        clock = FakeClock()
        guard = PrepaidGuard(clock)
        shop, reseller = account_budget(1), account_budget(2)
        guard.set_budget(shop, 10**9, "EUR")
        guard.set_budget(reseller, 10**9, "EUR")
        live: list[str] = []
        for _ in range(count):
            _new_call(guard, rng, live)
            clock.advance(0.02)
        # Balances that run out in a few minutes, so every search has real work.
        now = epoch_ms(clock.now())
        for key in (shop, reseller):
            guard.set_budget(key, guard.limit(key) - guard.available(key, now + 240_000), "EUR")
        guard.backstops()
        guard.next_deadline()
        guard.take_stats()
        start = time.perf_counter()
        for op in range(ops):
            clock.advance(0.02)                     # 50 new calls a second
            _new_call(guard, rng, live)
            guard.finish(live.pop(rng.randrange(len(live) - 1)), epoch_ms(clock.now()))
            guard.next_deadline()
            if op % 10 == 9:                        # backstops every 200 ms, as the tracker
                guard.backstops()
        elapsed = (time.perf_counter() - start) * 1000 / ops
        times.append(elapsed)
        print(f"  new call with {count} live, run {run + 1}: {elapsed:.2f} ms per call "
              f"({len(guard.take_stats()) / ops:.1f} searches per call)")
    return statistics.median(times)


def _one_account_op(guard: PrepaidGuard, rng: random.Random, ringing: list[str],
                    live: list[str]) -> None:
    # A new call authorised; the one authorised a second (50 calls) ago answered.
    call = uuid.uuid4().hex
    guard.authorise(call, [Draw(account_budget(1), random_terms(rng))])
    ringing.append(call)
    if len(ringing) > 50:
        answered = ringing.pop(0)
        guard.answer(answered)
        live.append(answered)


def bench_churn_one_account(count: int, runs: int, ops: int = 200) -> float:
    """The server's case (benchmarks/server.py): one shop account whose balance lasts
    days, calls answered a second after their authorisation, the oldest ending."""
    times = []
    for run in range(runs):
        rng = random.Random(run)
        clock = FakeClock()
        guard = PrepaidGuard(clock)
        guard.set_budget(account_budget(1), 10**10, "EUR")      # 1,000,000.00
        ringing: list[str] = []
        live: list[str] = []
        while len(live) < count:
            _one_account_op(guard, rng, ringing, live)
            clock.advance(0.02)
        guard.backstops()
        guard.next_deadline()
        start = time.perf_counter()
        for op in range(ops):
            clock.advance(0.02)
            _one_account_op(guard, rng, ringing, live)
            guard.finish(live.pop(0), epoch_ms(clock.now()))
            guard.next_deadline()
            if op % 10 == 9:
                guard.backstops()
        elapsed = (time.perf_counter() - start) * 1000 / ops
        times.append(elapsed)
        print(f"  new call with {count} live on one account lasting days, run {run + 1}: "
              f"{elapsed:.2f} ms per call")
    return statistics.median(times)


def bench_tracker(runs: int, live: int) -> float:
    from cashdesk.pbx.bridge import AuthorisationRequest
    from cashdesk.pbx.events import CallAnswered, CallEnded, CallRinging, CallStarted
    from cashdesk.store.database import open_engine, session_factory, upgrade
    from tests.calls.factories import Desk, make_shop

    times = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        upgrade(engine)
        sessions = session_factory(engine)
        clock = FakeClock()
        with sessions.begin() as db:
            shop = make_shop(db, clock, balance="100000", cabins=live + 1)
        desk = Desk.open(sessions, clock)
        for cabin in shop.cabins[1:]:
            desk.connect(cabin, "0044207946000")
        cabin = shop.cabins[0]
        for run in range(runs):
            call = uuid.uuid4().hex
            start = time.perf_counter()
            desk.tracker.authorise(AuthorisationRequest(call, cabin, "0033612345678",
                                                        at=clock.now()))
            desk.tracker.handle(CallStarted(call, cabin, "0033612345678", at=clock.now()))
            desk.tracker.handle(CallRinging(call, at=clock.now()))
            desk.tracker.handle(CallAnswered(call, at=clock.now()))
            clock.advance(61)
            desk.tracker.handle(CallEnded(call, at=clock.now()))
            elapsed = (time.perf_counter() - start) * 1000
            times.append(elapsed)
            print(f"  tracker, one call (5 transactions), {live} live, run {run + 1}: "
                  f"{elapsed:.1f} ms")
        engine.dispose()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    recompute = {n: bench_recompute(n, args.runs) for n in (50, 500)}
    churn = {n: bench_churn(n, max(3, args.runs // 2)) for n in (50, 500)}
    one_account = bench_churn_one_account(500, max(3, args.runs // 2))
    print(f"  guard work per new call, 500 live on one account lasting days: "
          f"{one_account:.3f} ms (median)")
    tracker = {n: bench_tracker(args.runs, n) for n in (100, 500)}
    for n in (50, 500):
        print(f"METRIC guard_recompute_{n}_ms {recompute[n]:.3f} ms")
    for n in (50, 500):
        print(f"METRIC guard_new_call_{n}_ms {churn[n]:.3f} ms")
    for n in (100, 500):
        print(f"METRIC tracker_call_{n}_sqlite_ms {tracker[n]:.1f} ms")


if __name__ == "__main__":
    main()
