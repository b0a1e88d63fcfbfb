"""A scripted AMI peer on a real TCP socket (127.0.0.1, ephemeral port).

It replays a recorded transcript: the recorded bytes, in the recorded order, cut
into random-sized chunks if asked. Where the recording client sent an action, the
script either goes on (`skip`: the bridge would not send that one, e.g. Originate)
or waits until the client under test sends the same action (`await`), records it,
and from then on rewrites the recorded ActionID into the client's own in every
recorded packet — the only bytes that differ from the recording.

Anything else the client sends (Ping, its reconcile `CoreShowChannels`, a second
Hangup…) gets a synthetic answer, written between packets, never inside one.

With a `FakeClock`, before each group of packets recorded at the same instant the
peer waits until the client has consumed every byte sent so far, then sets the clock
to that instant: the client stamps each event with its recorded time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cashdesk.clock import FakeClock
from cashdesk.pbx.asterisk.packets import Packet, PacketParser, encode_action
from tests.pbx_asterisk.transcript import Rx, Transcript, Tx

log = logging.getLogger(__name__)

_ACTION_ID = re.compile(rb"^ActionID: (.*?)\r\n", re.MULTILINE)
STEP_TIMEOUT = 5.0


def response(fields: dict[str, str]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode() + b"\r\n"


@dataclass
class Connection:
    writer: asyncio.StreamWriter
    actions: asyncio.Queue[Packet] = field(default_factory=asyncio.Queue)
    awaiting: str | None = None
    next_await: str | None = None   # the next action the script will wait for
    sent: int = 0
    synthetic: list[bytes] = field(default_factory=list)
    closed: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one packet at a time


class ReplayPeer:
    def __init__(self, transcript: Transcript, *, await_actions: Iterable[str] = ("Login",
                 "Logoff"), clock: FakeClock | None = None, chunks: random.Random | None = None,
                 max_chunk: int = 700, listing: list[dict[str, str]] | None = None,
                 replay_once: bool = True) -> None:
        self.transcript = transcript
        self.await_actions = set(await_actions)
        self.clock = clock
        self.t0 = clock.monotonic() if clock else 0.0
        self.chunks = chunks
        self.max_chunk = max_chunk
        #: CoreShowChannel items for the synthetic listing of later connections.
        self.listing = listing or []
        self.replay_once = replay_once
        self.received: list[Packet] = []        # every action the client sent
        self.mapped: dict[str, str] = {}        # recorded ActionID → client's
        self.consumed: Callable[[], int] | None = None
        self.connections = 0
        self.finished = asyncio.Event()
        self._reached: dict[str, asyncio.Event] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def reached_event(self, action: str) -> asyncio.Event:
        return self._reached.setdefault(action, asyncio.Event())

    async def reached(self, action: str, timeout: float = STEP_TIMEOUT) -> None:
        """Wait until the script waits for the client to send `action`."""
        await asyncio.wait_for(self.reached_event(action).wait(), timeout)

    def sent_actions(self, name: str) -> list[Packet]:
        return [p for p in self.received if p.get("Action") == name]

    # -- serving -----------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.append(writer)
        self.connections += 1
        conn = Connection(writer)
        read_task = asyncio.create_task(self._read(reader, conn))
        try:
            if self.connections == 1 or not self.replay_once:
                await self._replay(conn)
            else:
                await self._fresh_session(conn)
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            pass   # stopped: end quietly (asyncio reports a cancelled handler task)
        finally:
            read_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await read_task
            writer.close()
            self._tasks.discard(task)

    async def _read(self, reader: asyncio.StreamReader, conn: Connection) -> None:
        parser = PacketParser()
        while True:
            data = await reader.read(4096)
            if not data:
                conn.closed = True
                await conn.actions.put(Packet(()))  # wake a waiting script
                return
            for packet in parser.feed(data):
                self.received.append(packet)
                name = packet.get("Action")
                # A Login answers the banner at once, before the script (which first
                # waits for the banner to be read) says it waits: hold it for the script.
                if name == conn.awaiting or (name == "Login" and conn.next_await == name):
                    await conn.actions.put(packet)
                else:
                    conn.synthetic.append(self._synthesise(packet))
                    if conn.awaiting is not None:
                        await self._flush(conn)

    def _synthesise(self, action: Packet) -> bytes:
        name = action.get("Action") or ""
        aid = action.get("ActionID") or ""
        if name == "Ping":
            return response({"Response": "Success", "ActionID": aid, "Ping": "Pong",
                             "Timestamp": "0.000000"})
        if name == "Login":
            return response({"Response": "Success", "ActionID": aid,
                             "Message": "Authentication accepted"})
        if name == "CoreShowChannels":
            out = response({"Response": "Success", "ActionID": aid, "EventList": "start",
                            "Message": "Channels will follow"})
            for item in (self.listing if self.connections > 1 else []):
                out += response({"Event": "CoreShowChannel", "ActionID": aid, **item})
            return out + response({"Event": "CoreShowChannelsComplete", "ActionID": aid,
                                   "EventList": "Complete",
                                   "ListItems": str(len(self.listing))})
        if name == "Hangup":
            return response({"Response": "Error", "ActionID": aid,
                             "Message": "No such channel"})
        if name == "AbsoluteTimeout":
            return response({"Response": "Success", "ActionID": aid,
                             "Message": "Timeout Set"})
        if name == "Logoff":
            return response({"Response": "Goodbye", "ActionID": aid,
                             "Message": "Thanks for all the fish."})
        return response({"Response": "Error", "ActionID": aid,
                         "Message": "Invalid/unknown command"})

    async def _write(self, conn: Connection, data: bytes) -> None:
        if not data:
            return
        if self.chunks is None:
            pieces = [data]
        else:
            pieces, rest = [], data
            while rest:
                size = self.chunks.randint(1, self.max_chunk)
                pieces.append(rest[:size])
                rest = rest[size:]
        async with conn.lock:
            for piece in pieces:
                conn.writer.write(piece)
                conn.sent += len(piece)
                await conn.writer.drain()
                if self.chunks is not None and self.chunks.random() < 0.3:
                    await asyncio.sleep(0)   # let the client read half a packet

    async def _flush(self, conn: Connection) -> None:
        while conn.synthetic:
            await self._write(conn, conn.synthetic.pop(0))

    async def _in_step(self, conn: Connection) -> None:
        """Wait until the client has read everything sent (and so dispatched it)."""
        if self.consumed is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STEP_TIMEOUT
        while self.consumed() < conn.sent and not conn.closed:
            if loop.time() > deadline:
                raise AssertionError(f"client read {self.consumed()} of {conn.sent} bytes")
            await asyncio.sleep(0.001)
        await asyncio.sleep(0)

    def _set_clock(self, ts: float) -> None:
        if self.clock is not None:
            ahead = self.t0 + ts - self.clock.monotonic()
            if ahead > 0:
                self.clock.advance(ahead)

    def _rewrite(self, data: bytes) -> bytes:
        if not self.mapped:
            return data

        def swap(match: re.Match[bytes]) -> bytes:
            recorded = match.group(1).decode()
            return b"ActionID: " + self.mapped.get(recorded, recorded).encode() + b"\r\n"
        return _ACTION_ID.sub(swap, data)

    async def _replay(self, conn: Connection) -> None:
        items = list(self.transcript.items)
        # A client logs in once per connection: a recorded second Login is skipped.
        first_login = next(n for n, item in enumerate(items)
                           if isinstance(item, Tx) and item.action == "Login")
        awaited = [(n, item.action) for n, item in enumerate(items)
                   if isinstance(item, Tx) and item.action in self.await_actions
                   and (item.action != "Login" or n == first_login)]
        awaited_at = {n for n, _ in awaited}
        i = 0
        while i < len(items):
            conn.next_await = next((a for n, a in awaited if n >= i), None)
            item = items[i]
            if isinstance(item, Tx):
                if i in awaited_at:
                    await self._await_action(conn, item)
                i += 1
                continue
            if item.eof:
                await self._in_step(conn)
                self.finished.set()
                conn.writer.close()
                return
            group = [item]
            while (i + len(group) < len(items) and isinstance(items[i + len(group)], Rx)
                   and not items[i + len(group)].eof          # type: ignore[union-attr]
                   and items[i + len(group)].ts == item.ts):
                group.append(items[i + len(group)])            # type: ignore[arg-type]
            i += len(group)
            if self.clock is not None:
                await self._in_step(conn)
                self._set_clock(item.ts)
            await self._write(conn, b"".join(self._rewrite(g.data) for g in group))
            await self._flush(conn)
        self.finished.set()

    async def _await_action(self, conn: Connection, tx: Tx) -> None:
        await self._in_step(conn)
        self._set_clock(tx.ts)
        conn.awaiting = tx.action
        self.reached_event(tx.action).set()
        await self._flush(conn)
        try:
            packet = await asyncio.wait_for(conn.actions.get(), 30)
        finally:
            conn.awaiting = None
        if conn.closed and not packet.fields:
            raise ConnectionError("client closed while the script waited for "
                                  f"{tx.action}")
        self.mapped[tx.action_id] = packet.get("ActionID") or ""
        self._reached.pop(tx.action, None)

    async def _fresh_session(self, conn: Connection) -> None:
        """A later connection: banner, accept the login, answer everything."""
        await self._write(conn, b"Asterisk Call Manager/11.0.0\r\n")
        conn.awaiting = "never"
        while not conn.closed:
            await self._flush(conn)
            await asyncio.sleep(0.005)


def action_bytes(name: str, **fields: str) -> bytes:
    return encode_action(name, fields)
