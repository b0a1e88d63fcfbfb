"""The packets the scripted Asterisk sends, taken from what Asterisk 22.10.1 sent.

Each template is one packet of the recordings in `shared/fixtures/asterisk-ami-22.10.1/`
(found by its event and channel, never typed in), and a rendered packet keeps that
packet's keys, in that order, with the recorded values for everything the call does
not change (`Privilege`, `Language`, `BridgeTechnology`…). The recordings use Local
channels; the roles map onto a shop's PJSIP call like this:

- the cabin's channel, which runs `Dial()`: `Local/200@lab-00000001;2` (the `;2` half
  that runs the dialplan) in `dial_bridge_hangup_caller`, `Local/500@…;2` in
  `dial_noanswer`;
- the carrier leg `Dial()` created: `Local/100@lab-00000002;1` (`Local/400@…;1`).

Only `Ping`'s and `AbsoluteTimeout`'s answers were not recorded; they are written from
Asterisk's `manager.c` (`action_ping`, `action_timeout`) and marked as such.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

from cashdesk.pbx.asterisk.packets import Packet
from tests.pbx_asterisk.transcript import load

CALLER = "Local/200@lab-00000001;2"
DEST = "Local/100@lab-00000002;1"
RING_CALLER = "Local/500@lab-00000009;2"
RING_DEST = "Local/400@lab-0000000a;1"


@dataclass(frozen=True)
class Template:
    name: str
    packet: Packet
    source: str          # "<recording>: <event>", or where it was written from

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.packet.fields)

    def render(self, values: Mapping[str, str]) -> Packet:
        """The recorded packet with the values of the keys it has replaced; other
        values are ignored, so the shape is always the recorded one."""
        return Packet(tuple((key, values.get(key, value)) for key, value in self.packet.fields))


def _recorded(name: str, scenario: str, event: str | None,
              where: Callable[[Packet], bool]) -> Template:
    for packet in load(scenario).received():
        if (event is None or packet.event == event) and where(packet):
            return Template(name, packet, f"{scenario}: {event or packet.response}")
    raise LookupError(f"{scenario} has no {event} like that")


def _on(channel: str, **values: str) -> Callable[[Packet], bool]:
    def match(packet: Packet) -> bool:
        return packet.get("Channel") == channel and all(
            packet.get(k) == v for k, v in values.items())
    return match


def _has(**values: str) -> Callable[[Packet], bool]:
    return lambda packet: all(packet.get(k) == v for k, v in values.items())


def _written(name: str, source: str, **fields: str) -> Template:
    return Template(name, Packet(tuple(fields.items())), source)


@cache
def templates() -> dict[str, Template]:
    caller_hangup = "dial_bridge_hangup_caller"
    found = [
        _recorded("login-ok", caller_hangup, None,
                  _has(Message="Authentication accepted")),
        _recorded("login-failed", "bad_login", None, _has(Message="Authentication failed")),
        _recorded("goodbye", caller_hangup, None, _has(Response="Goodbye")),
        _recorded("fully-booted", caller_hangup, "FullyBooted", _has()),
        _recorded("caller-newchannel", caller_hangup, "Newchannel", _on(CALLER)),
        _recorded("dest-newchannel", caller_hangup, "Newchannel", _on(DEST)),
        _recorded("dial-begin", caller_hangup, "DialBegin", _on(CALLER)),
        _recorded("dest-ringing", "dial_noanswer", "Newstate", _on(RING_DEST)),
        _recorded("dial-state", "dial_noanswer", "DialState", _on(RING_CALLER)),
        _recorded("dest-up", caller_hangup, "Newstate", _on(DEST)),
        _recorded("dial-end", caller_hangup, "DialEnd", _on(CALLER)),
        _recorded("caller-up", caller_hangup, "Newstate", _on(CALLER)),
        _recorded("bridge-create", caller_hangup, "BridgeCreate", _has()),
        _recorded("dest-bridge-enter", caller_hangup, "BridgeEnter", _on(DEST)),
        _recorded("caller-bridge-enter", caller_hangup, "BridgeEnter", _on(CALLER)),
        _recorded("caller-bridge-leave", caller_hangup, "BridgeLeave", _on(CALLER)),
        _recorded("dest-bridge-leave", caller_hangup, "BridgeLeave", _on(DEST)),
        _recorded("bridge-destroy", caller_hangup, "BridgeDestroy", _has()),
        _recorded("soft-hangup-request", caller_hangup, "SoftHangupRequest", _on(CALLER)),
        _recorded("hangup-request", caller_hangup, "HangupRequest",
                  _on("Local/200@lab-00000001;1")),
        _recorded("dest-hangup", caller_hangup, "Hangup", _on(DEST)),
        _recorded("caller-hangup", caller_hangup, "Hangup", _on(CALLER)),
        _recorded("cdr", caller_hangup, "Cdr", _on(CALLER)),
        _recorded("device-state", caller_hangup, "DeviceStateChange", _has()),
        _recorded("hangup-ok", "originate_app_hangup", None, _has(Message="Channel Hungup")),
        _recorded("no-such-channel", "hangup_bogus", None, _has(Message="No such channel")),
        _recorded("list-start", "originate_app_hangup", None,
                  _has(Message="Channels will follow")),
        _recorded("caller-listed", caller_hangup, "CoreShowChannel", _on(CALLER)),
        _recorded("dest-listed", caller_hangup, "CoreShowChannel", _on(DEST)),
        _recorded("list-complete", caller_hangup, "CoreShowChannelsComplete", _has()),
        # Not in the recordings: manager.c's action_ping and action_timeout.
        _written("pong", "manager.c action_ping", Response="Success", ActionID="",
                 Ping="Pong", Timestamp="0.000000"),
        _written("timeout-set", "manager.c action_timeout (astman_send_ack)",
                 Response="Success", ActionID="", Message="Timeout Set"),
        _written("no-timeout", "manager.c action_timeout (astman_send_error)",
                 Response="Error", ActionID="", Message="No timeout specified"),
        _written("unknown-action", "manager.c process_message",
                 Response="Error", ActionID="", Message="Invalid/unknown command"),
    ]
    return {template.name: template for template in found}


@cache
def recorded_shapes(event: str) -> frozenset[tuple[str, ...]]:
    """Every key sequence Asterisk sent for `event` in any recording (minus the
    `ActionID` of list items, which depends on the asker)."""
    from tests.pbx_asterisk.transcript import SCENARIOS

    return frozenset(tuple(key for key, _ in packet.fields)
                     for scenario in SCENARIOS for packet in load(scenario).received()
                     if packet.event == event)
