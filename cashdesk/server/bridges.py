"""Which PBX bridge the server runs, chosen by configuration, and what a bridge may ask
of the server.

`pbx = "<kind>"` in the `[server]` table picks a factory from `FACTORIES`; the bridge's
own settings are the `[pbx.<kind>]` table, handed to the factory as they are (the
factory checks them). Adding a PBX is adding a factory: a bridge module exports
`create_bridge(context) -> PbxBridge` and its kind is listed in `FACTORIES` as an import
path, so nothing is imported until a server is configured to use it. A kind may also
be given directly as `"package.module:function"` (a third-party or a test bridge).

A factory gets a `BridgeContext`:

- `settings`, `config`, `clock`;
- `link` (`LinkStatus`): the bridge reports its PBX connection going up
  (`link.up()`) or down (`link.down()`), and after a reconnect hands over the PBX's
  live calls (`link.reconnected(live_calls, lost_at)`) so billing reconciles them.
  A bridge that reports nothing counts as up once `async_start` returned;
- `cabins` (`CabinDirectory`): the cabins' SIP accounts (username, realm, HA1 — never
  a password) to provision the PBX with, and `cabins.subscribe(callback)`, called with
  the full list again whenever a cabin is added, changed or deleted.

A bridge whose PBX cannot be reached at startup does not stop the server: the desks
still take payments, the switch shows disconnected, and the bridge is started again
with a growing delay until it connects (`SupervisedBridge`).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cashdesk.clock import Clock
from cashdesk.pbx.bridge import CutReason, LiveCall, PbxBridge
from cashdesk.server.config import ConfigError, ServerConfig

log = logging.getLogger(__name__)

#: No PBX: billing runs (payments, top-ups, the live view) but no call can start.
NONE = "none"


@dataclass(frozen=True, slots=True)
class CabinAccount:
    """A cabin's SIP account as a PBX needs it (only HA1 is stored, never a password)."""

    cabin_id: int
    callshop_id: int
    name: str
    sip_username: str
    sip_realm: str
    sip_ha1: str            # "" until a password was set
    enabled: bool
    training: bool          # the shop is a training shop


CabinsListener = Callable[[list[CabinAccount]], Awaitable[None] | None]


class CabinDirectory:
    """The cabins' SIP accounts, read from the database, and who wants to know when
    they change (a bridge provisioning its PBX's subscriber table)."""

    def __init__(self, read: Callable[[], Awaitable[list[CabinAccount]]]) -> None:
        self._read = read
        self._listeners: list[CabinsListener] = []

    async def accounts(self) -> list[CabinAccount]:
        """Every cabin of every shop, enabled or not (a disabled cabin's phone must not
        authenticate: provision only the enabled ones)."""
        return await self._read()

    def subscribe(self, listener: CabinsListener) -> Callable[[], None]:
        """`listener(accounts)` after each change, with all accounts again. Returns a
        function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def async_changed(self) -> None:
        """Cabins were added, edited or deleted: tell every listener."""
        if not self._listeners:
            return
        accounts = await self._read()
        for listener in list(self._listeners):
            try:
                result = listener(accounts)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("a cabin listener failed; the PBX may miss this change until "
                              "the next one")


class LinkStatus:
    """A bridge's connection to its PBX, as the desks see it (`switch` events)."""

    def __init__(self, kind: str, *, on_change: Callable[[], None] | None = None) -> None:
        self.kind = kind
        self.connected = False
        self.reported = False
        self._on_change = on_change or (lambda: None)
        self._on_reconnect: Callable[[list[LiveCall], datetime | None], None] | None = None

    def up(self) -> None:
        self.reported = True
        if not self.connected:
            self.connected = True
            log.info("PBX (%s) connected", self.kind)
            self._on_change()

    def down(self) -> None:
        self.reported = True
        if self.connected:
            self.connected = False
            log.warning("PBX (%s) disconnected", self.kind)
            self._on_change()

    def assume(self, connected: bool, why: str = "") -> None:
        """The server's own word for a bridge that reports nothing itself: up once
        started, down when it could not start or was stopped."""
        if connected != self.connected:
            self.connected = connected
            log.info("PBX (%s) %s", self.kind, why or ("started" if connected else "down"))
            self._on_change()

    def reconnected(self, live_calls: list[LiveCall], lost_at: datetime | None) -> None:
        """The bridge got its PBX back and listed its live calls: billing reconciles
        them (calls gone meanwhile are closed as of `lost_at`). Loop thread."""
        self.up()
        if self._on_reconnect is not None:
            self._on_reconnect(live_calls, lost_at)

    def on_reconnect(self, handler: Callable[[list[LiveCall], datetime | None], None]) -> None:
        self._on_reconnect = handler


@dataclass(frozen=True)
class BridgeContext:
    kind: str
    settings: Mapping[str, Any]
    config: ServerConfig
    clock: Clock
    link: LinkStatus
    cabins: CabinDirectory


BridgeFactory = Callable[[BridgeContext], PbxBridge | Awaitable[PbxBridge]]

#: The PBX kinds `pbx = "…"` may name. A string is where the factory is imported from,
#: when (and only when) a server is configured with it.
FACTORIES: dict[str, BridgeFactory | str] = {
    "asterisk": "cashdesk.pbx.asterisk.server:create_bridge",
    "kamailio": "cashdesk.pbx.kamailio.server:create_bridge",
}


def register(kind: str, factory: BridgeFactory | str) -> None:
    """Add (or replace) a PBX kind."""
    FACTORIES[kind] = factory


def factory_for(kind: str) -> BridgeFactory | None:
    """The factory of a configured kind; None for "none". A ConfigError says what is
    wrong with an unknown kind or a bridge that cannot be imported."""
    if kind == NONE:
        return None
    target = FACTORIES.get(kind)
    if target is None:
        if ":" not in kind:
            known = ", ".join([NONE, *sorted(FACTORIES)])
            raise ConfigError(f"pbx = {kind!r} is not a known PBX (known: {known}, or "
                              "'package.module:function' for a bridge of your own)")
        target = kind
    if not isinstance(target, str):
        return target
    module_name, _, name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"the {kind} bridge is not available in this installation "
                          f"({exc})") from None
    factory = getattr(module, name, None)
    if not callable(factory):
        raise ConfigError(f"{target}: no bridge factory named {name!r}")
    return factory


async def create_bridge(factory: BridgeFactory, context: BridgeContext) -> PbxBridge:
    bridge = factory(context)
    if inspect.isawaitable(bridge):
        bridge = await bridge
    if not isinstance(bridge, PbxBridge):
        raise ConfigError(f"the {context.kind} bridge factory returned "
                          f"{type(bridge).__name__}, not a PbxBridge")
    return bridge


# --- a bridge that may start late --------------------------------------------------------

class SupervisedBridge(PbxBridge):
    """Starts its bridge, and if the PBX cannot be reached, keeps trying in the
    background (0.5 s doubling to 30 s) instead of failing the server's start. Until
    then the link is down and commands are dropped (logged): no call can be up on a
    PBX the server never reached. Once started late, the PBX's live calls are handed
    to billing like after a reconnect."""

    def __init__(self, inner: PbxBridge, link: LinkStatus, *,
                 retry: tuple[float, float] = (0.5, 30.0)) -> None:
        super().__init__()
        self.inner = inner
        self.name = inner.name
        self.link = link
        self._retry = retry
        self._started = False
        self._task: asyncio.Task[None] | None = None

    def attach(self, listener: Any) -> None:
        super().attach(listener)
        self.inner.attach(listener)

    async def async_start(self) -> None:
        try:
            await self.inner.async_start()
        except Exception as exc:  # noqa: BLE001 - whatever the PBX did, the server starts
            log.error("PBX (%s) could not be started: %s; the desks show it disconnected "
                      "and it is retried in the background", self.link.kind, exc)
            self.link.assume(False, "not connected")
            self._task = asyncio.create_task(self._keep_trying(), name=f"start {self.name}")
            return
        self._on_started()

    def _on_started(self) -> None:
        self._started = True
        if not self.link.reported:
            self.link.assume(True)

    async def _keep_trying(self) -> None:
        delay = self._retry[0]
        while True:
            await asyncio.sleep(delay)
            try:
                await self.inner.async_start()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - one line per try, not a traceback
                delay = min(delay * 2, self._retry[1])
                log.warning("PBX (%s) still unreachable (%s); next try in %.1f s",
                            self.link.kind, exc, delay)
                continue
            self._on_started()
            try:
                live = await self.inner.list_live_calls()
            except Exception:
                log.exception("PBX (%s) connected late but could not list its calls",
                              self.link.kind)
                return
            self.link.reconnected(live, None)
            return

    async def async_stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._started:
            self._started = False
            await self.inner.async_stop()
        self.link.assume(False, "stopped")

    async def cut(self, pbx_call_id: str, reason: CutReason) -> None:
        await self.cut_many([(pbx_call_id, reason)])

    def rehearse_cuts(self, pbx_call_ids: Sequence[str]) -> None:
        if self._started:
            self.inner.rehearse_cuts(pbx_call_ids)

    async def cut_many(self, cuts: Sequence[tuple[str, CutReason]]) -> None:
        if not self._started:
            log.warning("cuts of %s not sent: the PBX (%s) is not connected",
                        ", ".join(call for call, _ in cuts), self.link.kind)
            return
        await self.inner.cut_many(cuts)

    async def set_backstop(self, pbx_call_id: str, max_duration_s: int) -> None:
        if self._started:
            await self.inner.set_backstop(pbx_call_id, max_duration_s)

    async def list_live_calls(self) -> list[LiveCall]:
        if not self._started:
            # Never reached: nothing of this PBX can be known; billing must not take
            # "no calls" for an answer and close calls it has.
            raise ConnectionError(f"the PBX ({self.link.kind}) is not connected")
        return await self.inner.list_live_calls()
