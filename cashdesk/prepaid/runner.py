"""The guard's one timer, on asyncio: sleep until the next deadline, act, repeat.

The deadline can move at any moment (a call answered or ended, a top-up), so the
runner is woken early by `wake()` and then reads the deadline again. It does not touch
the guard itself: `next_deadline` and `fire` are coroutines the server provides, which
run the tracker's `next_deadline()` and `on_time()` on the writer thread. Time comes
from the injected clock; only the waiting uses the event loop's timer, and a wake-up
that comes early (or late) is harmless because the deadline is compared with the clock
again each time round.

A cut is due at an exact instant, and the event loop's timer is not exact: Linux lets
a long poll timeout run late by 0.1 % of its length (4 ms on a 4 s wait), epoll
rounds up to whole milliseconds, and a virtual machine's timer interrupts come later
still when its host is busy (on the 2-core test VM, some days: 6–8 ms late on a
0.5 s wait, 25 ms on 4 s). So the runner sleeps in steps that each end early by a
share of what is left (`TIMER_SLACK_SHARE`) and `FIRE_LEAD_S` — the last steps are
short, so their lateness is too — without asking for the deadline again when nothing
woke it, and calls `fire(deadline)` up to `FIRE_LEAD_S` before the instant: `fire`
waits out the rest itself (the server decides the cuts meanwhile, and sends them at
the instant itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from cashdesk.clock import Clock

log = logging.getLogger(__name__)

#: Even with no deadline the runner looks again this often (seconds), so a missed
#: wake-up can only delay a cut this long, never lose it.
IDLE_RECHECK_S = 5.0

#: How long before a deadline `fire` is called (seconds; see the module doc): the
#: server's writer thread, asleep for seconds, was measured taking 1–7 ms to start the
#: guard's work and up to 15 ms more to decide the cuts, on a busy VM; the PBX then
#: rehearses them (`PbxBridge.rehearse_cuts`).
FIRE_LEAD_S = 0.050

#: How soon the runner tries again after a failure (the database away, say): its cuts
#: are decided from memory, so a failing database delays the next by at most this.
RETRY_S = 0.1

#: How early each step of the wait ends, as a share of the time left: ten times the
#: slack Linux gives a poll timeout (0.1 %), because a busy VM host delivers the timer
#: later still (0.6–1.5 % measured). A 2 s wait is then two or three wake-ups.
#: benchmarks/deadline_runner.py on such a day, 2 s ahead: late p50 0.7, max 5.6 ms,
#: against 14.1 and 16.6 ms with 0.2 %.
TIMER_SLACK_SHARE = 0.02


class DeadlineRunner:
    """Calls `fire(deadline)` when the clock reaches `next_deadline()` (epoch ms), or
    up to `FIRE_LEAD_S` before it (see the module doc)."""

    def __init__(self, clock: Clock, next_deadline: Callable[[], Awaitable[int | None]],
                 fire: Callable[[int], Awaitable[None]], *,
                 idle_recheck_s: float = IDLE_RECHECK_S) -> None:
        self._clock = clock
        self._next_deadline = next_deadline
        self._fire = fire
        self._idle_recheck_s = idle_recheck_s
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        # A deadline handed over by whoever just computed it (`deadline_is`): used
        # instead of asking `next_deadline` once more.
        self._told: tuple[int | None] | None = None
        #: How many times `fire` ran (for tests and the status page).
        self.fired = 0

    def start(self) -> None:
        """Start the timer task on the running loop."""
        if self._task is None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.create_task(self._run(), name="prepaid-deadline-runner")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            # The flag as well as the cancellation: a wake-up racing the cancel must
            # not keep the loop alive (Python 3.11's wait_for could swallow one).
            self._stopping = True
            self._woken.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """The deadline may have moved: look again now. Loop thread only; from another
        thread use `wake_threadsafe`."""
        self._woken.set()

    def deadline_is(self, deadline: int | None) -> None:
        """The next deadline, just computed after an operation that may have moved it
        (loop thread): the runner takes it without asking `next_deadline` again."""
        self._told = (deadline,)
        self._woken.set()

    def wake_threadsafe(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._woken.set)

    async def _run(self) -> None:
        deadline: int | None = None
        # `deadline` still holds: read or told, and nothing woke the runner since.
        holds = False
        # The deadline `fire` was last called for ahead of time: never twice (on a
        # clock that does not move by itself, as in tests, that would spin).
        fired_early: int | None = None
        # Failures in a row (the database away): said once, not ten times a second.
        failing = 0
        while not self._stopping:
            try:
                if self._woken.is_set():
                    self._woken.clear()
                    holds = False
                told, self._told = self._told, None
                if told is not None:
                    (deadline,), holds = told, True
                elif not holds:
                    deadline, holds = await self._next_deadline(), True
                    continue  # woken meanwhile? look again before acting on it
                now_ms = self._clock.now().timestamp() * 1000
                left_s = None if deadline is None else (deadline - now_ms) / 1000
                if deadline is not None and left_s is not None and (
                        left_s <= 0 or (left_s <= FIRE_LEAD_S and deadline != fired_early)):
                    if left_s > 0:
                        fired_early = deadline
                    holds = False
                    await self._fire(deadline)
                    self.fired += 1
                    if failing:
                        log.warning("the prepaid deadline runner works again after %d "
                                    "failure(s)", failing)
                        failing = 0
                    continue
                if left_s is None or left_s > self._idle_recheck_s:
                    # Look again after a while even if nothing wakes the runner.
                    delay, holds = self._idle_recheck_s, False
                elif left_s > FIRE_LEAD_S:
                    delay = left_s - FIRE_LEAD_S - left_s * TIMER_SLACK_SHARE
                else:
                    delay = left_s   # fired early for it already: the rest, on the loop
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, delay)):
                        await self._woken.wait()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A failing database must not stop the timer for good: log, breathe, retry.
                # The cuts themselves are decided from memory before the database work.
                if not failing:
                    log.exception("the prepaid deadline runner failed; retrying every "
                                  "%.1f s", RETRY_S)
                failing += 1
                holds = False
                await asyncio.sleep(RETRY_S)
