"""An Asterisk Manager Interface client on asyncio streams.

One TCP connection, kept up: banner, `Login`, a `Ping` every `ping_interval` seconds
(a silent or half-dead link is noticed and replaced), reconnection with exponential
backoff. Actions are matched to their responses by `ActionID`, whatever order
responses and events arrive in; list actions (`CoreShowChannels`…) collect their
item events, correlated by the same `ActionID`, up to the `…Complete` event. Events
go to `on_event`; after every successful login `on_connected` runs (the bridge
reconciles there).

Verified against Asterisk 22.10.1 (AMI 11.0.0) transcripts: a wrong secret answers
`Response: Error / Message: Authentication failed` and the server closes the socket
(`AmiAuthError`); a `Hangup` on a channel that is gone answers `Response: Error /
Message: No such channel` (`AmiActionError`, `no_such_channel`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

from cashdesk.pbx.asterisk.packets import Packet, PacketParser, encode_action

log = logging.getLogger(__name__)

BANNER_PREFIX = b"Asterisk Call Manager/"
EventHandler = Callable[[Packet], None]
ConnectedHandler = Callable[[], Awaitable[None]]
DisconnectedHandler = Callable[[], None]


class AmiError(Exception):
    """Anything that went wrong talking to the AMI."""


class AmiConnectionError(AmiError):
    """Not connected, or the connection went away while an action waited."""


class AmiAuthError(AmiError):
    """Asterisk refused the username or secret (`Authentication failed`)."""


class AmiTimeout(AmiError, TimeoutError):
    """No response to an action in time."""


class AmiActionError(AmiError):
    """Asterisk answered an action with `Response: Error`."""

    def __init__(self, action: str, response: Packet) -> None:
        self.action = action
        self.response = response
        super().__init__(f"{action}: {response.message or 'error'}")

    @property
    def message(self) -> str:
        return self.response.message

    @property
    def no_such_channel(self) -> bool:
        return self.message.strip().lower() == "no such channel"


@dataclass(slots=True)
class ListResult:
    """What a list action returned: its response, the item events, and the closing
    `…Complete` event (which carries `ListItems`)."""

    response: Packet
    items: list[Packet]
    complete: Packet


@dataclass(slots=True)
class _Collector:
    action: str
    future: asyncio.Future[ListResult]
    response: Packet | None = None
    complete: Packet | None = None
    items: list[Packet] = field(default_factory=list)

    def settle(self) -> None:
        if self.future.done():
            return
        if self.response is not None and self.response.response == "Error":
            self.future.set_exception(AmiActionError(self.action, self.response))
        elif self.response is not None and self.complete is not None:
            self.future.set_result(ListResult(self.response, self.items, self.complete))


def _is_list_end(packet: Packet) -> bool:
    name = packet.event or ""
    return name.endswith("Complete") or (packet.get("EventList") or "").lower() == "complete"


class AmiClient:
    """A kept-up AMI connection. Start with `async_start`, stop with `async_stop`."""

    def __init__(self, host: str, port: int, username: str, secret: str, *,
                 on_event: EventHandler | None = None,
                 on_connected: ConnectedHandler | None = None,
                 on_disconnected: DisconnectedHandler | None = None,
                 events: str = "on",
                 ping_interval: float = 20.0,
                 action_timeout: float = 5.0,
                 connect_timeout: float = 5.0,
                 reconnect_delay: tuple[float, float] = (0.5, 30.0),
                 action_id_prefix: str | None = None) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._secret = secret
        self.on_event = on_event
        self.on_connected = on_connected
        self.on_disconnected = on_disconnected
        self.events = events
        self.ping_interval = ping_interval
        self.action_timeout = action_timeout
        self.connect_timeout = connect_timeout
        self.reconnect_delay = reconnect_delay
        self._ids = itertools.count(1)
        self._id_prefix = action_id_prefix or f"cashdesk-{secrets.token_hex(3)}"
        self._pending: dict[str, asyncio.Future[Packet]] = {}
        self._lists: dict[str, _Collector] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._logged_in = False
        self._stopping = False
        self._run_task: asyncio.Task[None] | None = None
        self._first: asyncio.Future[None] | None = None
        self._connected_event = asyncio.Event()
        #: Bytes received on the current connection (tests wait on it to stay in step).
        self.bytes_received = 0
        #: Successful logins so far (1 after the first connect, 2 after a reconnect…).
        self.sessions = 0
        self.banner = ""
        self._received_at = 0.0   # loop time of the last bytes received

    # -- lifecycle -------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._writer is not None and self._logged_in

    async def async_start(self) -> None:
        """Connect and log in; return once logged in (and `on_connected` has run).

        Raises `AmiAuthError` for a refused login and `AmiConnectionError` when the
        first connection fails; later drops are reconnected in the background.
        """
        if self._run_task is not None:
            raise RuntimeError("AMI client already started")
        self._stopping = False
        self._first = asyncio.get_running_loop().create_future()
        self._run_task = asyncio.create_task(self._run(), name=f"ami {self.host}:{self.port}")
        try:
            await self._first
        except BaseException:
            await self.async_stop(logoff=False)
            raise

    async def async_stop(self, *, logoff: bool = True) -> None:
        self._stopping = True
        if logoff and self.connected:
            with contextlib.suppress(AmiError, OSError):
                await self.action("Logoff", timeout=min(1.0, self.action_timeout), check=False)
        self._close_writer()
        task, self._run_task = self._run_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_connected(self, timeout: float) -> None:
        await asyncio.wait_for(self._connected_event.wait(), timeout)

    def seconds_since_received(self) -> float:
        """How long ago the AMI last sent anything (a dead link is found by the Ping
        some seconds later: this says when it was last known alive)."""
        return max(0.0, asyncio.get_running_loop().time() - self._received_at)

    # -- actions ---------------------------------------------------------------------

    async def action(self, action: str, fields: Mapping[str, str | int | Iterable[str]]
                     | None = None, *, timeout: float | None = None,
                     check: bool = True) -> Packet:
        """Send an action and return its response. `Response: Error` raises
        `AmiActionError` unless `check` is false."""
        return await self._send(action, fields or {}, timeout=timeout, check=check)

    async def action_list(self, action: str, fields: Mapping[str, str | int | Iterable[str]]
                          | None = None, *, timeout: float | None = None) -> ListResult:
        """Send a list action (`CoreShowChannels`, `BridgeList`…) and return its response
        with every item event, once the `…Complete` event has arrived."""
        writer = self._require_connection(action)
        action_id = self._next_id()
        future: asyncio.Future[ListResult] = asyncio.get_running_loop().create_future()
        self._lists[action_id] = _Collector(action, future)
        try:
            writer.write(encode_action(action, {"ActionID": action_id, **(fields or {})}))
            return await asyncio.wait_for(future, timeout or self.action_timeout)
        except TimeoutError:
            raise AmiTimeout(f"{action}: no complete list in "
                             f"{timeout or self.action_timeout:g} s") from None
        finally:
            self._lists.pop(action_id, None)

    def _require_connection(self, action: str, *, login: bool = False) -> asyncio.StreamWriter:
        if self._writer is None or not (self._logged_in or login):
            raise AmiConnectionError(f"{action}: not connected to the AMI at "
                                     f"{self.host}:{self.port}")
        return self._writer

    def _next_id(self) -> str:
        return f"{self._id_prefix}-{next(self._ids)}"

    async def _send(self, action: str, fields: Mapping[str, str | int | Iterable[str]], *,
                    timeout: float | None, check: bool, login: bool = False) -> Packet:
        writer = self._require_connection(action, login=login)
        action_id = self._next_id()
        future: asyncio.Future[Packet] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = future
        limit = timeout or self.action_timeout
        try:
            writer.write(encode_action(action, {"ActionID": action_id, **fields}))
            response = await asyncio.wait_for(future, limit)
        except TimeoutError:
            raise AmiTimeout(f"{action}: no response in {limit:g} s") from None
        finally:
            self._pending.pop(action_id, None)
        if check and response.response == "Error":
            raise AmiActionError(action, response)
        return response

    # -- connection ------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self.reconnect_delay[0]
        while not self._stopping:
            established = False
            try:
                established = await self._session()
            except asyncio.CancelledError:
                raise
            except AmiAuthError as exc:
                log.error("AMI login to %s:%s as %r refused: %s", self.host, self.port,
                          self.username, exc)
                self._fail_first(exc)
            except (OSError, AmiError, TimeoutError) as exc:
                log.warning("AMI connection to %s:%s failed: %s", self.host, self.port,
                            exc or type(exc).__name__)
                self._fail_first(AmiConnectionError(
                    f"cannot connect to the AMI at {self.host}:{self.port}: "
                    f"{exc or type(exc).__name__}"))
            except Exception as exc:  # a bug must not end the reconnect loop
                log.exception("AMI session ended by an unexpected error")
                self._fail_first(AmiConnectionError(str(exc)))
            if self._stopping:
                break
            if established:
                delay = self.reconnect_delay[0]
            wait = delay * random.uniform(0.8, 1.2)
            log.info("AMI reconnecting to %s:%s in %.1f s", self.host, self.port, wait)
            await asyncio.sleep(wait)
            delay = min(delay * 2, self.reconnect_delay[1])

    def _fail_first(self, exc: BaseException) -> None:
        if self._first is not None and not self._first.done():
            self._first.set_exception(exc)

    async def _session(self) -> bool:
        """One connection, from connect to close. True once it had logged in."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.connect_timeout)
        self._writer = writer
        self.bytes_received = 0
        self._received_at = asyncio.get_running_loop().time()
        parser = PacketParser()
        logged_in = False
        read_task: asyncio.Task[None] | None = None
        ping_task: asyncio.Task[None] | None = None
        try:
            banner = await asyncio.wait_for(reader.readline(), self.connect_timeout)
            if not banner:
                raise AmiConnectionError("closed before sending its banner")
            self.bytes_received += len(banner)
            self.banner = banner.decode("utf-8", "replace").strip()
            if not banner.startswith(BANNER_PREFIX):
                log.warning("AMI banner is not Asterisk's: %r", self.banner[:80])
            read_task = asyncio.create_task(self._read(reader, parser), name="ami reader")
            try:
                await self._send("Login", {"Username": self.username, "Secret": self._secret,
                                           "Events": self.events},
                                 timeout=self.action_timeout, check=True, login=True)
            except AmiActionError as exc:
                raise AmiAuthError(exc.message or "login refused") from None
            self._logged_in = logged_in = True
            self.sessions += 1
            log.info("AMI logged in to %s:%s as %r (%s)", self.host, self.port,
                     self.username, self.banner)
            ping_task = asyncio.create_task(self._ping(), name="ami ping")
            if self.on_connected is not None:
                try:
                    await self.on_connected()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("AMI on-connect handler failed")
            self._connected_event.set()
            if self._first is not None and not self._first.done():
                self._first.set_result(None)
            await read_task
            log.warning("AMI connection to %s:%s closed", self.host, self.port)
            return True
        finally:
            self._logged_in = False
            self._connected_event.clear()
            for task in (ping_task, read_task):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            self._close_writer(writer)
            self._fail_waiting(AmiConnectionError("AMI connection lost"))
            if logged_in and self.on_disconnected is not None:
                try:
                    self.on_disconnected()
                except Exception:
                    log.exception("AMI on-disconnect handler failed")

    def _close_writer(self, writer: asyncio.StreamWriter | None = None) -> None:
        writer = writer or self._writer
        if writer is not None:
            writer.close()
        if writer is self._writer:
            self._writer = None

    def _fail_waiting(self, exc: AmiError) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)
        for collector in self._lists.values():
            if not collector.future.done():
                collector.future.set_exception(exc)

    async def _read(self, reader: asyncio.StreamReader, parser: PacketParser) -> None:
        while True:
            try:
                data = await reader.read(65536)
            except (ConnectionError, OSError) as exc:
                log.warning("AMI read failed: %s", exc)
                data = b""
            if not data:
                parser.close()
                # Whoever waits for a response now would wait for nothing.
                self._fail_waiting(AmiConnectionError("AMI connection closed"))
                return
            self.bytes_received += len(data)
            self._received_at = asyncio.get_running_loop().time()
            for packet in parser.feed(data):
                self._dispatch(packet)

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            try:
                await self.action("Ping", timeout=self.action_timeout, check=False)
            except AmiTimeout:
                log.warning("AMI did not answer Ping in %g s; dropping the connection",
                            self.action_timeout)
                writer = self._writer
                if writer is not None:
                    writer.transport.abort()
                return
            except AmiConnectionError:
                return

    # -- incoming --------------------------------------------------------------------

    def _dispatch(self, packet: Packet) -> None:
        action_id = packet.action_id
        if packet.event is not None:
            collector = self._lists.get(action_id) if action_id else None
            if collector is not None:
                if _is_list_end(packet):
                    collector.complete = packet
                else:
                    collector.items.append(packet)
                collector.settle()
                return
            if self.on_event is not None:
                try:
                    self.on_event(packet)
                except Exception:
                    log.exception("AMI event handler failed on %s", packet)
            return
        if packet.response is not None:
            future = self._pending.get(action_id) if action_id else None
            if future is not None:
                if not future.done():
                    future.set_result(packet)
                return
            collector = self._lists.get(action_id) if action_id else None
            if collector is not None:
                collector.response = packet
                collector.settle()
                return
            log.debug("AMI response to no waiting action (ActionID %r): %s", action_id, packet)
            return
        log.warning("AMI packet with neither Event nor Response, dropped: %s", packet)
