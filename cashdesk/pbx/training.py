"""A make-believe PBX for demo and training mode: customers walk into a shop's cabins
and call abroad, so a new cashier can practise on live tiles without a phone in sight.

The simulation is driven by the injected clock and a seeded random generator, so the
same seed replays the same afternoon: each cabin alternates between idle spells and
customers, who dial realistic international numbers for destinations the shop has
rates for, hear it ring for a few seconds, and get an answer (then talk for a
lognormal while, minutes mostly), a busy tone, no answer, or hang up before anyone
picks up. Each call is authorised through the server first, like a real PBX; a refused
customer leaves. `cut` and `set_backstop` are honoured as a PBX would: a cut call ends
a few milliseconds later, and a call reaching its backstop is hung up by the "PBX".

The simulation core is synchronous and clock-driven (`next_action_at`, `run_due`) so
tests step it with a `FakeClock`; `async_start` runs it on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import phonenumbers
from phonenumbers import PhoneNumberType
from sqlalchemy import select
from sqlalchemy.orm import Session

from cashdesk.clock import Clock
from cashdesk.pbx.bridge import AuthorisationRequest, CutReason, LiveCall, PbxBridge
from cashdesk.pbx.events import (
    CallAnswered,
    CallEnded,
    CallFailed,
    CallRinging,
    CallStarted,
    HangupBy,
    PbxEvent,
)
from cashdesk.rating.rater import Rater
from cashdesk.store.models import Cabin

log = logging.getLogger(__name__)

#: A real PBX hangs up a few milliseconds after it was told to.
CUT_LAG = timedelta(milliseconds=3)


@dataclass(frozen=True)
class Behaviour:
    """How the simulated customers behave (seconds and probabilities)."""

    mean_idle_s: float = 90.0          # a cabin stays free this long on average
    ring_min_s: float = 3.0
    ring_max_s: float = 25.0
    answer_share: float = 0.72
    busy_share: float = 0.10
    cancel_share: float = 0.08         # the customer gives up while it rings
    # the rest: no answer, after the PBX's ringing timeout
    no_answer_after_s: float = 45.0
    talk_median_s: float = 180.0
    talk_sigma: float = 0.9
    talk_max_s: float = 40 * 60.0
    calls_per_customer: tuple[int, int] = (1, 3)


@dataclass
class _SimCall:
    pbx_call_id: str
    cabin: str
    dialed: str
    started_at: datetime
    answered_at: datetime | None = None
    backstop_s: int | None = None
    over: bool = False


@dataclass(order=True)
class _Action:
    at: datetime
    seq: int
    run: Callable[[], object] = field(compare=False)


class TrainingBridge(PbxBridge):
    """A simulated PBX for one training shop's cabins (see the module doc)."""

    name = "training"

    def __init__(self, clock: Clock, cabins: Sequence[str], prefixes: Sequence[str], *,
                 seed: int = 0, behaviour: Behaviour | None = None) -> None:
        super().__init__()
        if not cabins or not prefixes:
            raise ValueError("a training PBX needs cabins and destinations with rates")
        self._clock = clock
        self._cabins = list(cabins)
        self._prefixes = sorted(set(prefixes))
        self._random = random.Random(seed)
        self._behaviour = behaviour or Behaviour()
        self._actions: list[_Action] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self._seed = seed
        self._calls: dict[str, _SimCall] = {}
        self._task: asyncio.Task[None] | None = None
        self._woken: asyncio.Event | None = None
        self._started = False
        self._stopping = False
        #: Every event emitted, in order (for tests and a demo log).
        self.emitted: list[PbxEvent] = []

    # ------------------------------------------------------------- simulation ---
    def begin(self) -> None:
        """Schedule the first customer of every cabin (idempotent)."""
        if self._started:
            return
        self._started = True
        for cabin in self._cabins:
            self._customer_arrives_later(cabin)

    def next_action_at(self) -> datetime | None:
        """When the simulation next has something to do."""
        return self._actions[0].at if self._actions else None

    async def run_due(self) -> int:
        """Do everything due by the clock's now, in time order. Returns how many."""
        done = 0
        while self._actions and self._actions[0].at <= self._clock.now():
            action = heapq.heappop(self._actions)
            result = action.run()
            if asyncio.iscoroutine(result):
                await result
            done += 1
        return done

    def live(self) -> list[_SimCall]:
        return [call for call in self._calls.values() if not call.over]

    # ------------------------------------------------------ PbxBridge contract ---
    async def async_start(self) -> None:
        self.begin()
        self._woken = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="training-pbx")

    async def async_stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def cut(self, pbx_call_id: str, reason: CutReason) -> None:
        call = self._calls.get(pbx_call_id)
        if call is None or call.over:
            return
        self._schedule(self._clock.now() + CUT_LAG,
                       lambda: self._hang_up(call, HangupBy.PBX, f"cut: {reason.value}"))

    async def set_backstop(self, pbx_call_id: str, max_duration_s: int) -> None:
        call = self._calls.get(pbx_call_id)
        if call is None or call.over:
            return
        call.backstop_s = max_duration_s
        if call.answered_at is not None:
            self._arm_backstop(call)

    async def list_live_calls(self) -> list[LiveCall]:
        return [LiveCall(c.pbx_call_id, c.cabin, c.dialed, c.started_at, c.answered_at)
                for c in self.live()]

    # ------------------------------------------------------------ customers ------
    def _customer_arrives_later(self, cabin: str) -> None:
        idle = self._random.expovariate(1 / self._behaviour.mean_idle_s)
        calls = self._random.randint(*self._behaviour.calls_per_customer)
        self._schedule(self._clock.now() + timedelta(seconds=5 + idle),
                       lambda: self._dial(cabin, calls))

    async def _dial(self, cabin: str, calls_left: int) -> None:
        pbx_call_id = f"training-{self._seed}-{next(self._ids)}"
        dialed = self.number()
        now = self._clock.now()
        answer = await self.listener.async_authorise(
            AuthorisationRequest(pbx_call_id, cabin, dialed, at=now))
        if not answer.allowed:
            log.info("training: %s refused (%s)", dialed, answer.detail)
            self._customer_arrives_later(cabin)
            return
        call = _SimCall(pbx_call_id, cabin, dialed, now)
        self._calls[pbx_call_id] = call
        self._emit(CallStarted(pbx_call_id, cabin, dialed, at=now))
        behaviour, rng = self._behaviour, self._random
        self._after(rng.uniform(0.2, 1.5), lambda: self._ring(call))
        roll = rng.random()
        if roll < behaviour.answer_share:
            ring = rng.uniform(behaviour.ring_min_s, behaviour.ring_max_s)
            talk = min(behaviour.talk_max_s,
                       max(4.0, rng.lognormvariate(math.log(behaviour.talk_median_s),
                                                   behaviour.talk_sigma)))
            self._after(ring, lambda: self._answer(call, talk, calls_left))
            return
        roll -= behaviour.answer_share
        if roll < behaviour.busy_share:
            self._after(rng.uniform(1.0, 3.0),
                        lambda: self._fail(call, 486, "busy", calls_left))
        elif roll < behaviour.busy_share + behaviour.cancel_share:
            self._after(rng.uniform(4.0, 20.0),
                        lambda: self._cancel(call, calls_left))
        else:
            self._after(behaviour.no_answer_after_s,
                        lambda: self._fail(call, 480, "no answer", calls_left))

    def _ring(self, call: _SimCall) -> None:
        if not call.over and call.answered_at is None:
            self._emit(CallRinging(call.pbx_call_id, at=self._clock.now()))

    def _answer(self, call: _SimCall, talk_s: float, calls_left: int) -> None:
        if call.over:
            return
        call.answered_at = self._clock.now()
        self._emit(CallAnswered(call.pbx_call_id, at=call.answered_at))
        self._arm_backstop(call)
        hung_up_by = HangupBy.CABIN if self._random.random() < 0.7 else HangupBy.CALLEE
        self._after(talk_s, lambda: self._hang_up(call, hung_up_by, "normal clearing",
                                                  calls_left))

    def _fail(self, call: _SimCall, sip_code: int, reason: str, calls_left: int) -> None:
        if call.over:
            return
        call.over = True
        self._emit(CallFailed(call.pbx_call_id, sip_code, reason, at=self._clock.now()))
        self._next_call(call.cabin, calls_left)

    def _cancel(self, call: _SimCall, calls_left: int) -> None:
        if call.over or call.answered_at is not None:
            return
        call.over = True
        self._emit(CallFailed(call.pbx_call_id, 487, "cancelled", at=self._clock.now()))
        self._next_call(call.cabin, calls_left)

    def _hang_up(self, call: _SimCall, by: HangupBy, reason: str,
                 calls_left: int | None = None) -> None:
        if call.over:
            return
        call.over = True
        self._emit(CallEnded(call.pbx_call_id, reason, by, at=self._clock.now()))
        # After a cut the customer goes to the desk; otherwise maybe one more call.
        self._next_call(call.cabin, calls_left if by is not HangupBy.PBX else 0)

    def _next_call(self, cabin: str, calls_left: int | None) -> None:
        if calls_left is not None and calls_left > 1:
            self._after(self._random.uniform(5.0, 30.0),
                        lambda: self._dial(cabin, calls_left - 1))
        elif calls_left is not None:
            self._customer_arrives_later(cabin)

    def _arm_backstop(self, call: _SimCall) -> None:
        if call.backstop_s is None or call.answered_at is None:
            return
        limit = call.backstop_s

        def expire() -> None:
            # Only the latest backstop counts, as with Kamailio's dialog timeout.
            if call.backstop_s == limit:
                self._hang_up(call, HangupBy.PBX, "backstop timeout")
        self._schedule(call.answered_at + timedelta(seconds=limit), expire)

    # ---------------------------------------------------------------- numbers ----
    def number(self) -> str:
        """A realistic international number, as a cabin dials it (`00…`), for one of
        the destinations the shop has rates for."""
        prefix = self._random.choice(self._prefixes)
        sample = _sample_number(prefix)
        if sample.startswith(prefix) and len(sample) > len(prefix) + 4:
            body = sample[:-4] + "".join(self._random.choice("0123456789") for _ in range(4))
        else:
            length = max(len(sample), len(prefix) + 7, 11)
            body = prefix + "".join(self._random.choice("0123456789")
                                    for _ in range(length - len(prefix)))
        return "00" + body[:15]

    # ---------------------------------------------------------------- plumbing ---
    def _emit(self, event: PbxEvent) -> None:
        self.emitted.append(event)
        self.listener.on_event(event)

    def _after(self, seconds: float, run: Callable[[], object]) -> None:
        self._schedule(self._clock.now() + timedelta(seconds=seconds), run)

    def _schedule(self, at: datetime, run: Callable[[], object]) -> None:
        # Whole milliseconds, as a PBX stamps its events (and the guard counts).
        at += timedelta(microseconds=-at.microsecond % 1000)
        heapq.heappush(self._actions, _Action(at, next(self._seq), run))
        if self._woken is not None:
            self._woken.set()

    async def _run(self) -> None:
        assert self._woken is not None
        while not self._stopping:
            try:
                self._woken.clear()
                await self.run_due()
                upcoming = self.next_action_at()
                delay = 1.0 if upcoming is None else \
                    (upcoming - self._clock.now()).total_seconds()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, min(delay, 1.0))):
                        await self._woken.wait()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("training PBX step failed")
                await asyncio.sleep(0.5)


def _sample_number(prefix: str) -> str:
    """An example number (country code first) of the country `prefix` belongs to, from
    libphonenumber's metadata; "" when no country code starts the prefix."""
    for size in (3, 2, 1):
        code = prefix[:size]
        if len(code) == size and code.isdigit():
            region = phonenumbers.region_code_for_country_code(int(code))
            if region != "ZZ":
                for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
                    example = phonenumbers.example_number_for_type(region, kind)
                    if example is not None:
                        candidate = f"{code}{example.national_number}"
                        if candidate.startswith(prefix):
                            return candidate
                example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
                return f"{code}{example.national_number}" if example is not None else ""
    return ""



def training_bridge_for(db: Session, rater: Rater, clock: Clock, callshop_id: int, *,
                        seed: int = 0, behaviour: Behaviour | None = None) -> TrainingBridge:
    """A training PBX for a shop's enabled cabins, dialing the prefixes of the sell
    rates those cabins have (their own rates and their tariffs, as `rater` loaded them)."""
    cabins = db.scalars(select(Cabin).where(Cabin.callshop_id == callshop_id,
                                            Cabin.enabled.is_(True))
                        .order_by(Cabin.position, Cabin.id)).all()
    prefixes: set[str] = set()
    for cabin in cabins:
        tariff_id = rater.sell_tariff_id(cabin)
        for index in (rater.cabin_index(cabin.id),
                      rater.tariff_index(tariff_id) if tariff_id is not None else None):
            if index is not None:
                prefixes.update(terms.prefix for terms in index)
    return TrainingBridge(clock, [c.sip_username for c in cabins], sorted(prefixes),
                          seed=seed, behaviour=behaviour)
