"""The sync server's settings: defaults, then a TOML file, then environment variables,
then command-line flags, each overriding the one before.

The file (default: `server.toml` in the user's config directory) has one table::

    [server]
    host = "0.0.0.0"              # default 127.0.0.1: only this computer
    port = 8470
    database = "sqlite:////var/lib/cashdesk/cashdesk.sqlite3"
    tls_cert = "/etc/cashdesk/cert.pem"
    tls_key = "/etc/cashdesk/key.pem"
    sip_realm = "cashdesk"        # the realm of the cabins' SIP digest passwords
    token_hours = 12              # how long a login lasts
    log_file = "/var/log/cashdesk/server.log"
    log_level = "INFO"
    pbx = "kamailio"              # none (default), training, kamailio, asterisk
    demo = true                   # a training shop with simulated customers

    [pbx.kamailio]                # the chosen PBX's own settings (see its bridge)
    ...
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

from cashdesk.paths import config_dir, default_database_url, log_dir

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8470
CONFIG_ENV = "CASHDESK_CONFIG"

#: Environment variable → setting.
ENVIRONMENT = {
    "CASHDESK_HOST": "host",
    "CASHDESK_PORT": "port",
    "CASHDESK_DB": "database_url",
    "CASHDESK_TLS_CERT": "tls_cert",
    "CASHDESK_TLS_KEY": "tls_key",
    "CASHDESK_PBX": "pbx",
    "CASHDESK_DEMO": "demo",
}

#: Key in the file's [server] table → setting.
FILE_KEYS = {
    "host": "host",
    "port": "port",
    "database": "database_url",
    "tls_cert": "tls_cert",
    "tls_key": "tls_key",
    "allow_plain_http": "allow_plain_http",
    "sip_realm": "sip_realm",
    "token_hours": "token_hours",
    "log_file": "log_file",
    "log_level": "log_level",
    "login_free_failures": "login_free_failures",
    "login_max_delay_seconds": "login_max_delay_seconds",
    "shutdown_timeout": "shutdown_timeout",
    "pbx": "pbx",
    "demo": "demo",
    "events_heartbeat_seconds": "events_heartbeat_seconds",
    "events_queue_limit": "events_queue_limit",
}

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    """A setting that cannot work, named with where it came from."""


def default_config_path() -> Path:
    return config_dir() / "server.toml"


def default_log_file() -> Path:
    return log_dir() / "server.log"


@dataclass(frozen=True)
class ServerConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    database_url: str = field(default_factory=default_database_url)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Bearer tokens and passwords must not cross a network in clear text: listening
    # beyond loopback without TLS has to be asked for explicitly.
    allow_plain_http: bool = False
    sip_realm: str = "cashdesk"
    token_hours: float = 12.0
    log_file: Path = field(default_factory=default_log_file)
    log_level: str = "INFO"
    login_free_failures: int = 5
    login_max_delay_seconds: float = 300.0
    shutdown_timeout: float = 10.0
    # The PBX bridge (`cashdesk.server.bridges.FACTORIES`) and each kind's settings,
    # the file's [pbx.<kind>] tables.
    pbx: str = "none"
    pbx_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    # A training shop with simulated customers (`cashdesk.server.demo`).
    demo: bool = False
    # The live events socket: heartbeat period, and how far a desk may fall behind.
    events_heartbeat_seconds: float = 5.0
    events_queue_limit: int = 2000
    # Bring the schema to the newest migration at startup.
    migrate: bool = True
    # Check every JSON answer against its declared schema (tests; a mismatch is a 500).
    validate_responses: bool = False

    def __post_init__(self) -> None:
        if not self.host.strip():
            raise ConfigError("host cannot be empty")
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"port {self.port} is not between 1 and 65535")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("TLS needs both a certificate (tls_cert) and its key (tls_key)")
        if self.token_hours <= 0:
            raise ConfigError("token_hours must be more than 0")
        if self.log_level.upper() not in LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
        if not self.sip_realm.strip():
            raise ConfigError("sip_realm cannot be empty")
        if self.login_free_failures < 1:
            raise ConfigError("login_free_failures must be at least 1")
        if not self.pbx.strip():
            raise ConfigError("pbx cannot be empty (use \"none\" for no PBX)")
        if self.events_heartbeat_seconds <= 0:
            raise ConfigError("events_heartbeat_seconds must be more than 0")
        if self.events_queue_limit < 1:
            raise ConfigError("events_queue_limit must be at least 1")

    @property
    def token_ttl(self) -> timedelta:
        return timedelta(hours=self.token_hours)

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def loopback_only(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"


_TYPES = {f.name: f.type for f in fields(ServerConfig)}


class _Unusable(Exception):
    pass


def _convert(name: str, value: Any, source: str) -> Any:
    """A setting from the file (typed TOML) or the environment and flags (text)."""
    kind = _TYPES[name]
    try:
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise _Unusable
            return int(value)
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise _Unusable
            return float(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no"):
                return value.lower() in ("1", "true", "yes")
            raise _Unusable
        if kind in ("Path | None", "Path"):
            if not isinstance(value, (str, Path)) or not str(value):
                raise _Unusable
            return Path(value).expanduser()
        if not isinstance(value, str):
            raise _Unusable
        return value
    except (_Unusable, ValueError):
        raise ConfigError(f"{source}: {value!r} is not a valid {name} "
                          f"(expected {kind.replace(' | None', '')})") from None


def read_file(path: Path) -> dict[str, Any]:
    """The settings in a TOML file, as ServerConfig field names."""
    try:
        with path.open("rb") as stream:
            document = tomllib.load(stream)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror}") from None
    unknown_tables = sorted(set(document) - {"server", "pbx"})
    if unknown_tables:
        raise ConfigError(f"{path}: unknown table or key {unknown_tables[0]!r} "
                          "(settings go in a [server] table, a PBX's in [pbx.<kind>])")
    table = document.get("server", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: 'server' must be a table ([server])")
    settings: dict[str, Any] = {}
    pbx = document.get("pbx", {})
    if not isinstance(pbx, dict) or not all(isinstance(v, dict) for v in pbx.values()):
        raise ConfigError(f"{path}: a PBX's settings go in a table named after it, "
                          "such as [pbx.asterisk]")
    if pbx:
        settings["pbx_settings"] = pbx
    for key, value in table.items():
        if key not in FILE_KEYS:
            raise ConfigError(f"{path}: unknown setting {key!r} in [server] "
                              f"(known: {', '.join(FILE_KEYS)})")
        name = FILE_KEYS[key]
        settings[name] = _convert(name, value, f"{path}: [server] {key}")
    return settings


def load_config(*, path: Path | None = None, env: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None) -> ServerConfig:
    """Defaults < file < environment < `overrides` (the flags; None means not given).

    `path` is the file named on the command line; without it, $CASHDESK_CONFIG, else
    the default file if it exists. A file that was named explicitly must exist.
    """
    env = os.environ if env is None else env
    settings: dict[str, Any] = {}
    explicit = path or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    file = explicit or default_config_path()
    if explicit is not None and not explicit.is_file():
        raise ConfigError(f"config file {explicit} does not exist")
    if file.is_file():
        settings.update(read_file(file))
    for variable, name in ENVIRONMENT.items():
        if env.get(variable):
            settings[name] = _convert(name, env[variable], f"${variable}")
    for name, value in (overrides or {}).items():
        if name not in _TYPES:
            raise ConfigError(f"unknown setting {name!r}")
        if value is not None:
            settings[name] = _convert(name, value, f"--{name.replace('_', '-')}")
    try:
        return ServerConfig(**settings)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (settings from {file if file.is_file() else 'defaults'}, "
                          "the environment and the command line)") from None
