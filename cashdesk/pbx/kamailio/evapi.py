"""An asyncio client for Kamailio's evapi socket: JSON messages framed as netstrings.

Kamailio's evapi module (with `netstring_format=1`) frames every message as
`<length>:<payload>,` where the length counts the payload's bytes. One TCP read may
hold part of a frame or several frames; `NetstringDecoder` reassembles them.

`EvapiClient` keeps one connection up: it reconnects with exponential backoff
(reset after a good connection), hands every JSON object Kamailio sends to
`on_message`, and matches JSON-RPC replies to `async_call` by id. Kamailio relays
each RPC reply to every connected client, so replies to other clients' ids are
ignored. A frame that is not a JSON object is logged and skipped, never fatal.

What the messages mean is the config's business (resources/kamailio/README.md);
this module only moves them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

_LOGGER = logging.getLogger(__name__)

# A dlg.list of a few hundred calls is tens of KiB; anything near this is garbage.
MAX_FRAME_BYTES = 16 * 1024 * 1024
_MAX_LENGTH_DIGITS = len(str(MAX_FRAME_BYTES))

JsonObject = dict[str, Any]
MessageHandler = Callable[[JsonObject], None]
ConnectionHandler = Callable[[], Awaitable[None]]


class EvapiError(Exception):
    """The socket is not connected, or a JSON-RPC call failed."""


class NotConnected(EvapiError):
    pass


class RpcError(EvapiError):
    def __init__(self, method: str, error: Any) -> None:
        super().__init__(f"{method}: {error}")
        self.method = method
        self.error = error


def encode_netstring(payload: bytes) -> bytes:
    return b"%d:%s," % (len(payload), payload)


def encode_message(message: JsonObject) -> bytes:
    """One JSON object as an evapi frame (compact JSON, UTF-8)."""
    return encode_netstring(json.dumps(message, separators=(",", ":"),
                                       ensure_ascii=False).encode())


class NetstringDecoder:
    """Feed it bytes as they arrive; it returns the complete payloads so far.

    A malformed frame (a length that is not digits or too long, no `,` where the
    payload should end) is counted in `errors`, logged, and skipped: the decoder
    resynchronises on the next position that starts like a frame header.
    """

    def __init__(self, max_frame: int = MAX_FRAME_BYTES) -> None:
        self._buffer = bytearray()
        self._max_frame = max_frame
        self.errors = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames: list[bytes] = []
        while self._buffer:
            colon = self._buffer.find(b":", 0, _MAX_LENGTH_DIGITS + 1)
            if colon < 0:
                digits = _leading_digits(self._buffer)
                if digits == len(self._buffer) and digits <= _MAX_LENGTH_DIGITS:
                    break  # the length is still arriving
                self._skip(max(digits, 1), "no length prefix")
                continue
            header = bytes(self._buffer[:colon])
            if not header.isdigit():  # junk before a frame: keep the digits after it
                self._skip(max(_leading_digits(self._buffer), 1), f"bad length {header!r}")
                continue
            if int(header) > self._max_frame:
                self._skip(colon + 1, f"length {header!r} too large")
                continue
            end = colon + 1 + int(header)
            if len(self._buffer) <= end:
                break  # payload or terminator still arriving
            if self._buffer[end:end + 1] != b",":
                self._skip(colon + 1, "missing ',' after the payload")
                continue
            frames.append(bytes(self._buffer[colon + 1:end]))
            del self._buffer[:end + 1]
        return frames

    def _skip(self, past: int, why: str) -> None:
        """Drop `past` bytes of a broken frame, then up to the next digit."""
        self.errors += 1
        _LOGGER.warning("evapi: bad frame skipped (%s): %r", why, bytes(self._buffer[:60]))
        del self._buffer[:past]
        while self._buffer and not 0x30 <= self._buffer[0] <= 0x39:
            del self._buffer[:1]


def _leading_digits(buffer: bytearray) -> int:
    count = 0
    while count < len(buffer) and 0x30 <= buffer[count] <= 0x39:
        count += 1
    return count


def decode_message(frame: bytes) -> JsonObject | None:
    """A frame's JSON object, or None (logged) when it is not one."""
    try:
        message = json.loads(frame)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _LOGGER.warning("evapi: frame is not JSON (%s): %r", exc, frame[:200])
        return None
    if not isinstance(message, dict):
        _LOGGER.warning("evapi: frame is not a JSON object: %r", frame[:200])
        return None
    return message


class EvapiClient:
    """One reconnecting connection to Kamailio's evapi socket.

    `on_message` is called in the event loop for every message that is not a reply
    to this client's own JSON-RPC call; it must not block. `on_connected` (awaited
    after each successful connect, e.g. to reconcile with `dlg.list`) and
    `on_disconnected` are optional.
    """

    def __init__(self, host: str, port: int, on_message: MessageHandler, *,
                 on_connected: ConnectionHandler | None = None,
                 on_disconnected: ConnectionHandler | None = None,
                 min_backoff: float = 0.1, max_backoff: float = 5.0,
                 connect_timeout: float = 3.0) -> None:
        self.host = host
        self.port = port
        self._on_message = on_message
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._connect_timeout = connect_timeout
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._id_prefix = f"cd{random.getrandbits(32):08x}-"
        self.decoder = NetstringDecoder()
        self.connections = 0  # how many times a connection was made

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def drop(self) -> None:
        """Abort the current connection, as a network failure would; it is made again
        after the backoff (for tests and operators forcing a reconnect)."""
        writer = self._writer
        if writer is not None:
            writer.transport.abort()

    async def async_start(self) -> None:
        """Start connecting in the background (returns at once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"evapi {self.host}:{self.port}")

    async def async_wait_connected(self, timeout: float) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def async_stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close()

    def send_now(self, message: JsonObject) -> None:
        """Write one message without waiting for the socket's buffer to drain (a small
        answer the PBX waits for). Raises NotConnected rather than queueing: a command
        the server could not deliver must be handled now (retried, or the call
        refused)."""
        self.send_all_now([message])

    def send_all_now(self, messages: Iterable[JsonObject]) -> None:
        """Write messages in one go (one write, so the PBX reads them together), as
        `send_now`."""
        writer = self._writer
        if writer is None or not self.connected:
            raise NotConnected(f"evapi {self.host}:{self.port} is not connected")
        writer.write(b"".join(map(encode_message, messages)))

    async def async_send(self, message: JsonObject) -> None:
        """Send one message (`send_now`), then wait while the socket's buffer is full."""
        self.send_now(message)
        await self.async_drain()

    async def async_drain(self) -> None:
        """Wait while the socket's buffer is full."""
        writer = self._writer
        if writer is None:
            raise NotConnected(f"evapi {self.host}:{self.port} is not connected")
        try:
            await writer.drain()
        except (ConnectionError, OSError) as exc:
            raise NotConnected(f"evapi {self.host}:{self.port}: {exc}") from exc

    async def async_call(self, method: str, params: list[Any] | None = None, *,
                         timeout: float = 2.0) -> Any:
        """A JSON-RPC call executed by Kamailio (`jsonrpc_exec`); returns its result."""
        request_id = f"{self._id_prefix}{next(self._ids)}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self.async_send({"jsonrpc": "2.0", "method": method,
                                   "params": params or [], "id": request_id})
            reply = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)
        if "error" in reply:
            raise RpcError(method, reply["error"])
        return reply.get("result")

    async def _run(self) -> None:
        backoff = self._min_backoff
        while True:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), self._connect_timeout)
            except (TimeoutError, OSError) as exc:
                _LOGGER.debug("evapi %s:%s: connect failed (%s), retry in %.1f s",
                              self.host, self.port, exc, backoff)
                await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = self._min_backoff
            self._writer = writer
            self.decoder = NetstringDecoder()
            self.connections += 1
            self._connected.set()
            _LOGGER.info("evapi %s:%s: connected", self.host, self.port)
            try:
                if self._on_connected is not None:
                    await self._on_connected()
                await self._read(reader)
            except (ConnectionError, OSError) as exc:
                _LOGGER.warning("evapi %s:%s: connection lost (%s)", self.host, self.port, exc)
            finally:
                await self._close()
            _LOGGER.warning("evapi %s:%s: disconnected", self.host, self.port)
            if self._on_disconnected is not None:
                await self._on_disconnected()
            await asyncio.sleep(backoff)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        quickack = _quickack_setter(self._writer)
        while data := await reader.read(65536):
            quickack()
            for frame in self.decoder.feed(data):
                message = decode_message(frame)
                if message is not None:
                    self._dispatch(message)

    def _dispatch(self, message: JsonObject) -> None:
        if message.get("jsonrpc") == "2.0" and ("result" in message or "error" in message):
            future = self._pending.get(str(message.get("id")))
            if future is not None and not future.done():
                future.set_result(message)
            return  # another client's reply, relayed to everyone
        try:
            self._on_message(message)
        except Exception:  # a handler bug must not take the connection down
            _LOGGER.exception("evapi: message handler failed on %r", message)

    async def _close(self) -> None:
        self._connected.clear()
        writer, self._writer = self._writer, None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(NotConnected("evapi connection closed"))
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


def _quickack_setter(writer: asyncio.StreamWriter | None) -> Callable[[], None]:
    """Acknowledge Kamailio's segments at once (Linux TCP_QUICKACK, which the kernel
    clears again after a while, hence once per read).

    Kamailio 5.6's evapi leaves Nagle on for client sockets: with the receiver's
    delayed ACKs, an event sent right after another one waits ~40 ms for the ACK of
    the first. Measured: ringing/answered 40-45 ms late without this, < 1 ms with it.
    """
    sock = writer.get_extra_info("socket") if writer is not None else None
    option = getattr(socket, "TCP_QUICKACK", None)
    if sock is None or option is None:
        return lambda: None

    def set_quickack() -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, option, 1)
        except OSError:
            pass
    return set_quickack
