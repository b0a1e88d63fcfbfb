"""The prepaid guard: in-memory, exact to the millisecond, driven by an injected clock.

Every call draws on one or more budgets (see `budget.py`): the shop's prepaid account
at the buy rate, a prepaid reseller's account at the provider rate, and the cabin's
session cap at the sell rate when the cabin has one. The guard

- authorises a call only if every one of its budgets can pay its first increment
  after what the other calls reserve, and then holds that first increment;
- keeps, per budget, the exhaustion instant (the last millisecond its calls fit), and
  at the earliest of those instants cuts *every* call of that budget — a reseller's
  level running dry cuts all calls of all its shops;
- cuts a call at its maximum call duration;
- tells the PBX each answered call's maximum talk time (its backstop), and again
  whenever that changes.

It knows nothing about the database or the PBX: the call tracker feeds it (balances
after each charge, calls answered and ended) and carries out the cuts it returns, in
one writer thread. Times are epoch milliseconds (`timeline.py`); "now" comes only from
the injected clock, so tests drive it with a `FakeClock` and never sleep.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cashdesk.clock import Clock
from cashdesk.pbx.bridge import CutReason, RefusalReason, backstop_seconds
from cashdesk.prepaid.budget import Meter, MeterSet, SearchStats
from cashdesk.prepaid.timeline import epoch_ms
from cashdesk.rating.pricing import RateTerms

log = logging.getLogger(__name__)

#: An authorised call that is never answered stops holding its first increment after
#: this long: the PBX may have dropped it without telling us (a late authorisation
#: answer, a crash). Longer than any ringing time (Kamailio's default is 120 s).
HOLD_TTL_MS = 180_000

# "Never worked out" (a budget's instant may be None: always fits).
_NEVER = object()


class BudgetKind(StrEnum):
    ACCOUNT = "account"      # a prepaid account: a shop's or a reseller's balance
    SESSION = "session"      # a cabin's session cap: max session amount or deposit


BudgetKey = tuple[BudgetKind, int]


def account_budget(account_id: int) -> BudgetKey:
    return (BudgetKind.ACCOUNT, account_id)


def session_budget(cabin_id: int) -> BudgetKey:
    return (BudgetKind.SESSION, cabin_id)


@dataclass(frozen=True, slots=True)
class Draw:
    """One budget a call draws on, and its rate there."""

    budget: BudgetKey
    terms: RateTerms


@dataclass(frozen=True, slots=True)
class Admission:
    """The guard's answer to an authorisation. Allowed: the longest talk time if the
    call were answered now (None: unlimited). Refused: which budget, and why."""

    allowed: bool
    max_duration_ms: int | None = None
    refusal: RefusalReason | None = None
    budget: BudgetKey | None = None


@dataclass(frozen=True, slots=True)
class GuardCut:
    """A call the guard ends: bill it up to `at_ms`, never beyond."""

    call: str
    at_ms: int
    reason: CutReason


class _Budget:
    __slots__ = ("_fresh", "_hi_hint", "_instant", "_last", "_lo_hint", "currency", "cut_reason",
                 "key", "limit", "meters", "promised", "refusal", "reported", "version")

    def __init__(self, key: BudgetKey, currency: str, limit: int, cut_reason: CutReason,
                 refusal: RefusalReason) -> None:
        self.key = key
        self.currency = currency
        self.limit = limit
        self.cut_reason = cut_reason
        self.refusal = refusal
        self.meters = MeterSet()
        self._instant: int | None = None
        self._fresh = False
        # Bounds on the next instant, from the last one known and the kind of changes
        # since (see `touch`): the next search starts from a window this narrow.
        self._lo_hint: int | None = None
        self._hi_hint: int | None = None
        # The last instant found (fresh or not): after a few changes the next one is
        # usually close, so the next search looks there first.
        self._last: int | None = None
        #: Bumped by every change: what was worked out at one version holds while it lasts.
        self.version = 0
        #: The instant this budget's calls' backstops were last worked out with.
        self.reported: int | None | object = _NEVER
        #: (call, answered_ms, version, instant): what `authorise` found the instant
        #: would be once `call` is answered at `answered_ms`; true while `version` lasts.
        self.promised: tuple[str, int, int, int | None] | None = None

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
        self.version += 1

    def instant(self, now_ms: int, stats: list[SearchStats] | None) -> int | None:
        if not self._fresh:
            self.know(self.meters.instant(self.limit, now_ms, stats,
                                          near=(self._last, self._lo_hint, self._hi_hint)))
        return self._instant

    def know(self, instant: int | None) -> None:
        """The exact instant, found elsewhere for the budget as it is now."""
        self._instant, self._fresh = instant, True
        self._lo_hint = self._hi_hint = None
        if instant is not None:
            self._last = instant

    def near(self) -> tuple[int | None, ...]:
        """Instants a search for this budget with one more call should look at first:
        the last instant found, and + 1 if it is fresh (it no longer fits then)."""
        return (self._last, self.hint())

    def reserved(self, t_ms: int) -> int:
        return self.meters.reserved(t_ms)

    def bound(self, now_ms: int) -> int | None:
        """The instant if known, else a cheap lower bound of it (None: never)."""
        if self._fresh:
            return self._instant
        bound = self.meters.lines.bound(self.limit, now_ms)
        if bound is not None and self._lo_hint is not None and self._lo_hint > bound:
            bound = self._lo_hint
        return bound

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
    __slots__ = ("answered_ms", "backstop", "budgets", "draws", "held", "hold_until", "key",
                 "max_ms")

    def __init__(self, key: str, draws: tuple[Draw, ...], max_ms: int | None) -> None:
        self.key = key
        self.draws = draws
        self.budgets = tuple(draw.budget for draw in draws)
        self.answered_ms: int | None = None
        self.max_ms = max_ms
        # Whether the call's meters are in its budgets: always once answered; before
        # that, while it holds its first increment (until `hold_until`).
        self.held = False
        self.hold_until: int | None = None
        self.backstop: int | None = None     # last maximum sent to the PBX, seconds

    def limit_ms(self) -> int | None:
        """The instant its maximum call duration ends it (answered calls only)."""
        if self.answered_ms is None or self.max_ms is None:
            return None
        return self.answered_ms + self.max_ms


class _Timers:
    """Instants of calls (maximum durations, hold expiries) in a heap with lazy
    deletion: an entry counts while `current(call)` still gives its instant."""

    __slots__ = ("_current", "_heap", "_seq")

    def __init__(self, current: Callable[[str], int | None]) -> None:
        self._heap: list[tuple[int, int, str]] = []
        self._seq = itertools.count()
        self._current = current

    def push(self, instant: int | None, call: str) -> None:
        if instant is not None:
            heapq.heappush(self._heap, (instant, next(self._seq), call))

    def first(self) -> tuple[int, str] | None:
        """The earliest instant that still counts, and its call."""
        heap, current = self._heap, self._current
        while heap:
            instant, _, call = heap[0]
            if current(call) == instant:
                return instant, call
            heapq.heappop(heap)
        return None

    def compact(self, live: int) -> None:
        """Drop entries that no longer count once they outnumber the live calls."""
        if len(self._heap) > 2 * live + 64:
            current = self._current
            self._heap = [entry for entry in self._heap if current(entry[2]) == entry[0]]
            heapq.heapify(self._heap)


class PrepaidGuard:
    """See the module doc. Not thread-safe: one writer thread owns it."""

    def __init__(self, clock: Clock, *, hold_ttl_ms: int = HOLD_TTL_MS) -> None:
        self._clock = clock
        self._hold_ttl_ms = hold_ttl_ms
        self._budgets: dict[BudgetKey, _Budget] = {}
        self._calls: dict[str, _Call] = {}
        # Maximum call durations of answered calls, hold expiries of the others.
        self._limits = _Timers(self._limit_of)
        self._holds = _Timers(self._hold_of)
        # What `backstops()` must look at again: calls answered or recovered since it
        # last looked, and budgets that changed (their answered calls, if the budget's
        # instant moved).
        self._stale_backstops: set[str] = set()
        self._stale_budgets: set[BudgetKey] = set()
        #: Work done by exhaustion searches since the last `take_stats()`.
        self.stats: list[SearchStats] = []

    def fresh(self) -> PrepaidGuard:
        """A guard like this one that holds nothing yet: no budget, no call."""
        return PrepaidGuard(self._clock, hold_ttl_ms=self._hold_ttl_ms)

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
            self._stale_budgets.discard(key)

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
        # Each budget, with this call answered now: the lower bound of its instant from
        # the lines (cheap). Past now, the first increment fits now; else the budget's
        # reservations now tell. Refused by the first budget (in order) that cannot pay.
        plans: list[tuple[int | None, int, _Budget, Meter]] = []
        for draw in draws:
            budget = self._budgets[draw.budget]
            meter = Meter(draw.terms, budget.currency, answered_ms=now)
            bound = budget.meters.bound_with(call, meter, budget.limit, now)
            if (bound is None or bound <= now) \
                    and budget.reserved(now) + meter.first > budget.limit:
                return Admission(False, refusal=budget.refusal, budget=budget.key)
            plans.append((bound, len(plans), budget, meter))
        # The talk time: each budget's exact instant with the call answered now, less
        # now — smallest bound first: a budget whose bound lies beyond the shortest
        # talk time found cannot shorten it, and is not searched.
        longest = max_call_ms
        found: list[tuple[_Budget, int | None]] = []
        for bound, _, budget, meter in sorted(plans, key=_by_bound):
            if bound is not None and longest is not None and bound - now >= longest:
                continue
            instant = budget.meters.instant_with(call, meter, budget.limit, now, self.stats,
                                                 near=budget.near())
            if instant is not None:
                allowed = max(0, instant - now)
                longest = allowed if longest is None else min(longest, allowed)
            found.append((budget, instant))
        record = _Call(call, tuple(draws), max_call_ms)
        record.held = True
        record.hold_until = now + self._hold_ttl_ms
        self._calls[call] = record
        self._holds.push(record.hold_until, call)
        for _, _, budget, meter in plans:
            meter.answered_ms = None
            budget.meters.add(call, meter)
            self._touch(budget, earlier=True)
        for budget, instant in found:
            # Answered at this very millisecond, the call makes the budget what was
            # just searched: `answer` then knows the instant without a search.
            budget.promised = (call, now, budget.version, instant)
        self._holds.compact(len(self._calls))
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
                budget.meters.add(call, Meter(draw.terms, budget.currency))
        record.answered_ms = at
        record.held = False
        record.hold_until = None
        for draw in record.draws:
            budget = self._budgets[draw.budget]
            promised = budget.promised
            budget.meters.answer(call, at)
            self._touch(budget, earlier=True)
            if promised is not None and promised[0] == call and promised[1] == at \
                    and promised[2] + 1 == budget.version:
                budget.know(promised[3])
        self._limits.push(record.limit_ms(), call)
        self._stale_backstops.add(call)
        self._limits.compact(len(self._calls))
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
            budget.meters.add(call, Meter(draw.terms, budget.currency, answered_ms))
            self._touch(budget, earlier=True)
        if answered_ms is not None:
            self._limits.push(record.limit_ms(), call)
            self._stale_backstops.add(call)
        else:
            self._holds.push(record.hold_until, call)

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
        limit = record.limit_ms()
        if limit is not None and end_ms > limit:
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
        limit = record.limit_ms()
        if limit is not None and (deadline is None or limit < deadline):
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
        first = self._limits.first()
        if first is not None and (earliest is None or first[0] < earliest):
            earliest = first[0]
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
        # A budget and a call's own limit at the same instant: the budget first, since
        # it cuts the call too and names the more important reason.
        for timers in (self._limits, self._holds):
            first = timers.first()
            if first is not None and (earliest is None or first[0] < earliest):
                best, earliest = self._calls[first[1]], first[0]
        return best, earliest

    def _limit_of(self, call: str) -> int | None:
        record = self._calls.get(call)
        return None if record is None else record.limit_ms()

    def _hold_of(self, call: str) -> int | None:
        record = self._calls.get(call)
        return None if record is None or record.answered_ms is not None else record.hold_until

    # backstops ---------------------------------------------------------------------
    def backstops(self) -> list[tuple[str, int]]:
        """(call, whole seconds of talk time) for every answered call whose PBX
        backstop changed since the last call of this method. Seconds are rounded up
        from the exact deadline (the server's own cut comes first)."""
        stale = self._stale_backstops
        now = self.now_ms()
        instants: dict[BudgetKey, int | None] = {}
        for key in self._stale_budgets:
            budget = self._budgets.get(key)
            if budget is None or not budget.meters.has_answered():
                continue
            instant = instants[key] = budget.instant(now, self.stats)
            # Its calls' backstops were worked out with this instant already (or are
            # stale themselves): nothing of theirs moved because of this budget.
            if instant != budget.reported:
                budget.reported = instant
                stale.update(budget.meters.answered())
        self._stale_budgets.clear()
        changed = []
        calls, budgets, stats = self._calls, self._budgets, self.stats
        # The earliest instant of each set of budgets calls draw on (most share one).
        earliest: dict[tuple[BudgetKey, ...], int | None] = {}
        for call in stale:
            record = calls.get(call)
            if record is None or record.answered_ms is None:
                continue
            keys = record.budgets
            if keys in earliest:
                deadline = earliest[keys]
            else:
                deadline = None
                for key in keys:
                    if key in instants:
                        instant = instants[key]
                    else:
                        budget = budgets.get(key)
                        instant = instants[key] = \
                            budget.instant(now, stats) if budget is not None else None
                    if instant is not None and (deadline is None or instant < deadline):
                        deadline = instant
                earliest[keys] = deadline
            if record.max_ms is not None:
                limit = record.answered_ms + record.max_ms
                if deadline is None or limit < deadline:
                    deadline = limit
            if deadline is None:
                continue
            seconds = backstop_seconds(deadline - record.answered_ms)
            if seconds != record.backstop:
                record.backstop = seconds
                changed.append((call, seconds))
        stale.clear()
        return changed

    def has_stale_backstops(self) -> bool:
        """Whether `backstops()` may have something to say."""
        if self._stale_backstops:
            return True
        budgets = self._budgets
        return any(key in budgets and budgets[key].meters.has_answered()
                   for key in self._stale_budgets)

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
            if record.key not in budget.meters:
                continue
            instant = budget.meters.instant_with(
                record.key, Meter(draw.terms, budget.currency, answered_ms=now), budget.limit,
                now, self.stats, near=budget.near())
            if instant is not None:
                allowed = max(0, instant - now)
                longest = allowed if longest is None else min(longest, allowed)
        return longest

    def _settle(self, record: _Call, end_ms: int) -> None:
        for draw in record.draws:
            budget = self._budgets.get(draw.budget)
            if budget is None:
                continue
            meter = budget.meters.remove(record.key)
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
            if budget is not None and budget.meters.remove(record.key) is not None:
                self._touch(budget, earlier=False)
        record.held = False
        record.hold_until = None

    def _touch(self, budget: _Budget, *, earlier: bool | None) -> None:
        budget.touch(earlier)
        # Every answered call of the budget may get a new maximum talk time:
        # `backstops()` looks at them if the budget's instant moved.
        if budget.meters.has_answered():
            self._stale_budgets.add(budget.key)


def _by_bound(plan: tuple[int | None, int, _Budget, Meter]) -> tuple[bool, int, int]:
    bound, order = plan[0], plan[1]
    return (bound is None, bound if bound is not None else 0, order)


def draws_for(levels: Iterable[tuple[BudgetKey, RateTerms | None]]) -> tuple[Draw, ...]:
    """Draws from (budget, terms) pairs, skipping budgets the call does not pay at."""
    return tuple(Draw(key, terms) for key, terms in levels if terms is not None)
