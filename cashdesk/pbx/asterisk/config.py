"""Render Asterisk's configuration for the cash desk from `resources/asterisk/*.tmpl`:
`manager.conf` (the AMI user), `extensions.conf` (authorisation before `Dial()`),
`pjsip.conf` (one endpoint per cabin, digest auth by HA1, and the carrier).

Placeholders are written `%%{NAME}`, as in the Kamailio templates: Asterisk's own
syntax uses `${…}` and `$[…]`. Every placeholder must be given; an unknown one is an
error, never a silently broken file. Values that would break a config line (`;`
starts a comment, a newline starts a new setting) are refused.
"""

from __future__ import annotations

import ipaddress
import re
import string
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cashdesk.pbx.asterisk.lifecycle import DEFAULT_CABIN_CONTEXT, CabinMatcher

TEMPLATES = {"manager.conf": "manager.conf.tmpl", "extensions.conf": "extensions.conf.tmpl",
             "pjsip.conf": "pjsip.conf.tmpl"}
DEFAULT_REALM = "cashdesk"
DEFAULT_AGI_PORT = 4573
DEFAULT_AMI_PORT = 5038
DEFAULT_AMI_USER = "cashdesk"
DEFAULT_CARRIER = "carrier"
DEFAULT_DIAL_TIMEOUT = 60

#: What the server accepts as a SIP username (cashdesk.server.api.cabins).
SIP_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HA1 = re.compile(r"[0-9a-f]{32}")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SECRET = re.compile(r"[A-Za-z0-9._~+/=-]{12,}")


class ConfigError(ValueError):
    """A setting that cannot make a working Asterisk config."""


class _AsteriskTemplate(string.Template):
    delimiter = "%%"
    idpattern = r"[A-Z][A-Z0-9_]*"
    flags = re.RegexFlag(0)


@dataclass(frozen=True, slots=True)
class CabinAccount:
    """A cabin's SIP account as the PBX needs it: never the password, only HA1."""

    username: str
    realm: str
    ha1: str
    label: str = ""   # for the comment above its sections ("Cabin 7, My shop")


@dataclass(frozen=True, slots=True)
class AsteriskConfigSettings:
    ami_secret: str
    agi_host: str = "127.0.0.1"          # where Asterisk reaches the cash desk's FastAGI
    agi_port: int = DEFAULT_AGI_PORT
    ami_bind: str = "127.0.0.1"          # where Asterisk's AMI listens
    ami_port: int = DEFAULT_AMI_PORT
    ami_user: str = DEFAULT_AMI_USER
    server_addr: str = "127.0.0.1"       # the cash desk's address, as Asterisk sees it
    sip_bind: str = "0.0.0.0:5060"       # the cabins' SIP socket
    carrier: str = DEFAULT_CARRIER       # the carrier's endpoint name
    carrier_host: str = "sip.carrier.example:5060"
    context: str = DEFAULT_CABIN_CONTEXT
    dial_timeout: int = DEFAULT_DIAL_TIMEOUT
    cabins: tuple[CabinAccount, ...] = field(default_factory=tuple)

    def placeholders(self) -> dict[str, str]:
        for value, what in ((self.agi_host, "FastAGI host"), (self.ami_bind, "AMI bind"),
                            (self.server_addr, "server address")):
            _ipv4(value, what)
        _host_port(self.sip_bind, "SIP bind")
        for port, what in ((self.agi_port, "FastAGI port"), (self.ami_port, "AMI port")):
            if not 0 < port < 65536:
                raise ConfigError(f"{what}: bad port {port}")
        for word, what in ((self.ami_user, "AMI user"), (self.carrier, "carrier endpoint"),
                           (self.context, "dialplan context")):
            if not _WORD.fullmatch(word):
                raise ConfigError(f"{what} {word!r}: letters, digits, '.', '_' or '-' only")
        if not _SECRET.fullmatch(self.ami_secret):
            raise ConfigError("the AMI secret must be at least 12 characters of letters, "
                              "digits and ._~+/=- (';' would start a comment)")
        carrier_host = self.carrier_host.strip()
        if not carrier_host or any(c in carrier_host for c in " ;\r\n\t"):
            raise ConfigError(f"carrier host {self.carrier_host!r}: HOST or HOST:PORT")
        if not 5 <= self.dial_timeout <= 600:
            raise ConfigError("the dial timeout must be between 5 and 600 seconds")
        return {
            "AMI_PORT": str(self.ami_port),
            "AMI_BIND": self.ami_bind,
            "AMI_USER": self.ami_user,
            "AMI_SECRET": self.ami_secret,
            "SERVER_ADDR": self.server_addr,
            "AGI_HOST": self.agi_host,
            "AGI_PORT": str(self.agi_port),
            "CARRIER": self.carrier,
            "CARRIER_HOST": carrier_host,
            "CARRIER_MATCH": carrier_host.rsplit(":", 1)[0] if carrier_host.count(":") == 1
            else carrier_host,
            "CONTEXT": self.context,
            "DIAL_TIMEOUT": str(self.dial_timeout),
            "SIP_BIND": self.sip_bind,
            "CABIN_COUNT": f"{len(self.cabins)} cabin{'s' if len(self.cabins) != 1 else ''}",
            "CABINS": self._cabin_sections(),
        }

    def _cabin_sections(self) -> str:
        matcher = CabinMatcher()
        seen: set[str] = set()
        blocks = []
        for cabin in self.cabins:
            if not SIP_USERNAME.fullmatch(cabin.username):
                raise ConfigError(f"cabin SIP username {cabin.username!r} is not a valid "
                                  "endpoint name")
            if cabin.username in seen or cabin.username in (self.carrier, "transport-udp"):
                raise ConfigError(f"SIP username {cabin.username!r} is used twice")
            seen.add(cabin.username)
            if not _HA1.fullmatch(cabin.ha1):
                raise ConfigError(f"cabin {cabin.username!r}: HA1 is not 32 hex digits")
            if not cabin.realm or any(c in cabin.realm for c in ";\r\n\t "):
                raise ConfigError(f"cabin {cabin.username!r}: bad realm {cabin.realm!r}")
            # The bridge must find the cabin again from the channel's name.
            if matcher.cabin(f"PJSIP/{cabin.username}-0000002a") != cabin.username:
                raise ConfigError(f"cabin {cabin.username!r} would not be recognised "
                                  "from its channel name")
            label = " ".join(cabin.label.replace(";", ",").split())
            blocks.append(
                f"; {label or cabin.username}\n"
                f"[{cabin.username}](cabin-endpoint)\n"
                f"auth = {cabin.username}\n"
                f"aors = {cabin.username}\n"
                f"accountcode = {cabin.username}\n\n"
                f"[{cabin.username}](cabin-auth)\n"
                f"username = {cabin.username}\n"
                f"realm = {cabin.realm}\n"
                f"md5_cred = {cabin.ha1}\n\n"
                f"[{cabin.username}](cabin-aor)\n")
        return "\n".join(blocks) if blocks else "; (no cabin has a SIP password yet)\n"


def _ipv4(value: str, what: str) -> None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ConfigError(f"{what}: {value!r} is not an IPv4 address") from None


def _host_port(value: str, what: str) -> None:
    host, sep, port = value.rpartition(":")
    if not sep:
        raise ConfigError(f"{what}: expected IP:PORT, got {value!r}")
    _ipv4(host, what)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{what}: bad port {port!r}")


def templates_dir() -> Path:
    """`resources/asterisk` of the source tree, or of the PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    root = Path(bundle) if bundle else Path(__file__).resolve().parents[3]
    return root / "resources" / "asterisk"


def render_configs(settings: AsteriskConfigSettings,
                   templates: dict[str, str] | None = None) -> dict[str, str]:
    """File name → contents, from the bundled templates unless others are given."""
    values = settings.placeholders()
    out = {}
    for name, template_name in TEMPLATES.items():
        text = templates[name] if templates is not None else \
            (templates_dir() / template_name).read_text(encoding="utf-8")
        try:
            out[name] = _AsteriskTemplate(text).substitute(values)
        except KeyError as exc:
            raise ConfigError(f"{template_name} uses an unknown placeholder {exc}") from None
        except ValueError as exc:
            raise ConfigError(f"{template_name}: bad placeholder: {exc}") from None
    return out


def cabin_accounts(rows: Iterable[tuple[str, str, str, str]],
                   default_realm: str) -> tuple[list[CabinAccount], list[str]]:
    """(username, realm, ha1, label) rows → the accounts to write, and the usernames
    left out because they have no SIP password yet."""
    accounts, skipped = [], []
    for username, realm, ha1, label in rows:
        if not ha1:
            skipped.append(username)
            continue
        accounts.append(CabinAccount(username, realm or default_realm, ha1.lower(), label))
    return accounts, skipped
