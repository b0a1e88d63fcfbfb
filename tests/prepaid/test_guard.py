"""The prepaid guard on a fake clock: admission, the one cut instant, backstops."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cashdesk.clock import FakeClock
from cashdesk.pbx.bridge import CutReason, RefusalReason
from cashdesk.prepaid.guard import (
    BudgetKind,
    Draw,
    GuardCut,
    PrepaidGuard,
    account_budget,
    session_budget,
)
from cashdesk.prepaid.timeline import epoch_ms
from cashdesk.rating.pricing import RateTerms, charge
from tests.prepaid.expected import expected_cut, reservation

EUR = "EUR"
SHOP = account_budget(1)
RESELLER = account_budget(100)


def terms(rate: str, fee: str = "0", steps: tuple[int, int] = (60, 60), grace: int = 0
          ) -> RateTerms:
    return RateTerms("44", "Somewhere", Decimal(rate), Decimal(fee), steps[0], steps[1], grace)


def units(amount: str) -> int:
    return int(Decimal(amount) * 10_000)


def guard_with(clock: FakeClock, **limits: str) -> PrepaidGuard:
    guard = PrepaidGuard(clock)
    for name, amount in limits.items():
        key = {"shop": SHOP, "reseller": RESELLER}.get(name) or account_budget(int(name[1:]))
        guard.set_budget(key, units(amount), EUR)
    return guard


def run_to_deadline(guard: PrepaidGuard, clock: FakeClock, *,
                    expect_cuts: bool = True) -> list[GuardCut]:
    """What the runner does: sleep (advance the fake clock) to the next deadline and
    fire, until something is cut. A wake-up may come early: after a change the guard
    only knows a lower bound of a budget's instant until it searches."""
    for _ in range(20):
        deadline = guard.next_deadline()
        assert deadline is not None
        now = epoch_ms(clock.now())
        if deadline > now:
            clock.advance((deadline - now) / 1000)
        assert epoch_ms(clock.now()) == max(now, deadline)
        cuts = guard.on_time()
        if cuts or not expect_cuts:
            return cuts
    raise AssertionError("no cut came")


def test_a_call_is_admitted_only_if_the_first_increment_is_affordable(clock: FakeClock) -> None:
    rate = terms("0.10", "0.05")          # first increment: 0.15
    guard = guard_with(clock, shop="0.15")
    assert guard.authorise("a", [Draw(SHOP, rate)]).allowed
    refused = guard.authorise("b", [Draw(SHOP, rate)])
    assert not refused.allowed
    assert refused.refusal is RefusalReason.NO_CREDIT and refused.refusal.sip_code == 402
    assert refused.budget == SHOP
    # One sub-unit short is short.
    guard2 = guard_with(clock, shop="0.1499")
    assert guard2.authorise("c", [Draw(SHOP, rate)]).refusal is RefusalReason.NO_CREDIT


def test_what_active_calls_reserve_is_not_available(clock: FakeClock) -> None:
    guard = guard_with(clock, shop="1.00")
    rate = terms("0.10")
    assert guard.authorise("a", [Draw(SHOP, rate)]).allowed
    guard.answer("a")
    clock.advance(9 * 60 + 1)               # the tenth minute has started: 1.00 reserved
    assert guard.available(SHOP) == 0
    assert guard.authorise("b", [Draw(SHOP, rate)]).refusal is RefusalReason.NO_CREDIT


def test_authorisation_gives_the_longest_talk_time(clock: FakeClock) -> None:
    guard = guard_with(clock, shop="1.00")
    admission = guard.authorise("a", [Draw(SHOP, terms("0.10"))])
    assert admission.max_duration_ms == 600_000
    capped = guard.authorise("b", [Draw(SHOP, terms("0.0"))], max_call_ms=90_000)
    assert capped.max_duration_ms == 90_000
    free = guard_with(clock, shop="1.00").authorise("c", [Draw(SHOP, terms("0"))])
    assert free.allowed and free.max_duration_ms is None


def test_all_calls_are_cut_at_the_exhaustion_instant(clock: FakeClock) -> None:
    guard = guard_with(clock, shop="1.00")
    start = epoch_ms(clock.now())
    for call, rate in (("uk", terms("0.10")), ("fr", terms("0.08", "0.02", (30, 6))),
                       ("us", terms("0.02", steps=(1, 1)))):
        assert guard.authorise(call, [Draw(SHOP, rate)]).allowed
        guard.answer(call)
        clock.advance(7)
    calls = [(terms("0.10"), start), (terms("0.08", "0.02", (30, 6)), start + 7000),
             (terms("0.02", steps=(1, 1)), start + 14000)]
    expected = expected_cut(calls, units("1.00"), EUR)
    assert guard.next_cut() == expected
    cuts = run_to_deadline(guard, clock)
    assert {c.call for c in cuts} == {"uk", "fr", "us"}
    assert {c.at_ms for c in cuts} == {expected}
    assert {c.reason for c in cuts} == {CutReason.CREDIT_EXHAUSTED}
    billed = sum(charge(rate, expected - a, EUR).amount.sub_units for rate, a in calls)
    assert billed <= units("1.00")
    assert guard.limit(SHOP) == units("1.00") - billed >= 0
    assert guard.calls() == [] and guard.next_cut() is None and guard.next_deadline() is None


steps = st.sampled_from([(60, 60), (30, 6), (1, 1)])
mixed_call = st.tuples(st.sampled_from(["0.02", "0.10", "0.35", "1.20"]),
                       st.sampled_from(["0", "0.05", "0.20"]), steps,
                       st.integers(0, 15_000))


@settings(max_examples=40, deadline=None)
@given(st.lists(mixed_call, min_size=1, max_size=50), st.integers(60, 1200))
def test_1_to_50_mixed_calls_are_cut_exactly_and_never_overspend(raw: list, minutes_10s: int
                                                                 ) -> None:
    clock = FakeClock()
    guard = PrepaidGuard(clock)
    start = epoch_ms(clock.now())
    rates = [terms(r, f, s) for r, f, s, _ in raw]
    # Admit every call (a generous limit for the admission), then set the real one.
    guard.set_budget(SHOP, 10**9, EUR)
    answered = []
    for i, (rate, (_, _, _, offset)) in enumerate(zip(rates, raw)):
        assert guard.authorise(str(i), [Draw(SHOP, rate)]).allowed
    for i, (_, _, _, offset) in sorted(enumerate(raw), key=lambda item: item[1][3]):
        at = start + offset
        guard.answer(str(i), at)
        answered.append((rates[i], at, str(i)))
    calls = [(rate, at) for rate, at, _ in answered]
    horizon = start + 15_000 + minutes_10s * 1000
    balance = sum(reservation(rate, at, horizon, EUR) for rate, at in calls) - 1
    guard.set_budget(SHOP, balance, EUR)

    expected = expected_cut(calls, balance, EUR)
    assert expected is not None
    assert guard.next_cut() == expected
    bound = guard.next_deadline()
    assert bound is not None and bound <= expected
    clock.advance(max(0, expected - 1 - epoch_ms(clock.now())) / 1000)
    assert guard.on_time() == []              # one millisecond early: nothing
    clock.advance(0.001)
    cuts = guard.on_time()
    assert sorted(c.call for c in cuts) == sorted(name for _, _, name in answered)
    assert {c.at_ms for c in cuts} == {expected}
    billed = sum(charge(rate, max(0, expected - at), EUR).amount.sub_units
                 for rate, at in calls)
    assert billed <= balance
    assert guard.limit(SHOP) == balance - billed >= 0
    # One millisecond later, some call would have started an increment nobody pays.
    assert sum(reservation(rate, at, expected + 1, EUR) for rate, at in calls) > balance


@pytest.mark.parametrize("count", [1, 2, 5, 20, 50])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_seeded_mixes_of_up_to_50_calls_are_cut_exactly(count: int, seed: int) -> None:
    import random
    rng = random.Random(seed * 1000 + count)
    raw = [(rng.choice(["0.02", "0.10", "0.35", "1.20"]), rng.choice(["0", "0.05", "0.20"]),
            rng.choice([(60, 60), (30, 6), (1, 1)]), rng.randint(0, 15_000))
           for _ in range(count)]
    test_1_to_50_mixed_calls_are_cut_exactly_and_never_overspend.hypothesis.inner_test(
        raw, rng.randint(60, 1200))


def test_a_top_up_during_calls_moves_the_cut_later(clock: FakeClock) -> None:
    guard = guard_with(clock, shop="1.00")
    guard.authorise("a", [Draw(SHOP, terms("0.10"))])
    guard.answer("a")
    start = epoch_ms(clock.now())
    assert guard.next_cut() == start + 600_000
    assert guard.backstops() == [("a", 600)]
    clock.advance(120)
    guard.set_budget(SHOP, units("1.50"), EUR)        # +0.50 while talking
    assert guard.next_cut() == start + 900_000
    assert guard.backstops() == [("a", 900)]
    clock.advance(779.9)
    assert guard.on_time() == []
    cuts = run_to_deadline(guard, clock)
    assert cuts == [GuardCut("a", start + 900_000, CutReason.CREDIT_EXHAUSTED)]


def test_a_correction_below_what_is_reserved_cuts_at_once_billing_only_what_fits(
        clock: FakeClock) -> None:
    guard = guard_with(clock, shop="5.00")
    guard.authorise("a", [Draw(SHOP, terms("0.10"))])
    guard.answer("a")
    start = epoch_ms(clock.now())
    clock.advance(300)
    guard.set_budget(SHOP, units("0.20"), EUR)        # a reseller's correction
    cuts = guard.on_time()
    assert cuts == [GuardCut("a", start + 120_000, CutReason.CREDIT_EXHAUSTED)]
    assert guard.limit(SHOP) == 0


def test_a_prepaid_reseller_running_dry_cuts_every_call_of_every_shop(clock: FakeClock) -> None:
    guard = PrepaidGuard(clock)
    shops = [account_budget(1), account_budget(2), account_budget(3)]
    for shop in shops:
        guard.set_budget(shop, units("100"), EUR)
    guard.set_budget(RESELLER, units("1.00"), EUR)
    start = epoch_ms(clock.now())
    for n, shop in enumerate(shops):
        for k in range(2):
            call = f"{n}-{k}"
            assert guard.authorise(call, [Draw(shop, terms("0.30")),
                                          Draw(RESELLER, terms("0.05"))]).allowed
            guard.answer(call)
    # Six calls at 0.05/min on the reseller's 1.00: three minutes each, not four.
    assert guard.next_cut() == start + 180_000
    cuts = run_to_deadline(guard, clock)
    assert len(cuts) == 6 and {c.at_ms for c in cuts} == {start + 180_000}
    assert guard.limit(RESELLER) == units("0.10")
    for shop in shops:
        assert guard.limit(shop) == units("100") - 2 * units("0.90")


def test_each_prepaid_level_must_afford_the_first_increment(clock: FakeClock) -> None:
    guard = PrepaidGuard(clock)
    guard.set_budget(SHOP, units("10"), EUR)
    guard.set_budget(RESELLER, units("0.04"), EUR)
    refused = guard.authorise("a", [Draw(SHOP, terms("0.30")), Draw(RESELLER, terms("0.05"))])
    assert refused.refusal is RefusalReason.NO_CREDIT and refused.budget == RESELLER
    assert guard.available(SHOP) == units("10")       # nothing held for a refused call


def test_maximum_call_duration_cuts_only_that_call(clock: FakeClock) -> None:
    guard = guard_with(clock, shop="100")
    start = epoch_ms(clock.now())
    guard.authorise("short", [Draw(SHOP, terms("0.10"))], max_call_ms=90_000)
    guard.authorise("long", [Draw(SHOP, terms("0.10"))])
    guard.answer("short")
    guard.answer("long")
    assert dict(guard.backstops())["short"] == 90
    cuts = run_to_deadline(guard, clock)
    assert cuts == [GuardCut("short", start + 90_000, CutReason.MAX_CALL_DURATION)]
    assert guard.calls() == ["long"]
    refused = guard.authorise("zero", [Draw(SHOP, terms("0.10"))], max_call_ms=0)
    assert refused.refusal is RefusalReason.MAX_CALL_DURATION


def test_a_session_cap_cuts_the_cabins_calls_at_sell_prices(clock: FakeClock) -> None:
    guard = guard_with(clock, shop="100")
    cabin = session_budget(7)
    guard.set_budget(cabin, units("2.00") - units("1.30"), EUR,   # cap 2.00, 1.30 spent
                     cut_reason=CutReason.DEPOSIT_EXHAUSTED,
                     refusal=RefusalReason.DEPOSIT_EXHAUSTED)
    start = epoch_ms(clock.now())
    sell, buy = terms("0.20"), terms("0.10")
    assert guard.authorise("a", [Draw(SHOP, buy), Draw(cabin, sell)]).allowed
    guard.answer("a")
    assert guard.next_cut() == start + 180_000          # 0.70 pays 3 sell minutes
    cuts = run_to_deadline(guard, clock)
    assert cuts == [GuardCut("a", start + 180_000, CutReason.DEPOSIT_EXHAUSTED)]
    assert guard.limit(cabin) == units("0.10")
    refused = guard.authorise("b", [Draw(SHOP, buy), Draw(cabin, sell)])
    assert refused.refusal is RefusalReason.DEPOSIT_EXHAUSTED and refused.refusal.sip_code == 402


def test_backstops_round_up_and_follow_concurrency(clock: FakeClock) -> None:
    guard = guard_with(clock, shop="1.00")
    guard.authorise("a", [Draw(SHOP, terms("0.60", steps=(1, 1)))])
    clock.advance(0.4)
    guard.answer("a")                          # answered at +0.4 s: 100 s of talk
    assert guard.backstops() == [("a", 100)]
    assert guard.backstops() == []             # nothing moved since
    clock.advance(10.25)
    guard.authorise("b", [Draw(SHOP, terms("0.60", steps=(1, 1)))])
    guard.answer("b")
    # 0.90 left for two calls at 0.01/s each: 'a' is cut when the sum no longer fits.
    changed = dict(guard.backstops())
    deadline = guard.next_deadline()
    assert deadline is not None
    answered_a = guard.answered_at("a")
    assert answered_a is not None
    assert changed["a"] == -(-(deadline - answered_a) // 1000)    # rounded up
    assert changed["a"] < 100
    guard.finish("b", epoch_ms(clock.now()) + 5_000)
    assert dict(guard.backstops())["a"] > changed["a"]          # an ended call gives back


def test_a_hold_expires_and_a_late_answer_is_checked_again(clock: FakeClock) -> None:
    guard = guard_with(clock, shop="0.20")
    rate = terms("0.10", "0.05")
    guard.authorise("ringing", [Draw(SHOP, rate)])
    assert guard.available(SHOP) == units("0.05")
    run_to_deadline(guard, clock, expect_cuts=False)   # 180 s later, the hold expires
    assert guard.available(SHOP) == units("0.20")
    guard.authorise("other", [Draw(SHOP, rate)])
    guard.answer("other")
    late = guard.answer("ringing")            # only 0.05 left: refused, late and alone
    assert late == GuardCut("ringing", epoch_ms(clock.now()), CutReason.REFUSED)
    assert guard.calls() == ["other"]


def test_finish_bills_no_later_than_the_deadline(clock: FakeClock) -> None:
    guard = guard_with(clock, shop="1.00")
    guard.authorise("a", [Draw(SHOP, terms("0.10"))])
    guard.answer("a")
    start = epoch_ms(clock.now())
    # The PBX reports the hang-up 40 ms after the instant the call had to be cut,
    # before the runner got to it.
    assert guard.finish("a", start + 600_040) == start + 600_000
    assert guard.limit(SHOP) == 0


def test_budgets_refuse_to_mix_currencies(clock: FakeClock) -> None:
    guard = guard_with(clock, shop="1.00")
    with pytest.raises(ValueError):
        guard.set_budget(SHOP, 1, "USD")
    assert BudgetKind.ACCOUNT in SHOP


def test_the_clock_alone_drives_the_guard(clock: FakeClock) -> None:
    guard = guard_with(clock, shop="0.10")
    guard.authorise("a", [Draw(SHOP, terms("0.10"))])
    guard.answer("a")
    clock.advance(59.999)
    assert guard.on_time() == []
    clock.advance(timedelta(milliseconds=1).total_seconds())
    assert [c.call for c in guard.on_time()] == ["a"]


def test_searches_are_saved_where_they_cannot_change_the_answer(clock: FakeClock) -> None:
    """A budget whose lines put its instant beyond the shortest talk time found is not
    searched; a call answered at its authorisation's millisecond makes its budgets what
    the authorisation searched, so they need no search again."""
    guard = PrepaidGuard(clock)
    guard.set_budget(SHOP, units("1.00"), EUR)
    guard.set_budget(RESELLER, units("100000"), EUR)
    for n in range(30):
        call = f"old{n}"
        assert guard.authorise(call, [Draw(SHOP, terms("0.001")),
                                      Draw(RESELLER, terms("0.01"))]).allowed
        guard.answer(call)
    guard.take_stats()
    admission = guard.authorise("new", [Draw(RESELLER, terms("0.05")), Draw(SHOP, terms("0.1"))])
    searched = guard.take_stats()
    assert admission.allowed and len(searched) == 1          # the shop's only
    assert searched[0].meters == 31
    guard.answer("new")
    assert guard.next_cut() is not None
    assert [s.meters for s in guard.take_stats()] == [31]    # the reseller's, not the shop's
    assert guard.max_talk_ms("new") == admission.max_duration_ms


def test_deadline_heaps_stay_small_when_calls_end_before_their_deadlines(
        clock: FakeClock) -> None:
    guard = guard_with(clock, shop="1000")
    for n in range(2000):
        call = str(n)
        guard.authorise(call, [Draw(SHOP, terms("0.01"))], max_call_ms=3_600_000)
        guard.answer(call)
        clock.advance(1)
        if n >= 10:
            guard.finish(str(n - 10), epoch_ms(clock.now()))
    assert len(guard.calls()) == 10
    assert len(guard._limits._heap) <= 2 * 10 + 64 + 1
    assert len(guard._holds._heap) <= 2 * 10 + 64 + 1
    oldest = guard.answered_at("1990")
    assert oldest is not None and guard.next_deadline() == oldest + 3_600_000
