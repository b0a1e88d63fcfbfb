"""`pbx = "asterisk"`: the sync server's factory for the Asterisk bridge.

Settings, in the server's config file (only `secret` is required)::

    [server]
    pbx = "asterisk"

    [pbx.asterisk]
    ami_host = "127.0.0.1"            # Asterisk's AMI (manager.conf bindaddr/port)
    ami_port = 5038
    username = "cashdesk"             # the AMI user (asterisk-config --ami-user)
    secret = "…"                      # its secret (asterisk-config printed it once)
    agi_host = "127.0.0.1"            # where this server's FastAGI listens…
    agi_port = 4573                   # …for extensions.conf's AGI(agi://…/authorize)
    cabin_pattern = '^PJSIP/(?P<cabin>.+)-[0-9a-f]{8}$'   # channel name → SIP username
    cabin_context = "cashdesk-cabins" # the cabins' dialplan context ("" = any)
    authorise_timeout = 2.0           # FastAGI: no answer in time → refused (503)
    backstop_grace = 0.5              # L() and AbsoluteTimeout fire this long after
                                      # the server's own cut would
    ping_interval = 20.0              # AMI keep-alive
    action_timeout = 5.0
    connect_timeout = 5.0
    reconnect_delay = [0.5, 30.0]     # AMI reconnection backoff, first and longest

`ami_user` and `ami_secret` (the names `cashdesk-server asterisk-config` uses) are
accepted for `username` and `secret`. Every mistake is a `ConfigError` naming the
setting, raised when the server starts, before anything connects.

The bridge reports its AMI link to the server (`context.link`: up after each login
and listing, down when the connection drops, which the desks show as the switch
indicator), and after a reconnect hands the PBX's live calls and the moment the link
was last alive to billing (`link.reconnected`), which reconciles them. Authorisation
requests from the dialplan go to the server through the bridge's listener; without an
answer (or while the AMI link is down, when the server could neither see nor cut the
call) the call is refused: fail closed.

An Asterisk that cannot be reached at startup does not stop the server: the server
wraps every bridge in `SupervisedBridge`, which starts it again until it connects.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cashdesk.pbx.asterisk.bridge import AsteriskBridge, AsteriskSettings

if TYPE_CHECKING:
    from cashdesk.server.bridges import BridgeContext

log = logging.getLogger(__name__)

_TEXT = ("ami_host", "username", "secret", "agi_host", "cabin_pattern", "cabin_context")
_PORTS = ("ami_port", "agi_port")
_SECONDS = ("ping_interval", "action_timeout", "connect_timeout", "authorise_timeout")
ALIASES = {"ami_user": "username", "ami_secret": "secret"}
KNOWN = (*_TEXT, *_PORTS, *_SECONDS, "backstop_grace", "reconnect_delay")


def bridge_settings(table: Mapping[str, Any], kind: str = "asterisk") -> AsteriskSettings:
    """The `[pbx.asterisk]` table as `AsteriskSettings`; a `ConfigError` names the first
    setting that is missing, unknown or unusable."""
    from cashdesk.server.config import ConfigError

    where = f"[pbx.{kind}]"
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = ALIASES.get(key, key)
        if name not in KNOWN:
            raise ConfigError(f"{where} {key}: unknown setting (known: {', '.join(KNOWN)}, "
                              f"or {', '.join(ALIASES)})")
        if name in values:
            raise ConfigError(f"{where} {key}: given twice (as {name!r} too)")
        values[name] = value

    def fail(name: str, expected: str) -> ConfigError:
        return ConfigError(f"{where} {name}: expected {expected}, got {values[name]!r}")

    for name in _TEXT:
        if name in values:
            value = values[name]
            if not isinstance(value, str) or any(c in value for c in "\r\n"):
                raise fail(name, "text on one line")
    for name in ("ami_host", "agi_host", "username"):
        if name in values and not values[name].strip():
            raise ConfigError(f"{where} {name}: cannot be empty")
    for name in _PORTS:
        if name not in values or (name == "agi_port" and values[name] is None):
            continue   # agi_port None (from code, not TOML): no FastAGI server
        value, lowest = values[name], 0 if name == "agi_port" else 1
        if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= 65535:
            # agi_port 0: any free port (tests); the dialplan must then be told which.
            raise fail(name, f"a port number from {lowest} to 65535")
    for name in (*_SECONDS, "backstop_grace"):
        if name in values:
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0 \
                    or (value == 0 and name != "backstop_grace"):
                raise fail(name, "a number of seconds above 0" if name != "backstop_grace"
                           else "a number of seconds, 0 or more")
            values[name] = float(value)
    if "reconnect_delay" in values:
        value = values["reconnect_delay"]
        if not isinstance(value, (list, tuple)) or len(value) != 2 \
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0
                       for v in value) or value[0] > value[1]:
            raise fail("reconnect_delay", "[first, longest] in seconds, both above 0")
        values["reconnect_delay"] = (float(value[0]), float(value[1]))
    if "cabin_pattern" in values:
        try:
            pattern = re.compile(values["cabin_pattern"])
        except re.error as exc:
            raise ConfigError(f"{where} cabin_pattern: not a regular expression: {exc}") \
                from None
        if "cabin" not in pattern.groupindex:
            raise ConfigError(f"{where} cabin_pattern: must name the cabin's part of the "
                              "channel with a (?P<cabin>…) group")
    if values.get("cabin_context") == "":
        values["cabin_context"] = None   # cabins in any context
    if not values.get("secret"):
        raise ConfigError(f"{where} secret: missing; it is the secret of the AMI user in "
                          "Asterisk's manager.conf (`cashdesk-server asterisk-config` "
                          "printed it when it wrote that file)")
    return AsteriskSettings(**values)


def create_bridge(context: BridgeContext) -> AsteriskBridge:
    """The bridge for `pbx = "asterisk"` (see the module doc)."""
    settings = bridge_settings(context.settings, context.kind)
    link = context.link
    bridge = AsteriskBridge(settings, clock=context.clock, on_reconnected=link.reconnected,
                            on_status=lambda up: link.up() if up else link.down())
    log.info("Asterisk: AMI %s:%d as %r, FastAGI %s, cabins %s in %s",
             settings.ami_host, settings.ami_port, settings.username,
             "off" if settings.agi_port is None else f"{settings.agi_host}:{settings.agi_port}",
             settings.cabin_pattern, settings.cabin_context or "any context")
    return bridge
