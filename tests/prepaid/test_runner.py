"""The deadline runner: on time on the real clock, no spinning on a fake one."""

from __future__ import annotations

import asyncio
import time

from cashdesk.clock import FakeClock, SystemClock
from cashdesk.prepaid.runner import FIRE_LEAD_S, DeadlineRunner
from cashdesk.prepaid.timeline import epoch_ms


async def test_it_fires_at_most_the_lead_early_and_asks_for_the_deadline_once() -> None:
    """A wait that timed out leaves the deadline as it was (anything that moves it
    wakes the runner), so the runner does not ask again before firing; it fires up to
    `FIRE_LEAD_S` early, never after the instant by more than the loop's delay."""
    deadline = epoch_ms(SystemClock().now()) + 300
    asked: list[int] = []
    fired: list[tuple[int, float, int]] = []

    async def next_deadline() -> int | None:
        asked.append(deadline)
        return None if fired else deadline

    async def fire(at: int) -> None:
        fired.append((at, time.time() * 1000, len(asked)))

    runner = DeadlineRunner(SystemClock(), next_deadline, fire)
    runner.start()
    for _ in range(200):
        if fired:
            break
        await asyncio.sleep(0.01)
    await runner.stop()
    [(at, called_ms, asked_before)] = fired
    assert at == deadline
    assert deadline - FIRE_LEAD_S * 1000 - 1 <= called_ms <= deadline + 50
    assert asked_before == 1


async def test_a_deadline_within_the_lead_fires_early_once_on_a_clock_that_stands() -> None:
    clock = FakeClock()
    deadline = epoch_ms(clock.now()) + 1
    fired: list[int] = []

    async def next_deadline() -> int | None:
        return deadline if len(fired) < 2 else None

    async def fire(at: int) -> None:
        fired.append(epoch_ms(clock.now()))

    runner = DeadlineRunner(clock, next_deadline, fire)
    runner.start()
    await asyncio.sleep(0.05)
    assert fired == [deadline - 1]        # once, ahead; the clock did not move since
    clock.advance(0.001)
    runner.wake()
    for _ in range(100):
        if len(fired) == 2:
            break
        await asyncio.sleep(0.005)
    assert fired == [deadline - 1, deadline]
    await runner.stop()
