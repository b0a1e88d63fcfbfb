"""The asyncio edge of billing: PBX bridges on the event loop, the call tracker on one
writer thread, the prepaid guard's timer in between.

- Bridges call `on_event` (queued, in arrival order, to the writer thread) and ask
  `authorise_now`, then await `async_authorise`. The tracker and its guard are the
  writer's: it holds the tracker's lock for every operation, except while the
  database works with the tracker's memory whole (`CallTracker.at_rest`: an event's
  statements, a commit), and as it lets go it decides from memory what waits. When
  the lock is free (the writer idle, or waiting for the database), an authorisation
  is decided at once on the loop from memory (`CallTracker.authorise_from_memory`: the
  cabin's place as last read, the guard's balances), after those already waiting,
  in order; what memory cannot allow, or comes while the writer is busy, goes to the
  writer (which tries memory first too). An authorisation and the events of other
  calls never race for the same credit, and the loop never waits for the lock.
  Whatever queues up while the writer is busy goes to it together, taken by the
  writer itself whenever it is free: the events as one batch in one transaction
  (taking in, for a few milliseconds, those that arrive while it is applied, and
  lingering a moment after the last for the next of a burst),
  with the waiting authorisations decided first and again after each event
  (`CallTracker.handle_many`), each answer handed over at once. A call's setup is
  held until its answer and deciding one costs a fraction of a millisecond, so an
  INVITE waits for the one event in hand, not for a whole batch and its commit. An
  authorisation may thus be decided before an event that arrived just before it
  (another call of the same account answered): admission is the same either way (that
  call holds its first increment until its billing passes it), and the talk time
  given as the new call's first backstop is replaced by the exact one once it is
  answered. Likewise a live call's move (dialing, ringing, answered) goes to the
  desks as soon as its event is applied — even before, from memory on the loop,
  when the tracker is free as it arrives (`CallTracker.show_from_memory`; a start
  from its authorisation, without its row's id): in a burst the writer may be
  applying the other calls' events for milliseconds. What calls cost goes to the
  desks once committed. What waits is taken in three lanes: the timer's cuts first,
  then the PBX's work, then the rest (top-ups, rate refreshes, reads).
- The tracker's announcements come back to the loop: changes to `publish` (the
  WebSocket hub), commands to the bridge that carries the call. Backstop updates for
  one call are coalesced: while one is being sent, only the latest value waits.
- A `DeadlineRunner` sleeps until the guard's next deadline. Any operation may move
  it, so the writer computes it at the end of the same trip and hands it over with
  the operation's changes and commands: one hand-over to the loop per trip, no extra
  trip to the writer to ask. The cuts due at a deadline are decided on the writer
  just before it (from memory, `CallTracker.take_due`), sent by the loop at the
  instant, each bridge's in one batch, and closed in the database after.

The server builds one `CallService` per process, `await async_start()` in its
`cleanup_ctx` and `await async_stop()` on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from enum import IntEnum
from functools import partial
from typing import Any, TypeVar

from cashdesk.call_state import CallState
from cashdesk.calls.changes import CallSnapshot, CallUpdated, Change
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
from cashdesk.pbx.events import CallAnswered, CallRinging, CallStarted, PbxEvent
from cashdesk.prepaid.runner import DeadlineRunner

log = logging.getLogger(__name__)

T = TypeVar("T")
V = TypeVar("V")

class Lane(IntEnum):
    """Which operations the writer takes first (lowest first; in order within one)."""

    TIMER = 0    # the guard's cuts at their instant
    PBX = 1      # event batches and authorisations, in arrival order
    OTHER = 2    # top-ups, rate refreshes, reconciliations, reads


#: How long the writer waits for the loop to send the guard's cuts before it goes on
#: closing the calls (see `CallService._cuts_from_writer`).
CUT_HANDOVER_WAIT_S = 0.02

#: Before a cut's instant the loop naps in steps this long, and spins the last
#: `CUT_SPIN_S` (see `CallService._at_instant`).
CUT_NAP_S = 0.001
CUT_SPIN_S = 0.002

#: How long a batch of PBX events takes in those that arrive while it is applied
#: before it commits (see `CallService._taking_in`): the cost of a commit shared by a
#: burst, at the price of the first events' commit waiting for the last.
BATCH_TAKES_IN_S = 0.01

#: How long a batch of PBX events waits, with the tracker free, for the next event of
#: a burst before it commits (see `CallService._taking_in`): the events of a burst
#: that arrive just after the first was applied join its transaction instead of
#: waiting for its commit. Each event is announced as it is applied, before this.
BATCH_LINGERS_S = 0.001

#: How often PBX events waiting for a database that cannot be reached are tried again.
DATABASE_RETRY_S = 1.0

#: How many calls' bridges are remembered.
CARRIER_MEMORY = 20_000


def _remember(memory: OrderedDict[str, V], pbx_call_id: str, value: V) -> None:
    """Keep `value` for a call, the newest last, forgetting the oldest beyond
    `CARRIER_MEMORY` calls."""
    memory[pbx_call_id] = value
    memory.move_to_end(pbx_call_id)
    while len(memory) > CARRIER_MEMORY:
        memory.popitem(last=False)


#: An authorisation waiting for the writer, and where its answer goes.
_Asking = tuple[AuthorisationRequest, "asyncio.Future[Authorisation]"]


class _WaitingAuthorisations:
    """The authorisations the bridges wait for, in arrival order; the writer takes
    them whenever it is between two things (`AuthorisationQueue`, see
    `CallTracker.handle_many`). A deque is safe between threads."""

    def __init__(self, service: CallService) -> None:
        self._service = service
        self.queue: deque[_Asking] = deque()
        self._taken: list[_Asking] = []

    def take(self) -> list[AuthorisationRequest]:
        taken = []
        while self.queue:
            request, answer = self.queue.popleft()
            # A caller that gave up (its PBX's timer ran out) is not asked for; one
            # that gives up from now on is withdrawn when its answer comes (`_answer`).
            if not answer.done():
                taken.append((request, answer))
        self._taken = taken
        return [request for request, _ in taken]

    def answer(self, decisions: list[Authorisation | BaseException]) -> None:
        taken, self._taken = self._taken, []
        self._service._answer_from_writer(taken, decisions)


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

    def authorise_now(self, request: AuthorisationRequest) -> Authorisation | None:
        self._service._carried_by(request.pbx_call_id, self._bridge)
        return self._service.authorise_now(request)

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
        # The state each live call was last published in (the loop's; see `_show_now`);
        # bounded like `_carriers` (a call given up is never published final).
        self._on_desks: OrderedDict[str, CallState] = OrderedDict()
        # Events, in the order the bridges gave them, and authorisations, taken by the
        # writer itself (`_pull`); a deque is safe between threads.
        self._events: deque[PbxEvent] = deque()
        # Set by whatever gives the writer work: ends a batch's lingering (`_more_events`).
        self._work_arrived = threading.Event()
        self._asking = _WaitingAuthorisations(self)
        self._pull_waiting = False
        self._backstops_wanted: dict[str, int] = {}
        self._backstops_sending = False
        # What the writer announces during one trip, handed to the loop at its end in
        # one go (see `_trip`); None outside a trip (delivered one by one).
        self._outgoing: list[tuple[bool, Any]] | None = None
        # Operations waiting for the writer, by lane (see `Lane`; the module doc); each
        # executor task runs whichever is first when it starts.
        self._jobs_lock = threading.Lock()
        self._lanes: tuple[deque[tuple[Future[Any], Callable[[], Any]]], ...] = tuple(
            deque() for _ in Lane)
        # The tracker's: held by the writer for every operation but its `at_rest`
        # windows, taken by the loop only if free (`authorise_now`). `_decided_on_loop` counts
        # what the loop admitted: a deadline computed before one of those is stale.
        self._tracker_lock = threading.Lock()
        self._writer_thread: int | None = None
        self._decided_on_loop = 0
        # The database could not be reached: PBX events wait for it (writer thread).
        self._database_away = False
        self._retry_due = False      # a pull for them is due in DATABASE_RETRY_S
        self._stopped = False
        tracker.at_rest = self._unlocked
        tracker.announce_live = self._announce_live
        self.runner = DeadlineRunner(tracker.clock, self._next_deadline, self._fire)
        tracker.on_change = self._from_writer_change
        tracker.on_command = self._from_writer_command
        tracker.on_cuts = self._cuts_from_writer
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
        # The events already received are taken before this (their lane comes first).
        settled = asyncio.wrap_future(self._submit(lambda: None, lane=Lane.OTHER, trip=False))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(settled, settle_timeout)
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
        self._stopped = True
        unstored = len(self._events) + self.tracker.missed
        if unstored:
            log.error("billing: stopped with %d PBX event(s) not stored; the next start "
                      "reconciles with the PBX", unstored)
        if self._own_executor:
            self._executor.shutdown(wait=True)

    # ------------------------------------------------------------ from bridges ---
    def on_event(self, event: PbxEvent) -> None:
        """Queue one PBX event for the tracker (never blocks the loop); a live call's
        move is shown to the desks at once if memory allows (`_show_now`)."""
        if isinstance(event, (CallStarted, CallRinging, CallAnswered)):
            self._show_now(event)
        self._events.append(event)
        self._work_arrived.set()
        self._pull_soon()

    def _show_now(self, event: PbxEvent) -> None:
        """On the loop: the move `event` makes, published before the writer applies
        it, if the tracker is free (`CallTracker.show_from_memory`) and the desks
        were given the call's move before it (`_on_desks`; nothing, for a start): a
        move whose previous one the writer has announced but the loop not yet
        published is left to the writer, so the desks see every move in order."""
        on_desks = self._on_desks.get(event.pbx_call_id)
        if (on_desks is None) != isinstance(event, CallStarted):
            return       # its start not shown, or its announcement on its way
        if not self._tracker_lock.acquire(blocking=False):
            return       # the writer is at work: it announces the move as it applies it
        try:
            change = self.tracker.show_from_memory(event, after=on_desks)
        except Exception:
            log.exception("could not show %s from memory; the writer announces it", event)
            change = None
        finally:
            self._tracker_lock.release()
        if change is not None:
            self._publish(change)
            self._published(change.call)

    async def async_authorise(self, request: AuthorisationRequest) -> Authorisation:
        """The tracker's answer (see `CallTracker.authorise`)."""
        at_once = self.authorise_now(request)
        if at_once is not None:
            return at_once
        answer: asyncio.Future[Authorisation] = asyncio.get_running_loop().create_future()
        self._asking.queue.append((request, answer))
        self._pull_soon()
        return await answer

    def authorise_now(self, request: AuthorisationRequest) -> Authorisation | None:
        """On the loop: the call allowed from memory, or None (see the module doc)."""
        if not self._tracker_lock.acquire(blocking=False):
            return None
        before = self._decided_on_loop
        deadline: int | None = None
        told = False
        try:
            decision = self._from_memory_in_turn(request)
            if self._decided_on_loop != before:
                # Their first increments are held now: the guard's cuts may come earlier.
                deadline, told = self.tracker.next_deadline(), True
        except Exception:
            log.exception("authorisation of %s from memory failed; the writer decides",
                          request.pbx_call_id)
            decision = None
        finally:
            self._tracker_lock.release()
        if told:
            self.runner.deadline_is(deadline)
        elif self._decided_on_loop != before:
            self.runner.wake()       # not computed here: the timer asks the writer
        return decision

    def _from_memory_in_turn(self, request: AuthorisationRequest) -> Authorisation | None:
        """On the loop, under the tracker's lock: the authorisations already waiting,
        then `request`, allowed from memory in arrival order (first come, first served
        for credit) up to the first that needs the writer, which decides it and those
        behind it."""
        allowed, all_of_them = self._waiting_from_memory()
        self._decided_on_loop += len(allowed)
        for (_, answer), earlier in allowed:
            if not answer.done():
                answer.set_result(earlier)
        if not all_of_them:
            return None
        decision = self.tracker.authorise_from_memory(request)
        if decision is not None:
            self._decided_on_loop += 1
        return decision

    def _waiting_from_memory(self) -> tuple[list[tuple[_Asking, Authorisation]], bool]:
        """Under the tracker's lock: the waiting authorisations memory allows, taken
        from the queue in arrival order up to the first it cannot (False: one is left
        for the writer)."""
        allowed: list[tuple[_Asking, Authorisation]] = []
        waiting = self._asking.queue
        while waiting:
            asking = waiting[0]
            if not asking[1].done():
                decision = self.tracker.authorise_from_memory(asking[0])
                if decision is None:
                    return allowed, False
                allowed.append((asking, decision))
            waiting.popleft()
        return allowed, True

    @contextlib.contextmanager
    def _unlocked(self) -> Iterator[None]:
        """The writer, around database work with the tracker's memory whole (a commit,
        a statement of an event): the loop may decide meanwhile. What waits already
        and memory can allow is decided first (the writer would otherwise only come
        to it after the event in hand)."""
        if self._writer_thread != threading.get_ident():
            yield          # not called from an operation of this service's writer
            return
        if self._asking.queue:
            allowed, _ = self._waiting_from_memory()
            if allowed:
                self._answer_from_writer([asking for asking, _ in allowed],
                                         [decision for _, decision in allowed])
        self._writer_thread = None
        self._tracker_lock.release()
        try:
            yield
        finally:
            self._tracker_lock.acquire()
            self._writer_thread = threading.get_ident()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The writer, for one operation."""
        with self._tracker_lock:
            self._writer_thread = threading.get_ident()
            try:
                yield
            finally:
                self._writer_thread = None

    def _pull_soon(self) -> None:
        with self._jobs_lock:
            if self._pull_waiting:
                return
            self._pull_waiting = True
        self._submit(self._pull, lane=Lane.PBX, trip=False)

    def _pull(self) -> None:
        """Writer thread: take every event the bridges queued, as one batch and one
        trip, deciding the waiting authorisations first and between the events (see
        `CallTracker.handle_many` and the module doc)."""
        with self._jobs_lock:
            # What arrives from now on waits for the next pull.
            self._pull_waiting = False
        events = []
        while self._events:
            events.append(self._events.popleft())
        if not events and not self._asking.queue and not self.tracker.missed:
            # Taken in or decided during the trip before this one, which may have left
            # the next deadline to this operation (see `_trip`).
            if not any(self._lanes):
                self._hand_over_with_deadline([])
            return
        try:
            self._trip(self._handle_now, events)
        except Exception:
            # The batch handles its own failures; this is the trip's hand-over.
            log.exception("PBX work failed")

    def _handle_now(self, batch: list[PbxEvent]) -> None:
        try:
            self.tracker.handle_many(self._taking_in(batch), self._asking)
        except Exception:
            # The tracker drops a failing event alone; this is the batch's transaction
            # failing around them (the commit, the database gone). It keeps them
            # (`missed`) for its next transaction, tried at once: a connection lost
            # is replaced, and the authorisations waiting are decided.
            if not self._database_away:      # said once, not at every try
                log.exception("a batch of %d PBX events failed; trying again", len(batch))
        else:
            self._database_reached()
            return
        try:
            self.tracker.handle_many((), self._asking)
        except Exception:
            if not self._database_away:
                log.exception("billing: the database cannot be reached; %d PBX event(s) "
                              "wait for it, tried again every %.0f s", self.tracker.missed,
                              DATABASE_RETRY_S)
            self._wait_for_the_database()
            # Whatever could not be decided is refused by its bridge (fail closed).
            requests = self._asking.take()
            self._asking.answer([RuntimeError("not decided")] * len(requests))
        else:
            self._database_reached()

    def _database_reached(self) -> None:
        if self._database_away:
            self._database_away = False
            log.warning("billing: the database is back; the PBX events that waited for it "
                        "are stored")

    def _wait_for_the_database(self) -> None:
        """Writer thread: the PBX events the tracker missed are tried again in
        `DATABASE_RETRY_S` (or with the next event). The guard's cuts go on from memory
        meanwhile (`take_due`), and new calls are refused: nothing can record them."""
        self._database_away = True
        loop = self._loop
        if not self._retry_due and loop is not None and not loop.is_closed():
            self._retry_due = True
            loop.call_soon_threadsafe(loop.call_later, DATABASE_RETRY_S, self._retry_pull)

    def _retry_pull(self) -> None:
        self._retry_due = False
        if not self._stopped:
            self._pull_soon()

    def _taking_in(self, batch: list[PbxEvent]) -> Iterator[PbxEvent]:
        """Writer thread: the batch's events, then those that arrive while it is being
        applied or within `BATCH_LINGERS_S` after its last (`_more_events`; added to
        `batch`), until `BATCH_TAKES_IN_S` has passed or a cut waits for the writer:
        a burst of events is applied and announced one after the other
        and committed once, instead of every few events waiting for the commit of
        those before them (a disk flush each)."""
        until = time.monotonic() + BATCH_TAKES_IN_S
        taken = 0
        while taken < len(batch) or (self._more_events(until) and not self._lanes[Lane.TIMER]
                                     and time.monotonic() < until):
            if taken == len(batch):
                batch.append(self._events.popleft())
            yield batch[taken]
            taken += 1

    def _more_events(self, until: float) -> bool:
        """Writer thread: whether an event waits, lingering for one up to
        `BATCH_LINGERS_S` (not past `until`, nor while other work waits) with the
        tracker free for the loop's authorisations."""
        if self._events:
            return True
        linger = min(BATCH_LINGERS_S, until - time.monotonic())
        if linger <= 0 or any(self._lanes):
            return False
        self._work_arrived.clear()
        if self._events:
            return True
        with self.tracker.at_rest():
            self._work_arrived.wait(linger)
        return bool(self._events)

    def _answer_from_writer(self, batch: list[_Asking],
                            answers: list[Authorisation | BaseException]) -> None:
        """Writer thread: the decisions to the loop at once, in the middle of a trip,
        then the interpreter lock let go for a moment: the loop, woken for them, sends
        them now instead of when the writer next waits for the disk (one call at a
        time, 0.8 → 0.5 ms from the decision to the answer written). Waiting until
        the loop has sent them was measured too: it delayed the batch's events more
        than it sped up the answers."""
        if self._loop is None:
            self._answer(batch, answers)
        else:
            self._loop.call_soon_threadsafe(self._answer, batch, answers)
            time.sleep(0)

    def _announce_live(self, changes: list[Change]) -> None:
        """Writer thread: live calls' moves to the desks at once, in the middle of a
        trip (see `CallTracker.announce_live`)."""
        outgoing = [(True, change) for change in changes]
        if self._loop is None:
            self._deliver(outgoing, known=None)
        else:
            self._loop.call_soon_threadsafe(self._deliver, outgoing, None, None)

    def _answer(self, batch: list[_Asking], answers: list[Authorisation | BaseException]) -> None:
        """On the loop: each authorisation's answer to whoever still waits for it."""
        gone = []
        for (request, answer), result in zip(batch, answers, strict=True):
            if not answer.done():
                if isinstance(result, BaseException):
                    answer.set_exception(result)
                else:
                    answer.set_result(result)
            elif isinstance(result, Authorisation) and result.allowed:
                gone.append(request.pbx_call_id)
        if gone:
            # Their PBX stopped waiting (and refused the calls): hold nothing for them.
            self._spawn(self._writer(self.tracker.withdraw, gone))

    # ------------------------------------------------------------ from the server ---
    async def async_reconcile(self, *, lost_at: datetime | None = None) -> ReconcileReport:
        """Compare with every bridge's live calls (after a bridge reconnected, with the
        moment it lost its PBX). A bridge that cannot list its calls is skipped and
        nothing is closed: better to keep billing a call than to lose one."""
        live = []
        for bridge in self.bridges:
            try:
                live += await bridge.list_live_calls()
            except ConnectionError as exc:
                # Its PBX is not reached yet (SupervisedBridge): it reconciles when it is.
                log.warning("bridge %s could not list its live calls (%s); reconcile later",
                            bridge.name, exc)
                return ReconcileReport()
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

    async def async_warm(self, callshop_id: int) -> None:
        """After a shop's cabins changed: see `CallTracker.warm`."""
        await self._writer(self.tracker.warm, callshop_id)

    async def async_refresh_rates(self, refresh: Callable[[], object]) -> None:
        """Run a rate refresh (e.g. `lambda: rater.refresh(session)`) between two
        billing operations, so no call is rated on a half-swapped tariff set."""
        await self._writer(refresh)

    # ---------------------------------------------------------------- internals ---
    async def _writer(self, work: Callable[..., T], *args: Any, lane: Lane = Lane.OTHER) -> T:
        return await asyncio.wrap_future(self._submit(work, *args, lane=lane))

    def _submit(self, work: Callable[..., T], *args: Any, lane: Lane,
                trip: bool = True) -> Future[T]:
        """Queue `work` for the writer, as one trip (`_trip`) unless it makes its own."""
        job: Future[T] = Future()
        with self._jobs_lock:
            self._lanes[lane].append((job, partial(self._trip, work, *args) if trip
                                      else partial(work, *args)))
        self._work_arrived.set()        # a cut, say, does not wait for a lingering batch
        self._executor.submit(self._run_next)
        return job

    def _run_next(self) -> None:
        """Writer thread: run the first waiting operation of the first lane that has one
        (one executor task per operation submitted, so none is ever left behind)."""
        with self._jobs_lock:
            queue = next((lane for lane in self._lanes if lane), None)
            if queue is None:
                return
            job, work = queue.popleft()
        with self._locked():
            if not job.set_running_or_notify_cancel():
                # Cancelled while waiting: a trip before it may have left the deadline
                # to it (see `_trip`).
                self._hand_over_with_deadline([])
                return
            try:
                result = work()
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task, as an executor does
                failure: BaseException | None = exc
            else:
                failure = None
        # Outside the lock: whoever awaited it finds the tracker free.
        if failure is not None:
            job.set_exception(failure)
        else:
            job.set_result(result)

    def _trip(self, work: Callable[..., T], *args: Any) -> T:
        """One trip of the writer thread: `work`, then the next deadline (whatever
        happened may have moved it), everything handed to the loop at once."""
        self._outgoing = []
        try:
            return work(*args)
        finally:
            outgoing, self._outgoing = self._outgoing, None
            if any(self._lanes):
                # Another operation is waiting: it will tell the timer (a deadline
                # is computed once per burst, not after every trip of it).
                self._hand_over(outgoing, None, None)
            else:
                self._hand_over_with_deadline(outgoing)

    def _hand_over_with_deadline(self, outgoing: list[tuple[bool, Any]]) -> None:
        try:
            deadline: int | None = self.tracker.next_deadline()
        except Exception:
            log.exception("the next deadline could not be computed; the timer asks again")
            self._hand_over(outgoing, None, False)
        else:
            self._hand_over(outgoing, deadline, True)

    def _hand_over(self, outgoing: list[tuple[bool, Any]], deadline: int | None,
                   known: bool | None) -> None:
        """`known`: True with the next deadline, False to make the timer ask for it,
        None when the next operation already waiting will tell it."""
        if self._loop is None:
            self._deliver(outgoing, deadline, known)
        else:
            self._loop.call_soon_threadsafe(self._deliver, outgoing, deadline, known,
                                            self._decided_on_loop)

    def _deliver(self, outgoing: list[tuple[bool, Any]], deadline: int | None = None,
                 known: bool | None = False,
                 decided_on_loop: int | None = None) -> list[asyncio.Task[Any]]:
        """On the loop: the changes to `publish` and the commands to the bridges, in
        the order the writer made them; then the timer learns the next deadline —
        unless the loop admitted a call since it was computed (`decided_on_loop`):
        then it asks again. Returns the tasks sending cuts."""
        cuts = []
        for is_change, item in outgoing:
            try:
                if is_change:
                    self._publish(item)
                    if isinstance(item, CallUpdated):
                        self._published(item.call)
                elif isinstance(item, Cut):
                    cuts.append(item)
                else:
                    self._send_backstop(item)
            except Exception:
                log.exception("could not hand over %s", item)
        cutting = self._send_cuts(cuts)
        if known and decided_on_loop in (None, self._decided_on_loop):
            self.runner.deadline_is(deadline)
        elif known is not None:
            self.runner.wake()
        return cutting

    async def _next_deadline(self) -> int | None:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._next_deadline_now)

    def _next_deadline_now(self) -> int | None:
        with self._locked():
            return self.tracker.next_deadline()

    async def _fire(self, deadline: int) -> None:
        """The guard's work due at `deadline`, asked for up to `FIRE_LEAD_S` early (see
        `prepaid.runner`). Its cuts are decided at once on the writer (from memory),
        then sent from the loop at the instant itself, before their database work: the
        writer's thread, asleep for seconds, can take milliseconds to wake and get
        going, and a cut is due to the millisecond. A call that ends in between is
        still recorded as cut at the instant (its end is at most that much earlier)."""
        cuts = await self._writer(self.tracker.take_due, deadline, lane=Lane.TIMER)
        await self._at_instant(deadline, cuts)
        # Closing the calls (the writer's work) waits until the cuts are written: it
        # would hold the interpreter lock the loop needs to write them.
        await asyncio.gather(*self._send_cuts(cuts), return_exceptions=True)
        await self._writer(self.tracker.on_time, lane=Lane.TIMER)

    async def _at_instant(self, deadline: int, cuts: list[Cut]) -> None:
        """On the loop: return when the clock reaches `deadline` (epoch ms). With cuts
        to send, the bridges rehearse them at once (`rehearse_cuts`, some 40 ms
        ahead), and the loop naps in steps of `CUT_NAP_S` and spins the last
        `CUT_SPIN_S` instead of sleeping till then: the loop's timer can wake it
        milliseconds late, and on the test VM memory left alone for a while costs
        about 13 µs a page to touch again, so a process that slept runs slow for its
        first milliseconds (resources/kamailio/README.md, "Session 11"); napping keeps
        the loop's own memory in use. Bounded in real time, so a test's fake clock
        cannot hold it."""
        clock = self.tracker.clock
        left_s = deadline / 1000 - clock.now().timestamp()
        if not cuts:
            await asyncio.sleep(max(0.0, left_s))
            return
        for bridge, calls in self._by_bridge(cuts).items():
            bridge.rehearse_cuts([pbx_call_id for pbx_call_id, _ in calls])
        give_up = time.perf_counter() + max(0.0, left_s)
        while left_s > CUT_SPIN_S and time.perf_counter() < give_up - CUT_SPIN_S:
            await asyncio.sleep(min(CUT_NAP_S, left_s - CUT_SPIN_S))
            left_s = deadline / 1000 - clock.now().timestamp()
        while clock.now().timestamp() * 1000 < deadline and time.perf_counter() < give_up:
            pass

    def _from_writer_change(self, change: Change) -> None:
        self._from_writer(True, change)

    def _from_writer_command(self, command: BridgeCommand) -> None:
        self._from_writer(False, command)

    def _cuts_from_writer(self, cuts: list[Cut]) -> None:
        """Writer thread: the guard's cuts at an exhaustion instant, before their
        database work (see `CallTracker._fire_due`). They go to the loop at once, with
        whatever the trip announced before them, and the writer waits until the loop
        has passed them to the bridges (at most `CUT_HANDOVER_WAIT_S`): closing many
        calls right after would otherwise hold the GIL the loop needs to send them."""
        for cut in cuts:
            self._from_writer(False, cut)
        if self._loop is None or self._outgoing is None:
            return
        outgoing, self._outgoing = self._outgoing, []
        sent = threading.Event()
        self._loop.call_soon_threadsafe(self._deliver_then, outgoing, sent.set)
        sent.wait(CUT_HANDOVER_WAIT_S)

    def _deliver_then(self, outgoing: list[tuple[bool, Any]], done: Callable[[], None]) -> None:
        sending = self._deliver(outgoing, known=None)
        if sending:
            asyncio.gather(*sending, return_exceptions=True).add_done_callback(
                lambda _: done())
        else:
            done()

    def _from_writer(self, is_change: bool, item: Any) -> None:
        if self._outgoing is not None:
            self._outgoing.append((is_change, item))
        else:
            self._hand_over([(is_change, item)], None, False)

    def _send_backstop(self, command: SetBackstop) -> None:
        """Coalesced per call: while updates are being sent, only a call's latest value
        waits; one task sends them all (not one task per call)."""
        self._backstops_wanted[command.pbx_call_id] = command.max_duration_s
        if not self._backstops_sending:
            self._backstops_sending = True
            self._spawn(self._send_backstops())

    def _send_cuts(self, cuts: list[Cut]) -> list[asyncio.Task[Any]]:
        """One task per bridge, sending it the cuts of its calls together (see
        `PbxBridge.cut_many`); a call whose bridge is forgotten goes to every bridge."""
        for cut in cuts:
            self._backstops_wanted.pop(cut.pbx_call_id, None)
        return [self._spawn(self._send_cut_batch(bridge, batch))
                for bridge, batch in self._by_bridge(cuts).items()]

    def _by_bridge(self, cuts: list[Cut]) -> dict[PbxBridge, list[tuple[str, CutReason]]]:
        batches: dict[PbxBridge, list[tuple[str, CutReason]]] = {}
        for cut in cuts:
            bridge = self._carriers.get(cut.pbx_call_id)
            for target in [bridge] if bridge is not None else self.bridges:
                batches.setdefault(target, []).append((cut.pbx_call_id, cut.reason))
        return batches

    async def _send_cut_batch(self, bridge: PbxBridge,
                              cuts: list[tuple[str, CutReason]]) -> None:
        try:
            await bridge.cut_many(cuts)
        except Exception:
            log.exception("bridge %s could not cut %s (their backstops still will)",
                          bridge.name, ", ".join(call for call, _ in cuts))

    async def _send_backstops(self) -> None:
        try:
            while self._backstops_wanted:
                pbx_call_id = next(iter(self._backstops_wanted))
                seconds = self._backstops_wanted.pop(pbx_call_id)
                bridge = self._carriers.get(pbx_call_id)
                for target in [bridge] if bridge is not None else self.bridges:
                    try:
                        await target.set_backstop(pbx_call_id, seconds)
                    except Exception:
                        log.exception("bridge %s could not set the backstop of call %s",
                                      target.name, pbx_call_id)
        finally:
            self._backstops_sending = False

    def _published(self, call: CallSnapshot) -> None:
        if not call.state.is_live:
            self._on_desks.pop(call.pbx_call_id, None)
            return
        _remember(self._on_desks, call.pbx_call_id, call.state)

    def _carried_by(self, pbx_call_id: str, bridge: PbxBridge) -> None:
        _remember(self._carriers, pbx_call_id, bridge)

    def _spawn(self, work: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("billing task failed", exc_info=task.exception())
