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

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cashdesk.clock import Clock
from cashdesk.pbx.bridge import CutReason, RefusalReason, backstop_seconds
from cashdesk.prepaid.budget import (
    Meter,
    SearchStats,
    earliest_possible_instant,
    exhaustion_instant,
)
from cashdesk.prepaid.timeline import epoch_ms
from cashdesk.rating.pricing import RateTerms

log = logging.getLogger(__name__)

#: An authorised call that is never answered stops holding its first increment after
#: this long: the PBX may have dropped it without telling us (a late authorisation
#: answer, a crash). Longer than any ringing time (Kamailio's default is 120 s).
HOLD_TTL_MS = 180_000


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


class PrepaidGuard:
    """See the module doc. Not thread-safe: one writer thread owns it."""

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


def draws_for(levels: Iterable[tuple[BudgetKey, RateTerms | None]]) -> tuple[Draw, ...]:
    """Draws from (budget, terms) pairs, skipping budgets the call does not pay at."""
    return tuple(Draw(key, terms) for key, terms in levels if terms is not None)
