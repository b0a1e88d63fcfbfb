"""A cash desk's WebSocket on a plain socket (RFC 6455, client side), for what aiohttp's
client hides: a receive window that fills (a desk that stops reading) or the kernel's
arrival time of each message (benchmarks/cutoff.py)."""

from __future__ import annotations

import base64
import os
import socket
import struct

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def upgrade(sock: socket.socket, host: str, port: int, path: str, token: str, *,
            read_size: int = 4096) -> bytes:
    """Ask for the upgrade on a connected `sock` and read the server's 101 answer;
    returns what was read past it (frames already sent). `read_size=1` reads nothing
    beyond the answer."""
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Authorization: Bearer {token}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(read_size)
        if not chunk:
            raise AssertionError("the server closed the WebSocket handshake")
        head += chunk
    head, rest = head.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101"), head.decode(errors="replace")
    return rest


def next_frame(buffer: bytes) -> tuple[int, bytes, bytes] | None:
    """The first whole frame the server sent in `buffer` — (opcode, payload, what
    follows it) — or None until more arrives. A server's frames are unmasked; this
    server does not fragment them."""
    if len(buffer) < 2:
        return None
    first, second = buffer[0], buffer[1]
    length, start = second & 0x7F, 2
    if length == 126:
        if len(buffer) < 4:
            return None
        (length,), start = struct.unpack(">H", buffer[2:4]), 4
    elif length == 127:
        if len(buffer) < 10:
            return None
        (length,), start = struct.unpack(">Q", buffer[2:10]), 10
    if len(buffer) < start + length:
        return None
    assert first & 0x80 and not second & 0x80, "fragmented or masked frame"
    return first & 0x0F, buffer[start:start + length], buffer[start + length:]


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One frame from a client (masked, as RFC 6455 requires; payloads under 126 bytes)."""
    assert len(payload) < 126, "longer payloads need an extended length"
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked
