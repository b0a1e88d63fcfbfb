"""Render Kamailio's configuration from `resources/kamailio/kamailio.cfg.tmpl`.

The template's placeholders are written `%%{NAME}`: Kamailio's own syntax uses `$`
(pseudo-variables) and braces (route blocks) everywhere, so neither `str.format` nor
a plain `string.Template` fits. Every placeholder must be given; an unknown or
missing one is an error, never a silently broken config.
"""

from __future__ import annotations

import ipaddress
import re
import string
import sys
from dataclasses import dataclass
from pathlib import Path

TEMPLATE_NAME = "kamailio.cfg.tmpl"
DEFAULT_REALM = "cashdesk"
DEFAULT_AUTH_TIMEOUT_MS = 1500
# The dialog timeout when the server gives no maximum: the backstop of last resort.
DEFAULT_MAX_SECONDS = 4 * 3600
# Requests per 2 s from one source address before pike blocks it.
DEFAULT_PIKE_DENSITY = 64


class ConfigError(ValueError):
    """A setting that cannot make a working Kamailio config."""


class _KamailioTemplate(string.Template):
    delimiter = "%%"
    idpattern = r"[A-Z][A-Z0-9_]*"
    flags = re.RegexFlag(0)  # case-sensitive: only upper-case names are placeholders


@dataclass(frozen=True, slots=True)
class HostPort:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str, *, what: str) -> HostPort:
        """`127.0.0.1:5070` → HostPort. Only literal IPv4 addresses: Kamailio here
        runs without DNS, and the evapi socket must bind to an address."""
        host, sep, port = text.rpartition(":")
        if not sep or not host:
            raise ConfigError(f"{what}: expected IP:PORT, got {text!r}")
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ConfigError(f"{what}: {host!r} is not an IPv4 address") from None
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"{what}: bad port {port!r}")
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class KamailioSettings:
    """What a rendered config depends on. Paths should be absolute: Kamailio resolves
    relative ones against its own working directory."""

    listen: HostPort              # the cabins' SIP socket (UDP)
    carrier: HostPort             # the SIP trunk every allowed call goes to
    evapi: HostPort               # where the sync server connects
    subscriber_db: Path           # SQLite file with the `subscriber` table
    run_dir: Path                 # pid file, control sockets
    realm: str = DEFAULT_REALM
    auth_timeout_ms: int = DEFAULT_AUTH_TIMEOUT_MS
    default_max_seconds: int = DEFAULT_MAX_SECONDS
    pike_density: int = DEFAULT_PIKE_DENSITY
    children: int = 4
    async_workers: int = 2        # resume INVITEs with the server's answers, side by side
    log_level: int = 2            # 1 notice … 2 info … 3 debug

    def placeholders(self) -> dict[str, str]:
        if not self.realm or any(c in self.realm for c in '"\\\r\n '):
            raise ConfigError(f"realm {self.realm!r}: a non-empty word without quotes")
        if self.children < 1 or self.async_workers < 1:
            raise ConfigError("Kamailio needs at least one SIP worker and one async worker")
        if self.auth_timeout_ms < 100:
            raise ConfigError("the authorisation timeout must be at least 100 ms")
        for path, what in ((self.subscriber_db, "subscriber database"),
                           (self.run_dir, "run directory")):
            if '"' in str(path):
                raise ConfigError(f"{what}: {path} contains a double quote")
        return {
            "SIP_ADDR": self.listen.host,
            "SIP_PORT": str(self.listen.port),
            "CARRIER_ADDR": str(self.carrier),
            "CARRIER_HOST": self.carrier.host,
            "EVAPI_ADDR": str(self.evapi),
            "EVAPI_HOST": self.evapi.host,
            "SUBSCRIBER_DB": str(self.subscriber_db),
            "RUN_DIR": str(self.run_dir),
            "REALM": self.realm,
            "AUTH_TIMEOUT_MS": str(self.auth_timeout_ms),
            "DEFAULT_MAX_SECONDS": str(self.default_max_seconds),
            "PIKE_DENSITY": str(self.pike_density),
            "CHILDREN": str(self.children),
            "ASYNC_WORKERS": str(self.async_workers),
            "LOG_LEVEL": str(self.log_level),
        }


def template_path() -> Path:
    """The template in the source tree, or in the PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    root = Path(bundle) if bundle else Path(__file__).resolve().parents[3]
    return root / "resources" / "kamailio" / TEMPLATE_NAME


def render_config(settings: KamailioSettings, template: str | None = None) -> str:
    """The Kamailio config for `settings`, from the bundled template unless one is given."""
    text = template if template is not None else template_path().read_text(encoding="utf-8")
    try:
        return _KamailioTemplate(text).substitute(settings.placeholders())
    except KeyError as exc:
        raise ConfigError(f"the template uses an unknown placeholder {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"bad placeholder in the template: {exc}") from None
