"""Rating benchmark: import a realistic 200,000-prefix deck, then rate calls on one core.

    python benchmarks/rating.py [--prefixes N] [--calls N] [--passes N] [--seed N]

The deck has every country calling code of the numbering plan (phonenumbers) with
national ranges below it (mobile and geographic blocks, North American area codes and
exchanges), mixed increments (60/60, 30/6, 1/1), some connection fees and a share of
rows without a destination name (filled in from the numbering plan on import). It is
written as CSV, imported through `import_deck` into a fresh SQLite database and loaded
into a `Rater`.

Then each operation is what the server does for a call and on every tile refresh:
normalise the dialled number, find the cabin's sell rate, and charge a duration.
Dialled numbers come in the shapes cabins send (`00…`, `+…`, `011…`, spaced `+44 20…`,
`sip:…@host`), drawn uniformly over all 200,000 ranges (the worst case for memory
caches: real traffic favours a few dozen destinations). The metric is the best of a
few passes in wall-clock time (other processes may share the machine); every pass is
printed, with the rate per second of CPU time actually used, which other load
disturbs less.

Figures (DESIGN.md format), after the human-readable output:
    METRIC deck_import_s <s> s        CSV bytes → database (committed) → index loaded
    METRIC rating_ops_per_s <n> 1/s   normalise + lookup + charge, one core
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from cashdesk.clock import SystemClock
from cashdesk.rating.deck import format_deck, import_deck
from cashdesk.rating.destinations import destination_name
from cashdesk.rating.pricing import charge
from cashdesk.rating.rater import Rater
from cashdesk.shops import create_callshop, create_reseller
from cashdesk.store.database import open_engine, session_factory, upgrade
from cashdesk.store.models import Cabin, Tariff

INCREMENTS = ((60, 60), (30, 6), (1, 1))
CURRENCY = "EUR"
# Calling codes with many ranges in real decks get a bigger share of the prefixes.
BIG_CODES = {"1": 12, "7": 3, "20": 3, "33": 3, "34": 3, "39": 3, "44": 4, "49": 4,
             "52": 4, "55": 4, "62": 3, "63": 3, "86": 4, "91": 5, "92": 3, "234": 4,
             "880": 3, "212": 2, "213": 2, "216": 2, "90": 2}


def build_deck(prefix_count: int, rng: random.Random) -> list[tuple[str, str, int, int,
                                                                    int, int, int]]:
    """Rows of (prefix, destination, rate sub-units, fee sub-units, initial, subsequent,
    grace), about `prefix_count` of them, unique prefixes."""
    codes = sorted(str(code) for code in COUNTRY_CODE_TO_REGION_CODE)
    weights = [BIG_CODES.get(code, 1) for code in codes]
    total_weight = sum(weights)
    rows: dict[str, tuple[str, str, int, int, int, int, int]] = {}
    for code, weight in zip(codes, weights):
        country = destination_name(code) or f"Network +{code}"
        initial, subsequent = rng.choice(INCREMENTS)
        fee = rng.choice((0, 0, 0, 0, 100, 250, 500))
        base = rng.randint(50, 4000)  # 0.005 – 0.4 per minute, in sub-units
        rows[code] = (code, country, base, fee, initial, subsequent, 0)
        share = prefix_count * weight // total_weight
        made = 0
        while made < share:
            # A block: a first national digit, then 1–6 more; deeper blocks are rarer.
            depth = rng.choices((1, 2, 3, 4, 5, 6), weights=(2, 6, 14, 24, 30, 24))[0]
            if code == "1":
                depth = rng.choice((3, 6, 6))  # area code, or area code + exchange
            national = str(rng.randint(1, 9)) + "".join(
                rng.choice("0123456789") for _ in range(depth - 1))
            prefix = code + national
            if prefix in rows:
                continue
            mobile = national[0] in "6789"
            rate = base + (rng.randint(0, base) if mobile else rng.randint(-base // 2, 0))
            name = f"{country} - {'Mobile' if mobile else 'Fixed'}"
            if rng.random() < 0.1:
                name = ""  # left for the importer to fill from the numbering plan
            rows[prefix] = (prefix, name, max(rate, 1), fee, initial, subsequent,
                            rng.choice((0, 0, 0, 5)))
            made += 1
    # Top up to the exact count with more North American exchanges.
    while len(rows) < prefix_count:
        prefix = "1" + str(rng.randint(200, 999)) + str(rng.randint(200, 999))
        rows.setdefault(prefix, (prefix, "", 100, 0, 6, 6, 0))
    return list(rows.values())[:prefix_count]


def dialled_numbers(prefixes: list[str], count: int, rng: random.Random) -> list[str]:
    """Numbers as cabins send them: a random range completed to a full number."""
    numbers = []
    for _ in range(count):
        prefix = rng.choice(prefixes)
        digits = prefix + "".join(rng.choice("0123456789")
                                  for _ in range(max(2, rng.randint(10, 13) - len(prefix))))
        shape = rng.random()
        if shape < 0.35:
            numbers.append("00" + digits)
        elif shape < 0.60:
            numbers.append("+" + digits)
        elif shape < 0.78:
            numbers.append(digits)
        elif shape < 0.83:
            numbers.append("011" + digits)
        elif shape < 0.95:
            numbers.append(f"+{digits[:2]} {digits[2:5]} {digits[5:8]}-{digits[8:]}")
        else:
            numbers.append(f"sip:00{digits}@10.0.0.1")
    return numbers


def durations(count: int, rng: random.Random) -> list[int]:
    """Answered talk times in ms: many short calls, a long tail, some within grace."""
    return [0 if rng.random() < 0.05 else int(rng.expovariate(1 / 240_000))
            for _ in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefixes", type=int, default=200_000)
    parser.add_argument("--calls", type=int, default=300_000)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20260105)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    clock = SystemClock()

    started = time.perf_counter()
    rows = build_deck(args.prefixes, rng)
    data = format_deck(rows).encode("utf-8")
    print(f"deck: {len(rows)} prefixes, {len(data) / 1e6:.1f} MB of CSV, "
          f"{sum(1 for row in rows if not row[1])} without a destination name "
          f"(built in {time.perf_counter() - started:.1f} s)")

    with tempfile.TemporaryDirectory(prefix="cashdesk-bench-") as directory:
        engine = open_engine(f"sqlite:///{directory}/bench.sqlite3")
        upgrade(engine)
        sessions = session_factory(engine)
        with sessions.begin() as session:
            reseller = create_reseller(session, clock, name="Bench reseller",
                                       currency=CURRENCY)
            shop = create_callshop(session, clock, reseller, name="Bench shop",
                                   currency=CURRENCY, admin_username="bench",
                                   admin_password="Bench-password-42")
            tariff_id = shop.sell_tariff.id
            cabin = Cabin(callshop_id=shop.callshop.id, name="Cabin 1",
                          sip_username="bench-cabin-1")
            session.add(cabin)
            session.flush()
            overrides = Cabin(callshop_id=shop.callshop.id, name="Cabin 2",
                              sip_username="bench-cabin-2")
            session.add(overrides)
        with sessions.begin() as session:
            # A handful of per-cabin overrides, as an owner would set them.
            import_deck(session, clock, cabin=overrides, locale="en",
                        data=b"44,,0.05\n33,,0.04\n212,,0.12\n")

        gc.collect()
        started = time.perf_counter()
        with sessions.begin() as session:
            tariff = session.get_one(Tariff, tariff_id)
            report = import_deck(session, clock, tariff=tariff, data=data, locale="en")
        stored = time.perf_counter()
        rater = Rater()
        with sessions() as session:
            rater.load(session)
        loaded = time.perf_counter()
        import_s = loaded - started
        print(f"import: {report.imported} rates parsed, checked and stored in "
              f"{stored - started:.2f} s ({report.names_filled} names filled), "
              f"index loaded in {loaded - stored:.2f} s: {import_s:.2f} s in all")
        engine.dispose()

    plan = rater.number_plan(shop.callshop.id)
    numbers = dialled_numbers([row[0] for row in rows], args.calls, rng)
    talk_ms = durations(args.calls, rng)
    # Every fourth call from the cabin with its own rates. The call tracker knows cabins
    # by id, which is what it passes.
    cabins = [cabin.id if i % 4 else overrides.id for i in range(args.calls)]
    calls = list(zip(numbers, cabins, talk_ms))

    normalise = plan.normalise
    rate_sell = rater.rate_sell
    rates: list[float] = []
    best_cpu = 0.0
    for attempt in range(1, args.passes + 1):
        gc.collect()
        billed = 0
        started, started_cpu = time.perf_counter(), time.process_time()
        for dialled, from_cabin, duration in calls:
            terms = rate_sell(from_cabin, normalise(dialled))
            if terms is not None:
                billed += charge(terms, duration, CURRENCY).billed_seconds
        elapsed = time.perf_counter() - started
        elapsed_cpu = time.process_time() - started_cpu
        rate, rate_cpu = len(calls) / elapsed, len(calls) / elapsed_cpu
        rates.append(rate)
        best_cpu = max(best_cpu, rate_cpu)
        print(f"pass {attempt}: {len(calls)} calls rated in {elapsed:.3f} s = "
              f"{rate:,.0f} ops/s wall clock, {rate_cpu:,.0f} ops/s of CPU time; "
              f"{billed / 3600:,.0f} hours billed")

    unrated = sum(1 for dialled, from_cabin, _ in calls[:10_000]
                  if rate_sell(from_cabin, normalise(dialled)) is None)
    if unrated:
        print(f"warning: {unrated} of 10000 sample calls found no rate")
    best = max(rates)
    print(f"rating: best {best:,.0f} ops/s, median {statistics.median(rates):,.0f} ops/s "
          f"(wall clock, one core); best {best_cpu:,.0f} ops/s of CPU time")
    print(f"METRIC deck_import_s {import_s:.2f} s")
    print(f"METRIC rating_ops_per_s {best:.0f} 1/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
