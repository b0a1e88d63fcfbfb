"""How late the prepaid guard's timer reaches a cut's instant on this machine's event
loop: with the runner's steps (`prepaid.runner.TIMER_SLACK_SHARE`), and with steps
that end only 0.2 % early (the share before session 8).

The real `DeadlineRunner` on the server's loop (uvloop where installed) waits for a
deadline `--wait` seconds ahead; its `fire` is called up to `FIRE_LEAD_S` early and
sleeps the rest (the server decides its cuts meanwhile and spins the last 2 ms,
`CallService._at_instant`). Printed: the runner's lateness at the instant.

    python benchmarks/deadline_runner.py [--wait 2.0] [--times 8]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cashdesk.clock import SystemClock
from cashdesk.prepaid import runner as runner_module
from cashdesk.server.process import event_loop


async def lateness_ms(wait_s: float) -> float:
    """One deadline `wait_s` ahead: how late (ms) its work starts."""
    clock = SystemClock()
    deadline = int(clock.now().timestamp() * 1000 + wait_s * 1000)
    fired = asyncio.get_running_loop().create_future()

    async def next_deadline() -> int | None:
        return None if fired.done() else deadline

    async def fire(due: int) -> None:
        early_s = due / 1000 - time.time()
        if early_s > 0:    # the rest slept precisely: the runner's lateness alone
            time.sleep(min(early_s, runner_module.FIRE_LEAD_S))  # noqa: ASYNC251
        if not fired.done():
            fired.set_result(time.time() * 1000 - due)

    runner = runner_module.DeadlineRunner(clock, next_deadline, fire)
    runner.start()
    try:
        return await fired
    finally:
        await runner.stop()


async def measure(wait_s: float, times: int) -> list[float]:
    return [await lateness_ms(wait_s) for _ in range(times)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wait", type=float, default=2.0)
    parser.add_argument("--times", type=int, default=8)
    args = parser.parse_args()
    shipped = runner_module.TIMER_SLACK_SHARE
    for label, share in (("steps", shipped), ("steps ending 0.2 % early (before)", 0.002)):
        runner_module.TIMER_SLACK_SHARE = share
        loop = event_loop()
        try:
            late = sorted(loop.run_until_complete(measure(args.wait, args.times)))
        finally:
            loop.close()
        print(f"{label}: {args.times} deadlines {args.wait} s ahead, late p50 "
              f"{late[len(late) // 2]:.2f} ms, max {late[-1]:.2f} ms")
        if share == shipped:
            print(f"METRIC deadline_runner_late_max_ms {late[-1]:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
