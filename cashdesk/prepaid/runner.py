"""The guard's one timer, on asyncio: sleep until the next deadline, act, repeat.

The deadline can move at any moment (a call answered or ended, a top-up), so the
runner is woken early by `wake()` and then reads the deadline again. It does not touch
the guard itself: `next_deadline` and `fire` are coroutines the server provides, which
run the tracker's `next_deadline()` and `on_time()` on the writer thread. Time comes
from the injected clock; only the waiting uses the event loop's timer, and a wake-up
that comes early (or late) is harmless because the deadline is compared with the clock
again each time round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from cashdesk.clock import Clock
from cashdesk.prepaid.timeline import epoch_ms

log = logging.getLogger(__name__)

#: Even with no deadline the runner looks again this often (seconds), so a missed
#: wake-up can only delay a cut this long, never lose it.
IDLE_RECHECK_S = 5.0


class DeadlineRunner:
    """Calls `fire()` whenever the clock reaches `next_deadline()` (epoch ms)."""

    def __init__(self, clock: Clock, next_deadline: Callable[[], Awaitable[int | None]],
                 fire: Callable[[], Awaitable[None]], *,
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
        while not self._stopping:
            try:
                self._woken.clear()
                told, self._told = self._told, None
                deadline = told[0] if told is not None else await self._next_deadline()
                if deadline is not None and deadline <= epoch_ms(self._clock.now()):
                    await self._fire()
                    self.fired += 1
                    continue
                delay = self._idle_recheck_s if deadline is None else \
                    min(self._idle_recheck_s, (deadline - epoch_ms(self._clock.now())) / 1000)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, delay)):
                        await self._woken.wait()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A failing database must not stop the timer for good: log, breathe, retry.
                log.exception("the prepaid deadline runner failed; retrying")
                await asyncio.sleep(0.1)
