"""A budget and the calls drawing on it: when does the money run out?

A *budget* is an amount some calls may spend: a prepaid account's balance (the shop's
at its buy rates, a reseller's at its provider rates) or what is left of a cabin
session's cap (at the shop's sell rates). Each call drawing on it has a *meter*: what
the call has reserved at an instant, which is what it would cost if it ended then —
each increment is reserved the moment it starts, so the price of the billed seconds,
never less than the first increment (connection fee + initial increment) that the
call was promised when it was authorised.

Summed over the calls, the reservation R(t) is a non-decreasing step function of time,
and the budget's *exhaustion instant* is the last millisecond T with R(T) ≤ limit: at
T + 1 ms some call would start an increment nobody can pay. Cutting every call at T and
billing each up to T therefore never spends more than the limit.

Finding T: each meter lies between two straight lines (price ≈ fee + seconds × rate/60
within the rounding, billed seconds within one increment of the talk time), so summing
the lines bounds T to a window about one increment wide; a binary search over integer
milliseconds then finds the exact step. During the search a meter whose reservation
is the same at both ends of the current window cannot step inside it and is folded
into a constant, so most meters are evaluated only a few times.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cashdesk.money import minor_unit_sub_units
from cashdesk.rating.pricing import RateTerms, billed_seconds, charge, price_sub_units

_MS_PER_MINUTE = 60_000
# Meters of long 1/1 calls see thousands of distinct billed-second values; only the
# few around the current search window matter, so the memo is kept small.
_PRICE_MEMO_LIMIT = 64


class Meter:
    """What one call has reserved at one budget, as a function of time."""

    __slots__ = (
        "_grace_ms",
        "_minor",
        "_prices",
        "answered_ms",
        "currency",
        "first",
        "terms",
    )

    def __init__(self, terms: RateTerms, currency: str, answered_ms: int | None = None) -> None:
        self.terms = terms
        self.currency = currency
        #: When talk time started (epoch ms); None while the call is not answered.
        self.answered_ms = answered_ms
        self._grace_ms = terms.grace_ms
        self._minor = max(1, minor_unit_sub_units(currency))
        self._prices: dict[int, int] = {}
        #: The first increment (fee + initial increment), in sub-units: held from
        #: authorisation until the call's own billing passes it.
        self.first = self._price(terms.initial_increment)

    def _price(self, seconds: int) -> int:
        prices = self._prices
        units = prices.get(seconds)
        if units is None:
            if len(prices) >= _PRICE_MEMO_LIMIT:
                prices.clear()
            units = prices[seconds] = price_sub_units(self.terms, seconds, self.currency)
        return units

    def reserved(self, t_ms: int) -> int:
        """Sub-units reserved at instant `t_ms`: the first increment until the call's
        billing passes it (not answered, or within grace), then the price of the
        seconds billed so far."""
        answered = self.answered_ms
        if answered is None:
            return self.first
        duration = t_ms - answered
        if duration <= self._grace_ms:
            return self.first
        seconds = billed_seconds(self.terms, duration)
        # The memo inline: this runs thousands of times per search.
        units = self._prices.get(seconds)
        return units if units is not None else self._price(seconds)

    def final(self, end_ms: int) -> int:
        """What the call costs at this budget if it ends at `end_ms` (sub-units):
        `charge()`, the one pricing function; nothing if it was never answered."""
        if self.answered_ms is None:
            return 0
        return charge(self.terms, max(0, end_ms - self.answered_ms), self.currency) \
            .amount.sub_units

    # Straight lines around reserved(t), scaled by 60,000 (ms per minute) so they stay
    # integers: 60000·r(t) lies between rate·t plus these two offsets.
    def _lower_offset(self, answered: int) -> int:
        terms = self.terms
        # r ≥ fee + rate·(t − answered − grace)/60000 − minor. Within grace r is the
        # first increment, which is above the line; after it, billed seconds ≥ talk time.
        return (_MS_PER_MINUTE * (terms.fee_sub_units - self._minor)
                - terms.rate_sub_units * (answered + self._grace_ms))

    def _upper_offset(self, answered: int) -> int:
        terms = self.terms
        # r ≤ fee + rate·(t − answered + longest increment)/60000 + minor, for
        # t ≥ answered: billed seconds exceed the talk time by less than one increment.
        step_ms = 1000 * max(terms.initial_increment, terms.subsequent_increment)
        return (_MS_PER_MINUTE * (terms.fee_sub_units + self._minor)
                + terms.rate_sub_units * (step_ms - answered))

    def __repr__(self) -> str:
        return (f"<Meter {self.terms.prefix} {self.terms.initial_increment}/"
                f"{self.terms.subsequent_increment} answered={self.answered_ms}>")


@dataclass(frozen=True, slots=True)
class SearchStats:
    """How much work one exhaustion search did (for benchmarks and tests)."""

    meters: int
    evaluations: int
    iterations: int
    window_ms: int


def exhaustion_instant(meters: Iterable[Meter], limit: int, now_ms: int,
                       stats: list[SearchStats] | None = None, *,
                       lo_hint: int | None = None, hi_hint: int | None = None) -> int | None:
    """The last millisecond T at which the meters' total reservation still fits in
    `limit` sub-units — cut at T, bill up to T — or None if it always fits.

    T may lie in the past (a balance lowered by a correction, a call recovered after a
    restart): billing up to it is still what keeps the budget whole. When even the
    earliest answer instant does not fit, that instant is returned (calls cut there
    cost nothing); when only unanswered calls hold more than the limit, `now_ms`.

    Hints narrow the search after a small change: `lo_hint` an instant known to fit
    (the previous T, after a call ended), `hi_hint` one known not to (the previous
    T + 1, after a call was added). Each is checked, and ignored if wrong.
    """
    running: list[Meter] = []
    starts: list[int] = []
    held = 0
    for meter in meters:
        start = meter.answered_ms
        if start is None:
            held += meter.first
        else:
            running.append(meter)
            starts.append(start)
    if not running:
        return None if held <= limit else now_ms

    evaluations = 0

    def at(t: int) -> list[int]:
        nonlocal evaluations
        evaluations += len(running)
        return [m.reserved(t) for m in running]

    floor = min(starts)
    rate_sum = sum(m.terms.rate_sub_units for m in running)
    if rate_sum == 0:
        # Free minutes: every reservation stops growing once its first increment
        # starts, so the total is bounded and reached right after the last grace.
        hi = max(start + m.terms.grace_ms for m, start in zip(running, starts)) + 1
        at_hi = at(hi)
        if held + sum(at_hi) <= limit:
            _record(stats, len(running), evaluations, 0, 0)
            return None
        lo = floor
    else:
        scaled_limit = _MS_PER_MINUTE * limit
        lower = _MS_PER_MINUTE * held + sum(m._lower_offset(start)
                                            for m, start in zip(running, starts))
        # Σ lower lines > limit from this instant on, hence R(hi) > limit.
        hi = max(floor + 1, (scaled_limit - lower) // rate_sum + 1)
        upper = _MS_PER_MINUTE * held + sum(m._upper_offset(start)
                                            for m, start in zip(running, starts))
        # Σ upper lines ≤ limit up to this instant (valid once every call is answered).
        candidate = (scaled_limit - upper) // rate_sum
        lo = candidate if max(starts) <= candidate < hi else floor
        hinted_hi = at(hi_hint) if hi_hint is not None and lo < hi_hint < hi else None
        if hinted_hi is not None and held + sum(hinted_hi) > limit:
            assert hi_hint is not None
            hi, at_hi = hi_hint, hinted_hi
        else:
            at_hi = at(hi)
    at_lo = None
    if lo_hint is not None and lo < lo_hint < hi:
        hinted = at(lo_hint)
        if held + sum(hinted) <= limit:
            lo, at_lo = lo_hint, hinted
    if at_lo is None:
        at_lo = at(lo)
        if lo == floor and held + sum(at_lo) > limit:
            # Not even the earliest answer fits (the limit was lowered under the calls).
            _record(stats, len(running), evaluations, 0, 0)
            return floor
    window = hi - lo

    # Binary search keeping, for each meter still able to step inside [lo, hi], its
    # reservation at both ends; R(lo) ≤ limit < R(hi) throughout.
    fixed = held
    active: list[tuple[Meter, int, int]] = []
    for meter, low, high in zip(running, at_lo, at_hi):
        if low == high:
            fixed += low
        else:
            active.append((meter, low, high))
    iterations = 0
    while hi - lo > 1:
        iterations += 1
        mid = (lo + hi) // 2
        values = [meter.reserved(mid) for meter, _, _ in active]
        evaluations += len(active)
        still: list[tuple[Meter, int, int]] = []
        if fixed + sum(values) <= limit:
            lo = mid
            for (meter, _, high), value in zip(active, values):
                if value == high:
                    fixed += value
                else:
                    still.append((meter, value, high))
        else:
            hi = mid
            for (meter, low, _), value in zip(active, values):
                if value == low:
                    fixed += low
                else:
                    still.append((meter, low, value))
        active = still
    _record(stats, len(running), evaluations, iterations, window)
    return lo


def earliest_possible_instant(meters: Iterable[Meter], limit: int,
                              now_ms: int) -> int | None:
    """A lower bound of `exhaustion_instant`, from the straight lines alone (no meter
    evaluated, so cheap): the exact instant is None or not before it. The timer may
    wake at this bound; the exact instant is searched only then."""
    held = 0
    rate_sum = 0
    upper = 0
    floor: int | None = None
    latest = 0
    for meter in meters:
        start = meter.answered_ms
        if start is None:
            held += meter.first
            continue
        rate_sum += meter.terms.rate_sub_units
        upper += meter._upper_offset(start)
        floor = start if floor is None else min(floor, start)
        latest = max(latest, start)
    if floor is None:
        return None if held <= limit else now_ms
    if rate_sum == 0:
        return floor
    candidate = (_MS_PER_MINUTE * (limit - held) - upper) // rate_sum
    return candidate if candidate >= latest else floor


def _record(stats: list[SearchStats] | None, meters: int, evaluations: int, iterations: int,
            window: int) -> None:
    if stats is not None:
        stats.append(SearchStats(meters, evaluations, iterations, window))
