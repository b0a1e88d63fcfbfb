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

Finding T:

- A meter's value at an instant is a few integer operations on its `Term` (the price
  of the billed seconds written out, no call). A meter can only step at its answer +
  k·1000 + 1 ms: billed seconds change when the talk time passes a whole second, so
  any window of at most one second holds at most one step of each meter.
- Each meter lies between two straight lines (price ≈ fee + seconds × rate/60 within
  the rounding, billed seconds within one increment of the talk time), so summing the
  lines bounds T to a window about one increment wide (`Lines` keeps the sums, so this
  costs nothing per search). The line halfway between is a good guess of T when many
  meters smooth the sum: within a second or so for hundreds of calls.
- The search evaluates every meter at the guess, then once more just past the Newton
  estimate from there, which usually brackets T in a window of at most one second.
  A meter whose reservation is the same at both ends of the window does not step
  inside it and is folded into a constant; each of the others steps exactly once
  inside, at its own millisecond of the second, so sorting those steps by instant and
  summing them gives T with no further evaluation. When the guess is off (few calls,
  long increments) the window is halved instead, folding meters as before, until it
  is at most one second wide. About two evaluations per meter in all.
- A budget's meters (`MeterSet`) also keep their values at the last T found (the
  *anchor*), updated in O(1) as meters come and go, and are filed by their millisecond
  of the second. After a small change the next T is close: the search walks there
  from the anchor a window at a time, evaluating only the meters filed under the
  window's milliseconds; farther, the anchor serves as a probe already made.
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import accumulate, compress
from operator import ne

from cashdesk.money import minor_unit_sub_units
from cashdesk.rating.pricing import RateTerms, charge, price_sub_units

_MS_PER_MINUTE = 60_000
#: Billed seconds change only when the talk time passes a whole second: every step of
#: a meter falls on the same millisecond of the second (its answer's, + 1).
_SECOND = 1000
#: Below this many stepping meters a search bisects the lines' window from the start:
#: the guess pays off only when many meters smooth their sum towards its line.
_GUIDED_MIN_METERS = 24
#: Guided probes tried before bisecting.
_GUIDED_PROBES = 4
#: Stepping meters are filed by their millisecond of the second in buckets of 2^3 ms.
_PHASE_SHIFT = 3
_PHASE_BUCKETS = _SECOND >> _PHASE_SHIFT
#: A search sweeps from the anchor when the lines' slope puts the instant at most this
#: far away (ms); farther, it probes.
_SWEEP_MAX_MS = 1500
#: A sweep's window: the estimated distance, 1/16 more and this margin (ms). Falling
#: short costs only the next window.
_SWEEP_MARGIN_MS = 16
#: The margin (ms) a guided probe keeps beyond its estimate of T, plus 1/16 of the
#: distance it estimates (measured: about 2.1 evaluations per meter with 500 meters).
_MARGIN_MS = 128
#: Farther than this (ms) from the side known, an aimed probe overshoots by half.
_FAR_MS = 2000

#: A meter compiled for evaluation (an answered call at a rate above zero): (end of
#: the first increment, first increment, answer + initial increment, subsequent
#: increment, numerator base, numerator step, denominator, minor unit), instants in ms
#: and amounts in sub-units. The reservation at t is `first` up to `end`, then
#: ``minor * ((base - step * ((initial_end - t) // increment)) // denominator)``:
#: `price_sub_units` of initial + k·subsequent seconds, k = ⌈(t − initial_end) /
#: increment⌉.
Term = tuple[int, int, int, int, int, int, int, int]


@functools.cache
def _minor(currency: str) -> int:
    return max(1, minor_unit_sub_units(currency))


class Meter:
    """What one call has reserved at one budget, as a function of time."""

    __slots__ = ("_answered_ms", "_compiled", "_minor", "currency", "first", "terms")

    def __init__(self, terms: RateTerms, currency: str, answered_ms: int | None = None) -> None:
        self.terms = terms
        self.currency = currency
        self._minor = _minor(currency)
        self._answered_ms = answered_ms
        # (term, rate, lower, upper, middle) once answered, made when first needed.
        self._compiled: tuple[Term, int, int, int, int] | None = None
        #: The first increment (fee + initial increment), in sub-units: held from
        #: authorisation until the call's own billing passes it.
        self.first = price_sub_units(terms, terms.initial_increment, currency)

    @property
    def answered_ms(self) -> int | None:
        """When talk time started (epoch ms); None while the call is not answered."""
        return self._answered_ms

    @answered_ms.setter
    def answered_ms(self, value: int | None) -> None:
        self._answered_ms = value
        self._compiled = None

    @property
    def steps(self) -> bool:
        """Whether the reservation can grow past the first increment: answered, at a
        rate above zero (a free call's price is its fee, whatever its length)."""
        return self._answered_ms is not None and self.terms.rate_sub_units > 0

    def compiled(self) -> tuple[Term, int, int, int, int]:
        """(term, rate, lower, upper, middle) of an answered meter: its `Term`, its rate
        in sub-units per minute and its lines' offsets, scaled by 60,000 ms per minute so
        they stay integers: 60000·r(t) lies between rate·t + lower and rate·t + upper,
        and rate·t + middle is half an increment above the talk time."""
        compiled = self._compiled
        if compiled is None:
            answered = self._answered_ms
            if answered is None:
                raise ValueError("an unanswered meter holds its first increment: no term")
            terms, minor = self.terms, self._minor
            initial, subsequent = terms.initial_increment, terms.subsequent_increment
            rate, fee = terms.rate_sub_units, terms.fee_sub_units
            # price_sub_units(s) = minor·((2·(60·fee + s·rate) + 60·minor) // (120·minor)).
            term = (answered + max(terms.grace_ms, _SECOND * initial), self.first,
                    answered + _SECOND * initial, _SECOND * subsequent,
                    120 * fee + 60 * minor + 2 * initial * rate, 2 * subsequent * rate,
                    120 * minor, minor)
            # r ≥ fee + rate·(t − answered − grace)/60000 − minor. Within grace r is the
            # first increment, which is above the line; after it, billed seconds ≥ talk
            # time. r ≤ fee + rate·(t − answered + longest increment)/60000 + minor for
            # t ≥ answered: billed seconds exceed the talk time by less than one increment.
            lower = _MS_PER_MINUTE * (fee - minor) - rate * (answered + terms.grace_ms)
            upper = (_MS_PER_MINUTE * (fee + minor)
                     + rate * (_SECOND * max(initial, subsequent) - answered))
            middle = _MS_PER_MINUTE * fee + rate * (500 * subsequent - answered)
            compiled = self._compiled = (term, rate, lower, upper, middle)
        return compiled

    def term(self) -> Term:
        """This meter compiled for evaluation (answered meters only)."""
        return (self._compiled or self.compiled())[0]

    def reserved(self, t_ms: int) -> int:
        """Sub-units reserved at instant `t_ms`: the first increment until the call's
        billing passes it (not answered, or within grace), then the price of the
        seconds billed so far."""
        if self._answered_ms is None:
            return self.first
        end, first, initial_end, increment, base, step, denominator, minor = \
            (self._compiled or self.compiled())[0]
        if t_ms <= end:
            return first
        return minor * ((base - step * ((initial_end - t_ms) // increment)) // denominator)

    def final(self, end_ms: int) -> int:
        """What the call costs at this budget if it ends at `end_ms` (sub-units):
        `charge()`, the one pricing function; nothing if it was never answered."""
        if self._answered_ms is None:
            return 0
        return charge(self.terms, max(0, end_ms - self._answered_ms), self.currency) \
            .amount.sub_units

    def __repr__(self) -> str:
        return (f"<Meter {self.terms.prefix} {self.terms.initial_increment}/"
                f"{self.terms.subsequent_increment} answered={self._answered_ms}>")


def total_reserved(terms: Iterable[Term], t_ms: int) -> int:
    """Σ reservations of compiled meters at `t_ms`."""
    return sum([first if t_ms <= end
                else minor * ((base - step * ((initial_end - t_ms) // increment)) // denominator)
                for end, first, initial_end, increment, base, step, denominator, minor in terms])


@dataclass(frozen=True, slots=True)
class SearchStats:
    """How much work one exhaustion search did (for benchmarks and tests)."""

    meters: int
    evaluations: int
    iterations: int
    window_ms: int


class Lines:
    """The sums a search starts from, kept as meters come and go (O(1) each): what the
    meters that never step hold (unanswered, or free), and over the meters that step,
    their first increments, rates and lines' offsets; the earliest answer of
    any meter and the last answer of a meter that steps (looked for again only when
    the meter that set it goes)."""

    __slots__ = ("_answers", "_floor", "_latest", "_stepping_answers", "constant", "first",
                 "lower", "middle", "rate", "upper")

    def __init__(self) -> None:
        self.constant = 0
        self.first = 0
        self.rate = 0
        self.lower = 0
        self.upper = 0
        self.middle = 0
        self._answers: dict[int, int] = {}            # answer instant → how many meters
        self._stepping_answers: dict[int, int] = {}
        self._floor: int | None = None
        self._latest: int | None = None

    def add(self, meter: Meter) -> None:
        answered = meter.answered_ms
        if answered is not None:
            _count(self._answers, answered, 1)
            if self._floor is not None and answered < self._floor:
                self._floor = answered
        if answered is None or meter.terms.rate_sub_units == 0:
            self.constant += meter.first
            return
        _, rate, lower, upper, middle = meter._compiled or meter.compiled()
        self.first += meter.first
        self.rate += rate
        self.lower += lower
        self.upper += upper
        self.middle += middle
        _count(self._stepping_answers, answered, 1)
        if self._latest is not None and answered > self._latest:
            self._latest = answered

    def remove(self, meter: Meter) -> None:
        answered = meter.answered_ms
        if answered is not None:
            _count(self._answers, answered, -1)
            if answered == self._floor:
                self._floor = None
        if answered is None or meter.terms.rate_sub_units == 0:
            self.constant -= meter.first
            return
        _, rate, lower, upper, middle = meter._compiled or meter.compiled()
        self.first -= meter.first
        self.rate -= rate
        self.lower -= lower
        self.upper -= upper
        self.middle -= middle
        _count(self._stepping_answers, answered, -1)
        if answered == self._latest:
            self._latest = None

    @classmethod
    def of(cls, meters: Iterable[Meter]) -> tuple[Lines, list[Term]]:
        """The lines of `meters` and the terms of those that step, in one pass."""
        lines = cls()
        constant = 0
        answers, stepping_answers = lines._answers, lines._stepping_answers
        stepping: list[Meter] = []
        for meter in meters:
            answered = meter._answered_ms
            if answered is None:
                constant += meter.first
                continue
            answers[answered] = answers.get(answered, 0) + 1
            if meter.terms.rate_sub_units == 0:
                constant += meter.first
            else:
                stepping.append(meter)
                stepping_answers[answered] = stepping_answers.get(answered, 0) + 1
        lines.constant = constant
        if not stepping:
            return lines, []
        compiled = [meter._compiled or meter.compiled() for meter in stepping]
        terms, rates, lowers, uppers, middles = zip(*compiled)
        lines.first = sum([meter.first for meter in stepping])
        lines.rate = sum(rates)
        lines.lower = sum(lowers)
        lines.upper = sum(uppers)
        lines.middle = sum(middles)
        return lines, list(terms)

    def floor(self) -> int | None:
        """The earliest answer of any meter (None: none answered)."""
        if self._floor is None and self._answers:
            self._floor = min(self._answers)
        return self._floor

    def latest(self) -> int | None:
        """The last answer of a meter that steps (None: none does)."""
        if self._latest is None and self._stepping_answers:
            self._latest = max(self._stepping_answers)
        return self._latest

    def bound(self, limit: int, now_ms: int) -> int | None:
        """A lower bound of the exhaustion instant from the lines alone (None: the
        meters always fit)."""
        floor = self.floor()
        if floor is None:
            return None if self.constant <= limit else now_ms
        latest = self.latest()
        if latest is None:
            return floor
        candidate = (_MS_PER_MINUTE * (limit - self.constant) - self.upper) // self.rate
        return candidate if candidate >= latest else floor


def _count(counts: dict[int, int], key: int, change: int) -> None:
    count = counts.get(key, 0) + change
    if count:
        counts[key] = count
    else:
        del counts[key]


class MeterSet:
    """The meters of one budget, by call, with their `Lines` and compiled terms kept
    up to date, and every stepping meter's value at an *anchor*: the last instant a
    search found (or an instant where it evaluated them all). Adding, answering or
    removing a meter updates these in O(1), and the stepping meters are also filed by
    their millisecond of the second, so that a search after a small change sweeps only
    the meters that step between the anchor and the new instant (`_sweep`)."""

    __slots__ = ("_anchor", "_phases", "_sum", "_terms", "_values", "lines", "meters")

    def __init__(self) -> None:
        self.meters: dict[str, Meter] = {}
        self._terms: dict[str, Term] = {}        # the meters that step
        self._values: dict[str, int] = {}       # their values at the anchor (same order)
        self._sum = 0                           # … summed
        self._anchor: int | None = None
        # The stepping meters by the millisecond of the second they step at, in buckets
        # of 2^_PHASE_SHIFT ms.
        self._phases: dict[int, dict[str, Term]] = {}
        self.lines = Lines()

    def __len__(self) -> int:
        return len(self.meters)

    def __bool__(self) -> bool:
        return bool(self.meters)

    def __contains__(self, call: object) -> bool:
        return call in self.meters

    def __iter__(self) -> Iterator[str]:
        return iter(self.meters)

    def get(self, call: str) -> Meter | None:
        return self.meters.get(call)

    def add(self, call: str, meter: Meter) -> None:
        if call in self.meters:
            self.remove(call)
        self.meters[call] = meter
        self.lines.add(meter)
        if meter.steps:
            self._step(call, meter.term())

    def remove(self, call: str) -> Meter | None:
        meter = self.meters.pop(call, None)
        if meter is not None:
            self.lines.remove(meter)
            self._unstep(call)
        return meter

    def answer(self, call: str, at_ms: int) -> None:
        """The call's meter starts its talk time at `at_ms` (it keeps its place)."""
        meter = self.meters[call]
        self.lines.remove(meter)
        meter.answered_ms = at_ms
        self.lines.add(meter)
        self._unstep(call)
        if meter.steps:
            self._step(call, meter.term())

    def _step(self, call: str, term: Term) -> None:
        self._terms[call] = term
        phase = (term[0] % _SECOND) >> _PHASE_SHIFT
        bucket = self._phases.get(phase)
        if bucket is None:
            bucket = self._phases[phase] = {}
        bucket[call] = term
        anchor = self._anchor
        if anchor is not None:
            value = self._values[call] = _value(term, anchor)
            self._sum += value

    def _unstep(self, call: str) -> None:
        term = self._terms.pop(call, None)
        if term is not None:
            phase = (term[0] % _SECOND) >> _PHASE_SHIFT
            bucket = self._phases[phase]
            del bucket[call]
            if not bucket:
                del self._phases[phase]
            if self._anchor is not None:
                self._sum -= self._values.pop(call)

    def has_answered(self) -> bool:
        return bool(self.lines._answers)

    def answered(self) -> Iterator[str]:
        """The calls whose meters are answered."""
        return (call for call, meter in self.meters.items() if meter.answered_ms is not None)

    def reserved(self, t_ms: int) -> int:
        """R(t): what the calls reserve at `t_ms`."""
        if t_ms == self._anchor:
            return self.lines.constant + self._sum
        return self.lines.constant + total_reserved(self._terms.values(), t_ms)

    def instant(self, limit: int, now_ms: int, stats: list[SearchStats] | None = None, *,
                near: Iterable[int | None] = ()) -> int | None:
        """`exhaustion_instant` of these meters; `near`: instants to look at first (the
        last instant known, bounds from it), any of them may be wrong."""
        return self._instant(None, limit, now_ms, stats, near)

    def instant_with(self, call: str, meter: Meter, limit: int, now_ms: int,
                     stats: list[SearchStats] | None = None, *,
                     near: Iterable[int | None] = ()) -> int | None:
        """The exhaustion instant if `call`'s meter were `meter` (added, or in place of
        the one it has): what-if, nothing kept but the anchor."""
        with self._replaced(call, meter):
            if call in self._terms:
                terms = [term for key, term in self._terms.items() if key != call]
                if meter.steps:
                    terms.append(meter.term())
                return _search(terms, self.lines, limit, now_ms, stats, near)[0]
            return self._instant(meter.term() if meter.steps else None, limit, now_ms, stats,
                                 near)

    def _instant(self, extra: Term | None, limit: int, now_ms: int,
                 stats: list[SearchStats] | None, near: Iterable[int | None]) -> int | None:
        """The exhaustion instant of these meters and `extra`, swept from the anchor if
        it is close, else searched with the anchor as a probe already made (or from
        scratch); the anchor moves to it."""
        anchor = self._anchor
        if anchor is not None and len(self._terms) >= _GUIDED_MIN_METERS:
            swept = self._sweep(anchor, extra, limit, stats)
            if swept is not None:
                return swept
        terms = list(self._terms.values())
        count = len(terms)
        known: Probe | None = None
        if anchor is not None:
            known = anchor, list(self._values.values())
            if extra is not None:
                known[1].append(_value(extra, anchor))
        if extra is not None:
            terms.append(extra)
        instant, values = _search(terms, self.lines, limit, now_ms, stats, near, known,
                                  keep=True)
        if instant is not None and values is not None:
            self._anchor = instant
            self._values = dict(zip(self._terms, values[:count]))
            self._sum = sum(self._values.values())
        return instant

    def _sweep(self, anchor: int, extra: Term | None, limit: int,
               stats: list[SearchStats] | None) -> int | None:
        """The exhaustion instant, walked to from the anchor one window of at most a
        second at a time: in such a window each meter steps at most once, at its own
        millisecond of the second, so only the meters filed under the window's
        milliseconds are evaluated (each at its step), and their steps, sorted and
        summed, give the instant. None (search instead) when the instant is one of the
        special cases, when the lines' slope puts it more than a second or two away,
        or once the walk has evaluated as many meters as there are."""
        lines = self.lines
        floor = lines.floor()
        if floor is None or lines.latest() is None \
                or lines.constant + lines.first > limit:
            return None
        rate = lines.rate
        total = lines.constant + self._sum
        extra_now = 0                         # the extra meter's value at `origin`
        if extra is not None:
            extra_now = _value(extra, anchor)
            total += extra_now
        later = total <= limit
        if abs(limit - total) * _MS_PER_MINUTE > _SWEEP_MAX_MS * rate:
            return None
        terms, values, phases = self._terms, self._values, self._phases
        budget = len(terms)                   # meters evaluated before giving up
        evaluations = windows = 0
        moved: dict[str, int] = {}            # values at `origin` of meters that stepped
        origin = anchor
        while budget > 0:
            windows += 1
            # Newton's step along the lines' slope, and a margin: the window to sweep.
            distance = abs(limit - total) * _MS_PER_MINUTE // rate + 1
            width = min(_SECOND, distance + _SWEEP_MARGIN_MS + (distance >> 4))
            # The meters filed under the window's milliseconds: stepping at origin + 1 +
            # offset (later) or at origin − offset (earlier), for offset < width.
            first_ms = origin % _SECOND if later else (origin - width) % _SECOND
            key = first_ms >> _PHASE_SHIFT
            candidates: list[tuple[str, Term]] = []
            for _ in range(min(_PHASE_BUCKETS,
                               ((first_ms + width - 1) >> _PHASE_SHIFT) - key + 1)):
                bucket = phases.get(key % _PHASE_BUCKETS)
                if bucket is not None:
                    candidates.extend(bucket.items())
                key += 1
            budget -= len(candidates) + 1
            evaluations += len(candidates)
            # Each candidate's step in the window, (instant, size, call, value after it
            # — later — or before it — earlier), for those whose value changes there:
            # `_value` written out, as this runs for every meter swept.
            current = moved.get if moved else None
            steps: list[tuple[int, int, str | None, int]]
            if later:
                last = origin + width
                steps = [
                    (at, value - now, call, value)
                    for call, term in candidates
                    for at in [origin + 1 + (term[0] - origin) % _SECOND] if at <= last
                    for now in [values[call] if current is None
                                else current(call, values[call])]
                    for value in [term[1] if at <= term[0] else term[7] * (
                        (term[4] - term[5] * ((term[2] - at) // term[3])) // term[6])]
                    if value != now]
            else:
                last = origin - width
                steps = [
                    (at, now - value, call, value)
                    for call, term in candidates
                    for at in [origin - (origin - 1 - term[0]) % _SECOND] if at > last
                    for now in [values[call] if current is None
                                else current(call, values[call])]
                    for value in [term[1] if at <= term[0] + 1 else term[7] * (
                        (term[4] - term[5] * ((term[2] - at + 1) // term[3])) // term[6])]
                    if value != now]
            if extra is not None:
                evaluations += 1
                if later:
                    at = origin + 1 + (extra[0] - origin) % _SECOND
                    if at <= last:
                        value = _value(extra, at)
                        if value != extra_now:
                            steps.append((at, value - extra_now, None, value))
                else:
                    at = origin - (origin - 1 - extra[0]) % _SECOND
                    if at > last:
                        value = _value(extra, at - 1)
                        if value != extra_now:
                            steps.append((at, extra_now - value, None, value))
            steps.sort(key=_first, reverse=not later)
            sums = list(accumulate([size for _, size, _, _ in steps]))
            if later:
                # The first step that does not fit: T is the millisecond before it.
                cut = bisect_right(sums, limit - total)
                if cut < len(steps):
                    instant = steps[cut][0] - 1
                    for at, _, call, after in steps:
                        if at > instant:
                            break
                        if call is not None:
                            moved[call] = after
                    self._moor(instant, moved)
                    _record(stats, len(terms), evaluations, windows, instant - anchor)
                    return instant
                origin += width
                total += sums[-1] if sums else 0
            else:
                # Undo steps, latest first, until what is left fits: T is the millisecond
                # before the last undone (all steps at that millisecond undone).
                cut = bisect_left(sums, total - limit)
                if cut < len(steps):
                    at = steps[cut][0]
                    for step_at, _, call, before in steps:
                        if step_at < at:
                            break
                        if call is not None:
                            moved[call] = before
                    self._moor(at - 1, moved)
                    _record(stats, len(terms), evaluations, windows, anchor - at + 1)
                    return at - 1
                origin -= width
                total -= sums[-1] if sums else 0
            for _, _, call, value in steps:
                if call is None:
                    extra_now = value
                else:
                    moved[call] = value
        return None

    def _moor(self, instant: int, moved: dict[str, int]) -> None:
        # The anchor moves to `instant`, where the meters that stepped on the way have
        # these values.
        values = self._values
        change = 0
        for call, value in moved.items():
            change += value - values[call]
            values[call] = value
        self._sum += change
        self._anchor = instant

    def bound_with(self, call: str, meter: Meter, limit: int, now_ms: int) -> int | None:
        """`Lines.bound` if `call`'s meter were `meter`: what-if, nothing kept."""
        with self._replaced(call, meter):
            return self.lines.bound(limit, now_ms)

    @contextmanager
    def _replaced(self, call: str, meter: Meter) -> Iterator[None]:
        lines = self.lines
        saved = lines._floor, lines._latest
        old = self.meters.get(call)
        if old is not None:
            lines.remove(old)
        lines.add(meter)
        try:
            yield
        finally:
            lines.remove(meter)
            if old is not None:
                lines.add(old)
            lines._floor, lines._latest = saved


def _first(step: tuple[int, int, str | None, int]) -> int:
    return step[0]


def _value(term: Term, t_ms: int) -> int:
    end, first, initial_end, increment, base, step, denominator, minor = term
    if t_ms <= end:
        return first
    return minor * ((base - step * ((initial_end - t_ms) // increment)) // denominator)


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
    lines, terms = Lines.of(meters)
    return _search(terms, lines, limit, now_ms, stats, (lo_hint, hi_hint))[0]


def earliest_possible_instant(meters: Iterable[Meter], limit: int,
                              now_ms: int) -> int | None:
    """A lower bound of `exhaustion_instant`, from the straight lines alone (no meter
    evaluated, so cheap): the exact instant is None or not before it. The timer may
    wake at this bound; the exact instant is searched only then."""
    return Lines.of(meters)[0].bound(limit, now_ms)


#: An instant and every stepping meter's value there, in the order of their terms.
Probe = tuple[int, list[int]]


def _search(terms: list[Term], lines: Lines, limit: int, now_ms: int,
            stats: list[SearchStats] | None, near: Iterable[int | None],
            known: Probe | None = None, keep: bool = False
            ) -> tuple[int | None, list[int] | None]:
    """The exhaustion instant T, and (if `keep`) every stepping meter's value at T if
    the search worked them out. `known`: the meters' values at some instant, already
    at hand."""
    floor = lines.floor()
    if floor is None:
        return (None if lines.constant <= limit else now_ms), None
    if lines.constant + lines.first > limit:
        # Not even the earliest answer fits (the limit was lowered under the calls).
        _record(stats, len(terms), 0, 0, 0)
        return floor, None
    latest = lines.latest()
    if latest is None:
        # Free minutes only: every reservation stays its first increment.
        _record(stats, 0, 0, 0, 0)
        return None, None
    rate = lines.rate
    scaled = _MS_PER_MINUTE * (limit - lines.constant)
    # Σ lower lines > limit from this instant on, hence R(hi) > limit.
    hi = max(floor + 1, (scaled - lines.lower) // rate + 1)
    # Σ upper lines ≤ limit up to this instant (valid once every call is answered);
    # else the earliest answer, where every meter holds its first increment, fits.
    candidate = (scaled - lines.upper) // rate
    lo = candidate if latest <= candidate < hi else floor
    window = hi - lo
    if known is not None and not lo <= known[0] <= hi:
        known = None
    first_probes = [] if known is not None else \
        [hint for hint in near if hint is not None and lo < hint < hi]
    first_probes.reverse()
    guided = len(terms) >= _GUIDED_MIN_METERS
    guess = (scaled - lines.middle) // rate if guided else None
    instant, evaluations, probes, values = _narrow(terms, lines.constant, limit, lo, hi,
                                                   first_probes, guess, rate, known, keep)
    _record(stats, len(terms), evaluations, probes, window)
    return instant, values


def _narrow(active: list[Term], fixed: int, limit: int, lo: int, hi: int,
            first_probes: list[int], guess: int | None, rate: int, known: Probe | None,
            keep: bool) -> tuple[int, int, int, list[int] | None]:
    """The last instant T in [lo, hi) where fixed + Σ active reservations ≤ limit,
    given that it holds at `lo` and not at `hi`, and the values at `known` (within [lo,
    hi]) if given; (T, evaluations, probes, every meter's value at T if `keep` and
    worked out)."""
    low_values: list[int] | None = None     # each active meter's value at lo, once known
    high_values: list[int] | None = None    # … at hi
    at_lo = at_hi = 0                       # R(lo), R(hi) once known
    evaluations = probes = guided = aimed = 0
    # Once meters fold: every meter's value at T so far as known (a folded meter's is
    # its value in the window), and where each active meter's goes.
    final: list[int] | None = None
    places: list[int] = []
    if known is not None:
        total = fixed + sum(known[1])
        if total <= limit:
            lo, low_values, at_lo = known[0], known[1], total
        else:
            hi, high_values, at_hi = known[0], known[1], total
        guided = 1                          # the known values stand for the guess
    while hi - lo > 1:
        if low_values is not None and high_values is not None:
            # A meter equal at both ends does not step in between: fold it.
            moving = list(map(ne, low_values, high_values))
            folding = not all(moving)
            if keep:
                if final is None:
                    final = list(low_values)
                    places = list(compress(range(len(moving)), moving))
                elif folding:
                    for place, low, still in zip(places, low_values, moving):
                        if not still:
                            final[place] = low
                    places = list(compress(places, moving))
            if folding:
                active = list(compress(active, moving))
                low_values = list(compress(low_values, moving))
                high_values = list(compress(high_values, moving))
                fixed = at_lo - sum(low_values)
            if hi - lo <= _SECOND and not keep:
                # Each meter left steps exactly once in (lo, hi], at its own millisecond
                # of the second: sum the steps in time order up to the one that does
                # not fit.
                ats = sorted([(lo + 1 + (term[0] - lo) % _SECOND, high - low)
                              for term, low, high in zip(active, low_values, high_values)])
                sums = list(accumulate([size for _, size in ats]))
                return ats[bisect_right(sums, limit - at_lo)][0] - 1, evaluations, probes, None
            if hi - lo <= _SECOND:
                # The same, keeping every meter's value at T.
                assert final is not None
                steps = sorted([(lo + 1 + (term[0] - lo) % _SECOND, high - low, place, low)
                                for term, low, high, place
                                in zip(active, low_values, high_values, places)])
                sums = list(accumulate([size for _, size, _, _ in steps]))
                cut = bisect_right(sums, limit - at_lo)
                instant = steps[cut][0] - 1
                for at, size, place, low in steps:
                    # At T, the steps before it are made (not those at T + 1 sorted
                    # before the one that does not fit).
                    final[place] = low + size if at <= instant else low
                return instant, evaluations, probes, final
        x = None
        while first_probes:
            hint = first_probes.pop()
            if lo < hint < hi:
                x = hint
                break
        if x is None:
            if guess is not None and guided < _GUIDED_PROBES:
                guided += 1
                if low_values is None and high_values is None:
                    x = min(hi, max(lo, guess))
                else:
                    x = _aimed(lo, hi, low_values is not None, high_values is not None, at_lo,
                               at_hi, limit, rate, aimed)
                    aimed += 1
            elif low_values is None:
                x = lo
            elif high_values is None:
                x = hi
            else:
                x = (lo + hi) // 2
        probes += 1
        evaluations += len(active)
        values = [first if x <= end
                  else minor * ((base - step * ((initial_end - x) // increment)) // denominator)
                  for end, first, initial_end, increment, base, step, denominator, minor
                  in active]
        total = fixed + sum(values)
        if total <= limit:
            lo, low_values, at_lo = x, values, total
        else:
            hi, high_values, at_hi = x, values, total
    # T = lo: the values there.
    if not keep:
        return lo, evaluations, probes, None
    if final is None:
        final = low_values                  # none folded: every meter's, if known
    elif low_values is not None:
        for place, low in zip(places, low_values):
            final[place] = low
    return lo, evaluations, probes, final


def _aimed(lo: int, hi: int, lo_known: bool, hi_known: bool, at_lo: int, at_hi: int,
           limit: int, rate: int, misses: int) -> int:
    """Where to probe next to bracket T in at most a second, from the known side nearer
    the estimate of T (Newton's step along the lines' slope from one known side, the
    chord between two): just past that estimate, by a margin that grows with the
    distance and doubles with each aimed probe that did not bracket T. From one known
    side more than two seconds away, half the distance past it: calls answered close
    together step together, their sum is lumpy and Newton's step falls short, and a
    first bracket, even wide, lets the next probes evaluate only the calls that step
    inside it."""
    if lo_known and hi_known:
        estimate = lo + (limit - at_lo) * (hi - lo) // (at_hi - at_lo)
    elif lo_known:
        estimate = lo + (limit - at_lo) * _MS_PER_MINUTE // rate + 1
    else:
        estimate = hi - (at_hi - limit) * _MS_PER_MINUTE // rate
    if lo_known and (not hi_known or estimate - lo <= hi - estimate):
        distance = estimate - lo
        margin = (_MARGIN_MS + (distance >> 4)) << misses
        if not hi_known and distance > _FAR_MS:
            margin = max(margin, distance >> 1)
        x = estimate + margin
    else:
        distance = hi - estimate
        margin = (_MARGIN_MS + (distance >> 4)) << misses
        if not lo_known and distance > _FAR_MS:
            margin = max(margin, distance >> 1)
        x = estimate - margin
    return min(hi - 1 if hi_known else hi, max(lo + 1 if lo_known else lo, x))


def _record(stats: list[SearchStats] | None, meters: int, evaluations: int, iterations: int,
            window: int) -> None:
    if stats is not None:
        stats.append(SearchStats(meters, evaluations, iterations, window))
