"""The raw desk's frame reading (tests/support/websocket.py): reads that stop at the end
of each frame, whatever its length field, so the cut-off benchmark stamps every frame
with its own arrival."""

from __future__ import annotations

import socket

import pytest

from tests.support import websocket


def server_frame(payload: bytes) -> bytes:
    """A text frame as a server sends it (unmasked), with each length encoding."""
    size = len(payload)
    if size < 126:
        return bytes([0x81, size]) + payload
    if size < 1 << 16:
        return bytes([0x81, 126]) + size.to_bytes(2, "big") + payload
    return bytes([0x81, 127]) + size.to_bytes(8, "big") + payload


@pytest.mark.parametrize("size", [0, 5, 125, 126, 300, 65535, 70_000])
def test_reads_stop_at_the_end_of_each_frame(size: int) -> None:
    payloads = [b"a" * size, b"b" * 3, b"c" * size]
    left, right = socket.socketpair()
    with left, right:
        right.settimeout(5)
        # All three at once: a read of any size would take the next frame along.
        left.sendall(b"".join(server_frame(payload) for payload in payloads))
        received = []
        buffer = b""
        while len(received) < len(payloads):
            wanted = websocket.bytes_wanted(buffer)
            assert wanted > 0
            buffer += right.recv(wanted)
            frame = websocket.next_frame(buffer)
            if frame is not None:
                opcode, payload, rest = frame
                assert opcode == websocket.TEXT and rest == b""
                received.append(payload)
                buffer = rest
    assert received == payloads


def test_a_partial_header_asks_for_the_rest_of_it() -> None:
    assert websocket.bytes_wanted(b"") == 2
    assert websocket.bytes_wanted(bytes([0x81, 126])) == 2
    assert websocket.bytes_wanted(bytes([0x81, 127, 0])) == 7
    assert websocket.next_frame(bytes([0x81, 126, 1])) is None
