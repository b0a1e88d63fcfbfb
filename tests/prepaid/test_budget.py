"""The exhaustion instant: exact to the millisecond, against slow definitions."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from cashdesk.prepaid.budget import Meter, SearchStats, exhaustion_instant
from cashdesk.rating.pricing import RateTerms
from tests.prepaid.expected import expected_cut, reservation

EUR = "EUR"
STEPS = [(60, 60), (30, 6), (1, 1), (60, 1), (10, 10)]


def terms(rate: str, fee: str = "0", steps: tuple[int, int] = (60, 60), grace: int = 0
          ) -> RateTerms:
    return RateTerms("44", "Somewhere", Decimal(rate), Decimal(fee), steps[0], steps[1], grace)


def units(amount: str) -> int:
    return int(Decimal(amount) * 10_000)


def brute_force(calls: list[tuple[RateTerms, int | None]], limit: int) -> int | None:
    """Millisecond by millisecond, for small cases."""
    answered = [a for _, a in calls if a is not None]
    if not answered:   # only held first increments: they fit, or must go now (0)
        return None if sum(reservation(r, None, 0, EUR) for r, _ in calls) <= limit else 0
    t = min(answered)

    def total(at: int) -> int:
        return sum(reservation(rate, a, at, EUR) for rate, a in calls)

    if total(t) > limit:
        return t
    while total(t + 1) <= limit:
        t += 1
        if t - min(answered) > 300_000:    # the cases below run out well before
            return None
    return t


def instant(calls: list[tuple[RateTerms, int | None]], limit: int, now: int = 0,
            stats: list[SearchStats] | None = None) -> int | None:
    return exhaustion_instant([Meter(rate, EUR, a) for rate, a in calls], limit, now, stats)


def test_one_call_60_60_lasts_exactly_its_paid_minutes() -> None:
    # 1.00 at 0.10/min: ten whole minutes, then the eleventh cannot start.
    assert instant([(terms("0.10"), 5_000)], units("1.00")) == 5_000 + 600_000


def test_connection_fee_and_first_increment_come_first() -> None:
    # 0.05 + k × 0.10 ≤ 1.00 → 9 minutes.
    assert instant([(terms("0.10", "0.05"), 0)], units("1.00")) == 540_000


def test_one_second_increments_cut_on_the_second() -> None:
    # 0.60/min = 0.01/s: 1.00 pays 100 s.
    assert instant([(terms("0.60", steps=(1, 1)), 0)], units("1.00")) == 100_000


def test_two_calls_share_the_balance() -> None:
    calls = [(terms("0.10"), 0), (terms("0.10"), 30_000)]
    # At 270.001 s the second call starts its fifth minute: 0.50 + 0.50 = 1.00, paid.
    # At 300.001 s the first would start its sixth: 1.10 does not fit.
    assert instant(calls, units("1.00")) == expected_cut(calls, units("1.00"), EUR) == 300_000


def test_free_calls_never_run_out() -> None:
    assert instant([(terms("0", "0.05"), 0), (terms("0"), 0)], units("0.05")) is None


def test_free_minutes_with_an_unaffordable_fee_run_out_at_the_answer() -> None:
    assert instant([(terms("0", "0.20"), 1_000)], units("0.10")) == 1_000


def test_calls_not_answered_hold_their_first_increment() -> None:
    held = [(terms("0.10", "0.05"), None)]
    assert instant(held, units("0.15")) is None
    assert instant(held, units("0.14"), now=42) == 42   # the limit fell below a hold
    # 0.15 held for the ringing call leaves 0.85: eight minutes of the other.
    with_running = [(terms("0.10"), 0), (terms("0.10", "0.05"), None)]
    assert instant(with_running, units("1.00")) == expected_cut(with_running, units("1.00"),
                                                                 EUR) == 480_000


def test_grace_period_reserves_the_first_increment_all_along() -> None:
    # 0.10 fee + 30 s at 0.60/min = 0.40 held from the answer (the call may pass its
    # 5 s of grace at any moment); then 0.06 per 6 s: 0.46 at 30.001 s, 0.52 at
    # 36.001 s, and 0.58 at 42.001 s does not fit in 0.52.
    calls = [(terms("0.60", "0.10", (30, 6), grace=5), 0)]
    assert instant(calls, units("0.52")) == expected_cut(calls, units("0.52"), EUR) == 42_000
    assert instant(calls, units("0.39")) == 0


def test_a_limit_lowered_under_running_calls_gives_an_instant_in_the_past() -> None:
    calls = [(terms("0.10"), 0), (terms("0.10"), 100_000)]
    # Only 0.25 left, asked at 400 s: the first call's first minute and the second's
    # held first increment fit; the first call's second minute (at 60.001 s) did not.
    assert instant(calls, units("0.25"), now=400_000) == 60_000


def test_a_limit_below_the_first_increment_gives_the_earliest_answer() -> None:
    assert instant([(terms("0.10"), 7_000), (terms("0.10"), 9_000)], units("0.05")) == 7_000


settled = settings(max_examples=60, deadline=None)

# At least 0.6/min (0.01/s) unless free, and at most 0.10 to spend: every case runs
# out within a couple of minutes, so the millisecond walk stays short.
rates = st.sampled_from(["0", "0.6", "1.2345", "3", "6"])
fees = st.sampled_from(["0", "0.01", "0.05"])
small_call = st.tuples(rates, fees, st.sampled_from(STEPS), st.sampled_from([0, 0, 3]),
                       st.one_of(st.none(), st.integers(0, 20_000)))


@settled
@given(st.lists(small_call, min_size=1, max_size=4), st.integers(0, 1000))
def test_matches_a_millisecond_by_millisecond_search(raw: list, limit: int) -> None:
    calls = [(terms(r, f, s, g), a) for r, f, s, g, a in raw]
    assert instant(calls, limit) == brute_force(calls, limit)


call = st.tuples(st.sampled_from(["0.02", "0.1", "0.35", "1.2", "3.5"]), fees,
                 st.sampled_from(STEPS[:3]), st.sampled_from([0, 0, 0, 5]),
                 st.integers(0, 180_000))


@settled
@given(st.lists(call, min_size=1, max_size=50), st.integers(30_000, 20 * 60_000),
       st.integers(-500, 500))
def test_matches_a_second_by_second_walk_with_up_to_50_calls(raw: list, horizon: int,
                                                            jitter: int) -> None:
    calls = [(terms(r, f, s, g), a) for r, f, s, g, a in raw]
    # A limit that runs out around `horizon` after the last answer, give or take.
    last = max(a for _, a in calls if a is not None)
    limit = max(0, sum(reservation(rate, a, last + horizon, EUR) for rate, a in calls) + jitter)
    assert instant(calls, limit) == expected_cut(calls, limit, EUR)


def test_a_search_over_500_calls_evaluates_each_only_a_few_times() -> None:
    import random
    rng = random.Random(7)
    calls = []
    for _ in range(500):
        steps = rng.choice(STEPS[:3])
        calls.append((terms(rng.choice(["0.02", "0.1", "0.35", "1.2"]),
                            rng.choice(["0", "0.05"]), steps), rng.randint(0, 600_000)))
    limit = sum(reservation(rate, a, 900_000, EUR) for rate, a in calls)
    stats: list[SearchStats] = []
    assert instant(calls, limit, stats=stats) == expected_cut(calls, limit, EUR)
    # Two full passes to bracket the step, then only the meters that can still move.
    assert stats[-1].evaluations < 10 * len(calls), stats


@settled
@given(rates, fees, st.sampled_from(STEPS), st.integers(0, 100_000),
       st.sampled_from(["EUR", "JPY", "KWD"]))
def test_the_guards_integer_price_is_the_price(rate: str, fee: str, steps: tuple[int, int],
                                               seconds: int, currency: str) -> None:
    from cashdesk.rating.pricing import price, price_sub_units
    rate_terms = terms(rate, fee, steps)
    assert price_sub_units(rate_terms, seconds, currency) == \
        price(rate_terms, seconds, currency).sub_units
