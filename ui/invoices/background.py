"""Running slow work (download, render, print, disk) on Qt's thread pool.

The result comes back to the GUI thread as a plain call, never touching a widget from
the worker. Delivery goes through one long-lived dispatcher object owned by the
application, not through the widget that asked: a widget closed while its job runs is
simply skipped (checked on the GUI thread, where widgets are deleted), so no signal is
ever emitted on an object being destroyed in another thread.

Why not `ui.workers.Operations`: an `Operations` belongs to its widget and its pool
goes with it (waiting for the job), while a viewer closed in the middle of a print
job, or a miniature replaced mid-render, must neither block the GUI nor be called
back after deletion. The two could merge once `Operations` handles that.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThread, QThreadPool, QTimer

log = logging.getLogger(__name__)
T = TypeVar("T")

_lock = threading.Lock()
_dispatcher: QObject | None = None


def _gui_dispatcher() -> QObject:
    """The application-lifetime object whose thread (the GUI thread) runs deliveries."""
    global _dispatcher
    with _lock:
        if _dispatcher is None or not shiboken6.isValid(_dispatcher):
            app = QCoreApplication.instance()
            if app is None:
                raise RuntimeError("background jobs need a running QApplication")
            if QThread.currentThread() is not app.thread():
                raise RuntimeError("start background jobs from the GUI thread")
            _dispatcher = QObject(app)
            _dispatcher.setObjectName("cashdesk-background-dispatcher")
        return _dispatcher


def run_in_background(owner: QObject, work: Callable[[], T],
                      on_done: Callable[[T], Any],
                      on_failed: Callable[[BaseException], Any],
                      pool: QThreadPool | None = None) -> None:
    """Run `work()` on `pool` (the global pool by default), then `on_done(result)` or
    `on_failed(exception)` on the GUI thread, unless `owner` has been deleted by then.

    Call from the GUI thread. `work` must not touch widgets.
    """
    dispatcher = _gui_dispatcher()

    def deliver(callback: Callable[[Any], Any], value: Any) -> None:
        if not shiboken6.isValid(owner):
            log.debug("background result dropped: its widget is gone")
            return
        callback(value)

    def post(callback: Callable[[Any], Any], value: Any) -> None:
        # A zero-delay single shot with a context object is a queued call into the
        # context's thread (thread-safe in Qt 6); the dispatcher lives as long as the app.
        QTimer.singleShot(0, dispatcher, lambda: deliver(callback, value))

    def task() -> None:
        try:
            result = work()
        except Exception as exc:  # every failure reaches the GUI, none kills the pool
            log.debug("background job failed", exc_info=True)
            post(on_failed, exc)
        else:
            post(on_done, result)

    (pool or QThreadPool.globalInstance()).start(task)
