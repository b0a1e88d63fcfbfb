"""The live view: `GET /live` (the snapshot) and `GET /events` (the WebSocket of
events after it), as docs/sync-protocol.md fixes them.

One socket per desk. The hub hands each socket a bounded queue of already serialised
events; one sender task per socket drains it, so a slow desk delays nobody: when its
queue overflows it is closed with 4001 (reload the snapshot). Every `heartbeat_s` the
sender checks the token again (expired, revoked, user disabled → 4401) and, if nothing
was sent meanwhile, sends a heartbeat naming the last sequence number. What the desk
sends is checked against `SOCKET_MESSAGES` and the permission table; only `ping` is
known. aiohttp's own ping/pong (`heartbeat=`) finds dead peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from cashdesk.auth.roles import Permission, allowed
from cashdesk.server.auth import bearer_token, hash_token, load_principal
from cashdesk.server.billing import BILLING, HUB
from cashdesk.server.errors import ApiError, Invalid, NotFound
from cashdesk.server.hub import Subscriber, dumps
from cashdesk.server.live import SNAPSHOT, instant
from cashdesk.server.routes import Ctx, RouteTable
from cashdesk.server.state import CLOCK, Principal, run_db

log = logging.getLogger("cashdesk.server.events")
routes = RouteTable("live")

#: What a desk may send on the socket, and the permission each needs. Anything else is
#: refused with an error message, then the socket is closed.
SOCKET_MESSAGES: dict[str, Permission] = {
    "ping": Permission.VIEW_LIVE,
}

CLOSE_TOO_SLOW = 4001
CLOSE_AUTH_LOST = 4401
CLOSE_REFUSED = 1008        # policy violation: a message the desk may not send
CLOSE_STOPPING = 1001
#: How long closing may wait on a desk that does not read.
CLOSE_TIMEOUT_S = 2.0
MAX_CLIENT_MESSAGE = 4096

SOCKETS = web.AppKey("event_sockets", set)


class ServiceUnavailable(ApiError):
    status = 503
    code = "unavailable"


@routes.get("/live", Permission.VIEW_LIVE,
            "The shop now: cabins, open sessions, live calls, balance, PBX link",
            response=SNAPSHOT)
async def live_snapshot(ctx: Ctx) -> dict[str, Any]:
    """Names the sequence number of the last event it reflects (`seq`) and the server
    instance: apply the events after it from `/events` (docs/sync-protocol.md)."""
    billing = ctx.app.get(BILLING)
    if billing is None:
        raise ServiceUnavailable("billing is not running on this server")
    snapshot = await billing.snapshot(ctx.shop_id)
    if snapshot is None:
        raise NotFound("there is no such callshop")
    return snapshot


@routes.get("/events", Permission.VIEW_LIVE, "The shop's live events (a WebSocket)",
            token_in_query=True, status=101,
            description="Upgrade to a WebSocket; the token may be sent as `?token=` "
                        "when the client cannot set a header. The server sends `hello`, "
                        "then `event`s and `heartbeat`s; the desk may send `ping` "
                        "(answered `pong`). Close codes: 4001 too slow (reload the "
                        "snapshot), 4401 the login ended, 1001 the server is stopping, "
                        "1008 a refused message. Socket messages and their permissions: "
                        + ", ".join(f"`{name}` ({permission.value})"
                                    for name, permission in SOCKET_MESSAGES.items()) + ".")
async def live_events(ctx: Ctx) -> web.WebSocketResponse:
    return await EventSocket(ctx).run()


class EventSocket:
    """One desk's socket (see the module doc)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.app = ctx.app
        self.principal: Principal = ctx.principal
        self.shop_id = ctx.shop_id
        self.heartbeat_s = ctx.config.events_heartbeat_seconds
        self.token_hash = hash_token(bearer_token(ctx.request, allow_query=True))
        self.ws = web.WebSocketResponse(heartbeat=max(2 * self.heartbeat_s, 1.0),
                                        compress=False, max_msg_size=MAX_CLIENT_MESSAGE)
        self.subscriber: Subscriber | None = None
        self._sender: asyncio.Task[None] | None = None
        self._beater: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None
        # Whether the sender is writing, and whether it wrote since the last heartbeat.
        self._writing = False
        self._wrote = False

    async def run(self) -> web.WebSocketResponse:
        request = self.ctx.request
        if not self.ws.can_prepare(request).ok:
            raise Invalid("this endpoint is a WebSocket: connect with an Upgrade request")
        hub = self.app[HUB]
        await self.ws.prepare(request)
        # Subscribing and reading the sequence in one step: every event after `seq` is
        # in the queue, whatever happens before the hello goes out.
        self.subscriber = hub.subscribe(self.shop_id, on_overflow=self._overflowed)
        hello = {"type": "hello", "instance": hub.instance,
                 "seq": hub.sequence(self.shop_id), "heartbeat_s": self.heartbeat_s}
        sockets = self.app[SOCKETS]
        sockets.add(self)
        self._sender = asyncio.create_task(self._send(dumps(hello)),
                                           name=f"events to {self.principal.username}")
        self._beater = asyncio.create_task(self._beat(),
                                           name=f"heartbeats to {self.principal.username}")
        log.info("%s follows callshop %d (seq %d)", self.principal.username, self.shop_id,
                 hello["seq"])
        try:
            async for message in self.ws:
                if message.type is WSMsgType.TEXT:
                    await self._received(message.data)
                else:
                    await self._refuse("send JSON text messages")
        finally:
            hub.unsubscribe(self.subscriber)
            sockets.discard(self)
            tasks = [task for task in (self._sender, self._beater) if task is not None]
            self._sender = self._beater = None
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self._closing is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._closing
        log.info("%s stopped following callshop %d (%s)", self.principal.username,
                 self.shop_id, self.ws.close_code)
        return self.ws

    # -------------------------------------------------------------- sending ----
    async def _send(self, hello: str) -> None:
        """Drain the desk's queue into its socket, in order, as fast as it reads."""
        assert self.subscriber is not None
        queue = self.subscriber.queue
        ws = self.ws
        try:
            await ws.send_str(hello)
            while True:
                message = await queue.get()
                self._writing = True
                await ws.send_str(message)
                while not queue.empty():
                    await ws.send_str(queue.get_nowait())
                self._writing = False
                self._wrote = True
        except (ConnectionError, RuntimeError) as exc:
            # The desk went away mid-send; the receiving side winds up.
            log.debug("events to %s: %s", self.principal.username, exc)

    async def _beat(self) -> None:
        """Every `heartbeat_s`: the login checked again, and a heartbeat if nothing
        was sent meanwhile. Only when the queue is empty and nothing is being written
        is the hub's sequence the last one this desk was sent."""
        assert self.subscriber is not None
        queue = self.subscriber.queue
        try:
            while True:
                await asyncio.sleep(self.heartbeat_s)
                if not await self._still_allowed():
                    return
                if not self._wrote and not self._writing and queue.empty():
                    await self.ws.send_str(dumps({
                        "type": "heartbeat", "seq": self.app[HUB].sequence(self.shop_id),
                        "server_time": instant(self.app[CLOCK].now())}))
                self._wrote = False
        except (ConnectionError, RuntimeError) as exc:
            log.debug("heartbeats to %s: %s", self.principal.username, exc)

    async def _still_allowed(self) -> bool:
        """The token again (expired or revoked since?): 4401 when it no longer holds."""
        try:
            principal = await self._principal()
        except ApiError as exc:
            log.info("events to %s: %s; closing 4401", self.principal.username, exc.message)
            self._close_soon(CLOSE_AUTH_LOST, exc.message)
            return False
        if not allowed(principal.role, Permission.VIEW_LIVE) \
                or principal.callshop_id != self.shop_id:
            self._close_soon(CLOSE_AUTH_LOST, "this login may no longer follow the shop")
            return False
        self.principal = principal
        return True

    async def _principal(self) -> Principal:
        return await run_db(self.app, load_principal, self.token_hash,
                            self.app[CLOCK].now(), read_only=True)

    def _overflowed(self, subscriber: Subscriber) -> None:
        # Called inside the hub's publish: no waiting here.
        log.warning("events to %s: fell %d events behind; closing 4001",
                    self.principal.username, subscriber.queue.maxsize)
        if self._sender is not None:
            self._sender.cancel()
        self._close_soon(CLOSE_TOO_SLOW, "too slow: reload the snapshot")

    def _close_soon(self, code: int, reason: str) -> None:
        """Close in a task of its own, which the handler waits for: a sending task
        that decides to close must not be cancelled half-way through closing."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self.close(code, reason))

    async def close(self, code: int, reason: str) -> None:
        if self.ws.closed:
            return
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()[:120]),
                                   CLOSE_TIMEOUT_S)
        except (TimeoutError, ConnectionError, RuntimeError):
            pass  # a desk that does not read is not waited for: the transport is closed

    # ------------------------------------------------------------ receiving ----
    async def _received(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        kind = message.get("type") if isinstance(message, dict) else None
        permission = SOCKET_MESSAGES.get(kind) if isinstance(kind, str) else None
        if permission is None:
            await self._refuse(f"unknown message {kind!r}; the desk may send only "
                               + ", ".join(repr(name) for name in SOCKET_MESSAGES)
                               if isinstance(kind, str) else
                               "send a JSON object with a \"type\"")
            return
        try:
            principal = await self._principal()
        except ApiError as exc:
            await self.close(CLOSE_AUTH_LOST, exc.message)
            return
        if not allowed(principal.role, permission):
            await self._refuse(f"your role ({principal.role.value}) may not send {kind!r}: it "
                               f"needs the permission {permission.value!r}")
            return
        if kind == "ping":
            await self.ws.send_str(dumps({"type": "pong"}))

    async def _refuse(self, why: str) -> None:
        log.info("events from %s refused: %s", self.principal.username, why)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.send_str(dumps({"type": "error", "message": why}))
        await self.close(CLOSE_REFUSED, why)


async def close_event_sockets(app: web.Application) -> None:
    """`on_shutdown`: every desk is told the server is stopping (1001)."""
    sockets = list(app.get(SOCKETS, ()))
    await asyncio.gather(*(socket.close(CLOSE_STOPPING, "the server is stopping")
                           for socket in sockets), return_exceptions=True)
