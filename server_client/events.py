"""The live event stream: the server's WebSocket kept connected and in sync.

`EventStream.run()` blocks in the caller's thread (the UI runs it in a `QThread`;
this module knows nothing of Qt) and drives websocket-client's
`WebSocketApp.run_forever` once per connection, following docs/sync-protocol.md:

1. connect `GET /api/v1/events` with the bearer token; remember `hello.instance`;
2. load the snapshot (`GET /api/v1/live`) on a helper thread while the socket keeps
   reading, buffering the events and heartbeats that arrive meanwhile; a snapshot of
   another instance than the socket's means the server restarted: start again;
3. apply the buffered messages (those the snapshot reflects are dropped), then each
   one as it comes;
4. a gap, a heartbeat ahead, another instance, an unreadable message or a closed
   socket mark the state stale and end the connection; the next one starts after a
   backoff (0.5 s doubling to 10 s, with jitter) and resyncs from step 1.

`close()` stops it from any thread. A 401 at the handshake or while loading the
snapshot, or close code 4401, means the login is over: `on_auth_lost` is called and
`run()` returns.

websocket-client's own `reconnect=` is not used: it waits a fixed delay without
jitter, cannot be interrupted by `close()`, and gives no hook to resync; each
`run_forever` here is one connection and this class decides what comes next.

Callbacks run on the stream's threads (the socket's, or the snapshot loader's), one at
a time and in order; they must only hand over (emit a Qt signal) and may call
`view()` or `close()`. They receive frozen values (`LiveView`), safe to keep.
"""

from __future__ import annotations

import logging
import random
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import websocket

from server_client.client import ServerClient
from server_client.errors import ApiError, Unauthorized
from server_client.live import (
    EVERYTHING,
    Diff,
    Event,
    Heartbeat,
    Hello,
    LiveState,
    LiveView,
    Message,
    Pong,
    ServerError,
    SyncLost,
    parse_message,
)
from server_client.wire import ProtocolError

log = logging.getLogger("server_client.events")

#: Close codes of docs/sync-protocol.md.
CLOSE_TOO_SLOW = 4001
CLOSE_AUTH = 4401
CLOSE_GOING_AWAY = 1001


class ConnectionStatus(StrEnum):
    CONNECTING = "connecting"   # started: the first socket and snapshot are on their way
    LIVE = "live"               # in sync: the tiles are current
    STALE = "stale"             # out of sync, reconnecting: the tiles show the last state
    OFFLINE = "offline"         # nothing loaded and no server, or stopped


OnState = Callable[[LiveView, Diff], None]
OnConnection = Callable[[ConnectionStatus, str], None]
OnAuthLost = Callable[[str], None]
Sleeper = Callable[[float], None]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: `first`, doubling up to `maximum`, each spread by ±`jitter`
    so desks that lost the same server do not all come back in the same instant."""

    first: float = 0.5
    maximum: float = 10.0
    jitter: float = 0.2

    def delay(self, attempt: int, spread: float) -> float:
        """The delay before reconnect number `attempt` (0 first); `spread` in [0, 1)."""
        base = min(self.maximum, self.first * 2 ** min(attempt, 32))
        return min(self.maximum, base * (1 - self.jitter + 2 * self.jitter * spread))


def _system_now() -> datetime:
    return datetime.now(UTC)


class _Phase(StrEnum):
    HELLO = "hello"       # waiting for the server's hello
    LOADING = "loading"   # snapshot on its way; messages buffered
    LIVE = "live"
    DONE = "done"         # this connection is being closed


class EventStream:
    """See the module doc."""

    def __init__(self, client: ServerClient, *, on_state: OnState | None = None,
                 on_connection: OnConnection | None = None,
                 on_auth_lost: OnAuthLost | None = None, sleeper: Sleeper | None = None,
                 clock: Clock | None = None, spread: Callable[[], float] | None = None,
                 backoff: Backoff = Backoff(), ping_interval: float = 20.0,
                 ping_timeout: float = 10.0, socket_timeout: float = 10.0) -> None:
        self.client = client
        self._on_state = on_state or (lambda view, diff: None)
        self._on_connection = on_connection or (lambda status, reason: None)
        self._on_auth_lost = on_auth_lost or (lambda reason: None)
        self._sleeper = sleeper
        self._clock = clock or _system_now
        self._spread = spread or random.random
        self.backoff = backoff
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.socket_timeout = socket_timeout

        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._state = LiveState()
        self._status: tuple[ConnectionStatus, str] | None = None
        self._thread: threading.Thread | None = None
        # The current connection.
        self._ws: websocket.WebSocketApp | None = None
        self._phase = _Phase.DONE
        self._hello: Hello | None = None
        self._buffer: list[tuple[Message, datetime]] = []
        self._loader: threading.Thread | None = None
        self._closing: websocket.WebSocketApp | None = None
        self._shown_stale = True
        self._reason = ""
        self._auth_lost = ""
        self._went_live = False
        #: Connections opened so far (tests and logs).
        self.connections = 0

    # --- reading -------------------------------------------------------------------------
    def view(self) -> LiveView:
        with self._lock:
            return self._state.view()

    @property
    def status(self) -> ConnectionStatus:
        with self._lock:
            return self._status[0] if self._status else ConnectionStatus.OFFLINE

    # --- running -------------------------------------------------------------------------
    def start(self) -> threading.Thread:
        """Run in a new thread (for programs without a QThread of their own)."""
        thread = threading.Thread(target=self.run, name="server_client.events", daemon=True)
        self._thread = thread
        thread.start()
        return thread

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop: close the socket, end the backoff wait, and (unless called from the
        stream's own thread) wait for the thread `start()` made."""
        self._stop.set()
        with self._lock:
            ws = self._ws
        if ws is not None:
            _hang_up(ws)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def run(self) -> None:
        """Connect, stay in sync, reconnect; return after `close()` or a lost login.

        Statuses: `connecting` until the first snapshot; `live`; then, while out of
        sync and reconnecting, `stale` (the last state is shown, greyed) or `offline`
        (nothing was ever loaded), with the latest reason, until `live` again."""
        self._set_status(ConnectionStatus.CONNECTING, "")
        attempt = 0
        while not self._stop.is_set():
            self._connect_once()
            if self._auth_lost:
                reason = self._auth_lost
                self._go_stale(reason)
                self._set_status(ConnectionStatus.OFFLINE, reason)
                self._on_auth_lost(reason)
                return
            if self._stop.is_set():
                break
            attempt = 0 if self._went_live else attempt
            reason = self._reason or "the connection closed"
            self._go_stale(reason)
            self._set_status(ConnectionStatus.STALE if self._state.loaded
                             else ConnectionStatus.OFFLINE, reason)
            delay = self.backoff.delay(attempt, self._spread())
            attempt += 1
            log.info("live events: %s; reconnecting in %.2f s", reason, delay)
            self._sleep(delay)
        self._go_stale("stopped")
        self._set_status(ConnectionStatus.OFFLINE, "stopped")

    def _sleep(self, seconds: float) -> None:
        if self._sleeper is not None:
            self._sleeper(seconds)
        else:
            self._stop.wait(seconds)

    def _connect_once(self) -> None:
        token = self.client.token
        with self._lock:
            self._reason = ""
            self._auth_lost = ""
            self._went_live = False
            self._phase = _Phase.HELLO
            self._hello = None
            self._buffer = []
            self._loader = None
            if token is None:
                self._auth_lost = "not logged in"
                return
            if self._stop.is_set():
                return
            ws = websocket.WebSocketApp(
                self.client.events_url,
                header=[f"Authorization: Bearer {token}"],
                on_open=self._opened, on_message=self._message, on_error=self._error,
                on_close=self._closed)
            self._ws = ws
            self.connections += 1
        # websocket-client takes no timeout per connection, only a module-wide default
        # (a desk has one stream): without it, connecting to a host that does not answer
        # waits for the OS (minutes), and close() with it. Reads wait in select() first,
        # so this bounds only the connect, the handshake and the rest of a frame begun.
        websocket.setdefaulttimeout(self.socket_timeout)
        try:
            ws.run_forever(sslopt=self._sslopt(), ping_interval=self.ping_interval,
                           ping_timeout=self.ping_timeout, reconnect=0)
        except Exception as exc:  # noqa: BLE001 - run_forever reports through on_error;
            # anything that still escapes ends this connection like any other failure
            self._note(f"the connection failed: {exc!r}")
        finally:
            with self._lock:
                self._phase = _Phase.DONE
                self._ws = None
                loader = self._loader
            if loader is not None:
                loader.join()

    def _sslopt(self) -> dict[str, Any]:
        verify = self.client.verify
        if verify is False:
            return {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
        if isinstance(verify, str):
            return {"ca_certs": verify}
        return {}

    # --- websocket callbacks (the socket's thread) ---------------------------------------
    def _opened(self, ws: websocket.WebSocketApp) -> None:
        if self._stop.is_set():  # close() came while the socket was connecting
            _hang_up(ws)

    def _message(self, ws: websocket.WebSocketApp, text: str | bytes) -> None:
        received_at = self._clock()
        try:
            self._handle(ws, text, received_at)
        finally:
            self._close_finished()

    def _handle(self, ws: websocket.WebSocketApp, text: str | bytes,
                received_at: datetime) -> None:
        with self._lock:
            if ws is not self._ws or self._phase is _Phase.DONE:
                return
            try:
                message = parse_message(text)
            except ProtocolError as exc:
                self._lose(ws, exc.message)
                return
            if isinstance(message, Hello):
                if self._phase is not _Phase.HELLO:
                    self._lose(ws, "the server said hello twice")
                    return
                self._hello = message
                self._phase = _Phase.LOADING
                loader = threading.Thread(target=self._load, args=(ws, message),
                                          name="server_client.snapshot", daemon=True)
                self._loader = loader
                loader.start()
            elif isinstance(message, (Event, Heartbeat)):
                if self._phase is _Phase.HELLO:
                    self._lose(ws, "the server sent events before its hello")
                elif self._phase is _Phase.LOADING:
                    self._buffer.append((message, received_at))
                else:
                    diff = self._feed(ws, message, received_at)
                    if diff:
                        self._emit(diff)
            elif isinstance(message, ServerError):
                self._note(f"the server refused a message: {message.message}")
            elif isinstance(message, Pong):
                pass

    def _error(self, ws: websocket.WebSocketApp, exc: BaseException) -> None:
        status = getattr(exc, "status_code", None)
        if isinstance(exc, websocket.WebSocketConnectionClosedException) and status:
            return  # the server's close frame: on_close says what its code means
        if isinstance(exc, websocket.WebSocketBadStatusException) and status == 401:
            with self._lock:
                self._auth_lost = self._auth_lost or "the login has expired or was revoked"
            return
        if isinstance(exc, websocket.WebSocketBadStatusException):
            self._note(f"the server refused the event stream (HTTP {status})")
        elif isinstance(exc, ConnectionRefusedError):
            self._note("the server is not running (connection refused)")
        elif isinstance(exc, OSError) and exc.strerror:
            self._note(f"the server cannot be reached ({exc.strerror})")
        else:
            self._note(f"the connection failed ({exc})")

    def _closed(self, ws: websocket.WebSocketApp, code: int | None, reason: str | None) -> None:
        if code == CLOSE_AUTH:
            with self._lock:
                self._auth_lost = self._auth_lost or (reason or "the login has ended")
        elif code == CLOSE_TOO_SLOW:
            self._note("this desk fell too far behind the server")
        elif code == CLOSE_GOING_AWAY:
            self._note("the server is stopping")
        elif code is not None:
            detail = f": {reason}" if reason else ""
            self._note(f"the server closed the connection ({code}{detail})")
        else:
            self._note("the connection was lost")

    # --- the snapshot (the loader's thread) ----------------------------------------------
    def _load(self, ws: websocket.WebSocketApp, hello: Hello) -> None:
        try:
            self._load_snapshot(ws, hello)
        finally:
            self._close_finished()

    def _load_snapshot(self, ws: websocket.WebSocketApp, hello: Hello) -> None:
        try:
            snapshot = self.client.live()
            received_at = self._clock()
        except Unauthorized as exc:
            with self._lock:
                self._auth_lost = self._auth_lost or exc.message
                self._finish(ws)
            return
        except ApiError as exc:
            with self._lock:
                self._lose(ws, f"the snapshot could not be loaded: {exc.message}")
            return
        with self._lock:
            if ws is not self._ws or self._phase is not _Phase.LOADING:
                return
            if snapshot.instance != hello.instance:
                self._lose(ws, "the server restarted while the snapshot loaded")
                return
            self._state.load(snapshot, received_at)
            self._phase = _Phase.LIVE
            buffered, self._buffer = self._buffer, []
            for message, at in buffered:
                if self._feed(ws, message, at) is None:
                    return
            self._went_live = True
            log.info("live events: in sync at event %d of server %s", snapshot.seq,
                     snapshot.instance[:8])
            self._emit(EVERYTHING)
            self._set_status(ConnectionStatus.LIVE, "")

    # --- applying (under the lock) ---------------------------------------------------------
    def _feed(self, ws: websocket.WebSocketApp, message: Message,
              received_at: datetime) -> Diff | None:
        """Apply one event or heartbeat; None when sync was lost (the socket closes)."""
        try:
            if isinstance(message, Event):
                return self._state.apply(message)
            if isinstance(message, Heartbeat):
                return self._state.heartbeat(message, received_at)
        except SyncLost as lost:
            self._lose(ws, lost.reason)
            return None
        return Diff()

    def _lose(self, ws: websocket.WebSocketApp, reason: str) -> None:
        """Out of sync: grey the tiles and close this connection; run() reconnects."""
        self._note(reason)
        self._go_stale(reason)
        if self._state.loaded:
            self._set_status(ConnectionStatus.STALE, reason)
        self._finish(ws)

    def _finish(self, ws: websocket.WebSocketApp) -> None:
        """End this connection, once the lock is released (`_close_finished`)."""
        self._phase = _Phase.DONE
        self._closing = ws

    def _close_finished(self) -> None:
        with self._lock:
            ws, self._closing = self._closing, None
        if ws is not None:
            _hang_up(ws)

    def _note(self, reason: str) -> None:
        with self._lock:
            if not self._reason:
                self._reason = reason

    def _go_stale(self, reason: str) -> None:
        """Tell the screen the tiles are stale (LiveState may have marked them so
        already, when an event showed the gap)."""
        with self._lock:
            if not self._state.loaded:
                return
            self._state.mark_stale(reason)
            if not self._shown_stale:
                self._emit(EVERYTHING)

    def _emit(self, diff: Diff) -> None:
        view = self._state.view()
        self._shown_stale = view.stale
        self._on_state(view, diff)

    def _set_status(self, status: ConnectionStatus, reason: str) -> None:
        with self._lock:
            if self._status == (status, reason):
                return
            self._status = (status, reason)
            self._on_connection(status, reason)


def _hang_up(ws: websocket.WebSocketApp) -> None:
    """End a connection from any thread, at once: send the close frame, then shut the
    socket so the reading thread wakes and `run_forever` returns.

    `WebSocketApp.close()` is not used from other threads: it reads the server's
    closing frame itself, and the reading thread, whose socket it then closes under
    it, would sleep in `select` until its timeout (up to `ping_timeout`).
    """
    ws.keep_running = False
    sock = ws.sock
    if sock is None:
        return
    try:
        if sock.connected:
            sock.send_close(websocket.STATUS_NORMAL)
    except (OSError, websocket.WebSocketException):
        pass  # already broken: shutting it down below is all that is left to do
    raw = sock.sock
    if raw is not None:
        try:
            raw.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # not connected (yet, or any more)
