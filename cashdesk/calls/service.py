"""The asyncio edge of billing: PBX bridges on the event loop, the call tracker on one
writer thread, the prepaid guard's timer in between.

- Bridges call `on_event` (queued, in arrival order, to the writer thread) and await
  `async_authorise` (run on the writer thread too, so an authorisation and the events
  of other calls never race for the same credit).
- The tracker's announcements come back to the loop: changes to `publish` (the
  WebSocket hub), commands to the bridge that carries the call. Backstop updates for
  one call are coalesced: while one is being sent, only the latest value waits.
- A `DeadlineRunner` sleeps until the guard's next deadline and is woken after every
  operation, since any of them may move it.

The server builds one `CallService` per process, `await async_start()` in its
`cleanup_ctx` and `await async_stop()` on the way out.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from cashdesk.calls.changes import Change
from cashdesk.calls.tracker import CallTracker, ReconcileReport
from cashdesk.pbx.bridge import (
    Authorisation,
    AuthorisationRequest,
    BridgeCommand,
    Cut,
    CutReason,
    LiveCall,
    PbxBridge,
    SetBackstop,
)
from cashdesk.pbx.events import CallStarted, PbxEvent
from cashdesk.prepaid.runner import DeadlineRunner

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How many calls' bridges are remembered.
CARRIER_MEMORY = 20_000


class _BridgePort:
    """The listener one bridge sees: remembers which bridge carries which call, so a
    command goes back to the right PBX."""

    def __init__(self, service: CallService, bridge: PbxBridge) -> None:
        self._service = service
        self._bridge = bridge

    def on_event(self, event: PbxEvent) -> None:
        if isinstance(event, CallStarted):
            self._service._carried_by(event.pbx_call_id, self._bridge)
        self._service.on_event(event)

    async def async_authorise(self, request: AuthorisationRequest) -> Authorisation:
        self._service._carried_by(request.pbx_call_id, self._bridge)
        return await self._service.async_authorise(request)


class CallService:
    """See the module doc."""

    def __init__(self, tracker: CallTracker, bridges: Iterable[PbxBridge] = (), *,
                 publish: Callable[[Change], None] | None = None,
                 executor: ThreadPoolExecutor | None = None) -> None:
        self.tracker = tracker
        self.bridges = list(bridges)
        self._publish = publish or (lambda change: None)
        self._own_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(max_workers=1,
                                                        thread_name_prefix="cashdesk-writer")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        # Which bridge carries which call, so a command goes back to the right PBX;
        # bounded, oldest forgotten first (a forgotten call's cut goes to every bridge).
        self._carriers: OrderedDict[str, PbxBridge] = OrderedDict()
        self._queued: deque[PbxEvent] = deque()
        self._draining = False
        self._backstops_wanted: dict[str, int] = {}
        self._backstops_sending: set[str] = set()
        self.runner = DeadlineRunner(tracker.clock, self._next_deadline, self._fire)
        tracker.on_change = self._from_writer_change
        tracker.on_command = self._from_writer_command
        for bridge in self.bridges:
            bridge.attach(_BridgePort(self, bridge))

    # ------------------------------------------------------------- lifecycle ---
    async def async_start(self) -> None:
        """Take over the live calls the database knows, connect the bridges, reconcile
        with what the PBXs have up, and start the timer."""
        self._loop = asyncio.get_running_loop()
        loaded = await self._writer(self.tracker.load)
        log.info("billing: %d live call(s) taken over from the database", loaded)
        for bridge in self.bridges:
            await bridge.async_start()
        await self.async_reconcile()
        self.runner.start()

    async def async_stop(self, *, settle_timeout: float = 10.0) -> None:
        """Stop the timer and the bridges, let the events already received reach the
        database (they are money), then cancel what is left and close the writer."""
        await self.runner.stop()
        for bridge in self.bridges:
            await bridge.async_stop()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settle_timeout
        while self._tasks and loop.time() < deadline:
            # Sending to a stopped bridge fails at once; a batch of events finishes.
            await asyncio.wait(set(self._tasks), timeout=deadline - loop.time())
        if self._tasks:
            log.warning("billing: %d task(s) still busy after %.0f s; cancelled",
                        len(self._tasks), settle_timeout)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._own_executor:
            self._executor.shutdown(wait=True)

    # ------------------------------------------------------------ from bridges ---
    def on_event(self, event: PbxEvent) -> None:
        """Queue one PBX event for the tracker (never blocks the loop). Events that
        queue up while the writer is busy go to it together, in arrival order."""
        self._queued.append(event)
        if not self._draining:
            self._draining = True
            self._spawn(self._drain())

    async def _drain(self) -> None:
        try:
            while self._queued:
                batch = list(self._queued)
                self._queued.clear()
                try:
                    await self._writer(self.tracker.handle_many, batch)
                except Exception:
                    # One bad event must not take the rest of the batch with it.
                    log.exception("a batch of %d PBX events failed; applying them one by one",
                                  len(batch))
                    for event in batch:
                        try:
                            await self._writer(self.tracker.handle, event)
                        except Exception:
                            log.exception("PBX event dropped: %s", event)
        finally:
            self._draining = False

    async def async_authorise(self, request: AuthorisationRequest) -> Authorisation:
        return await self._writer(self.tracker.authorise, request)

    # ------------------------------------------------------------ from the server ---
    async def async_reconcile(self, *, lost_at: datetime | None = None) -> ReconcileReport:
        """Compare with every bridge's live calls (after a bridge reconnected, with the
        moment it lost its PBX). A bridge that cannot list its calls is skipped and
        nothing is closed: better to keep billing a call than to lose one."""
        live = []
        for bridge in self.bridges:
            try:
                live += await bridge.list_live_calls()
            except Exception:
                log.exception("bridge %s could not list its live calls; reconcile later",
                              bridge.name)
                return ReconcileReport()
        return await self._writer(partial(self.tracker.reconcile, live, lost_at=lost_at))

    def bridge_reconnected(self, bridge: PbxBridge, live_calls: list[LiveCall],
                           lost_at: datetime | None) -> None:
        """A bridge got its PBX back and listed what is up (Asterisk's
        `on_reconnected`): reconcile that PBX's calls. Loop thread; never blocks."""
        def ours(pbx_call_id: str) -> bool:
            carrier = self._carriers.get(pbx_call_id)
            return carrier is bridge or (carrier is None and len(self.bridges) == 1)
        self._spawn(self._writer(partial(self.tracker.reconcile, live_calls, lost_at=lost_at,
                                         scope=ours)))

    async def async_balances_changed(self, account_ids: Iterable[int]) -> None:
        """Call after a top-up or correction was committed."""
        await self._writer(self.tracker.refresh_balances, list(account_ids))

    async def async_cut(self, pbx_call_id: str, reason: CutReason = CutReason.OPERATOR) -> bool:
        return await self._writer(self.tracker.cut, pbx_call_id, reason)

    async def async_inspect(self, work: Callable[[CallTracker], T]) -> T:
        """`work(tracker)` on the writer thread, between two billing operations: the
        tracker and its guard are not thread-safe (e.g. what the guard reserves now,
        for the live snapshot). `work` must only read."""
        return await self._writer(work, self.tracker)

    async def async_refresh_rates(self, refresh: Callable[[], object]) -> None:
        """Run a rate refresh (e.g. `lambda: rater.refresh(session)`) between two
        billing operations, so no call is rated on a half-swapped tariff set."""
        await self._writer(refresh)

    # ---------------------------------------------------------------- internals ---
    async def _writer(self, work: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, partial(work, *args))
        finally:
            # Whatever happened may have moved the next deadline.
            self.runner.wake()

    async def _next_deadline(self) -> int | None:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.tracker.next_deadline)

    async def _fire(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self.tracker.on_time)

    def _from_writer_change(self, change: Change) -> None:
        self._call_soon(self._publish, change)

    def _from_writer_command(self, command: BridgeCommand) -> None:
        self._call_soon(self._send, command)

    def _call_soon(self, callback: Callable[..., Any], *args: Any) -> None:
        if self._loop is None:
            callback(*args)
        else:
            self._loop.call_soon_threadsafe(callback, *args)

    def _send(self, command: BridgeCommand) -> None:
        if isinstance(command, SetBackstop):
            self._backstops_wanted[command.pbx_call_id] = command.max_duration_s
            if command.pbx_call_id not in self._backstops_sending:
                self._backstops_sending.add(command.pbx_call_id)
                self._spawn(self._send_backstops(command.pbx_call_id))
            return
        assert isinstance(command, Cut)
        self._backstops_wanted.pop(command.pbx_call_id, None)
        self._spawn(self._send_cut(command))

    async def _send_cut(self, command: Cut) -> None:
        bridge = self._carriers.get(command.pbx_call_id)
        targets = [bridge] if bridge is not None else self.bridges
        for target in targets:
            try:
                await target.cut(command.pbx_call_id, command.reason)
            except Exception:
                log.exception("bridge %s could not cut call %s (its backstop still will)",
                              target.name, command.pbx_call_id)

    async def _send_backstops(self, pbx_call_id: str) -> None:
        try:
            while pbx_call_id in self._backstops_wanted:
                seconds = self._backstops_wanted.pop(pbx_call_id)
                bridge = self._carriers.get(pbx_call_id)
                for target in [bridge] if bridge is not None else self.bridges:
                    try:
                        await target.set_backstop(pbx_call_id, seconds)
                    except Exception:
                        log.exception("bridge %s could not set the backstop of call %s",
                                      target.name, pbx_call_id)
        finally:
            self._backstops_sending.discard(pbx_call_id)

    def _carried_by(self, pbx_call_id: str, bridge: PbxBridge) -> None:
        self._carriers[pbx_call_id] = bridge
        self._carriers.move_to_end(pbx_call_id)
        while len(self._carriers) > CARRIER_MEMORY:
            self._carriers.popitem(last=False)

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("billing task failed", exc_info=task.exception())
