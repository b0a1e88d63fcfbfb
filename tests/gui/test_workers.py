"""Operations run off the GUI thread and deliver on it; a runner nobody else holds
survives its own deliveries being deleted."""

from __future__ import annotations

import gc
import threading

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from ui.workers import Operations

pytestmark = pytest.mark.gui


def test_results_and_errors_arrive_on_the_gui_thread(qtbot):
    operations = Operations()
    seen: list[tuple[str, bool]] = []
    work_threads: list[threading.Thread] = []

    def work() -> int:
        work_threads.append(threading.current_thread())
        return 42

    def boom() -> None:
        raise ValueError("no")

    operations.run(work, on_done=lambda r: seen.append(
        (f"done {r}", threading.current_thread() is threading.main_thread())))
    operations.run(boom, on_failed=lambda e: seen.append(
        (f"failed {e}", threading.current_thread() is threading.main_thread())))
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=5000)
    assert sorted(seen) == [("done 42", True), ("failed no", True)]
    assert work_threads and work_threads[0] is not threading.main_thread()
    assert operations.busy == 0


def test_an_unparented_runner_survives_its_deliveries_being_deleted(qtbot):
    done: list[int] = []
    operations = Operations()  # no Qt parent: only this test holds it
    for n in range(20):
        operations.run(lambda n=n: n, on_done=done.append)
    qtbot.waitUntil(lambda: len(done) == 20, timeout=5000)
    # the deliveries' deleteLater runs now; then the runner goes away cleanly
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    operations.wait()
    del operations
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert sorted(done) == list(range(20))
