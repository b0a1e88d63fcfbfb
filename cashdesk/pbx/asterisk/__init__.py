"""Asterisk bridge: AMI for call events, cuts and reconciliation; FastAGI for the
authorisation the dialplan asks before `Dial()`. See `resources/asterisk/README.md`."""

from cashdesk.pbx.asterisk.ami import (
    AmiActionError,
    AmiAuthError,
    AmiClient,
    AmiConnectionError,
    AmiError,
    AmiTimeout,
    ListResult,
)
from cashdesk.pbx.asterisk.bridge import AsteriskBridge, AsteriskSettings
from cashdesk.pbx.asterisk.fastagi import AgiDecision, FastAgiServer
from cashdesk.pbx.asterisk.lifecycle import (
    DEFAULT_CABIN_CONTEXT,
    DEFAULT_CABIN_PATTERN,
    AsteriskCall,
    CabinMatcher,
    CallLifecycle,
)
from cashdesk.pbx.asterisk.packets import Packet, PacketParser, encode_action

__all__ = [
    "DEFAULT_CABIN_CONTEXT", "DEFAULT_CABIN_PATTERN", "AgiDecision", "AmiActionError",
    "AmiAuthError", "AmiClient",
    "AmiConnectionError", "AmiError", "AmiTimeout", "AsteriskBridge", "AsteriskCall",
    "AsteriskSettings", "CabinMatcher", "CallLifecycle", "FastAgiServer", "ListResult",
    "Packet", "PacketParser", "encode_action",
]
