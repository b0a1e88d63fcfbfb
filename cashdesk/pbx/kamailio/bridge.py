"""`KamailioBridge`: the `PbxBridge` for Kamailio, over its evapi socket.

The config (`resources/kamailio/kamailio.cfg.tmpl`, its README lists every message)
sends JSON events and authorisation requests on the evapi socket and takes commands
on the same socket:

- `authorize` → the listener's `async_authorise`, answered with `authorization`
  within `authorise_timeout` (below Kamailio's own `auth_timeout_ms`); a timeout, an
  error or no listener is a refusal (503): fail closed, never a free call;
- `started` / `ringing` / `answered` / `ended` / `failed` → `CallStarted` … with
  Kamailio's own timestamps (`$TV(Sn)`, wall clock with microseconds);
- `cut` → `{"type":"cut"}` (the config's CUT route: BYE to both legs despite the
  5.6.3 race, or CANCEL while ringing);
- `set_backstop` → `{"type":"set_timeout"}`, whose seconds count from *now*: the
  bridge sends `max_duration_s` minus the talk time so far;
- `list_live_calls` → JSON-RPC `dlg.list` over the same socket (state 5 = ended is
  skipped).

The connection is kept up by `EvapiClient` (backoff 0.1 s doubling to 5 s). On every
connect after `async_start` returned, the bridge lists the live calls and hands them,
with the moment the link was lost, to `on_reconnected(live_calls, lost_at)`: the
server reconciles (events sent while no server was connected are lost, Kamailio
keeps no queue). At the first connect the server reconciles by itself, through
`list_live_calls`. `on_status(connected)` reports the link for the desk's switch
indicator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cashdesk.clock import Clock, SystemClock
from cashdesk.pbx.bridge import (
    Authorisation,
    AuthorisationRequest,
    CutReason,
    LiveCall,
    PbxBridge,
    RefusalReason,
)
from cashdesk.pbx.events import (
    CallAnswered,
    CallEnded,
    CallFailed,
    CallRinging,
    CallStarted,
    HangupBy,
    PbxEvent,
)
from cashdesk.pbx.kamailio.evapi import EvapiClient, EvapiError, JsonObject, NotConnected

log = logging.getLogger(__name__)

#: `on_reconnected(live_calls, lost_at)`: called in the event loop after a reconnect.
ReconnectHandler = Callable[[list[LiveCall], datetime | None], object]
#: `on_status(connected)`: the evapi link came up (True) or went down (False).
StatusHandler = Callable[[bool], object]

#: dlg.list states (5.6): 1 unconfirmed, 2 early, 3 confirmed without ACK, 4 confirmed,
#: 5 deleted (an ended dialog stays listed for a while).
DLG_DELETED = 5
DLG_ANSWERED = (3, 4)

#: The reason phrase Kamailio answers the cabin with, per refusal: short, one line,
#: what a phone's display or a technician reading a trace needs.
REASON_PHRASES: dict[RefusalReason, str] = {
    RefusalReason.NO_CREDIT: "Insufficient Credit",
    RefusalReason.NO_RATE: "No Rate For Destination",
    RefusalReason.INVALID_NUMBER: "Invalid Number",
    RefusalReason.BLOCKED_DESTINATION: "Destination Blocked",
    RefusalReason.CABIN_DISABLED: "Cabin Disabled",
    RefusalReason.CABIN_UNKNOWN: "Unknown Cabin",
    RefusalReason.SHOP_INACTIVE: "Callshop Suspended",
    RefusalReason.MAX_CALL_DURATION: "Call Duration Limit",
    RefusalReason.MAX_SESSION_AMOUNT: "Session Limit Reached",
    RefusalReason.DEPOSIT_EXHAUSTED: "Deposit Exhausted",
    RefusalReason.SERVER_UNAVAILABLE: "Billing Unavailable",
}

_HANGUP_BY = {"cabin": HangupBy.CABIN, "callee": HangupBy.CALLEE, "pbx": HangupBy.PBX}
# `ended.reason`: "bye" says nothing the side does not (the tracker writes "hung up
# by cabin"); the others are the PBX's own doing.
_END_REASONS = {"bye": "", "cut": "cut by the PBX", "timeout": "backstop: PBX timeout"}
_FAILURE_REASONS = {486: "busy", 600: "busy", 487: "cancelled", 408: "no answer",
                    480: "no answer"}


@dataclass(frozen=True)
class KamailioBridgeSettings:
    """Where Kamailio's evapi socket is, and how patient the bridge is."""

    evapi_host: str = "127.0.0.1"
    evapi_port: int = 8448
    # Must stay below the config's auth_timeout_ms (1.5 s by default): an answer after
    # it is ignored by Kamailio, which has already refused the call.
    authorise_timeout: float = 1.2
    rpc_timeout: float = 2.0
    connect_timeout: float = 3.0
    # `async_start` waits this long for the first connection, then carries on and keeps
    # trying in the background (calls are refused by Kamailio meanwhile).
    start_timeout: float = 3.0
    min_backoff: float = 0.1
    max_backoff: float = 5.0


@dataclass
class _Call:
    """What the bridge remembers about a call Kamailio has up."""

    pbx_call_id: str
    cabin: str
    number: str
    started_at: datetime | None = None
    answered_at: datetime | None = None


class KamailioBridge(PbxBridge):
    name = "kamailio"

    def __init__(self, settings: KamailioBridgeSettings, *, clock: Clock | None = None,
                 on_reconnected: ReconnectHandler | None = None,
                 on_status: StatusHandler | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.clock = clock or SystemClock()
        self.on_reconnected = on_reconnected
        self.on_status = on_status
        self.client = EvapiClient(settings.evapi_host, settings.evapi_port, self._on_message,
                                  on_connected=self._on_connected,
                                  on_disconnected=self._on_disconnected,
                                  min_backoff=settings.min_backoff,
                                  max_backoff=settings.max_backoff,
                                  connect_timeout=settings.connect_timeout)
        self._calls: dict[str, _Call] = {}
        # Backstops asked for before the answer: sent when it comes.
        self._backstops: dict[str, int] = {}
        # Calls whose authorisation is being decided, and those cut meanwhile.
        self._authorising: set[str] = set()
        self._cut_while_authorising: set[str] = set()
        # Cuts that could not be sent (no connection): sent again on the next connect.
        self._unsent_cuts: dict[str, CutReason] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._started = False
        self._lost_at: datetime | None = None
        #: Authorisations answered, refused by the bridge itself (timeout, error).
        self.authorisations = 0
        self.authorisation_failures = 0

    @property
    def connected(self) -> bool:
        return self.client.connected

    # -- PbxBridge -----------------------------------------------------------------

    async def async_start(self) -> None:
        """Start connecting; return once connected, or after `start_timeout` with the
        link still down (a warning: Kamailio refuses every call until it is up)."""
        await self.client.async_start()
        try:
            await self.client.async_wait_connected(self.settings.start_timeout)
        except TimeoutError:
            log.warning("Kamailio's evapi socket %s:%s does not answer yet; calls are "
                        "refused until it does (retrying in the background)",
                        self.settings.evapi_host, self.settings.evapi_port)
            self._status(False)
        self._started = True

    async def async_stop(self) -> None:
        self._started = False
        await self.client.async_stop()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def cut(self, pbx_call_id: str, reason: CutReason) -> None:
        await self.cut_many([(pbx_call_id, reason)])

    def rehearse_cuts(self, pbx_call_ids: Sequence[str]) -> None:
        """`wake` (Kamailio sends itself a keepalive: the sending of a request) and each
        call's `rehearse_cut` (its dialog found, its carrier's BYE built, not sent).
        On the test VM memory left alone for a second costs about 13 µs a page to
        touch again, and a cut's first BYE came 4–8 ms after the cuts without this
        (README.md, "Session 11")."""
        messages: list[JsonObject] = [{"type": "wake"}]
        messages += [{"type": "rehearse_cut", "call_id": call} for call in pbx_call_ids]
        with contextlib.suppress(NotConnected):
            self.client.send_all_now(messages)

    async def cut_many(self, cuts: Sequence[tuple[str, CutReason]]) -> None:
        """Every call's carrier leg first (`cut_carrier`), then each call's `cut` (its
        report, the cabin's BYE, the result), in one write: Kamailio handles them one
        by one, and no carrier waits for another call's report and cabin. Logged after
        the write, which is what the instant waits for."""
        for pbx_call_id, _ in cuts:
            if pbx_call_id in self._authorising:
                # Not routed yet: the authorisation about to be sent becomes a refusal.
                self._cut_while_authorising.add(pbx_call_id)
        messages: list[JsonObject] = []
        if len(cuts) > 1:
            messages += [{"type": "cut_carrier", "call_id": call} for call, _ in cuts]
        messages += [{"type": "cut", "call_id": call} for call, _ in cuts]
        try:
            self.client.send_all_now(messages)
            await self.client.async_drain()
        except NotConnected:
            self._unsent_cuts.update(cuts)     # sent again once reconnected
            raise
        for pbx_call_id, reason in cuts:
            self._unsent_cuts.pop(pbx_call_id, None)
            log.info("cut %s: %s", pbx_call_id, reason.value)

    async def set_backstop(self, pbx_call_id: str, max_duration_s: int) -> None:
        call = self._calls.get(pbx_call_id)
        if call is not None and call.answered_at is None:
            self._backstops[pbx_call_id] = max_duration_s
            return
        seconds = self._seconds_from_now(call, max_duration_s)
        await self.client.async_send({"type": "set_timeout", "call_id": pbx_call_id,
                                      "seconds": seconds})
        log.debug("backstop of %s: %d s from now (max %d s from the answer)",
                  pbx_call_id, seconds, max_duration_s)

    async def list_live_calls(self) -> list[LiveCall]:
        dialogs = await self.client.async_call("dlg.list", timeout=self.settings.rpc_timeout)
        live = [call for call in map(_live_call, dialogs or []) if call is not None]
        self._take_listing(live)
        return live

    # -- backstop ------------------------------------------------------------------

    def _seconds_from_now(self, call: _Call | None, max_duration_s: int) -> int:
        """`set_timeout` counts from now; the server's maximum counts from the answer.
        Rounded up, at least 1 (0 would mean no timeout): never earlier than asked.
        An answer time the bridge does not know counts as now (later, never earlier)."""
        if call is None or call.answered_at is None:
            return max(1, max_duration_s)
        talked = (self.clock.now() - call.answered_at).total_seconds()
        return max(1, math.ceil(max_duration_s - talked))

    # -- incoming --------------------------------------------------------------------

    def _on_message(self, message: JsonObject) -> None:
        kind = message.get("type")
        if kind == "authorize":
            self._authorise(message)
            return
        if kind in ("cut_result", "timeout_result", "bye"):
            log.debug("kamailio: %s", message)
            return
        try:
            event = self._event(message)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("kamailio: malformed %s event ignored (%s): %r", kind, exc, message)
            return
        if event is None:
            log.warning("kamailio: unknown message ignored: %r", message)
            return
        self._emit(event)

    def _event(self, message: JsonObject) -> PbxEvent | None:
        kind = message.get("type")
        call_id = str(message["call_id"])
        at = _timestamp(message.get("ts"))
        if kind == "started":
            cabin, number = str(message["cabin"]), str(message["number"])
            self._calls[call_id] = _Call(call_id, cabin, number, started_at=at)
            return CallStarted(call_id, cabin, number, at=at)
        if kind == "ringing":
            return CallRinging(call_id, at=at)
        if kind == "answered":
            call = self._calls.get(call_id)
            if call is None:
                call = self._calls[call_id] = _Call(call_id, str(message.get("cabin", "")),
                                                    str(message.get("number", "")))
            call.answered_at = at or self.clock.now()
            pending = self._backstops.pop(call_id, None)
            if pending is not None:
                self._spawn(self.set_backstop(call_id, pending), f"backstop {call_id}")
            return CallAnswered(call_id, at=at)
        if kind == "ended":
            self._forget(call_id)
            by = _HANGUP_BY.get(str(message.get("hangup_by")), HangupBy.UNKNOWN)
            reason = str(message.get("reason", ""))
            return CallEnded(call_id, reason=_END_REASONS.get(reason, reason), hangup_by=by,
                             at=at)
        if kind == "failed":
            self._forget(call_id)
            code = int(message["code"])
            return CallFailed(call_id, code, reason=_FAILURE_REASONS.get(code, ""), at=at)
        return None

    def _emit(self, event: PbxEvent) -> None:
        if self._listener is None:
            log.debug("no listener attached; dropped %s", event)
            return
        try:
            self.listener.on_event(event)
        except Exception:
            log.exception("listener failed on %s", event)

    def _forget(self, call_id: str) -> None:
        self._calls.pop(call_id, None)
        self._backstops.pop(call_id, None)

    # -- authorisation ---------------------------------------------------------------

    def _authorise(self, message: JsonObject) -> None:
        """An `authorize`: answered in this very step of the loop when the listener
        can answer at once (`authorise_now`: no task, nothing queued before the
        answer is written), else by a task awaiting `async_authorise`."""
        try:
            tindex, tlabel = int(message["tindex"]), int(message["tlabel"])
        except (KeyError, TypeError, ValueError):
            log.error("kamailio: authorize without tindex/tlabel ignored: %r", message)
            return
        call_id = str(message.get("call_id", ""))
        try:
            request = AuthorisationRequest(call_id, str(message["cabin"]),
                                           str(message["number"]),
                                           at=_timestamp(message.get("ts")))
        except KeyError as exc:
            self.authorisation_failures += 1
            log.error("kamailio: authorize without %s: refused: %r", exc, message)
            self._answer(call_id, tindex, tlabel,
                         Authorisation.refuse(RefusalReason.SERVER_UNAVAILABLE, "error"))
            return
        decision = None
        if self._listener is not None:
            try:
                decision = self._listener.authorise_now(request)
            except Exception:
                log.exception("authorisation of %s at once failed; asked again", call_id)
        if decision is not None:
            self._answer(call_id, tindex, tlabel, decision)
        else:
            self._spawn(self._authorise_later(request, tindex, tlabel), "authorise")

    async def _authorise_later(self, request: AuthorisationRequest, tindex: int,
                               tlabel: int) -> None:
        decision = await self._decide(request)
        self._answer(request.pbx_call_id, tindex, tlabel, decision)

    def _answer(self, call_id: str, tindex: int, tlabel: int, decision: Authorisation) -> None:
        answer: JsonObject = {"type": "authorization", "tindex": tindex, "tlabel": tlabel}
        if decision.allowed:
            answer["allow"] = True
            if decision.max_duration_s is not None:
                answer["max_seconds"] = max(1, decision.max_duration_s)
        else:
            reason = decision.reason or RefusalReason.SERVER_UNAVAILABLE
            answer.update(allow=False, code=reason.sip_code, reason=REASON_PHRASES[reason])
        try:
            self.client.send_now(answer)
        except NotConnected:
            # Kamailio answers the cabin 503 when its own timer runs out.
            log.warning("authorisation of %s not delivered: the link is down", call_id)
            return
        self.authorisations += 1

    async def _decide(self, request: AuthorisationRequest) -> Authorisation:
        """The listener's answer, or a refusal on any failure (fail closed)."""
        if self._listener is None:
            return Authorisation.refuse(RefusalReason.SERVER_UNAVAILABLE, "no server attached")
        call_id = request.pbx_call_id
        self._authorising.add(call_id)
        try:
            # A timeout scope, not wait_for: no extra task, so the answer is sent in the
            # loop's very next step after the decision is handed over.
            async with asyncio.timeout(self.settings.authorise_timeout):
                decision = await self.listener.async_authorise(request)
        except TimeoutError:
            self.authorisation_failures += 1
            log.error("authorisation of %s took longer than %.1f s: refused", call_id,
                      self.settings.authorise_timeout)
            return Authorisation.refuse(RefusalReason.SERVER_UNAVAILABLE, "timeout")
        except Exception:
            self.authorisation_failures += 1
            log.exception("authorisation of %s failed: refused", call_id)
            return Authorisation.refuse(RefusalReason.SERVER_UNAVAILABLE, "error")
        finally:
            self._authorising.discard(call_id)
        if call_id in self._cut_while_authorising:
            self._cut_while_authorising.discard(call_id)
            return Authorisation.refuse(RefusalReason.NO_CREDIT, "cut while authorising")
        return decision

    # -- connection --------------------------------------------------------------------

    async def _on_connected(self) -> None:
        self._status(True)
        if self._unsent_cuts:
            log.info("cut %s again now that Kamailio is back", ", ".join(self._unsent_cuts))
            with contextlib.suppress(EvapiError):
                await self.cut_many(list(self._unsent_cuts.items()))
        if not self._started:
            return  # the server reconciles itself once `async_start` returns
        # Not awaited here: the RPC's reply comes through the reader this hook precedes.
        self._spawn(self._reconnected(self._lost_at), "reconcile")

    async def _reconnected(self, lost_at: datetime | None) -> None:
        try:
            live = await self.list_live_calls()
        except EvapiError as exc:
            log.warning("dlg.list after reconnecting failed (%s); next connect retries", exc)
            return
        self._lost_at = None
        log.info("Kamailio is back with %d live call(s) (link lost at %s)", len(live), lost_at)
        if self.on_reconnected is None:
            log.warning("Kamailio reconnected but nobody reconciles: pass on_reconnected")
            return
        result = self.on_reconnected(live, lost_at)
        if asyncio.iscoroutine(result):
            await result

    async def _on_disconnected(self) -> None:
        if self._lost_at is None:
            self._lost_at = self.clock.now()
        log.warning("Kamailio's evapi link is down with %d live call(s): their events are "
                    "lost until it is back, new calls are refused", len(self._calls))
        self._status(False)

    def _status(self, connected: bool) -> None:
        if self.on_status is None:
            return
        try:
            self.on_status(connected)
        except Exception:
            log.exception("on_status handler failed")

    def _take_listing(self, live: list[LiveCall]) -> None:
        """Kamailio's listing replaces the bridge's own idea of what is up."""
        listed = {call.pbx_call_id: call for call in live}
        for call_id in list(self._calls):
            if call_id not in listed:
                self._forget(call_id)
        for call_id, seen in listed.items():
            known = self._calls.setdefault(
                call_id, _Call(call_id, seen.sip_username, seen.dialed_number, seen.started_at))
            if known.answered_at is None and seen.answered_at is not None:
                # dlg.list has whole seconds: the answer came within the second after
                # start_ts, and the latest instant keeps the backstop from ever being early.
                known.answered_at = seen.answered_at + timedelta(seconds=1)

    def _spawn(self, work: Any, name: str) -> None:
        task = asyncio.create_task(work, name=f"kamailio {name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("kamailio bridge task %s failed", task.get_name(),
                      exc_info=task.exception())


def _timestamp(value: Any) -> datetime | None:
    """Kamailio's `ts` (`$TV(Sn)`: seconds since the epoch, microseconds) as UTC."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _live_call(dialog: Any) -> LiveCall | None:
    """One `dlg.list` entry as a LiveCall; None for an ended dialog or garbage."""
    if not isinstance(dialog, dict):
        return None
    state = dialog.get("state")
    call_id = dialog.get("call-id")
    if not isinstance(state, int) or not 1 <= state < DLG_DELETED or not call_id:
        return None
    variables: dict[str, Any] = {}
    for item in dialog.get("variables") or []:
        if isinstance(item, dict):
            variables.update(item)
    init_ts, start_ts = dialog.get("init_ts"), dialog.get("start_ts")
    return LiveCall(str(call_id), str(variables.get("cabin", "")),
                    str(variables.get("number", "")), started_at=_timestamp(init_ts),
                    answered_at=_timestamp(start_ts) if state in DLG_ANSWERED else None)
