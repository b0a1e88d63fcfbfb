"""The prepaid guard and its exhaustion search as they were before they were made fast,
kept verbatim (but for names) as the oracle the fast ones are checked against.

The search here bisects the lines' window over every meter, pricing each through
`price_sub_units`; the guard searches every budget over all its meters for every
authorisation, marks every answered call of a budget at each change and scans every
call for its deadlines. Slow, and known right: it passed every test of its time.
"""

# ruff: noqa

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cashdesk.clock import Clock
from cashdesk.money import minor_unit_sub_units
from cashdesk.pbx.bridge import CutReason, RefusalReason, backstop_seconds
from cashdesk.prepaid.guard import HOLD_TTL_MS, Admission, BudgetKey, Draw, GuardCut
from cashdesk.prepaid.timeline import epoch_ms
from cashdesk.rating.pricing import RateTerms, billed_seconds, charge, price_sub_units

log = logging.getLogger(__name__)

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


class _Budget:
    __slots__ = ("_bound", "_bound_fresh", "_fresh", "_hi_hint", "_instant", "_lo_hint",
                 "currency", "cut_reason", "key", "limit", "meters", "refusal")

    def __init__(self, key: BudgetKey, currency: str, limit: int, cut_reason: CutReason,
                 refusal: RefusalReason) -> None:
        self.key = key
        self.currency = currency
        self.limit = limit
        self.cut_reason = cut_reason
        self.refusal = refusal
        self.meters: dict[str, Meter] = {}
        self._instant: int | None = None
        self._fresh = False
        # Bounds on the next instant, from the last one known and the kind of changes
        # since (see `touch`): the next search starts from a window this narrow.
        self._lo_hint: int | None = None
        self._hi_hint: int | None = None
        self._bound: int | None = None
        self._bound_fresh = False

    def touch(self, earlier: bool | None) -> None:
        """The budget changed. `earlier`: True if its instant can only have moved
        earlier (a call added or answered, the limit lowered), False if only later (a
        call gone, the limit raised), None if unknown."""
        known = self._instant if self._fresh else None
        if earlier is True:
            if known is not None:
                self._hi_hint = known + 1
            self._lo_hint = None
        elif earlier is False:
            if known is not None:
                self._lo_hint = known
            self._hi_hint = None
        else:
            self._lo_hint = self._hi_hint = None
        self._fresh = False
        self._bound_fresh = False

    def instant(self, now_ms: int, stats: list[SearchStats] | None) -> int | None:
        if not self._fresh:
            self._instant = exhaustion_instant(self.meters.values(), self.limit, now_ms, stats,
                                               lo_hint=self._lo_hint, hi_hint=self._hi_hint)
            self._fresh = True
            self._lo_hint = self._hi_hint = None
        return self._instant

    def reserved(self, t_ms: int) -> int:
        return sum(m.reserved(t_ms) for m in self.meters.values())

    def bound(self, now_ms: int) -> int | None:
        """The instant if known, else a cheap lower bound of it (None: never)."""
        if self._fresh:
            return self._instant
        if not self._bound_fresh:
            bound = earliest_possible_instant(self.meters.values(), self.limit, now_ms)
            if bound is not None and self._lo_hint is not None:
                bound = max(bound, self._lo_hint)
            self._bound, self._bound_fresh = bound, True
        return self._bound

    def fits_until(self, t_ms: int, now_ms: int) -> bool:
        """Whether everything the calls reserve at `t_ms` is covered (t ≤ instant),
        by the cheapest means that can tell."""
        if self._fresh:
            return self._instant is None or t_ms <= self._instant
        bound = self.bound(now_ms)
        if bound is None or t_ms <= bound:
            return True
        return self.reserved(t_ms) <= self.limit

    def hint(self) -> int | None:
        """An instant after which, with one more call added, the budget surely no
        longer fits: its current instant + 1 (if known)."""
        return self._instant + 1 if self._fresh and self._instant is not None else None


class _Call:
    __slots__ = ("answered_ms", "backstop", "draws", "held", "hold_until", "key", "max_ms")

    def __init__(self, key: str, draws: tuple[Draw, ...], max_ms: int | None) -> None:
        self.key = key
        self.draws = draws
        self.answered_ms: int | None = None
        self.max_ms = max_ms
        # Whether the call's meters are in its budgets: always once answered; before
        # that, while it holds its first increment (until `hold_until`).
        self.held = False
        self.hold_until: int | None = None
        self.backstop: int | None = None     # last maximum sent to the PBX, seconds


class ReferenceGuard:
    """The guard before it was made fast (every search over every meter, every change
    marking every answered call): what the fast one must keep answering."""

    def __init__(self, clock: Clock, *, hold_ttl_ms: int = HOLD_TTL_MS) -> None:
        self._clock = clock
        self._hold_ttl_ms = hold_ttl_ms
        self._budgets: dict[BudgetKey, _Budget] = {}
        self._calls: dict[str, _Call] = {}
        # Calls whose backstop may have moved since `backstops()` last looked.
        self._stale_backstops: set[str] = set()
        #: Work done by exhaustion searches since the last `take_stats()`.
        self.stats: list[SearchStats] = []

    # time --------------------------------------------------------------------------
    def now_ms(self) -> int:
        return epoch_ms(self._clock.now())

    # budgets -----------------------------------------------------------------------
    def set_budget(self, key: BudgetKey, limit: int, currency: str, *,
                   cut_reason: CutReason = CutReason.CREDIT_EXHAUSTED,
                   refusal: RefusalReason = RefusalReason.NO_CREDIT) -> None:
        """Create or update a budget: `limit` sub-units the calls drawing on it may
        still spend (a balance as stored now, or a session cap minus the session's
        ended calls). Raising it (a top-up) moves the cut later."""
        budget = self._budgets.get(key)
        if budget is None:
            self._budgets[key] = _Budget(key, currency, limit, cut_reason, refusal)
            return
        if budget.currency != currency:
            raise ValueError(f"budget {key} is kept in {budget.currency}, not {currency}")
        budget.cut_reason, budget.refusal = cut_reason, refusal
        if budget.limit != limit:
            earlier = limit < budget.limit
            budget.limit = limit
            self._touch(budget, earlier=earlier)

    def drop_budget(self, key: BudgetKey) -> None:
        """Forget a budget no call draws on (a cabin's cap removed, a session paid)."""
        budget = self._budgets.get(key)
        if budget is not None and not budget.meters:
            del self._budgets[key]

    def has_budget(self, key: BudgetKey) -> bool:
        return key in self._budgets

    def limit(self, key: BudgetKey) -> int:
        return self._budgets[key].limit

    def available(self, key: BudgetKey, at_ms: int | None = None) -> int:
        """What the budget can still promise at `at_ms` (default now): its limit minus
        what its calls reserve then."""
        budget = self._budgets[key]
        return budget.limit - budget.reserved(self.now_ms() if at_ms is None else at_ms)

    # calls -------------------------------------------------------------------------
    def authorise(self, call: str, draws: Sequence[Draw], *,
                  max_call_ms: int | None = None) -> Admission:
        """Admit a call if each budget it draws on can pay its first increment (fee +
        initial increment at that budget's rate) after what its calls reserve now;
        then hold those first increments until the call is answered (or fails, or
        `HOLD_TTL_MS` passes). Budgets must have been set. Asking again for a call
        already admitted answers the same, and holds nothing more."""
        now = self.now_ms()
        known = self._calls.get(call)
        if known is not None:
            return Admission(True, self._max_duration(known, now))
        if max_call_ms is not None and max_call_ms <= 0:
            return Admission(False, refusal=RefusalReason.MAX_CALL_DURATION)
        meters = []
        longest = max_call_ms
        for draw in draws:
            budget = self._budgets[draw.budget]
            # One search answers both questions: with this call answered now, the
            # budget's instant is not before now iff the first increment fits now, and
            # its distance from now is the talk time the call would get.
            meter = Meter(draw.terms, budget.currency, answered_ms=now)
            instant = exhaustion_instant([*budget.meters.values(), meter], budget.limit, now,
                                         self.stats, hi_hint=budget.hint())
            if instant is not None and instant <= now \
                    and budget.reserved(now) + meter.first > budget.limit:
                return Admission(False, refusal=budget.refusal, budget=budget.key)
            if instant is not None:
                allowed = max(0, instant - now)
                longest = allowed if longest is None else min(longest, allowed)
            meter.answered_ms = None
            meters.append((budget, meter))
        record = _Call(call, tuple(draws), max_call_ms)
        record.held = True
        record.hold_until = now + self._hold_ttl_ms
        self._calls[call] = record
        for budget, meter in meters:
            budget.meters[call] = meter
            self._touch(budget, earlier=True)
        return Admission(True, longest)

    def answer(self, call: str, at_ms: int | None = None) -> GuardCut | None:
        """Talk time starts at `at_ms` (default now). A call still holding its first
        increment is covered by construction. One admitted long ago (its hold expired)
        or never admitted is checked again: if a budget cannot pay its first increment
        now, it is refused late — the returned cut ends it at its answer, free — rather
        than cutting everybody else's calls for it."""
        record = self._calls.get(call)
        if record is None or record.answered_ms is not None:
            return None
        at = self.now_ms() if at_ms is None else at_ms
        if not record.held:
            for draw in record.draws:
                budget = self._budgets[draw.budget]
                if budget.limit - budget.reserved(at) < Meter(draw.terms, budget.currency).first:
                    self._settle(record, at)
                    return GuardCut(call, at, CutReason.REFUSED)
            for draw in record.draws:
                budget = self._budgets[draw.budget]
                budget.meters[call] = Meter(draw.terms, budget.currency)
        record.answered_ms = at
        record.held = False
        record.hold_until = None
        for draw in record.draws:
            budget = self._budgets[draw.budget]
            budget.meters[call].answered_ms = at
            self._touch(budget, earlier=True)
        self._stale_backstops.add(call)
        return None

    def recover(self, call: str, draws: Sequence[Draw], *, answered_ms: int | None,
                max_call_ms: int | None = None) -> None:
        """Take over a call found live after a restart or reconnect, with no new
        authorisation: billing continues from `answered_ms`. If its budgets cannot
        carry it, their exhaustion instant lies in the past and the next `on_time()`
        cuts it there — billed only up to what the budget could pay."""
        if call in self._calls:
            return
        record = _Call(call, tuple(draws), max_call_ms)
        record.answered_ms = answered_ms
        record.held = True
        if answered_ms is None:
            record.hold_until = self.now_ms() + self._hold_ttl_ms
        self._calls[call] = record
        for draw in draws:
            budget = self._budgets[draw.budget]
            budget.meters[call] = Meter(draw.terms, budget.currency, answered_ms)
            self._touch(budget, earlier=True)
        if answered_ms is not None:
            self._stale_backstops.add(call)

    def track(self, call: str, draws: Sequence[Draw], *, max_call_ms: int | None = None) -> None:
        """Know a call without holding anything for it (a call the PBX routed without
        asking): its answer is then checked like a late one (see `answer`)."""
        if call not in self._calls:
            self._calls[call] = _Call(call, tuple(draws), max_call_ms)

    def finish(self, call: str, end_ms: int) -> int:
        """The call ended at `end_ms`: stop metering it and take its final cost off each
        budget's limit (the balance the ledger is about to debit; the tracker then sets
        the stored balance anyway). Returns the instant to bill up to: `end_ms`, or the
        call's deadline if that came first (an end reported after the instant the call
        had to be cut is billed only up to that instant). Unknown calls: `end_ms`."""
        record = self._calls.get(call)
        if record is None:
            return end_ms
        if self._past_deadline(record, end_ms):
            deadline = self.deadline_of(call)
            assert deadline is not None
            log.warning("call %s ended at %d, after its deadline %d: billed to the deadline",
                        call, end_ms, deadline)
            end_ms = deadline
        self._settle(record, end_ms)
        return end_ms

    def _past_deadline(self, record: _Call, end_ms: int) -> bool:
        # Cheaper than the deadline itself (one pass instead of a search), and almost
        # always the answer: a call ending while every budget still covers what its
        # calls reserve at that instant ended in time.
        if record.answered_ms is not None and record.max_ms is not None \
                and end_ms > record.answered_ms + record.max_ms:
            return True
        now = self.now_ms()
        for draw in record.draws:
            budget = self._budgets.get(draw.budget)
            if budget is not None and not budget.fits_until(end_ms, now):
                return True
        return False

    def release(self, call: str) -> None:
        """Forget a call that was never answered (failed, cancelled, refused later)."""
        record = self._calls.get(call)
        if record is not None:
            self._settle(record, record.answered_ms if record.answered_ms is not None else 0)

    def max_talk_ms(self, call: str) -> int | None:
        """The call's maximum talk time now (ms): from its answer to its deadline, or,
        not answered yet, what it would get if answered now. None: unlimited."""
        record = self._calls.get(call)
        return None if record is None else self._max_duration(record, self.now_ms())

    def is_tracking(self, call: str) -> bool:
        return call in self._calls

    def answered_at(self, call: str) -> int | None:
        record = self._calls.get(call)
        return record.answered_ms if record is not None else None

    def calls(self) -> list[str]:
        return list(self._calls)

    # deadlines ---------------------------------------------------------------------
    def deadline_of(self, call: str) -> int | None:
        """The instant the call must be cut at the latest (epoch ms), None if none."""
        record = self._calls.get(call)
        if record is None:
            return None
        now = self.now_ms()
        deadline: int | None = None
        for draw in record.draws:
            budget = self._budgets.get(draw.budget)
            instant = budget.instant(now, self.stats) if budget is not None else None
            if instant is not None and (deadline is None or instant < deadline):
                deadline = instant
        if record.answered_ms is not None and record.max_ms is not None:
            limit = record.answered_ms + record.max_ms
            if deadline is None or limit < deadline:
                deadline = limit
        return deadline

    def next_deadline(self) -> int | None:
        """When to call `on_time()` next (epoch ms), or None: the earliest exhaustion
        instant, maximum call duration or hold expiry — or a little earlier: a budget
        that changed since its last search gives a cheap lower bound of its instant,
        and the exact instant is searched only when that bound is reached."""
        return self._earliest(self.now_ms(), None)[1]

    def next_cut(self) -> int | None:
        """The exact instant (epoch ms) of the next cut — exhaustion or maximum
        duration — searching every budget that changed; None if none is coming."""
        now = self.now_ms()
        earliest: int | None = None
        for budget in self._budgets.values():
            if budget.meters:
                instant = budget.instant(now, self.stats)
                if instant is not None and (earliest is None or instant < earliest):
                    earliest = instant
        for record in self._calls.values():
            if record.answered_ms is not None and record.max_ms is not None:
                limit = record.answered_ms + record.max_ms
                if earliest is None or limit < earliest:
                    earliest = limit
        return earliest

    def on_time(self) -> list[GuardCut]:
        """Everything due now: see `due`."""
        return self.due(self.now_ms())

    def due(self, up_to_ms: int) -> list[GuardCut]:
        """Carry out every deadline at or before `up_to_ms`, earliest first, and return
        the cuts: all calls of an exhausted budget at its exhaustion instant, a call at
        its maximum duration. The cut calls are finished here (their cost at the cut
        instant taken off their budgets), so the tracker only has to bill them at
        `at_ms` and tell the PBX. Expired holds are released."""
        cuts: list[GuardCut] = []
        now = self.now_ms()
        while True:
            target, instant = self._earliest(now, up_to_ms)
            if target is None or instant is None or instant > up_to_ms:
                return cuts
            if isinstance(target, _Budget):
                # A level ran dry: every call drawing on it goes, at the same instant.
                for call in list(target.meters):
                    cuts.append(GuardCut(call, instant, target.cut_reason))
                    self._settle(self._calls[call], instant)
            elif target.answered_ms is None:
                log.info("call %s was authorised but not answered in time: its first "
                         "increment is no longer held", target.key)
                self._drop_hold(target)
            else:
                cuts.append(GuardCut(target.key, instant, CutReason.MAX_CALL_DURATION))
                self._settle(target, instant)

    def _earliest(self, now: int, up_to: int | None
                  ) -> tuple[_Budget | _Call | None, int | None]:
        """The first thing to do, and when. Budgets whose lower bound is after `up_to`
        (None: for scheduling only) are not searched: the bound stands for them."""
        best: _Budget | _Call | None = None
        earliest: int | None = None
        for budget in self._budgets.values():
            if budget.meters:
                instant = budget.bound(now)
                if instant is not None and up_to is not None and instant <= up_to:
                    instant = budget.instant(now, self.stats)
                if instant is not None and (earliest is None or instant < earliest):
                    best, earliest = budget, instant
        for record in self._calls.values():
            if record.answered_ms is not None:
                if record.max_ms is None:
                    continue
                instant = record.answered_ms + record.max_ms
            elif record.hold_until is not None:
                instant = record.hold_until
            else:
                continue
            # A budget and a call's own limit at the same instant: the budget first,
            # since it cuts the call too and names the more important reason.
            if earliest is None or instant < earliest:
                best, earliest = record, instant
        return best, earliest

    # backstops ---------------------------------------------------------------------
    def backstops(self) -> list[tuple[str, int]]:
        """(call, whole seconds of talk time) for every answered call whose PBX
        backstop changed since the last call of this method. Seconds are rounded up
        from the exact deadline (the server's own cut comes first)."""
        changed = []
        for call in self._stale_backstops:
            record = self._calls.get(call)
            if record is None or record.answered_ms is None:
                continue
            deadline = self.deadline_of(call)
            if deadline is None:
                continue
            seconds = backstop_seconds(deadline - record.answered_ms)
            if seconds != record.backstop:
                record.backstop = seconds
                changed.append((call, seconds))
        self._stale_backstops.clear()
        return changed

    def has_stale_backstops(self) -> bool:
        """Whether `backstops()` may have something to say."""
        return bool(self._stale_backstops)

    def take_stats(self) -> list[SearchStats]:
        stats, self.stats = self.stats, []
        return stats

    # internals ---------------------------------------------------------------------
    def _max_duration(self, record: _Call, now: int) -> int | None:
        """The talk time this call would get if answered now (epoch ms)."""
        if record.answered_ms is not None:
            deadline = self.deadline_of(record.key)
            return None if deadline is None else max(0, deadline - record.answered_ms)
        longest = record.max_ms
        if not record.held:
            return longest
        for draw in record.draws:
            budget = self._budgets[draw.budget]
            meter = budget.meters.get(record.key)
            if meter is None:
                continue
            meter.answered_ms = now          # as if answered now, for this one search
            try:
                instant = exhaustion_instant(budget.meters.values(), budget.limit, now,
                                             self.stats)
            finally:
                meter.answered_ms = None
            if instant is not None:
                allowed = max(0, instant - now)
                longest = allowed if longest is None else min(longest, allowed)
        return longest

    def _settle(self, record: _Call, end_ms: int) -> None:
        for draw in record.draws:
            budget = self._budgets.get(draw.budget)
            if budget is None:
                continue
            meter = budget.meters.pop(record.key, None)
            if meter is not None:
                # What it cost never exceeds what it reserved: the cut moves later.
                budget.limit -= meter.final(end_ms)
                self._touch(budget, earlier=False)
        self._calls.pop(record.key, None)
        self._stale_backstops.discard(record.key)

    def _drop_hold(self, record: _Call) -> None:
        # The call stays known (so a late answer is checked again) but reserves nothing.
        for draw in record.draws:
            budget = self._budgets.get(draw.budget)
            if budget is not None and budget.meters.pop(record.key, None) is not None:
                self._touch(budget, earlier=False)
        record.held = False
        record.hold_until = None

    def _touch(self, budget: _Budget, *, earlier: bool | None) -> None:
        budget.touch(earlier)
        # Every answered call of the budget may get a new maximum talk time.
        self._stale_backstops.update(key for key, meter in budget.meters.items()
                                     if meter.answered_ms is not None)
