"""`pbx = "kamailio"`: the sync server's factory for the Kamailio bridge.

Settings, in the server's config file (all optional but `subscriber_db` in practice)::

    [server]
    pbx = "kamailio"
    sip_realm = "cashdesk"            # must be Kamailio's --realm

    [pbx.kamailio]
    evapi = "127.0.0.1:8448"          # Kamailio's evapi socket (kamailio-config --evapi)
    subscriber_db = "/var/lib/cashdesk/subscribers.sqlite3"   # --subscriber-db
    authorise_timeout = 1.2           # below the config's auth_timeout_ms (1.5 s)
    start_timeout = 3.0               # wait this long for Kamailio at server start
    rpc_timeout = 2.0                 # dlg.list
    min_backoff = 0.1                 # reconnecting: first wait, doubling …
    max_backoff = 5.0                 # … up to this

The factory builds a `KamailioBridge` whose link status and reconnects go to the
server (`context.link`), and provisions the cabins into Kamailio's subscriber table:
all of them at start, then again each time the server says a cabin changed
(`context.cabins.subscribe`), so a new cabin, a password reset, a disabled or
deleted cabin takes effect at the phone's next request, without restarting Kamailio.
Without `subscriber_db` the table is left alone (provisioned by other means).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cashdesk.pbx.kamailio.bridge import KamailioBridge, KamailioBridgeSettings
from cashdesk.pbx.kamailio.config import ConfigError as KamailioConfigError
from cashdesk.pbx.kamailio.config import HostPort
from cashdesk.pbx.kamailio.provisioning import CabinProvisioner, SipAccount
from cashdesk.pbx.kamailio.subscribers import SubscriberError, SubscriberTable

if TYPE_CHECKING:
    from cashdesk.server.bridges import BridgeContext

log = logging.getLogger(__name__)

_SECONDS = ("authorise_timeout", "start_timeout", "rpc_timeout", "connect_timeout",
            "min_backoff", "max_backoff")
KNOWN = ("evapi", "subscriber_db", *_SECONDS)


def bridge_settings(table: Mapping[str, Any]) -> tuple[KamailioBridgeSettings, Path | None]:
    """The `[pbx.kamailio]` table as bridge settings and the subscriber database."""
    from cashdesk.server.config import ConfigError

    unknown = sorted(set(table) - set(KNOWN))
    if unknown:
        raise ConfigError(f"[pbx.kamailio] {unknown[0]}: unknown setting "
                          f"(known: {', '.join(KNOWN)})")
    values: dict[str, Any] = {}
    evapi = table.get("evapi", "127.0.0.1:8448")
    try:
        address = HostPort.parse(str(evapi), what="[pbx.kamailio] evapi")
    except KamailioConfigError as exc:
        raise ConfigError(str(exc)) from None
    values.update(evapi_host=address.host, evapi_port=address.port)
    for name in _SECONDS:
        if name in table:
            value = table[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"[pbx.kamailio] {name}: a number of seconds above 0, "
                                  f"got {value!r}")
            values[name] = float(value)
    subscriber_db = table.get("subscriber_db")
    if subscriber_db is not None and (not isinstance(subscriber_db, str) or not subscriber_db):
        raise ConfigError(f"[pbx.kamailio] subscriber_db: a file path, got {subscriber_db!r}")
    return (KamailioBridgeSettings(**values),
            Path(subscriber_db).expanduser() if subscriber_db else None)


async def create_bridge(context: BridgeContext) -> KamailioBridge:
    """The bridge for `pbx = "kamailio"` (see the module doc)."""
    settings, subscriber_db = bridge_settings(context.settings)
    link = context.link
    bridge = KamailioBridge(settings, clock=context.clock,
                            on_reconnected=link.reconnected,
                            on_status=lambda up: link.up() if up else link.down())
    if subscriber_db is None:
        log.warning("[pbx.kamailio] has no subscriber_db: cabins are not provisioned into "
                    "Kamailio by the server")
        return bridge
    provisioner = CabinProvisioner(SubscriberTable(subscriber_db, context.config.sip_realm))
    lock = asyncio.Lock()

    async def provision(accounts: Sequence[SipAccount]) -> None:
        # One at a time, in order: the last change wins.
        async with lock:
            try:
                await asyncio.get_running_loop().run_in_executor(
                    None, provisioner.sync_accounts, list(accounts))
            except (OSError, sqlite3.Error, SubscriberError):
                # The desks keep working; Kamailio keeps the table it has.
                log.exception("Kamailio's subscriber table %s could not be written: cabin "
                              "changes do not reach the phones until it can", subscriber_db)

    await provision(await context.cabins.accounts())
    context.cabins.subscribe(provision)
    log.info("Kamailio: evapi %s:%d, subscribers in %s (realm %r)", settings.evapi_host,
             settings.evapi_port, subscriber_db, context.config.sip_realm)
    return bridge
