"""A stand-in for the server's live endpoints, `GET /api/v1/live` and the WebSocket
`GET /api/v1/events`, written from docs/sync-protocol.md while the real ones are being
built. It lets the event stream's machinery (buffering during the snapshot, gaps,
restarts, close codes, backoff) be driven message by message over real sockets.

The test scripts it from its thread through `ServerThread.call`: publish an event,
skip sequence numbers (a lost event), send a heartbeat, close every socket with a code.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSCloseCode, web

from tests.client import protocol as p

TOKEN = "stand-in-token"


class LiveStandIn:
    def __init__(self, *, instance: str | None = None, heartbeat_s: float = 5.0) -> None:
        self.instance = instance or uuid.uuid4().hex
        self.heartbeat_s = heartbeat_s
        self.seq = 0
        self.balance = p.balance("100.0000", "100.0000")
        self.cabins: dict[int, dict[str, Any]] = {1: p.cabin(1), 2: p.cabin(2)}
        self.sockets: set[web.WebSocketResponse] = set()
        self.snapshots = 0
        self.handshakes = 0
        #: Awaited by GET /live after it captured the snapshot, before answering.
        self.hold_snapshot: Callable[[], Awaitable[None]] | None = None
        #: The instance GET /live names (a server that restarted between the two).
        self.snapshot_instance: str | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v1/live", self._live)
        app.router.add_get("/api/v1/events", self._events)
        app.on_shutdown.append(self._shutdown)
        return app

    # --- scripting (call on the server's loop) ------------------------------------------
    async def publish(self, kind: str, data: dict[str, Any]) -> int:
        self.seq += 1
        if kind == "balance":
            self.balance = data
        elif kind == "cabin":
            self.cabins[data["id"]] = data
        await self._send_all({"type": "event", "kind": kind, "seq": self.seq,
                              "instance": self.instance, "data": data})
        return self.seq

    def lose_events(self, count: int = 1) -> None:
        """Events this desk never gets (as if dropped on the way)."""
        self.seq += count

    async def heartbeat(self) -> None:
        await self._send_all({"type": "heartbeat", "seq": self.seq,
                        "server_time": datetime.now(UTC).isoformat()})

    async def close_all(self, code: int, message: str = "") -> None:
        for ws in tuple(self.sockets):
            await ws.close(code=code, message=message.encode())

    async def _send_all(self, message: dict[str, Any]) -> None:
        text = json.dumps(message)
        for ws in tuple(self.sockets):
            await ws.send_str(text)

    # --- endpoints -------------------------------------------------------------------------
    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    async def _live(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": {"code": "unauthorized",
                                                "message": "this login has expired; log in "
                                                           "again"}}, status=401)
        self.snapshots += 1
        body = p.snapshot(list(self.cabins.values()), seq=self.seq,
                          instance=self.snapshot_instance or self.instance,
                          server_time=datetime.now(UTC))
        body["balance"] = self.balance
        if self.hold_snapshot is not None:
            await self.hold_snapshot()
        return web.json_response(body)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        self.handshakes += 1
        if not self._authorised(request):
            return web.json_response({"error": {"code": "unauthorized",
                                                "message": "log in first"}}, status=401)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.add(ws)
        try:
            await ws.send_str(json.dumps({"type": "hello", "instance": self.instance,
                                          "seq": self.seq, "heartbeat_s": self.heartbeat_s}))
            async for message in ws:
                if message.type == web.WSMsgType.TEXT and json.loads(message.data) == {
                        "type": "ping"}:
                    await ws.send_str('{"type":"pong"}')
        finally:
            self.sockets.discard(ws)
        return ws

    async def _shutdown(self, app: web.Application) -> None:
        await self.close_all(WSCloseCode.GOING_AWAY, "the server is stopping")
