"""The evapi netstring client, against a fake Kamailio socket in the test."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from cashdesk.pbx.kamailio.evapi import (
    EvapiClient,
    NetstringDecoder,
    NotConnected,
    RpcError,
    decode_message,
    encode_message,
)


def test_partial_frames_are_reassembled() -> None:
    decoder = NetstringDecoder()
    wire = b'12:{"type":"x"},'
    frames = [frame for i in range(len(wire)) for frame in decoder.feed(wire[i:i + 1])]
    assert frames == [b'{"type":"x"}'] and decoder.errors == 0


def test_several_frames_in_one_read() -> None:
    decoder = NetstringDecoder()
    assert decoder.feed(b"1:a,2:bc,0:,3:de") == [b"a", b"bc", b""]
    assert decoder.feed(b"f,") == [b"def"]


def test_bad_frames_are_skipped_and_the_stream_resynchronises() -> None:
    decoder = NetstringDecoder()
    frames = decoder.feed(b"xx2:ok,3:abcX7:{\"a\":1},99999999999:zz,2:hi,")
    assert frames[0] == b"ok"
    assert frames[-1] == b"hi"
    assert b'{"a":1}' in frames
    assert decoder.errors >= 3


def test_utf8_lengths_count_bytes() -> None:
    wire = encode_message({"number": "٠٣٣", "cabin": "cabine é"})
    assert NetstringDecoder().feed(wire) == [wire[wire.index(b":") + 1:-1]]
    assert decode_message(NetstringDecoder().feed(wire)[0]) == {"number": "٠٣٣",
                                                               "cabin": "cabine é"}


@pytest.mark.parametrize("frame", [b"not json", b"[1,2]", b"\xff\xfe"])
def test_non_objects_are_dropped(frame: bytes) -> None:
    assert decode_message(frame) is None


class FakeKamailio:
    """Accepts evapi clients, records what they send, answers JSON-RPC like
    jsonrpc_exec + evapi_relay would (to every client), and can drop them."""

    def __init__(self) -> None:
        self.received: list[dict[str, object]] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, port: int = 0) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        decoder = NetstringDecoder()
        while data := await reader.read(4096):
            for frame in decoder.feed(data):
                message = json.loads(frame)
                self.received.append(message)
                if message.get("jsonrpc") == "2.0":
                    if message["method"] == "fail":
                        reply = {"jsonrpc": "2.0", "error": {"code": 500, "message": "no"},
                                 "id": message["id"]}
                    else:
                        reply = {"jsonrpc": "2.0", "result": {"echo": message["params"]},
                                 "id": message["id"]}
                    self.send_raw(encode_message({"jsonrpc": "2.0", "result": 1, "id": "other"}))
                    self.send_raw(encode_message(reply))

    def send_raw(self, data: bytes) -> None:
        for writer in self.writers:
            if not writer.is_closing():
                writer.write(data)

    async def drop_clients(self) -> None:
        for writer in self.writers:
            writer.close()
        self.writers.clear()

    async def stop(self) -> None:
        await self.drop_clients()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.fixture
async def fake() -> AsyncIterator[FakeKamailio]:
    server = FakeKamailio()
    await server.start()
    yield server
    await server.stop()


async def wait_until(predicate: object, timeout: float = 3.0) -> None:
    async def poll() -> None:
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), timeout)


async def test_messages_in_and_out(fake: FakeKamailio) -> None:
    got: list[dict[str, object]] = []
    client = EvapiClient("127.0.0.1", fake.port, got.append)
    await client.async_start()
    await client.async_wait_connected(3)
    await client.async_send({"type": "cut", "call_id": "abc"})
    await wait_until(lambda: fake.received)
    assert fake.received == [{"type": "cut", "call_id": "abc"}]

    event = encode_message({"type": "answered", "call_id": "abc"})
    fake.send_raw(event[:5])
    await asyncio.sleep(0.02)
    fake.send_raw(event[5:] + b"garbage-without-frame" + encode_message({"type": "ended"}))
    await wait_until(lambda: len(got) == 2)
    assert [m["type"] for m in got] == ["answered", "ended"]
    assert client.decoder.errors >= 1
    await client.async_stop()


async def test_json_rpc_replies_are_matched_by_id(fake: FakeKamailio) -> None:
    got: list[dict[str, object]] = []
    client = EvapiClient("127.0.0.1", fake.port, got.append)
    await client.async_start()
    await client.async_wait_connected(3)
    assert await client.async_call("dlg.list", ["x"]) == {"echo": ["x"]}
    with pytest.raises(RpcError):
        await client.async_call("fail")
    assert got == []  # other clients' replies are not events
    await client.async_stop()


async def test_reconnects_after_the_socket_drops(fake: FakeKamailio) -> None:
    connected: list[int] = []
    client = EvapiClient("127.0.0.1", fake.port, lambda m: None, min_backoff=0.02,
                         on_connected=lambda: _append(connected, len(connected)))
    await client.async_start()
    await client.async_wait_connected(3)
    await fake.drop_clients()
    await wait_until(lambda: not client.connected)
    with pytest.raises(NotConnected):
        await client.async_send({"type": "cut"})
    await wait_until(lambda: client.connected and len(connected) == 2)
    assert client.connections == 2
    await client.async_stop()


async def test_keeps_trying_until_kamailio_starts() -> None:
    server = FakeKamailio()
    await server.start()
    port = server.port
    await server.stop()  # nothing listens there now
    client = EvapiClient("127.0.0.1", port, lambda m: None, min_backoff=0.02,
                         max_backoff=0.1)
    await client.async_start()
    await asyncio.sleep(0.3)
    assert not client.connected
    await server.start(port)
    await client.async_wait_connected(3)
    await client.async_stop()
    await server.stop()


async def _append(items: list[int], value: int) -> None:
    items.append(value)
