"""A cash desk's WebSocket on a plain socket (RFC 6455, client side), for what aiohttp's
client hides: a receive window that fills (a desk that stops reading) or the kernel's
arrival time of each message (benchmarks/cutoff.py)."""

from __future__ import annotations

import base64
import os
import socket

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


def _header(buffer: bytes) -> tuple[int, int] | None:
    """The first frame's payload length and where its payload starts, or None until
    its header is whole."""
    if len(buffer) < 2:
        return None
    length, start = buffer[1] & 0x7F, 2
    if length == 126:
        start = 4
    elif length == 127:
        start = 10
    if len(buffer) < start:
        return None
    if start > 2:
        length = int.from_bytes(buffer[2:start], "big")
    return length, start


def bytes_wanted(buffer: bytes) -> int:
    """How many more bytes the first frame in `buffer` needs (its header first): a
    reader that reads no more than that gets each frame with the kernel's arrival time
    of its own segment, not of a later one read with it."""
    header = _header(buffer)
    if header is None:
        return (2 if len(buffer) < 2 else {126: 4, 127: 10}[buffer[1] & 0x7F]) - len(buffer)
    length, start = header
    return max(start + length - len(buffer), 0)


def next_frame(buffer: bytes) -> tuple[int, bytes, bytes] | None:
    """The first whole frame the server sent in `buffer` — (opcode, payload, what
    follows it) — or None until more arrives. A server's frames are unmasked; this
    server does not fragment them."""
    header = _header(buffer)
    if header is None:
        return None
    length, start = header
    if len(buffer) < start + length:
        return None
    first, second = buffer[0], buffer[1]
    assert first & 0x80 and not second & 0x80, "fragmented or masked frame"
    return first & 0x0F, buffer[start:start + length], buffer[start + length:]


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One frame from a client (masked, as RFC 6455 requires; payloads under 126 bytes)."""
    assert len(payload) < 126, "longer payloads need an extended length"
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked
