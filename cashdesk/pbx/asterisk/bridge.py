"""`AsteriskBridge`: the `PbxBridge` for Asterisk, over AMI and FastAGI.

- events: AMI events → `CallLifecycle` → `CallStarted/Ringing/Answered/Ended/Failed`;
- authorisation: the dialplan's `AGI(agi://…/authorize)` → the listener's
  `async_authorise` → channel variables for `Dial(…,L(ms))` or a refusal;
- `cut`: AMI `Hangup` of the cabin's channel (then of any dialed leg still up); a
  channel that is already gone (`No such channel`) is success;
- `set_backstop`: AMI `AbsoluteTimeout` on the dialed leg that answered, counted from
  the answer (armed at the answer if the call is still ringing). That leg carries the
  timer of `Dial(…,L(ms))`: with a bare `L(ms)` (no warning, no sounds) Asterisk does
  not run a bridge timer but sets the answered channel's hangup time, as `S()` does
  (`ast_bridge_timelimit`, app_dial.c; the recordings `dial_limit_304_L_x` and
  `dial_limit_302_gL_x` show that leg going first). `AbsoluteTimeout` on the same
  channel replaces that time, so the server moves the limit either way: shorter when
  more calls share the credit, longer after a top-up. Both the limit and the backstop
  fire `backstop_grace` after the instant the server computed, so the server's own cut,
  exact to the millisecond, comes first while it is alive (Asterisk's timers are exact
  too: without the grace they would race it);
- reconciliation: after every (re)connect, `CoreShowChannels` brings the bridge's
  own state in line, silently (calls gone while the link was down are closed so no
  late event reports them; unknown cabin calls are taken in so their hangup is
  reported). After a *re*connect, `on_reconnected(live_calls, lost_at)` hands the
  listing and the moment the link was last known alive to the server, whose
  reconcile closes, recovers, adopts or cuts its calls (at the first connect the
  server reconciles by itself, through `list_live_calls`).
- link status: `on_status(True)` after each login and listing, `on_status(False)` when
  the AMI connection drops. While it is down, authorisation requests are refused (503):
  the server could neither see nor cut the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cashdesk.clock import Clock, SystemClock
from cashdesk.pbx.asterisk.ami import AmiActionError, AmiClient, AmiError
from cashdesk.pbx.asterisk.fastagi import AgiDecision, FastAgiServer
from cashdesk.pbx.asterisk.lifecycle import (
    DEFAULT_CABIN_CONTEXT,
    DEFAULT_CABIN_PATTERN,
    AsteriskCall,
    CabinMatcher,
    CallLifecycle,
)
from cashdesk.pbx.asterisk.packets import Packet
from cashdesk.pbx.bridge import (
    Authorisation,
    AuthorisationRequest,
    CutReason,
    LiveCall,
    PbxBridge,
    RefusalReason,
)
from cashdesk.pbx.events import CallAnswered, PbxEvent

log = logging.getLogger(__name__)

#: Q.850 cause sent with our Hangup actions: 16, normal clearing (as the PBX's own).
CUT_CAUSE = 16

#: Asterisk answers `AbsoluteTimeout` 0 (or less) with "No timeout specified".
MIN_TIMEOUT_S = 0.001

#: `on_reconnected(live_calls, lost_at)`: called (in the event loop, must not block)
#: after each reconnect, with the live cabin calls and when the link was last alive.
ReconnectHandler = Callable[[list[LiveCall], datetime | None], None]
#: `on_status(connected)`: the AMI link went up (logged in and listed) or down.
StatusHandler = Callable[[bool], None]


@dataclass(frozen=True)
class AsteriskSettings:
    """Where the AMI and the FastAGI server are, and how cabins are recognised."""

    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    username: str = "cashdesk"
    secret: str = ""
    agi_host: str = "127.0.0.1"
    agi_port: int | None = 4573        # None: no FastAGI server (tests, AMI-only)
    cabin_pattern: str = DEFAULT_CABIN_PATTERN
    cabin_context: str | None = DEFAULT_CABIN_CONTEXT   # None: any context
    ping_interval: float = 20.0
    action_timeout: float = 5.0
    connect_timeout: float = 5.0
    authorise_timeout: float = 2.0
    backstop_grace: float = 0.5      # L() and AbsoluteTimeout fire this long after the cut
    reconnect_delay: tuple[float, float] = (0.5, 30.0)


class AsteriskBridge(PbxBridge):
    name = "asterisk"

    def __init__(self, settings: AsteriskSettings, *, clock: Clock | None = None,
                 on_reconnected: ReconnectHandler | None = None,
                 on_status: StatusHandler | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.clock = clock or SystemClock()
        self.on_reconnected = on_reconnected
        self.on_status = on_status
        self.matcher = CabinMatcher(settings.cabin_pattern, settings.cabin_context)
        self.lifecycle = CallLifecycle(self.matcher)
        self.ami = AmiClient(settings.ami_host, settings.ami_port, settings.username,
                             settings.secret, on_event=self._on_ami_event,
                             on_connected=self._on_connected,
                             on_disconnected=self._on_disconnected,
                             ping_interval=settings.ping_interval,
                             action_timeout=settings.action_timeout,
                             connect_timeout=settings.connect_timeout,
                             reconnect_delay=settings.reconnect_delay)
        self.agi: FastAgiServer | None = None
        if settings.agi_port is not None:
            self.agi = FastAgiServer(self._authorise, self.matcher.cabin,
                                     host=settings.agi_host, port=settings.agi_port,
                                     authorise_timeout=settings.authorise_timeout,
                                     limit_grace_ms=round(settings.backstop_grace * 1000),
                                     on_decision=self._on_decision, now=self.clock.now)
        self._backstops: dict[str, int] = {}      # pbx_call_id → seconds, armed at answer
        self._tasks: set[asyncio.Task[None]] = set()
        self._connects = 0
        self._lost_at: datetime | None = None
        self._stopping = False

    # -- PbxBridge -----------------------------------------------------------------

    async def async_start(self) -> None:
        self._stopping = False
        if self.agi is not None:
            await self.agi.async_start()
        try:
            await self.ami.async_start()
        except BaseException:
            if self.agi is not None:
                await self.agi.async_stop()
            raise

    async def async_stop(self) -> None:
        self._stopping = True
        await self.ami.async_stop()
        if self.agi is not None:
            await self.agi.async_stop()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def cut(self, pbx_call_id: str, reason: CutReason) -> None:
        call = self.lifecycle.call(pbx_call_id)
        if call is None or not call.live:
            log.info("cut %s (%s): no such live call, nothing to do", pbx_call_id, reason)
            return
        self.lifecycle.note_cut(pbx_call_id, reason.value)
        log.info("cut %s (cabin %s, %s): %s", pbx_call_id, call.cabin, call.dialed_number,
                 reason.value)
        caller, *legs = call.channels()
        if await self.hangup_channel(caller):
            return  # Dial() takes the dialed legs down with the cabin's channel
        for leg in legs:
            await self.hangup_channel(leg)

    async def set_backstop(self, pbx_call_id: str, max_duration_s: int) -> None:
        call = self.lifecycle.call(pbx_call_id)
        if call is None or not call.live:
            log.info("backstop for %s: no such live call", pbx_call_id)
            return
        if call.answered_at is None:
            self._backstops[pbx_call_id] = max_duration_s
            return
        await self._arm_backstop(call, max_duration_s)

    async def list_live_calls(self) -> list[LiveCall]:
        return await self._reconcile()

    # -- commands --------------------------------------------------------------------

    async def hangup_channel(self, channel: str, cause: int = CUT_CAUSE) -> bool:
        """AMI `Hangup`. True if Asterisk hung it up, False if it was already gone."""
        try:
            await self.ami.action("Hangup", {"Channel": channel, "Cause": cause})
        except AmiActionError as exc:
            if exc.no_such_channel:
                log.info("hangup %s: already gone (No such channel)", channel)
                return False
            raise
        return True

    async def _arm_backstop(self, call: AsteriskCall, max_duration_s: int) -> None:
        assert call.answered_at is not None
        now = self.clock.now()
        # Counted from the answer, not from now: the timer fires at the same instant
        # however late this is sent. Asterisk takes fractions of a second.
        left = max_duration_s + self.settings.backstop_grace \
            - (now - call.answered_at).total_seconds()
        seconds = max(MIN_TIMEOUT_S, math.ceil(left * 1000) / 1000)
        channel = call.answering_channel or call.caller_channel
        try:
            await self.ami.action("AbsoluteTimeout",
                                  {"Channel": channel, "Timeout": f"{seconds:.3f}"})
        except AmiActionError as exc:
            if exc.no_such_channel:
                return
            raise
        self.lifecycle.note_backstop(call.pbx_call_id, now + timedelta(seconds=seconds))
        log.info("backstop for %s: %s hangs up in %.3f s (max %d s from the answer)",
                 call.pbx_call_id, channel, seconds, max_duration_s)

    # -- incoming --------------------------------------------------------------------

    def _event_time(self, packet: Packet) -> datetime:
        """The PBX's own time when it sends one (`timestampevents = yes`), else ours."""
        stamp = packet.get("Timestamp")
        if stamp:
            with contextlib.suppress(ValueError, OverflowError, OSError):
                return datetime.fromtimestamp(float(stamp), UTC)
        return self.clock.now()

    def _on_ami_event(self, packet: Packet) -> None:
        for event in self.lifecycle.handle(packet, self._event_time(packet)):
            self._emit(event)

    def _emit(self, event: PbxEvent) -> None:
        if isinstance(event, CallAnswered) and event.pbx_call_id in self._backstops:
            call = self.lifecycle.call(event.pbx_call_id)
            seconds = self._backstops.pop(event.pbx_call_id)
            if call is not None:
                self._spawn(self._arm_backstop(call, seconds), f"backstop {call.pbx_call_id}")
        if self._listener is None:
            log.debug("no listener attached; dropped %s", event)
            return
        try:
            self.listener.on_event(event)
        except Exception:
            log.exception("listener failed on %s", event)

    def _spawn(self, coro: object, name: str) -> None:
        async def guarded() -> None:
            try:
                await coro  # type: ignore[misc]
            except AmiError as exc:
                log.warning("%s failed: %s", name, exc)
        task = asyncio.create_task(guarded(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_disconnected(self) -> None:
        self._lost_at = self.clock.now() - timedelta(seconds=self.ami.seconds_since_received())
        live = self.lifecycle.live_calls()
        if self._stopping:
            log.info("AMI link closed: the bridge is stopping (%d live call(s))", len(live))
            self._status(False)
            return
        log.warning("AMI link lost (last heard at %s) with %d live call(s): PBX events "
                    "are not seen and new calls are refused until it is back",
                    self._lost_at, len(live))
        self._status(False)

    def _status(self, connected: bool) -> None:
        if self.on_status is None:
            return
        try:
            self.on_status(connected)
        except Exception:
            log.exception("on_status handler failed")

    async def _on_connected(self) -> None:
        self._connects += 1
        live = await self._reconcile()
        if self._connects > 1:
            self._reconnected(live)
        self._status(True)

    def _reconnected(self, live: list[LiveCall]) -> None:
        lost_at, self._lost_at = self._lost_at, None
        if self.on_reconnected is None:
            log.warning("AMI reconnected but nobody reconciles: the server should pass "
                        "on_reconnected (live calls: %s)", [c.pbx_call_id for c in live])
            return
        try:
            self.on_reconnected(live, lost_at)
        except Exception:
            log.exception("on_reconnected handler failed")

    async def _reconcile(self) -> list[LiveCall]:
        """`CoreShowChannels` → the bridge's own state; returns the live cabin calls."""
        since = self.lifecycle.seq
        result = await self.ami.action_list("CoreShowChannels")
        changed = self.lifecycle.reconcile(result.items, self.clock.now(), since_seq=since)
        for call in changed.gone:
            self._backstops.pop(call.pbx_call_id, None)
        return [self._live_call(c) for c in self.lifecycle.live_calls()]

    @staticmethod
    def _live_call(call: AsteriskCall) -> LiveCall:
        return LiveCall(call.pbx_call_id, call.cabin, call.dialed_number,
                        started_at=call.started_at, answered_at=call.answered_at)

    # -- authorisation -------------------------------------------------------------------

    async def _authorise(self, request: AuthorisationRequest) -> Authorisation:
        if self._listener is None:
            return Authorisation.refuse(RefusalReason.SERVER_UNAVAILABLE,
                                        "no cash desk attached")
        if not self.ami.connected:
            # Its events would not be seen nor could it be cut: only L() would end it.
            return Authorisation.refuse(RefusalReason.SERVER_UNAVAILABLE,
                                        "the cash desk has lost the PBX's AMI link")
        return await self.listener.async_authorise(request)

    def _on_decision(self, decision: AgiDecision) -> None:
        if decision.request is not None and decision.authorisation.allowed:
            self.lifecycle.note_limit(decision.request.pbx_call_id, decision.limit_ms)
