"""The exhaustion instant computed the slow, obvious way, to check the guard against.

It shares nothing with the guard's search but the pricing function itself: it walks
every second boundary of every call in time order (the only instants at which a
call's billed seconds can change), keeps the running total of what the calls have
reserved — the price so far by `charge()`, never less than the first increment — and
stops at the first step that no longer fits.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from cashdesk.rating.pricing import RateTerms, charge, price


def reservation(terms: RateTerms, answered_ms: int | None, t_ms: int, currency: str) -> int:
    """What a call has reserved at `t_ms`, in sub-units, by definition."""
    first = price(terms, terms.initial_increment, currency).sub_units
    if answered_ms is None:
        return first
    return max(first, charge(terms, max(0, t_ms - answered_ms), currency).amount.sub_units)


def expected_cut(calls: Sequence[tuple[RateTerms, int | None]], limit: int, currency: str,
                 *, now: int = 0, horizon_ms: int = 6 * 3600 * 1000) -> int | None:
    """The last millisecond at which the calls' reservations fit in `limit`, walking
    second boundaries; None if they still fit `horizon_ms` after the first answer.
    Calls none of which is answered only hold their first increments: they fit
    (None) or must go at once (`now`)."""
    answered = [a for _, a in calls if a is not None]
    if not answered:
        held = sum(reservation(terms, None, now, currency) for terms, _ in calls)
        return None if held <= limit else now
    floor = min(answered)
    current = [reservation(terms, a, floor, currency) for terms, a in calls]
    total = sum(current)
    if total > limit:
        return floor
    # (instant, call): a call's reservation can only change when its talk time
    # passes a whole second (k·1000 + 1 ms after its answer).
    heap = [(a + 1, i) for i, (_, a) in enumerate(calls) if a is not None]
    heapq.heapify(heap)
    while heap:
        instant = heap[0][0]
        if instant - floor > horizon_ms:
            return None
        while heap and heap[0][0] == instant:
            _, i = heapq.heappop(heap)
            terms, a = calls[i]
            value = reservation(terms, a, instant, currency)
            total += value - current[i]
            current[i] = value
            heapq.heappush(heap, (instant + 1000, i))
        if total > limit:
            return instant - 1
    return None
