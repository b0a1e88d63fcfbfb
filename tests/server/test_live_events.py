"""The events socket itself: heartbeats, slow desks dropped with 4001, logins that end
with 4401, refused messages, and a stopping server's 1001."""

from __future__ import annotations

import asyncio
import socket
import struct
from datetime import timedelta

import pytest
from aiohttp import WSServerHandshakeError

from cashdesk.auth.roles import Permission
from cashdesk.server.api import live as live_api
from tests.server.live_world import furnish, start
from tests.server.scripted import Desk
from tests.support import websocket


async def test_heartbeats_name_the_last_event_and_the_server_time(
        aiohttp_client, config, clock, world, tokens, sqlite_engine):
    furnish(sqlite_engine, clock, world)
    live = await start(aiohttp_client, config, clock, events_heartbeat_seconds=0.05)
    desk = await Desk.connect(live.client, tokens["operator_a"], params={})
    await desk.until(lambda d: sum(m["type"] == "heartbeat" for m in d.messages) >= 2)
    beat = next(m for m in desk.messages if m["type"] == "heartbeat")
    assert beat == {"type": "heartbeat", "seq": live.hub.sequence(world.shop_a),
                    "server_time": "2026-01-05T09:00:00.000000+00:00"}
    live.hub.publish(world.shop_a, "balance", {"n": 1})
    await desk.until(lambda d: d.messages[-1]["type"] == "heartbeat"
                     and d.messages[-1]["seq"] == beat["seq"] + 1)
    await desk.close()


async def test_the_token_may_come_in_the_query(aiohttp_client, config, clock, world, tokens,
                                               sqlite_engine):
    live = await start(aiohttp_client, config, clock)
    ws = await live.client.ws_connect("/api/v1/events",
                                      params={"token": tokens["operator_a"]})
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    await ws.send_json({"type": "ping"})
    assert await ws.receive_json(timeout=5) == {"type": "pong"}
    await ws.close()
    with pytest.raises(WSServerHandshakeError) as refused:
        await live.client.ws_connect("/api/v1/events", params={"token": "forged"})
    assert refused.value.status == 401
    # Not an upgrade: a plain GET is told what this endpoint is.
    response = await live.client.get("/api/v1/events", headers={
        "Authorization": f"Bearer {tokens['operator_a']}"})
    assert response.status == 400
    assert "WebSocket" in (await response.json())["error"]["message"]


async def test_an_expired_login_is_closed_with_4401(aiohttp_client, config, clock, world,
                                                    tokens, sqlite_engine):
    live = await start(aiohttp_client, config, clock, events_heartbeat_seconds=0.05)
    desk = await Desk.connect(live.client, tokens.mint("operator_a",
                                                        ttl=timedelta(minutes=10)))
    await desk.until(lambda d: any(m["type"] == "heartbeat" for m in d.messages))
    clock.advance(601)
    await desk.until(lambda d: d.closed is not None)
    assert desk.closed == 4401


async def test_a_logout_elsewhere_is_closed_with_4401(aiohttp_client, config, clock, world,
                                                      tokens, sqlite_engine):
    live = await start(aiohttp_client, config, clock, events_heartbeat_seconds=0.05)
    token = tokens.mint("admin_a")
    desk = await Desk.connect(live.client, token)
    await desk.until(lambda d: bool(d.messages))
    response = await live.client.post("/api/v1/auth/logout",
                                      headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200
    await desk.until(lambda d: d.closed is not None)
    assert desk.closed == 4401


async def test_each_socket_message_is_checked_against_the_permission_table(
        aiohttp_client, config, clock, world, tokens, sqlite_engine, monkeypatch):
    monkeypatch.setitem(live_api.SOCKET_MESSAGES, "drop_shop", Permission.MANAGE_CALLSHOPS)
    live = await start(aiohttp_client, config, clock)
    for message, why in (({"type": "drop_shop"}, "needs the permission 'manage_callshops'"),
                         ({"type": "nonsense"}, "unknown message 'nonsense'"),
                         (["ping"], 'a JSON object with a "type"')):
        desk = await Desk.connect(live.client, tokens["admin_a"])
        await desk.until(lambda d: bool(d.messages))
        await desk.ws.send_json(message)
        await desk.until(lambda d: d.closed is not None)
        error = desk.messages[-1]
        assert error["type"] == "error" and why in error["message"]
        assert desk.closed == 1008


def _slow_socket(port: int, token: str) -> socket.socket:
    """A desk that upgrades, then never reads: a tiny receive window fills at once."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    websocket.upgrade(sock, "127.0.0.1", port, "/api/v1/events", token, read_size=1)
    return sock


def _frames_until_close(sock: socket.socket) -> tuple[int, int]:
    """Read server frames (unmasked) to the close frame: (text frames, close code)."""
    sock.settimeout(10)
    buffer = b""
    texts = 0
    while True:
        while (frame := websocket.next_frame(buffer)) is None:
            chunk = sock.recv(65536)
            if not chunk:
                raise AssertionError("the connection closed without a close frame")
            buffer += chunk
        opcode, payload, buffer = frame
        if opcode == websocket.CLOSE:
            return texts, struct.unpack("!H", payload[:2])[0]
        texts += opcode == websocket.TEXT


async def test_a_slow_desk_is_dropped_with_4001_and_the_others_keep_up(
        aiohttp_client, config, clock, world, tokens, sqlite_engine):
    live = await start(aiohttp_client, config, clock, events_queue_limit=20,
                       events_heartbeat_seconds=60)
    fast = await Desk.connect(live.client, tokens["operator_a"])
    await fast.until(lambda d: bool(d.messages))
    loop = asyncio.get_running_loop()
    slow = await loop.run_in_executor(None, _slow_socket, live.client.port,
                                      tokens["admin_a"])
    try:
        start_seq = live.hub.sequence(world.shop_a)
        pad = "x" * 8000
        for n in range(600):                 # ~5 MB: far more than the slow desk takes
            live.hub.publish(world.shop_a, "call", {"n": n, "pad": pad})
            await asyncio.sleep(0)
            if n % 50 == 0:
                await fast.until(lambda d, n=n: d.events and d.events[-1]["data"]["n"] == n)
        await fast.until(lambda d: len(d.events) == 600)
        assert [e["seq"] for e in fast.events] == list(range(start_seq + 1, start_seq + 601))
        assert fast.closed is None and live.hub.dropped_subscribers == 1
        assert live.hub.subscriber_count(world.shop_a) == 1
        texts, code = await loop.run_in_executor(None, _frames_until_close, slow)
        assert code == 4001 and 1 <= texts < 600
    finally:
        slow.close()
    await fast.close()


async def test_a_stopping_server_says_1001(aiohttp_client, config, clock, world, tokens,
                                           sqlite_engine):
    live = await start(aiohttp_client, config, clock)
    desk = await Desk.connect(live.client, tokens["operator_a"])
    await desk.until(lambda d: bool(d.messages))
    await live.client.server.app.shutdown()
    await desk.until(lambda d: d.closed is not None)
    assert desk.closed == 1001
