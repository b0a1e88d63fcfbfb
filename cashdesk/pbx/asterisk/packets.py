"""AMI wire format: `Key: Value` lines ending in CRLF, a blank line ending a packet.

The parser is fed whatever the socket gave (half a packet, several packets, a packet
split inside a CRLF) and returns the complete packets. It is deliberately forgiving:
a line that is not `Key: Value` is logged and skipped, a packet that grows without
end is dropped, bare LF line ends are accepted. Nothing it is fed makes it raise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: A packet bigger than this is not AMI (the biggest real events are a few KiB).
MAX_PACKET_BYTES = 256 * 1024
_SHOWN = 120  # characters of a dropped line quoted in the log


def _shown(data: bytes | str) -> str:
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    return repr(text[:_SHOWN]) + ("…" if len(text) > _SHOWN else "")


@dataclass(frozen=True, slots=True)
class Packet:
    """One AMI packet: a response, an event, or an action, with its lines in order.

    Keys are matched case-insensitively (Asterisk writes `Uniqueid` in Newchannel and
    `UniqueID` in Cdr). A key may repeat (`Variable:`, `ChanVariable:`): `get` gives
    the first value, `getall` every value.
    """

    fields: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, mapping: Mapping[str, str | Iterable[str]] | None = None,
           **fields: str) -> Packet:
        pairs: list[tuple[str, str]] = []
        for key, value in {**(mapping or {}), **fields}.items():
            if isinstance(value, str):
                pairs.append((key, value))
            else:
                pairs.extend((key, item) for item in value)
        return cls(tuple(pairs))

    def get(self, key: str, default: str | None = None) -> str | None:
        wanted = key.lower()
        for name, value in self.fields:
            if name.lower() == wanted:
                return value
        return default

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def getall(self, key: str) -> list[str]:
        wanted = key.lower()
        return [value for name, value in self.fields if name.lower() == wanted]

    def as_dict(self) -> dict[str, str | list[str]]:
        """Keys as first written; a repeated key becomes the list of its values."""
        result: dict[str, str | list[str]] = {}
        for name, value in self.fields:
            if name in result:
                previous = result[name]
                if isinstance(previous, list):
                    previous.append(value)
                else:
                    result[name] = [previous, value]
            else:
                result[name] = value
        return result

    @property
    def event(self) -> str | None:
        return self.get("Event")

    @property
    def response(self) -> str | None:
        """`Success`, `Error`, `Goodbye`…; None for events (except OriginateResponse,
        an event that also carries a `Response` key: check `event` first)."""
        return self.get("Response")

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    @property
    def message(self) -> str:
        return self.get("Message") or ""

    def __str__(self) -> str:
        return " ".join(f"{k}={v!r}" for k, v in self.fields[:4]) + \
            (" …" if len(self.fields) > 4 else "")


class PacketParser:
    """Turns received bytes into `Packet`s; keeps the unfinished tail for next time."""

    def __init__(self, max_packet_bytes: int = MAX_PACKET_BYTES) -> None:
        self._max = max_packet_bytes
        self._buffer = bytearray()
        self._lines: list[tuple[str, str]] = []
        self._packet_bytes = 0
        self._skipping = False  # inside an oversized packet, dropping up to its end
        self.dropped_lines = 0
        self.dropped_packets = 0

    def feed(self, data: bytes) -> list[Packet]:
        self._buffer += data
        packets: list[Packet] = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > self._max:
                    self._drop_oversized(len(self._buffer))
                    self._buffer.clear()
                break
            raw = bytes(self._buffer[:end])
            del self._buffer[:end + 1]
            packet = self._line(raw[:-1] if raw.endswith(b"\r") else raw)
            if packet is not None:
                packets.append(packet)
        return packets

    def close(self) -> None:
        """The stream ended: whatever is left is a truncated packet, dropped (logged)."""
        if self._lines or self._buffer.strip():
            self.dropped_packets += 1
            log.warning("AMI stream ended inside a packet; dropped %d line(s) and %d "
                        "byte(s): %s", len(self._lines), len(self._buffer),
                        _shown(bytes(self._buffer)) if self._buffer else
                        _shown(str(self._lines[:3])))
        self._lines = []
        self._buffer.clear()
        self._packet_bytes = 0
        self._skipping = False

    def _drop_oversized(self, size: int) -> None:
        if not self._skipping:
            self.dropped_packets += 1
            log.warning("AMI packet over %d bytes (%d so far); dropped up to its blank "
                        "line", self._max, size)
        self._skipping = True
        self._lines = []
        self._packet_bytes = 0

    def _line(self, raw: bytes) -> Packet | None:
        if not raw.strip():
            if self._skipping:
                self._skipping = False
                return None
            if not self._lines:
                return None  # blank lines between packets
            packet = Packet(tuple(self._lines))
            self._lines = []
            self._packet_bytes = 0
            return packet
        if self._skipping:
            return None
        self._packet_bytes += len(raw) + 2
        if self._packet_bytes > self._max:
            self._drop_oversized(self._packet_bytes)
            return None
        text = raw.decode("utf-8", "replace")
        key, sep, value = text.partition(":")
        key = key.strip()
        if not sep or not key or " " in key or any(ord(c) < 32 for c in key):
            self.dropped_lines += 1
            log.warning("AMI line is not 'Key: Value', skipped: %s", _shown(text))
            return None
        self._lines.append((key, value.removeprefix(" ")))
        return None


def encode_action(action: str, fields: Mapping[str, str | int | Iterable[str]]) -> bytes:
    """An action as AMI bytes. Repeated keys (several `Variable:`) come from a list.

    Values may not contain CR or LF: that would let a caller-controlled string (a
    channel name, a reason) inject a second action.
    """
    lines = [("Action", action)]
    for key, value in fields.items():
        values = [str(value)] if isinstance(value, (str, int)) else [str(v) for v in value]
        lines.extend((key, v) for v in values)
    out: list[str] = []
    for key, value in lines:
        if any(c in key or c in value for c in "\r\n") or ":" in key:
            raise ValueError(f"AMI field {key!r} has a line break or colon: {value!r}")
        out.append(f"{key}: {value}\r\n")
    out.append("\r\n")
    return "".join(out).encode("utf-8")


def iter_packets(data: bytes) -> Iterator[Packet]:
    """Every complete packet in `data` (tests and tools)."""
    parser = PacketParser()
    yield from parser.feed(data)
