"""The recorded Asterisk 22.10.1 AMI sessions in `shared/fixtures/asterisk-ami-22.10.1/`.

`<name>.txt` interleaves what was received (`<<<`) and sent (`>>>`) with timestamps;
`<name>.rx.raw` is the exact received byte stream. `load()` splits the raw bytes
along the `.txt` blocks (and checks that they put back together exactly), so a
replay sends the very bytes Asterisk sent, at the recorded points of the dialogue.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cashdesk.pbx.asterisk.packets import Packet, iter_packets


def fixtures_dir() -> Path:
    env = os.environ.get("CASHDESK_AMI_FIXTURES")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "fixtures" / "asterisk-ami-22.10.1"
        if candidate.is_dir():
            return candidate
    return here.parents[3] / "shared" / "fixtures" / "asterisk-ami-22.10.1"


SCENARIOS = ("bad_login", "hangup_bogus", "originate_app_hangup", "dial_bridge_hangup_caller",
             "dial_bridge_hangup_callee", "dial_limit", "dial_limit_prompts",
             "dial_limit_302_gL_x", "dial_limit_303_gL_xyz", "dial_limit_304_L_x",
             "dial_noanswer")

_HEADER = re.compile(r"^\[\s*([\d.]+)\] (<<<|>>>|###)(.*)$")


@dataclass(frozen=True)
class Rx:
    """Bytes Asterisk sent at `ts` seconds: the banner, one packet, or the close."""

    ts: float
    data: bytes
    eof: bool = False
    banner: bool = False

    @property
    def packet(self) -> Packet | None:
        packets = list(iter_packets(self.data))
        return packets[0] if packets else None


@dataclass(frozen=True)
class Tx:
    """An action the recording client sent at `ts` seconds."""

    ts: float
    packet: Packet

    @property
    def action(self) -> str:
        return self.packet.get("Action") or ""

    @property
    def action_id(self) -> str:
        return self.packet.get("ActionID") or ""


@dataclass(frozen=True)
class Transcript:
    name: str
    items: tuple[Rx | Tx, ...]
    raw: bytes

    def received(self) -> list[Packet]:
        return [p for item in self.items
                if isinstance(item, Rx) and not item.eof and not item.banner
                for p in iter_packets(item.data)]

    def actions(self) -> list[Tx]:
        return [item for item in self.items if isinstance(item, Tx)]


@cache
def load(name: str) -> Transcript:
    directory = fixtures_dir()
    with open(directory / f"{name}.txt", encoding="ascii", newline="") as stream:
        text = stream.read()   # keep the CRs: the packets' CRLFs are part of the record
    raw = (directory / f"{name}.rx.raw").read_bytes()
    blocks: list[tuple[float, str, str, list[str]]] = []
    for line in text.split("\n"):
        match = _HEADER.match(line)
        if match:
            blocks.append((float(match.group(1)), match.group(2), match.group(3), []))
        elif blocks:
            blocks[-1][3].append(line)
    items: list[Rx | Tx] = []
    offset = 0
    for ts, kind, rest, body in blocks:
        if kind == ">>>":
            data = "\n".join(body).rstrip("\n").replace("\r", "") + "\n\n"
            items.append(Tx(ts, next(iter_packets(data.encode()))))
        elif kind == "<<<":
            if rest == " EOF":
                items.append(Rx(ts, b"", eof=True))
                continue
            banner = rest.startswith(" BANNER ")
            if banner:
                expected = (rest[len(" BANNER "):] + "\r\n").encode()
            else:
                expected = ("\n".join(body).rstrip("\n") + "\r\n\r\n").encode()
            chunk = raw[offset:offset + len(expected)]
            if chunk != expected:
                raise AssertionError(f"{name}: .txt and .rx.raw differ at byte {offset}")
            items.append(Rx(ts, chunk, banner=banner))
            offset += len(chunk)
    if offset != len(raw):
        raise AssertionError(f"{name}: {len(raw) - offset} byte(s) of .rx.raw not in .txt")
    return Transcript(name, tuple(items), raw)
