"""A PBX that outlives the server, for tests that kill it: `FakePbx` runs in the test's
process and holds the calls; `PeerBridge` runs inside `cashdesk-server serve` (plugged
in with `pbx = "tests.server.pbx_peer:create_bridge"`) and talks to it over TCP, one
JSON object per line, like a real bridge talks to Kamailio or Asterisk:

    PBX → bridge   {"op": "authorise", "id", "call", "cabin", "number", "at"}
                   {"op": "event", "kind", "call", "cabin"?, "number"?, "at", "sip_code"?}
                   {"op": "live", "id", "calls": [...]}          (answers "list")
    bridge → PBX   {"op": "authorised", "id", "allowed", "max_duration_s"}
                   {"op": "list", "id"}   {"op": "cut", "call", "reason"}
                   {"op": "backstop", "call", "seconds"}
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from datetime import datetime
from typing import Any

from cashdesk.pbx.bridge import AuthorisationRequest, CutReason, LiveCall, PbxBridge
from cashdesk.pbx.events import (
    CallAnswered,
    CallEnded,
    CallFailed,
    CallRinging,
    CallStarted,
    HangupBy,
    PbxEvent,
)


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class PeerBridge(PbxBridge):
    name = "peer"

    def __init__(self, host: str, port: int) -> None:
        super().__init__()
        self.host, self.port = host, port
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._lists: dict[int, asyncio.Future[list[LiveCall]]] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()

    async def async_start(self) -> None:
        reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._reader_task = asyncio.create_task(self._read(reader))

    async def async_stop(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
        if self._writer is not None:
            self._writer.close()

    def _send(self, message: dict[str, Any]) -> None:
        assert self._writer is not None
        self._writer.write(json.dumps(message).encode() + b"\n")

    async def cut(self, pbx_call_id: str, reason: CutReason) -> None:
        self._send({"op": "cut", "call": pbx_call_id, "reason": reason.value})

    async def set_backstop(self, pbx_call_id: str, max_duration_s: int) -> None:
        self._send({"op": "backstop", "call": pbx_call_id, "seconds": max_duration_s})

    async def list_live_calls(self) -> list[LiveCall]:
        request = next(self._ids)
        answer = self._lists[request] = asyncio.get_running_loop().create_future()
        self._send({"op": "list", "id": request})
        return await asyncio.wait_for(answer, 5)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            message = json.loads(line)
            op = message["op"]
            if op == "event":
                self.listener.on_event(_event(message))
            elif op == "authorise":
                task = asyncio.ensure_future(self._authorise(message))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif op == "live":
                calls = [LiveCall(c["call"], c["cabin"], c["number"], _at(c["started_at"]),
                                  _at(c.get("answered_at"))) for c in message["calls"]]
                self._lists.pop(message["id"]).set_result(calls)

    async def _authorise(self, message: dict[str, Any]) -> None:
        answer = await self.listener.async_authorise(AuthorisationRequest(
            message["call"], message["cabin"], message["number"], _at(message["at"])))
        self._send({"op": "authorised", "id": message["id"], "allowed": answer.allowed,
                    "max_duration_s": answer.max_duration_s})


def _event(message: dict[str, Any]) -> PbxEvent:
    kind, call, at = message["kind"], message["call"], _at(message.get("at"))
    if kind == "started":
        return CallStarted(call, message["cabin"], message["number"], at=at)
    if kind == "ringing":
        return CallRinging(call, at=at)
    if kind == "answered":
        return CallAnswered(call, at=at)
    if kind == "ended":
        return CallEnded(call, "normal clearing", HangupBy.CABIN, at=at)
    return CallFailed(call, message.get("sip_code", 486), "busy", at=at)


def create_bridge(context: Any) -> PeerBridge:
    return PeerBridge(context.settings.get("host", "127.0.0.1"), int(context.settings["port"]))


class FakePbx:
    """The PBX side, in the test: keeps its calls whatever happens to the server."""

    def __init__(self) -> None:
        self.live: dict[str, dict[str, Any]] = {}
        self.cuts: list[str] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._connected = asyncio.Event()
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._bridge_connected, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def wait_bridge(self, timeout: float = 20) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def _bridge_connected(self, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._connected.set()
        try:
            while line := await reader.readline():
                message = json.loads(line)
                if message["op"] == "list":
                    self._send({"op": "live", "id": message["id"],
                                "calls": list(self.live.values())})
                elif message["op"] == "authorised":
                    self._answers.pop(message["id"]).set_result(message)
                elif message["op"] == "cut":
                    self.cuts.append(message["call"])
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if self._writer is writer:
                self._connected.clear()
                self._writer = None

    def _send(self, message: dict[str, Any]) -> None:
        if self._writer is None:
            raise ConnectionError("no server is connected to this PBX")
        self._writer.write(json.dumps(message).encode() + b"\n")

    async def dial(self, call: str, cabin: str, number: str, at: datetime) -> bool:
        request = next(self._ids)
        answer = self._answers[request] = asyncio.get_running_loop().create_future()
        self._send({"op": "authorise", "id": request, "call": call, "cabin": cabin,
                    "number": number, "at": at.isoformat()})
        if not (await asyncio.wait_for(answer, 10))["allowed"]:
            return False
        self.live[call] = {"call": call, "cabin": cabin, "number": number,
                           "started_at": at.isoformat(), "answered_at": None}
        self._send({"op": "event", "kind": "started", "call": call, "cabin": cabin,
                    "number": number, "at": at.isoformat()})
        return True

    def answer(self, call: str, at: datetime) -> None:
        self.live[call]["answered_at"] = at.isoformat()
        self._send({"op": "event", "kind": "answered", "call": call, "at": at.isoformat()})

    def hang_up(self, call: str, at: datetime) -> None:
        self.live.pop(call, None)
        self._send({"op": "event", "kind": "ended", "call": call, "at": at.isoformat()})
