"""The fast exhaustion search against slow references: the previous search (kept in
`oracle.py`), the second-by-second walk and the millisecond-by-millisecond one, over
random mixes of meters — increments, fees, grace, free rates, held and answered
meters, currencies with 0, 2 and 3 decimals, limits near and far, hints right and
wrong — and the incremental `MeterSet` against a search from scratch."""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cashdesk.prepaid import budget
from cashdesk.prepaid.budget import (
    Lines,
    Meter,
    MeterSet,
    SearchStats,
    earliest_possible_instant,
    exhaustion_instant,
)
from cashdesk.rating.pricing import RateTerms
from tests.prepaid import oracle
from tests.prepaid.expected import expected_cut, reservation

CURRENCIES = ["EUR", "JPY", "KWD"]          # 2, 0 and 3 decimals
STEPS = [(60, 60), (30, 6), (1, 1), (60, 1), (10, 10), (1, 60)]
RATES = ["0", "0.02", "0.1", "0.35", "1.2", "1.2345", "6"]
FEES = ["0", "0", "0.01", "0.05", "0.2"]
GRACES = [0, 0, 0, 3, 5, 65]                # 65 s: grace beyond a 60 s first increment
NOW = 1_700_000_000_000


def terms(rate: str, fee: str = "0", steps: tuple[int, int] = (60, 60), grace: int = 0
          ) -> RateTerms:
    return RateTerms("44", "Somewhere", Decimal(rate), Decimal(fee), steps[0], steps[1], grace)


Call = tuple[RateTerms, int | None]

meter_spec = st.tuples(st.sampled_from(RATES), st.sampled_from(FEES), st.sampled_from(STEPS),
                       st.sampled_from(GRACES),
                       st.one_of(st.none(), st.integers(-900_000, 0), st.integers(-900_000, 0)))


def build(raw: list) -> list[Call]:
    return [(terms(r, f, s, g), None if a is None else NOW + a) for r, f, s, g, a in raw]


def fast(calls: Sequence[Call], limit: int, currency: str, now: int = NOW,
         stats: list[SearchStats] | None = None, **hints: int | None) -> int | None:
    return exhaustion_instant([Meter(t, currency, a) for t, a in calls], limit, now, stats,
                              **hints)


def reference(calls: Sequence[Call], limit: int, currency: str, now: int = NOW) -> int | None:
    return oracle.exhaustion_instant([oracle.Meter(t, currency, a) for t, a in calls], limit,
                                     now)


def limit_around(calls: Sequence[Call], currency: str, at: int, jitter: int) -> int:
    """A limit that runs out at about `at`, give or take `jitter` sub-units."""
    return max(0, sum(reservation(t, a, at, currency) for t, a in calls) + jitter)


@settings(max_examples=300, deadline=None)
@given(st.lists(meter_spec, min_size=1, max_size=60), st.sampled_from(CURRENCIES),
       st.sampled_from([0, 1_000, 30_000, 300_000, 3_600_000, 7 * 86_400_000]),
       st.integers(-3000, 3000), st.data())
def test_matches_the_previous_search(raw: list, currency: str, ahead: int, jitter: int,
                                     data: st.DataObject) -> None:
    calls = build(raw)
    limit = limit_around(calls, currency, NOW + ahead, jitter * _minor(currency) // 100)
    expected = reference(calls, limit, currency)
    # Hints: none, the answer itself (right), or anywhere (often wrong).
    near = [None, expected, None if expected is None else expected + 1,
            NOW + data.draw(st.integers(-1_000_000, 8 * 86_400_000))]
    lo_hint = data.draw(st.sampled_from(near))
    hi_hint = data.draw(st.sampled_from(near))
    stats: list[SearchStats] = []
    assert fast(calls, limit, currency, stats=stats, lo_hint=lo_hint, hi_hint=hi_hint) \
        == expected
    assert len(stats) <= 1
    bound = earliest_possible_instant([Meter(t, currency, a) for t, a in calls], limit, NOW)
    if expected is not None:
        assert bound is not None and bound <= expected


def _minor(currency: str) -> int:
    return budget._minor(currency)


@settings(max_examples=120, deadline=None)
@given(st.lists(meter_spec, min_size=1, max_size=60), st.sampled_from(CURRENCIES),
       st.integers(20_000, 20 * 60_000), st.integers(-300, 300))
def test_matches_a_second_by_second_walk(raw: list, currency: str, horizon: int,
                                         jitter: int) -> None:
    calls = build(raw)
    answered = [a for _, a in calls if a is not None]
    last = max(answered, default=NOW)
    # (A limit a few sub-units off: in yen, at 0.02 a minute, one more yen is 50 minutes.)
    limit = limit_around(calls, currency, last + horizon, jitter)
    assert fast(calls, limit, currency) == expected_cut(calls, limit, currency, now=NOW,
                                                        horizon_ms=horizon + 2 * 3_600_000)


def total(calls: Sequence[Call], at: int, currency: str) -> int:
    return sum(reservation(rate, a, at, currency) for rate, a in calls)


@settings(max_examples=200, deadline=None)
@given(st.lists(meter_spec, min_size=1, max_size=60), st.sampled_from(CURRENCIES),
       st.integers(0, 10**9), st.integers(-1_000_000, 8 * 86_400_000))
def test_the_instant_is_the_last_millisecond_that_fits(raw: list, currency: str, limit: int,
                                                       now_offset: int) -> None:
    """By definition, with R(t) summed from `charge()` (non-decreasing): R(T) ≤ limit <
    R(T + 1); the earliest answer when not even it fits; `now` when only held first
    increments are too much; None when nothing can grow past what fits."""
    calls = build(raw)
    now = NOW + now_offset
    instant = fast(calls, limit, currency, now)
    answered = [a for _, a in calls if a is not None]
    if not answered:
        assert instant == (None if total(calls, now, currency) <= limit else now)
    elif total(calls, min(answered), currency) > limit:
        assert instant == min(answered)
    elif instant is None:
        assert all(t.rate_sub_units == 0 for t, a in calls if a is not None)
        assert total(calls, max(answered) + 10**8, currency) <= limit
    else:
        assert total(calls, instant, currency) <= limit < total(calls, instant + 1, currency)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(RATES), st.sampled_from(FEES), st.sampled_from(STEPS),
       st.sampled_from(GRACES), st.sampled_from(CURRENCIES), st.integers(-5_000, 4_000_000))
def test_a_meter_reserves_what_the_definition_says(rate: str, fee: str, steps: tuple[int, int],
                                                   grace: int, currency: str, t: int) -> None:
    rate_terms = terms(rate, fee, steps, grace)
    meter = Meter(rate_terms, currency, NOW)
    assert meter.reserved(NOW + t) == reservation(rate_terms, NOW, NOW + t, currency)
    assert Meter(rate_terms, currency).reserved(NOW + t) == \
        reservation(rate_terms, None, NOW + t, currency)
    assert meter.final(NOW + t) == oracle.Meter(rate_terms, currency, NOW).final(NOW + t)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from(CURRENCIES))
def test_a_meter_set_kept_up_to_date_searches_like_a_search_from_scratch(
        seed: int, currency: str) -> None:
    """Meters added, answered and removed one by one: the incremental lines (the
    earliest and last answer included) give the same instants, bounds and sums."""
    rng = random.Random(seed)
    meters = MeterSet()
    names = iter(range(10**6))
    now = NOW
    last: int | None = None
    for _ in range(rng.randint(20, 120)):
        roll = rng.random()
        if roll < 0.45 or not meters:
            answered = rng.choice([None, now - rng.randint(0, 600_000), now])
            meters.add(str(next(names)), Meter(terms(rng.choice(RATES), rng.choice(FEES),
                                                     rng.choice(STEPS), rng.choice(GRACES)),
                                               currency, answered))
        elif roll < 0.7:
            call = rng.choice(list(meters))
            meter = meters.get(call)
            assert meter is not None
            if meter.answered_ms is None:
                meters.answer(call, now - rng.randint(0, 60_000))
        else:
            meters.remove(rng.choice(list(meters)))
        now += rng.randint(0, 5_000)
        every = list(meters.meters.values())
        if not every:
            continue
        ahead = rng.choice([10_000, 120_000, 3_600_000])
        limit = max(0, sum(m.reserved(now + ahead) for m in every) + rng.randint(-2000, 2000))
        expected = oracle.exhaustion_instant(
            [oracle.Meter(m.terms, currency, m.answered_ms) for m in every], limit, now)
        assert meters.instant(limit, now, near=(last, rng.randint(now - 10**6, now + 10**7))) \
            == expected
        assert exhaustion_instant(every, limit, now) == expected
        last = expected
        bound = meters.lines.bound(limit, now)
        assert bound == Lines.of(every)[0].bound(limit, now)
        if expected is not None:
            assert bound is not None and bound <= expected
        t = now + rng.randint(-60_000, 600_000)
        assert meters.reserved(t) == sum(m.reserved(t) for m in every)
        # A call more, answered now: what-if, and nothing kept.
        extra = Meter(terms(rng.choice(RATES), rng.choice(FEES), rng.choice(STEPS)), currency,
                      now)
        with_extra = oracle.exhaustion_instant(
            [*(oracle.Meter(m.terms, currency, m.answered_ms) for m in every),
             oracle.Meter(extra.terms, currency, now)], limit, now)
        assert meters.instant_with("extra", extra, limit, now, near=(expected,)) == with_extra
        assert meters.instant(limit, now) == expected
        bound = meters.bound_with("extra", extra, limit, now)
        if with_extra is not None:
            assert bound is not None and bound <= with_extra


def anchored_correctly(meters: MeterSet) -> bool:
    """The anchor's bookkeeping: every stepping meter's value there, and their sum."""
    anchor = meters._anchor
    if anchor is None:
        return True
    values = {call: budget._value(term, anchor) for call, term in meters._terms.items()}
    return meters._values == values and meters._sum == sum(values.values()) \
        and list(meters._values) == list(meters._terms)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from(CURRENCIES),
       st.sampled_from([30_000, 240_000, 3_600_000, 86_400_000]))
def test_many_meters_searched_after_small_changes_like_from_scratch(
        seed: int, currency: str, ahead: int) -> None:
    """24 to 80 meters, then one change at a time (a call added or gone, the limit
    moved): searches from the anchor — swept, or probed — and what-ifs with a call
    more give the previous search's answers, and the anchor stays right."""
    rng = random.Random(seed)
    now = NOW
    meters = MeterSet()

    def random_terms() -> RateTerms:
        return terms(rng.choice(RATES[1:]), rng.choice(FEES), rng.choice(STEPS[:4]),
                     rng.choice([0, 0, 5]))

    for i in range(rng.randint(24, 80)):
        meters.add(str(i), Meter(random_terms(), currency, now - rng.randint(0, 20_000)))
    limit = max(0, meters.reserved(now + ahead) + rng.randint(-300, 300))

    def expected(extra: Meter | None = None) -> int | None:
        every = [*meters.meters.values(), *([extra] if extra is not None else [])]
        return oracle.exhaustion_instant(
            [oracle.Meter(m.terms, currency, m.answered_ms) for m in every], limit, now)

    assert meters.instant(limit, now) == expected()
    for step in range(25):
        roll = rng.random()
        if roll < 0.4:
            meters.add(f"n{step}", Meter(random_terms(), currency, now))
        elif roll < 0.7 and len(meters) > 24:
            meters.remove(rng.choice(list(meters)))
        else:
            limit = max(0, limit + rng.randint(-2000, 2000) * _minor(currency) // 100)
        assert anchored_correctly(meters)
        now += rng.randint(0, 100)
        extra = Meter(random_terms(), currency, now)
        assert meters.instant_with("extra", extra, limit, now) == expected(extra)
        assert anchored_correctly(meters)
        assert meters.instant(limit, now) == expected()
        assert anchored_correctly(meters)
        assert meters.reserved(now + ahead) == sum(m.reserved(now + ahead)
                                                   for m in meters.meters.values())


@pytest.mark.parametrize("count", [50, 500])
def test_a_search_evaluates_each_meter_about_twice(count: int) -> None:
    """Many meters answered over ten minutes: the guess and an aimed probe or two."""
    rng = random.Random(count)
    calls = [(terms(rng.choice(["0.02", "0.10", "0.35", "1.20"]), rng.choice(["0", "0.05"]),
                    rng.choice(STEPS[:3])), NOW - rng.randint(0, 600_000))
             for _ in range(count)]
    limit = limit_around(calls, "EUR", NOW + 300_000, 0)
    stats: list[SearchStats] = []
    assert fast(calls, limit, "EUR", stats=stats) == reference(calls, limit, "EUR")
    assert stats[-1].evaluations <= 4 * count, stats


def test_few_meters_are_bisected_then_swept() -> None:
    # One 60/60 call: the guess is no help; bisecting the minute-wide window works.
    calls: list[Call] = [(terms("0.35", "0.05"), NOW - 5_000)]
    limit = limit_around(calls, "EUR", NOW + 400_000, 0)
    stats: list[SearchStats] = []
    assert fast(calls, limit, "EUR", stats=stats) == reference(calls, limit, "EUR") \
        == NOW - 5_000 + 420_000
    assert stats[-1].evaluations <= 20
