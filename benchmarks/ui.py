"""The till under load: 64 tiles, 100 live calls, one batch of updates per second.

`ui_update_batch_p99_ms`: GUI-thread time to take one batch, 99th percentile over the
batches: the bridge's signal delivered (the tiles of the cabins the events changed
re-rendered), the once-a-second tick of the running calls, and the repaint of every
tile marked dirty — `processEvents()` inside the timed region paints them (the tiles
count their paint events, and the count per batch is printed, so a batch that painted
nothing cannot pass for a fast one).

Applying the events to `LiveState` is the event stream's thread's work in the desk
(`server_client.events.EventStream`), not the GUI thread's; it is timed apart and
printed, and not in the metric.

Wall-clock time is the metric (what the cashier waits); the GUI thread's CPU time is
printed beside it, since other processes on a shared machine add to the wall clock.

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


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def update_batches() -> dict[str, list[float]]:
    from PySide6.QtWidgets import QApplication

    from server_client.client import ServerClient
    from server_client.live import EVERYTHING, Diff, LiveState
    from tests.gui.protocol import RATES, Shop
    from tests.gui.test_desk import cashier
    from ui import theme
    from ui.i18n import Languages
    from ui.live_bridge import LiveBridge
    from ui.screens.main_window import MainWindow
    from ui.workers import Operations

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
    window.ticker.stop()     # the benchmark ticks itself, once per batch
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

    tiles = list(window.grid.tiles.values())
    results: dict[str, list[float]] = {"gui": [], "gui_cpu": [], "stream": [], "painted": [],
                                       "changed": []}
    for _ in range(BATCHES):
        shop.advance(1)
        events = []
        for _ in range(EVENTS_PER_BATCH // 4):
            call_id = live.pop(rng.randrange(len(live)))
            events += shop.hang_up(call_id)
            new_id, more = shop.dial(rng.randrange(CABINS) + 1, rng.choice(destinations))
            events += more + shop.ring(new_id) + shop.answer(new_id)
            live.append(new_id)
        # The event stream's thread: the events applied, a frozen view made.
        start = time.perf_counter()
        changed: set[int] = set()
        for event in events:
            changed |= state.apply(event).cabins
        view = state.view()
        results["stream"].append((time.perf_counter() - start) * 1000)
        painted = sum(tile.paint_count for tile in tiles)

        # The GUI thread: delivered, ticked, painted.
        start, cpu = time.perf_counter(), time.thread_time()
        bridge.publish(view, Diff(cabins=frozenset(changed)))
        app.processEvents()      # the bridge's signal: the changed tiles re-rendered
        window.tick()            # the once-a-second tick of running calls
        app.processEvents()      # paint every tile marked dirty (what a real frame does)
        results["gui"].append((time.perf_counter() - start) * 1000)
        results["gui_cpu"].append((time.thread_time() - cpu) * 1000)
        results["painted"].append(sum(tile.paint_count for tile in tiles) - painted)
        results["changed"].append(len(changed))
    window.close()
    return results


def main() -> None:
    results = update_batches()
    gui, stream = results["gui"], results["stream"]
    print(f"{BATCHES} batches of {EVENTS_PER_BATCH} events, {CABINS} tiles, "
          f"{LIVE_CALLS} live calls")
    print(f"GUI thread per batch: median {statistics.median(gui):.2f} ms, "
          f"p99 {p99(gui):.2f} ms, max {max(gui):.2f} ms; tiles painted per batch: "
          f"median {statistics.median(results['painted']):.0f} (cabins changed by the "
          f"events: median {statistics.median(results['changed']):.0f})")
    cpu = results["gui_cpu"]
    print(f"  the same as the GUI thread's CPU time (what other processes on the PC do not "
          f"add to): median {statistics.median(cpu):.2f} ms, p99 {p99(cpu):.2f} ms")
    print(f"event stream thread per batch (LiveState.apply, not in the metric): median "
          f"{statistics.median(stream):.2f} ms, p99 {p99(stream):.2f} ms")
    cold = cold_start()
    print(f"cold start to the login window: {cold:.3f} s (best of 3)")
    print(f"METRIC ui_update_batch_p99_ms {p99(gui):.2f} ms")
    print(f"METRIC ui_cold_start_s {cold:.3f} s")


if __name__ == "__main__":
    main()
