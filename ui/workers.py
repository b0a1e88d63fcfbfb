"""Operations off the GUI thread (Anki's `operations`): a client call runs in Qt's
thread pool and its result or error comes back by signal, on the GUI thread.

A screen never calls the server itself: it asks the `Operations` runner to `run` a
plain function (`lambda: client.pay(...)`) with a success and a failure slot. The
runner counts what is in flight (`sig_busy`), so the window can show progress, and
keeps every operation referenced until its signal is delivered.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger("ui.workers")


class _Signals(QObject):
    sig_done = Signal(object)
    sig_failed = Signal(object)


class Operation(QRunnable):
    """One call of `work()` in the pool. The signals are emitted from the worker
    thread and delivered (queued) on the thread their receivers live in."""

    def __init__(self, work: Callable[[], Any], label: str = "") -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.work = work
        self.label = label
        self.signals = _Signals()

    def run(self) -> None:  # the pool's thread
        try:
            result = self.work()
        except BaseException as exc:  # every failure reaches the screen, none is lost
            if not isinstance(exc, Exception):
                raise
            log.debug("operation %s failed: %s", self.label, "".join(
                traceback.format_exception_only(type(exc), exc)).strip())
            self.signals.sig_failed.emit(exc)
        else:
            self.signals.sig_done.emit(result)


class Operations(QObject):
    """Runs operations and says how many are under way."""

    sig_busy = Signal(int)        # how many operations are running (0: idle)
    sig_error = Signal(str, object)  # label, exception: for failures nobody handled

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 4) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._running: dict[Operation, _Delivery] = {}

    @property
    def busy(self) -> int:
        return len(self._running)

    def run(self, work: Callable[[], Any], *, on_done: Callable[[Any], None] | None = None,
            on_failed: Callable[[BaseException], None] | None = None,
            label: str = "") -> Operation:
        operation = Operation(work, label)
        # The receiver is a QObject of the GUI thread, so the worker's emit is queued
        # to it and the callbacks run there (a bare function would run on the worker).
        delivery = _Delivery(self, operation, on_done, on_failed)
        operation.signals.sig_done.connect(delivery.done)
        operation.signals.sig_failed.connect(delivery.failed)
        self._running[operation] = delivery
        self.sig_busy.emit(len(self._running))
        self.pool.start(operation)
        return operation

    def _finish(self, operation: Operation) -> None:
        delivery = self._running.pop(operation, None)
        if delivery is not None:
            delivery.deleteLater()
        self.sig_busy.emit(len(self._running))

    def wait(self, msecs: int = 10_000) -> bool:
        """Wait for every running operation (shutdown and tests)."""
        return self.pool.waitForDone(msecs)


class _Delivery(QObject):
    def __init__(self, owner: Operations, operation: Operation,
                 on_done: Callable[[Any], None] | None,
                 on_failed: Callable[[BaseException], None] | None) -> None:
        # The owner is the Qt parent and is reached through parent(), never held: a
        # Python reference here could make this child the last owner of its parent,
        # and deleting the child (deleteLater) would then delete the parent from
        # inside its own child's destruction — a crash.
        super().__init__(owner)
        self.operation = operation
        self.on_done = on_done
        self.on_failed = on_failed

    @property
    def owner(self) -> Operations:
        parent = self.parent()
        assert isinstance(parent, Operations)
        return parent

    @Slot(object)
    def done(self, result: Any) -> None:
        self.owner._finish(self.operation)
        if self.on_done is not None:
            self.on_done(result)

    @Slot(object)
    def failed(self, exc: BaseException) -> None:
        self.owner._finish(self.operation)
        if self.on_failed is not None:
            self.on_failed(exc)
        else:
            self.owner.sig_error.emit(self.operation.label, exc)
