"""A hand-driven AMI server on 127.0.0.1 for the situations no recording has: a
silent Ping, a response after its events, a close in the middle of a login."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from cashdesk.pbx.asterisk.packets import Packet, PacketParser
from tests.pbx_asterisk.peer import response

Responder = Callable[[Packet], bytes | None]


def default_responder(action: Packet) -> bytes | None:
    name, aid = action.get("Action"), action.get("ActionID") or ""
    if name == "Login":
        return response({"Response": "Success", "ActionID": aid,
                         "Message": "Authentication accepted"})
    if name == "CoreShowChannels":
        return (response({"Response": "Success", "ActionID": aid, "EventList": "start",
                          "Message": "Channels will follow"})
                + response({"Event": "CoreShowChannelsComplete", "ActionID": aid,
                            "EventList": "Complete", "ListItems": "0"}))
    if name == "Ping":
        return response({"Response": "Success", "ActionID": aid, "Ping": "Pong"})
    if name == "Logoff":
        return response({"Response": "Goodbye", "ActionID": aid})
    return None


class AmiStub:
    def __init__(self, responder: Responder = default_responder,
                 banner: bytes = b"Asterisk Call Manager/11.0.0\r\n") -> None:
        self.responder = responder
        self.banner = banner
        self.received: list[Packet] = []
        self.connections = 0
        self.arrived = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()

    def actions(self, name: str) -> list[Packet]:
        return [p for p in self.received if p.get("Action") == name]

    async def wait_for(self, name: str, count: int = 1, timeout: float = 3.0) -> Packet:
        async def seen() -> Packet:
            while len(self.actions(name)) < count:
                self.arrived.clear()
                await self.arrived.wait()
            return self.actions(name)[count - 1]
        return await asyncio.wait_for(seen(), timeout)

    async def send(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)
        await self._writer.drain()

    def drop(self) -> None:
        """Close the current connection from the server's side."""
        if self._writer is not None:
            self._writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writer = writer
        self._writers.append(writer)
        writer.write(self.banner)
        parser = PacketParser()
        with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
            while data := await reader.read(4096):
                for packet in parser.feed(data):
                    self.received.append(packet)
                    self.arrived.set()
                    out = self.responder(packet)
                    if out:
                        writer.write(out)
                        await writer.drain()
        writer.close()
