"""The till under load: 64 tiles, 100 live calls, one batch of updates per second.

`ui_update_batch_p99_ms`: GUI-thread time to take one batch (the live events of a
second applied to the state, the bridge's signal delivered, the tiles re-rendered and
repainted, the running calls ticked), 99th percentile over the batches.
`ui_cold_start_s`: from starting the `cashdesk` process to its login window shown.

    python benchmarks/ui.py
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

BATCHES = 120
CABINS = 64
LIVE_CALLS = 100
EVENTS_PER_BATCH = 40


def cold_start() -> float:
    env = dict(os.environ, CASHDESK_STARTUP_PROBE="1", QT_QPA_PLATFORM="offscreen")
    times = []
    for _ in range(3):
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "ui.app", "--server",
                                    "http://127.0.0.1:9"], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("LOGIN_SHOWN"):
                times.append(time.perf_counter() - start)
                break
        process.wait(30)
    return min(times) if times else float("nan")


def update_batches() -> list[float]:
    from PySide6.QtWidgets import QApplication

    from server_client.client import ServerClient
    from server_client.live import EVERYTHING, Diff, LiveState
    from tests.gui.protocol import RATES, Shop
    from ui import theme
    from ui.i18n import Languages
    from ui.live_bridge import LiveBridge
    from ui.screens.main_window import MainWindow
    from ui.workers import Operations
    from tests.gui.test_desk import cashier

    app = QApplication.instance() or QApplication([])
    theme.apply(app)
    languages = Languages(app)
    languages.switch("fr")
    rng = random.Random(7)
    shop = Shop()
    shop.add_cabins(CABINS)
    state = LiveState()
    state.load(shop.snapshot(), shop.now)
    bridge = LiveBridge()
    window = MainWindow(ServerClient("http://127.0.0.1:9"), Operations(), bridge, languages,
                        formatter=languages.formatter("Europe/Paris"), training=True,
                        clock=lambda: shop.now)
    window.start_session(cashier(shop.now), connect=False)
    window.resize(1366, 768)
    window.show()
    bridge.publish(state.view(), EVERYTHING)
    app.processEvents()

    destinations = list(RATES)
    live: list[int] = []
    for index in range(LIVE_CALLS):
        call_id, events = shop.dial(index % CABINS + 1, rng.choice(destinations))
        events += shop.answer(call_id)
        for event in events:
            state.apply(event)
        live.append(call_id)
    bridge.publish(state.view(), EVERYTHING)
    app.processEvents()

    timings = []
    for _ in range(BATCHES):
        shop.advance(1)
        events = []
        for _ in range(EVENTS_PER_BATCH // 4):
            call_id = live.pop(rng.randrange(len(live)))
            events += shop.hang_up(call_id)
            new_id, more = shop.dial(rng.randrange(CABINS) + 1, rng.choice(destinations))
            events += more + shop.ring(new_id) + shop.answer(new_id)
            live.append(new_id)
        start = time.perf_counter()
        changed: set[int] = set()
        for event in events:
            changed |= state.apply(event).cabins
        bridge.publish(state.view(), Diff(cabins=frozenset(changed)))
        app.processEvents()      # the bridge's signal: tiles re-rendered
        window.tick()            # the once-a-second tick of running calls
        app.processEvents()      # paint the tiles marked dirty (what a real frame does)
        timings.append((time.perf_counter() - start) * 1000)
    window.close()
    return timings


def main() -> None:
    timings = update_batches()
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    print(f"{BATCHES} batches of {EVENTS_PER_BATCH} events, {CABINS} tiles, "
          f"{LIVE_CALLS} live calls: median {statistics.median(timings):.2f} ms, "
          f"max {max(timings):.2f} ms")
    cold = cold_start()
    print(f"cold start to the login window: {cold:.3f} s (best of 3)")
    print(f"METRIC ui_update_batch_p99_ms {p99:.2f} ms")
    print(f"METRIC ui_cold_start_s {cold:.3f} s")


if __name__ == "__main__":
    main()
