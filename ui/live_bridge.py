"""The one bridge from the live event stream to Qt (Electrum's pattern).

`server_client.events.EventStream` runs in a `QThread` and calls back on its own
threads; the callbacks here only store what arrived and emit a Qt signal, so every
widget slot runs on the GUI thread. Updates are coalesced: when events come faster
than the screen takes them, the screen gets the newest `LiveView` once, with the union
of what changed (`Diff`), instead of a queue of stale frames.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from server_client.client import ServerClient
from server_client.events import ConnectionStatus, EventStream
from server_client.live import Diff, LiveView

log = logging.getLogger("ui.live_bridge")


def merge(a: Diff, b: Diff) -> Diff:
    return Diff(everything=a.everything or b.everything, cabins=a.cabins | b.cabins,
                balance=a.balance or b.balance, switch=a.switch or b.switch)


class _StreamThread(QThread):
    def __init__(self, stream: EventStream, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stream = stream
        self.setObjectName("cashdesk-events")

    def run(self) -> None:
        try:
            self.stream.run()
        except Exception:  # the stream reports its own failures; this is a last resort
            log.exception("the live event stream stopped unexpectedly")


class LiveBridge(QObject):
    """Signals of the live shop, always delivered on the GUI thread."""

    sig_state = Signal(object, object)    # LiveView, Diff
    sig_connection = Signal(str, str)     # ConnectionStatus value, reason
    sig_auth_lost = Signal(str)
    _sig_wake = Signal()

    def __init__(self, parent: QObject | None = None,
                 stream_factory: Callable[..., EventStream] = EventStream) -> None:
        super().__init__(parent)
        self._stream_factory = stream_factory
        self._lock = threading.Lock()
        self._pending: tuple[LiveView, Diff] | None = None
        self._stream: EventStream | None = None
        self._thread: _StreamThread | None = None
        self._retired: list[_StreamThread] = []
        self.view: LiveView | None = None
        self.status = ConnectionStatus.OFFLINE
        self.reason = ""
        self._sig_wake.connect(self._deliver)
        self.sig_connection.connect(self._remember)

    # --- the stream's side (any thread) ---------------------------------------------
    def publish(self, view: LiveView, diff: Diff) -> None:
        """A new state: kept, and the GUI woken once for however many arrive."""
        with self._lock:
            wake = self._pending is None
            if self._pending is not None:
                diff = merge(self._pending[1], diff)
            self._pending = (view, diff)
        if wake:
            self._sig_wake.emit()

    def _connection(self, status: ConnectionStatus, reason: str) -> None:
        self.sig_connection.emit(str(status), reason)

    def _auth_lost(self, reason: str) -> None:
        self.sig_auth_lost.emit(reason)

    # --- the GUI's side -----------------------------------------------------------------
    @Slot()
    def _deliver(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is None:
            return
        self.view = pending[0]
        self.sig_state.emit(*pending)

    @Slot(str, str)
    def _remember(self, status: str, reason: str) -> None:
        self.status = ConnectionStatus(status)
        self.reason = reason

    def start(self, client: ServerClient) -> None:
        """Connect the event stream for `client`'s login, in its own thread."""
        self.stop()
        stream = self._stream_factory(client, on_state=self.publish,
                                      on_connection=self._connection,
                                      on_auth_lost=self._auth_lost)
        self._stream = stream
        thread = _StreamThread(stream, self)
        self._thread = thread
        thread.start()

    def stop(self) -> None:
        """Stop the stream without blocking the GUI: closing sends a close frame over
        the network, so it happens on a helper thread; the QThread ends by itself."""
        stream, thread = self._stream, self._thread
        self._stream = self._thread = None
        if stream is None:
            return
        threading.Thread(target=stream.close, kwargs={"timeout": 0}, daemon=True,
                         name="cashdesk-events-close").start()
        if thread is not None:
            self._retired.append(thread)
            thread.finished.connect(lambda: self._retire(thread))

    def _retire(self, thread: _StreamThread) -> None:
        if thread in self._retired:
            self._retired.remove(thread)
            thread.deleteLater()

    def wait_stopped(self, msecs: int = 5000) -> bool:
        """Block until every stopped stream thread ended (shutdown and tests only)."""
        return all(thread.wait(msecs) for thread in list(self._retired))

    @property
    def running(self) -> bool:
        return self._thread is not None
