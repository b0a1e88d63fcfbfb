"""The asyncio edge: a bridge on the loop, the tracker on its writer thread, the timer."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from cashdesk.call_state import CallState
from cashdesk.calls import service as service_module
from cashdesk.calls import tracker as tracker_module
from cashdesk.calls.changes import CallUpdated, Change, SessionUpdated
from cashdesk.calls.service import CallService, Lane
from cashdesk.calls.tracker import AuthorisationQueue, CallTracker
from cashdesk.clock import FakeClock
from cashdesk.pbx.bridge import (
    Authorisation,
    AuthorisationRequest,
    BridgeListener,
    CutReason,
    LiveCall,
    PbxBridge,
)
from cashdesk.pbx.events import (
    CallAnswered,
    CallEnded,
    CallRinging,
    CallStarted,
    HangupBy,
    PbxEvent,
)
from cashdesk.prepaid.runner import DeadlineRunner
from cashdesk.prepaid.timeline import epoch_ms
from cashdesk.store.database import open_engine, session_factory, upgrade
from cashdesk.store.models import Call
from tests.calls.factories import Desk, ShopSetup, make_shop
from tests.conftest import IN_CI
from tests.support.pg import Cluster, PostgresUnavailable

UK = "0044207946000"


class FakeBridge(PbxBridge):
    name = "fake"

    def __init__(self, live: list[LiveCall] | None = None) -> None:
        super().__init__()
        self.live = live or []
        self.cuts: list[tuple[str, CutReason]] = []
        self.backstops: list[tuple[str, int]] = []
        self.started = self.stopped = False
        # `rehearse_cuts` and each `cut_many`, in order; `seen` is called with each batch.
        self.calls: list[Any] = []
        self.seen: Callable[[list[tuple[str, CutReason]]], None] = lambda batch: None

    async def async_start(self) -> None:
        self.started = True

    async def async_stop(self) -> None:
        self.stopped = True

    async def cut(self, pbx_call_id: str, reason: CutReason) -> None:
        self.cuts.append((pbx_call_id, reason))

    def rehearse_cuts(self, pbx_call_ids: Sequence[str]) -> None:
        self.calls.append(("rehearse", list(pbx_call_ids)))

    async def cut_many(self, cuts: Sequence[tuple[str, CutReason]]) -> None:
        self.calls.append(list(cuts))
        self.seen(list(cuts))
        await super().cut_many(cuts)

    async def set_backstop(self, pbx_call_id: str, max_duration_s: int) -> None:
        self.backstops.append((pbx_call_id, max_duration_s))

    async def list_live_calls(self) -> list[LiveCall]:
        return list(self.live)

    @property
    def port(self) -> BridgeListener:
        return self.listener


async def eventually(check: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_runner_fires_when_the_clock_reaches_the_deadline(clock: FakeClock) -> None:
    deadline = epoch_ms(clock.now()) + 5_000
    fired: list[int] = []

    async def next_deadline() -> int | None:
        return None if fired else deadline

    async def fire(deadline: int) -> None:
        fired.append(epoch_ms(clock.now()))

    runner = DeadlineRunner(clock, next_deadline, fire)
    runner.start()
    await asyncio.sleep(0.02)
    assert fired == []
    clock.advance(5)                     # the fake clock jumps; the runner is told
    runner.wake()
    await eventually(lambda: bool(fired))
    assert fired == [deadline] and runner.fired == 1
    await runner.stop()


async def test_a_call_through_the_service(sessions: sessionmaker[Session],
                                          clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock, balance="1.00")
    desk = Desk.open(sessions, clock)
    published: list[tuple[Change, str]] = []
    bridge = FakeBridge()
    service = CallService(desk.tracker, [bridge],
                          publish=lambda c: published.append((c, threading.current_thread().name)))
    await service.async_start()
    assert bridge.started

    port = bridge.port
    answer = await port.async_authorise(AuthorisationRequest("c1", shop.cabins[0], UK,
                                                             at=clock.now()))
    assert answer.allowed and answer.max_duration_s == 600
    for event in (CallStarted("c1", shop.cabins[0], UK, at=clock.now()),
                  CallRinging("c1", at=clock.now()), CallAnswered("c1", at=clock.now())):
        port.on_event(event)
    await eventually(lambda: desk.tracker.is_live("c1"))
    # Backstops go out at most every 200 ms; the runner sends those held back.
    clock.advance(0.2)
    service.runner.wake()
    await eventually(lambda: bridge.backstops == [("c1", 600)])
    # Changes arrive on the event loop's thread, never the writer's.
    assert {thread for _, thread in published} == {threading.current_thread().name}

    clock.advance(599.8)
    service.runner.wake()
    await eventually(lambda: bridge.cuts == [("c1", CutReason.CREDIT_EXHAUSTED)])
    await eventually(lambda: any(isinstance(c, CallUpdated) and c.call.state is CallState.CUT
                                 for c, _ in published))
    assert desk.call("c1").state is CallState.CUT
    await service.async_stop()
    assert bridge.stopped
    desk.check_ledger(shop.callshop_id)


async def test_the_cuts_of_an_instant_reach_their_bridge_together_before_the_database(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """Decided ahead on the writer, sent from the loop at the instant: the bridge
    rehearses them first, gets every call's cut in one batch, and only then are the calls
    closed in the database, at the instant."""
    with sessions.begin() as db:
        shop = make_shop(db, clock, balance="1.00", cabins=2)
    desk = Desk.open(sessions, clock)
    bridge = FakeBridge()
    service = CallService(desk.tracker, [bridge])
    await service.async_start()
    port = bridge.port
    calls = ["c1", "c2"]
    for call, cabin in zip(calls, shop.cabins, strict=True):
        answer = await port.async_authorise(AuthorisationRequest(call, cabin, UK,
                                                                 at=clock.now()))
        assert answer.allowed
        for event in (CallStarted(call, cabin, UK, at=clock.now()),
                      CallAnswered(call, at=clock.now())):
            port.on_event(event)
    await eventually(lambda: all(desk.tracker.is_live(c) for c in calls))
    instant = await service.async_inspect(lambda tracker: tracker.guard.next_cut())
    assert instant is not None
    states_when_cut: list[list[CallState]] = []
    bridge.seen = lambda batch: states_when_cut.append([desk.call(c).state for c, _ in batch])

    clock.advance((instant - epoch_ms(clock.now())) / 1000)
    service.runner.wake()
    await eventually(lambda: all(desk.call(c).state is CallState.CUT for c in calls))
    cuts = [(c, CutReason.CREDIT_EXHAUSTED) for c in calls]
    assert bridge.calls == [("rehearse", calls), cuts] and bridge.cuts == cuts
    assert states_when_cut == [[CallState.ANSWERED, CallState.ANSWERED]]
    assert [epoch_ms(desk.call(c).ended_at) for c in calls] == [instant, instant]
    await service.async_stop()
    desk.check_ledger(shop.callshop_id)


async def test_start_reconciles_with_the_pbx(sessions: sessionmaker[Session],
                                             clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock)
    desk = Desk.open(sessions, clock)
    bridge = FakeBridge([LiveCall("stray", "nobody", UK, clock.now(), clock.now())])
    service = CallService(desk.tracker, [bridge])
    await service.async_start()
    await eventually(lambda: bridge.cuts == [("stray", CutReason.UNKNOWN_CALL)])
    assert await service.async_cut("stray") is False
    await service.async_stop()
    assert shop.callshop_id


async def test_a_reconnected_bridge_reconciles_its_own_calls(sessions: sessionmaker[Session],
                                                             clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock)
    desk = Desk.open(sessions, clock)
    first, second = FakeBridge(), FakeBridge()
    service = CallService(desk.tracker, [first, second])
    await service.async_start()
    for bridge, call_id, cabin in ((first, "a", shop.cabins[0]), (second, "b", shop.cabins[1])):
        assert (await bridge.port.async_authorise(
            AuthorisationRequest(call_id, cabin, UK, at=clock.now()))).allowed
        bridge.port.on_event(CallStarted(call_id, cabin, UK, at=clock.now()))
        bridge.port.on_event(CallAnswered(call_id, at=clock.now()))
    await eventually(lambda: desk.tracker.live_calls() == ["a", "b"])
    clock.advance(30)
    lost_at = clock.now()
    clock.advance(30)
    # The first PBX came back without call "a"; the second PBX's call is not its business.
    service.bridge_reconnected(first, [], lost_at)
    await eventually(lambda: desk.tracker.live_calls() == ["b"])
    assert desk.call("a").state is CallState.ENDED and desk.call("a").ended_at == lost_at
    await service.async_stop()


async def started_service(sessions: sessionmaker[Session], clock: FakeClock, *,
                          cabins: int) -> tuple[ShopSetup, Desk, FakeBridge, CallService]:
    """A shop with `cabins` cabins, and a started service with one fake bridge."""
    with sessions.begin() as db:
        shop = make_shop(db, clock, cabins=cabins)
    desk = Desk.open(sessions, clock)
    bridge = FakeBridge()
    service = CallService(desk.tracker, [bridge])
    await service.async_start()
    return shop, desk, bridge, service


def published_by(service: CallService) -> list[Change]:
    """From now on what the service publishes to the desks, in order."""
    published: list[Change] = []
    service._publish = published.append
    return published


async def moves_once_stored(desk: Desk, service: CallService, published: list[Change],
                            pbx_call_id: str, state: CallState) -> list[CallState]:
    """The states published for the calls, once `pbx_call_id` is stored in `state` and
    the writer has finished what it was doing."""
    await eventually(lambda: desk.call(pbx_call_id).state is state)
    await service.async_inspect(lambda _: None)
    return [c.call.state for c in published if isinstance(c, CallUpdated)]


def counting_commits(tracker: CallTracker) -> Callable[[], int]:
    """From now on the tracker's commits are counted; returns how many so far."""
    count = 0
    commit = tracker._commit

    def counted(transaction: SessionTransaction) -> None:
        nonlocal count
        count += 1
        commit(transaction)
    tracker._commit = counted  # type: ignore[method-assign]
    return lambda: count


@contextlib.contextmanager
def commits_held(tracker: CallTracker) -> Iterator[threading.Event]:
    """Inside: each of the tracker's commits, once it is at rest (its lock let go),
    sets the event yielded and waits until the block is left."""
    committing, go_on = threading.Event(), threading.Event()

    def held(transaction: SessionTransaction) -> None:
        with tracker.at_rest():
            committing.set()
            go_on.wait(5)
            transaction.commit()

    tracker._commit = held  # type: ignore[method-assign]
    try:
        yield committing
    finally:
        go_on.set()
        del tracker._commit


@contextlib.contextmanager
def first_rest_held(tracker: CallTracker, pbx_call_id: str | None = None,
                    ) -> Iterator[threading.Event]:
    """Inside: the first time the writer lets go of the tracker (`at_rest`: a statement
    of an event, a commit) — while it applies an event of `pbx_call_id`, if given —
    it sets the event yielded and waits until the block is left."""
    resting, go_on = threading.Event(), threading.Event()
    at_rest, apply_alone = tracker.at_rest, tracker._apply_alone
    applying: list[str] = []

    def tapped(db: Session, outbox: Any, event: PbxEvent) -> None:
        applying.append(event.pbx_call_id)
        try:
            apply_alone(db, outbox, event)
        finally:
            applying.pop()

    @contextlib.contextmanager
    def held() -> Iterator[None]:
        with at_rest():
            if not resting.is_set() and (pbx_call_id is None or pbx_call_id in applying):
                resting.set()
                go_on.wait(5)
            yield

    tracker.at_rest = held
    tracker._apply_alone = tapped  # type: ignore[method-assign]
    try:
        yield resting
    finally:
        go_on.set()
        tracker.at_rest = at_rest
        tracker._apply_alone = apply_alone  # type: ignore[method-assign]


def recording_batches(tracker: CallTracker) -> list[list[PbxEvent]]:
    """From now on: the events of each batch the tracker applies (one transaction
    each), as it takes them."""
    batches: list[list[PbxEvent]] = []
    handle_many = tracker.handle_many

    def recorded(events: Iterable[PbxEvent], asking: Any = None) -> None:
        batch: list[PbxEvent] = []
        batches.append(batch)

        def taken() -> Iterator[PbxEvent]:
            for event in events:
                batch.append(event)
                yield event
        handle_many(taken(), asking)
    tracker.handle_many = recorded  # type: ignore[method-assign]
    return batches


def batch_sizes(batches: list[list[PbxEvent]], pbx_call_id: str) -> list[int]:
    """How many events of `pbx_call_id` each batch that had any took."""
    sizes = [sum(e.pbx_call_id == pbx_call_id for e in batch) for batch in batches]
    return [size for size in sizes if size]


async def busy_writer(service: CallService) -> tuple[threading.Event, asyncio.Future[None]]:
    """Keep the writer thread busy until the returned event is set."""
    busy, release = threading.Event(), threading.Event()

    def block(_tracker: object) -> None:
        busy.set()
        release.wait(5)

    blocker = asyncio.ensure_future(service.async_inspect(block))
    await eventually(busy.is_set)
    return release, blocker


async def test_authorisations_go_first_and_together(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """What the PBX waits for goes before a desk's read that had waited longer: a burst
    of authorisations decided together, in arrival order, even before an event that
    came first (a call's setup is held until its answer), then the events."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=4)
    order = record_pbx_work(desk.tracker)
    release, blocker = await busy_writer(service)
    # The writer is busy: a desk's read queues, then an event, then three INVITEs.
    read = asyncio.ensure_future(service.async_inspect(lambda _: order.append("read")))
    await asyncio.sleep(0.01)
    bridge.port.on_event(CallStarted("c0", shop.cabins[0], UK, at=clock.now()))
    await asyncio.sleep(0.01)
    asking = [asyncio.ensure_future(bridge.port.async_authorise(
        AuthorisationRequest(f"a{n}", shop.cabins[n], UK, at=clock.now()))) for n in (1, 2, 3)]
    await asyncio.sleep(0.01)
    release.set()
    await blocker
    assert all(answer.allowed for answer in await asyncio.gather(*asking))
    await read
    await eventually(lambda: desk.tracker.is_live("c0"))
    assert order == ["authorise a1 a2 a3", "event c0", "read"]
    await service.async_stop()


def record_pbx_work(tracker: CallTracker) -> list[str]:
    """What the tracker does with the PBX's work, in order: the authorisations it
    takes from the queue together, each event it applies."""
    order: list[str] = []
    handle_many, apply = tracker.handle_many, tracker._apply

    def recorded_handle_many(events: Iterable[PbxEvent],
                             asking: AuthorisationQueue | None = None) -> None:
        class Recorded:
            def take(self) -> list[AuthorisationRequest]:
                assert asking is not None
                requests = asking.take()
                if requests:
                    order.append("authorise " + " ".join(r.pbx_call_id for r in requests))
                return requests

            def answer(self, decisions: list[Authorisation | BaseException]) -> None:
                assert asking is not None
                asking.answer(decisions)
        handle_many(events, None if asking is None else Recorded())

    def recorded_apply(db: Session, outbox: Any, event: PbxEvent) -> None:
        order.append(f"event {event.pbx_call_id}")
        apply(db, outbox, event)

    tracker.handle_many = recorded_handle_many  # type: ignore[method-assign]
    tracker._apply = recorded_apply  # type: ignore[method-assign]
    return order


async def test_an_authorisation_is_decided_between_two_events_of_a_batch(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """A new call waits for the one event being applied, not for the rest of the batch
    and its commit: an INVITE arriving while the writer applies a batch of events is
    decided right after the event in hand."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=4)
    loop = asyncio.get_running_loop()
    order = record_pbx_work(desk.tracker)
    apply = desk.tracker._apply
    asking: list[Any] = []

    async def invite() -> Authorisation:
        request = AuthorisationRequest("a1", shop.cabins[1], UK, at=clock.now())
        return await bridge.port.async_authorise(request)

    def apply_while_an_invite_comes(db: Session, outbox: Any, event: PbxEvent) -> None:
        apply(db, outbox, event)
        if event.pbx_call_id == "c0":
            asking.append(asyncio.run_coroutine_threadsafe(invite(), loop))
            deadline = time.monotonic() + 2
            while not service._asking.queue:      # queued by the loop meanwhile
                assert time.monotonic() < deadline
                time.sleep(0.001)

    desk.tracker._apply = apply_while_an_invite_comes  # type: ignore[method-assign]
    release, blocker = await busy_writer(service)
    bridge.port.on_event(CallStarted("c0", shop.cabins[0], UK, at=clock.now()))
    bridge.port.on_event(CallStarted("c2", shop.cabins[2], UK, at=clock.now()))
    await asyncio.sleep(0.01)
    release.set()
    await blocker
    await eventually(lambda: desk.tracker.is_live("c2"))
    assert (await asyncio.wrap_future(asking[0])).allowed
    assert order == ["event c0", "authorise a1", "event c2"]
    await service.async_stop()


async def test_an_authorisation_the_pbx_gave_up_on_is_not_decided(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """A caller that stopped waiting (its PBX's timer ran out, so the call was refused
    there) is not asked for when the writer gets to it."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=4)
    release, blocker = await busy_writer(service)
    gave_up = asyncio.ensure_future(bridge.port.async_authorise(
        AuthorisationRequest("gone", shop.cabins[1], UK, at=clock.now())))
    kept = asyncio.ensure_future(bridge.port.async_authorise(
        AuthorisationRequest("kept", shop.cabins[2], UK, at=clock.now())))
    await asyncio.sleep(0.01)
    gave_up.cancel()
    release.set()
    await blocker
    assert (await kept).allowed
    await eventually(lambda: not desk.tracker.guard.is_tracking("gone"))
    assert desk.tracker.guard.is_tracking("kept")
    await service.async_stop()


async def test_an_authorisation_the_pbx_gave_up_on_while_deciding_is_withdrawn(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """A caller that stops waiting while its authorisation is being decided holds no
    credit once the answer comes back (not for `AUTHORISATION_TTL_MS`)."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=2)
    deciding, release = threading.Event(), threading.Event()
    authorise = desk.tracker._authorise

    def slow_authorise(db: Session, outbox: Any,
                       request: AuthorisationRequest) -> Authorisation:
        answer = authorise(db, outbox, request)
        deciding.set()
        release.wait(5)
        return answer

    desk.tracker._authorise = slow_authorise  # type: ignore[method-assign]
    desk.tracker.places.forget_all()     # so the writer decides it (from the database)
    gave_up = asyncio.ensure_future(bridge.port.async_authorise(
        AuthorisationRequest("gone", shop.cabins[1], UK, at=clock.now())))
    await eventually(deciding.is_set)
    assert desk.tracker.guard.is_tracking("gone")
    gave_up.cancel()
    release.set()
    await eventually(lambda: not desk.tracker.guard.is_tracking("gone"))
    await service.async_stop()


async def test_a_live_move_is_announced_before_the_commit_and_money_after(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """A call's dialing, ringing and answer reach the desks as soon as the writer has
    applied each event, not after the rest of the batch and its commit; what it cost
    (the call closed, the session's total, the balance) only once stored."""
    with sessions.begin() as db:
        shop = make_shop(db, clock)
    desk = Desk.open(sessions, clock)
    bridge = FakeBridge()
    published: list[Change] = []
    service = CallService(desk.tracker, [bridge], publish=published.append)
    await service.async_start()
    assert (await bridge.port.async_authorise(
        AuthorisationRequest("c1", shop.cabins[0], UK, at=clock.now()))).allowed
    await service.async_inspect(lambda _: None)     # the writer's trip is over

    with commits_held(desk.tracker) as committing:
        for event in (CallStarted("c1", shop.cabins[0], UK, at=clock.now()),
                      CallRinging("c1", at=clock.now()), CallAnswered("c1", at=clock.now())):
            bridge.port.on_event(event)
        await eventually(committing.is_set)
        # Each move shown from memory (no id yet) or by the writer, in order; the
        # answer again once the writer has applied it, with the call's id and session.
        await eventually(lambda: any(isinstance(c, CallUpdated) and c.call.session_id
                                     for c in published))
        calls = [c.call for c in published if isinstance(c, CallUpdated)]
        assert list(dict.fromkeys(call.state for call in calls)) == [
            CallState.DIALING, CallState.RINGING, CallState.ANSWERED]
        assert calls[-1].id == desk.call("c1").id and calls[-1].session_id is not None
    # The session the answer opened, once stored.
    await eventually(lambda: any(isinstance(c, SessionUpdated) for c in published))

    clock.advance(30)
    with commits_held(desk.tracker) as committing:
        bridge.port.on_event(CallEnded("c1", hangup_by=HangupBy.CABIN, at=clock.now()))
        await eventually(committing.is_set)
        await asyncio.sleep(0.05)
        assert not any(isinstance(c, CallUpdated) and c.call.state is CallState.ENDED
                       for c in published)
    await eventually(lambda: any(isinstance(c, CallUpdated) and c.call.state is CallState.ENDED
                                 and c.call.price is not None for c in published))
    await service.async_stop()


def answered(desk: Desk, pbx_call_id: str) -> bool:
    return desk.call(pbx_call_id).state is CallState.ANSWERED


async def test_a_batch_takes_in_the_events_that_arrive_while_it_is_applied(
        sessions: sessionmaker[Session], clock: FakeClock, monkeypatch: Any) -> None:
    """A burst: the events that come while a batch is being applied join it, each
    announced as applied, and all are committed once — unless a cut waits for the
    writer: then the batch commits with what it has, and the cut goes first."""
    # The batch's time limit out of the way: on a loaded machine the test's own steps
    # while the writer is held can take longer than the 10 ms it allows.
    monkeypatch.setattr(service_module, "BATCH_TAKES_IN_S", 5.0)
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=3)
    batches = recording_batches(desk.tracker)
    published = published_by(service)
    for call, cabin in (("c1", 0), ("c2", 1)):
        with first_rest_held(desk.tracker, call) as resting:
            bridge.port.on_event(CallStarted(call, shop.cabins[cabin], UK, at=clock.now()))
            await eventually(resting.is_set)
            bridge.port.on_event(CallRinging(call, at=clock.now()))
            bridge.port.on_event(CallAnswered(call, at=clock.now()))
            if call == "c2":
                cut = asyncio.wrap_future(service._submit(lambda: None, lane=Lane.TIMER))
        await eventually(partial(answered, desk, call))
        await service.async_inspect(lambda _: None)
        moves = [c.call.state for c in published
                 if isinstance(c, CallUpdated) and c.call.pbx_call_id == call]
        assert moves == [CallState.DIALING, CallState.RINGING, CallState.ANSWERED]
        # one transaction for the three; with the cut waiting, the start's alone
        assert batch_sizes(batches, call) == ([3] if call == "c1" else [1, 2])
    await cut
    await service.async_stop()


async def test_a_batch_stops_taking_in_at_its_time_limit(
        sessions: sessionmaker[Session], clock: FakeClock, monkeypatch: Any) -> None:
    """Events that come after `BATCH_TAKES_IN_S` (no time at all here) wait for the
    next batch: the first commits with the event it has."""
    monkeypatch.setattr(service_module, "BATCH_TAKES_IN_S", 0.0)
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=1)
    batches = recording_batches(desk.tracker)
    with first_rest_held(desk.tracker, "c1") as resting:
        bridge.port.on_event(CallStarted("c1", shop.cabins[0], UK, at=clock.now()))
        await eventually(resting.is_set)
        bridge.port.on_event(CallRinging("c1", at=clock.now()))
        bridge.port.on_event(CallAnswered("c1", at=clock.now()))
    await eventually(partial(answered, desk, "c1"))
    await service.async_inspect(lambda _: None)
    assert batch_sizes(batches, "c1") == [1, 2]
    await service.async_stop()


async def test_a_batch_lingers_for_the_next_event_of_a_burst_with_the_tracker_free(
        sessions: sessionmaker[Session], clock: FakeClock, monkeypatch: Any) -> None:
    """After its last event a batch waits a moment (`BATCH_LINGERS_S`, long here) for
    the next before it commits: the ringing and answer that follow the start join its
    transaction (one commit for the three); meanwhile an INVITE is decided on the loop
    from memory, and the ringing and answer, with the tracker free, are shown from
    memory as they arrive (the answer again once it has joined its session)."""
    # Long (it ends as soon as the next event comes), so that the checks below hold
    # on a loaded machine too; the batch's time limit, which also caps the linger,
    # likewise.
    monkeypatch.setattr(service_module, "BATCH_LINGERS_S", 5.0)
    monkeypatch.setattr(service_module, "BATCH_TAKES_IN_S", 5.0)
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=2)
    batches = recording_batches(desk.tracker)
    commits = counting_commits(desk.tracker)
    published = published_by(service)
    await service.async_inspect(lambda _: None)
    before = commits()
    bridge.port.on_event(CallStarted("c1", shop.cabins[0], UK, at=clock.now()))
    await eventually(lambda: len(published) == 1)          # dialing, not committed
    asked = AuthorisationRequest("c2", shop.cabins[1], UK, at=clock.now())
    # The lock is free once the writer lingers (it may still be on its way there).
    decisions: list[Authorisation | None] = []

    def decided() -> bool:
        decisions.append(service.authorise_now(asked))
        return decisions[-1] is not None
    await eventually(decided)
    assert decisions[-1] is not None and decisions[-1].allowed
    assert commits() == before
    bridge.port.on_event(CallRinging("c1", at=clock.now()))
    bridge.port.on_event(CallAnswered("c1", at=clock.now()))
    await eventually(partial(answered, desk, "c1"))
    await service.async_inspect(lambda _: None)
    assert batch_sizes(batches, "c1") == [3]
    moves = [(c.call.state, c.call.session_id is not None)
             for c in published if isinstance(c, CallUpdated)]
    assert moves == [(CallState.DIALING, False), (CallState.RINGING, False),
                     (CallState.ANSWERED, False), (CallState.ANSWERED, True)]
    await service.async_stop()


async def test_a_live_move_is_shown_from_memory_before_the_writer_applies_it(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """With the writer busy but the tracker free (here: held at its commit), a ringing
    and an answer are published as they arrive, from memory, without the writer. Once
    it applies them it does not announce the ringing again, and the answer only once
    more, in the session it joined."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=1)
    published = published_by(service)

    def moves() -> list[tuple[CallState, int | None]]:
        return [(c.call.state, c.call.session_id)
                for c in published if isinstance(c, CallUpdated)]
    with commits_held(desk.tracker) as committing:
        bridge.port.on_event(CallStarted("c1", shop.cabins[0], UK, at=clock.now()))
        await eventually(committing.is_set)
        await eventually(lambda: len(moves()) == 1)
        clock.advance(seconds=1)
        bridge.port.on_event(CallRinging("c1", at=clock.now()))
        clock.advance(seconds=2)
        bridge.port.on_event(CallAnswered("c1", at=clock.now()))
        # At once, the writer still held at the start's commit.
        assert moves() == [(CallState.DIALING, None), (CallState.RINGING, None),
                           (CallState.ANSWERED, None)]
        shown = [c.call for c in published if isinstance(c, CallUpdated)]
        assert shown[2].answered_at == clock.now() and shown[1].ringing_at is not None
    await eventually(partial(answered, desk, "c1"))
    await service.async_inspect(lambda _: None)
    stored = desk.call("c1")
    assert moves()[3:] == [(CallState.ANSWERED, stored.session_id)]
    assert stored.session_id is not None and len(moves()) == 4
    assert shown[2].answered_at == stored.answered_at
    assert shown[1].ringing_at == stored.ringing_at
    await service.async_stop()


async def test_a_live_move_is_not_shown_ahead_of_the_one_on_its_way_to_the_desks(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """The writer has applied a call's start and handed its dialing to the loop, which
    has not published it yet, when its ringing arrives with the tracker free: the
    ringing is not shown from memory ahead of the dialing (the desks would drop the
    dialing as older news) but announced by the writer after it."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=1)
    published = published_by(service)
    with commits_held(desk.tracker) as committing:
        bridge.port.on_event(CallStarted("c1", shop.cabins[0], UK, at=clock.now()))
        # Waited for without letting the loop run: the dialing is handed over, not
        # published.
        assert committing.wait(3)
        bridge.port.on_event(CallRinging("c1", at=clock.now()))
        assert published == []
    assert await moves_once_stored(desk, service, published, "c1", CallState.RINGING) == [
        CallState.DIALING, CallState.RINGING]
    await service.async_stop()


async def test_a_live_move_waits_for_the_writer_while_it_holds_the_tracker(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """The loop never waits for the tracker's lock: while the writer holds it, a
    ringing is not shown from memory but announced by the writer as it applies it,
    once."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=1)
    published = published_by(service)
    bridge.port.on_event(CallStarted("c1", shop.cabins[0], UK, at=clock.now()))
    await eventually(lambda: len(published) == 1)
    await service.async_inspect(lambda _: None)
    with service._tracker_lock:             # as the writer holds it for an operation
        bridge.port.on_event(CallRinging("c1", at=clock.now()))
        assert [c.call.state for c in published if isinstance(c, CallUpdated)] == [
            CallState.DIALING] and len(published) == 1
    assert await moves_once_stored(desk, service, published, "c1", CallState.RINGING) == [
        CallState.DIALING, CallState.RINGING]
    await service.async_stop()


def shown(published: list[Change]) -> list[tuple[CallState, bool]]:
    """Each call move published: its state, and whether it carried the call's id."""
    return [(c.call.state, c.call.id is not None) for c in published
            if isinstance(c, CallUpdated)]


@contextlib.contextmanager
def writer_busy(service: CallService) -> Iterator[None]:
    """The writer thread occupied (not holding the tracker) until the block ends."""
    release, running = threading.Event(), threading.Event()

    def occupied() -> None:
        running.set()
        release.wait(5)
    service._executor.submit(occupied)
    assert running.wait(5)
    try:
        yield
    finally:
        release.set()


async def authorised(service: CallService, bridge: FakeBridge, shop: ShopSetup,
                     pbx_call_id: str, clock: FakeClock) -> None:
    answer = await bridge.port.async_authorise(
        AuthorisationRequest(pbx_call_id, shop.cabins[0], UK, at=clock.now()))
    assert answer.allowed
    await service.async_inspect(lambda _: None)      # the writer's trip is over


async def call_answered(service: CallService, bridge: FakeBridge, shop: ShopSetup, desk: Desk,
                        pbx_call_id: str, clock: FakeClock, *, cabin: int = 0) -> None:
    """A call of one of the shop's cabins authorised, started and answered, and stored."""
    answer = await bridge.port.async_authorise(
        AuthorisationRequest(pbx_call_id, shop.cabins[cabin], UK, at=clock.now()))
    assert answer.allowed
    for event in (CallStarted(pbx_call_id, shop.cabins[cabin], UK, at=clock.now()),
                  CallAnswered(pbx_call_id, at=clock.now())):
        bridge.port.on_event(event)

    def stored_answered() -> bool:
        with desk.sessions() as db:
            return db.scalar(select(Call.state).where(Call.pbx_call_id == pbx_call_id)) \
                is CallState.ANSWERED
    await eventually(stored_answered)


async def test_an_authorised_start_is_shown_at_once_without_its_id_then_with_it(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """The dialing of a call allowed before goes to the desks as its start arrives,
    from the authorisation, without the id its row will have; the writer's dialing,
    once stored, again with the id."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=1)
    await authorised(service, bridge, shop, "c1", clock)
    published = published_by(service)
    with writer_busy(service):
        bridge.port.on_event(CallStarted("c1", shop.cabins[0], UK, at=clock.now()))
        assert shown(published) == [(CallState.DIALING, False)]
        first = published[0]
        assert isinstance(first, CallUpdated)
        assert (first.call.pbx_call_id, first.call.started_at) == ("c1", clock.now())
        assert first.call.price_per_minute.amount > 0
    await eventually(lambda: len(published) == 2)
    await service.async_inspect(lambda _: None)
    assert shown(published) == [(CallState.DIALING, False), (CallState.DIALING, True)]
    last = published[-1]
    assert isinstance(last, CallUpdated) and last.call.id == desk.call("c1").id
    assert last.call == replace(first.call, id=last.call.id)
    await service.async_stop()


async def test_moves_shown_before_the_start_is_stored_leave_the_writer_the_last_one(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """Dialing and ringing both shown from memory while the writer is busy: once it
    has applied them, only the ringing comes again (with the call's id), never a
    dialing after it."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=1)
    await authorised(service, bridge, shop, "c1", clock)
    published = published_by(service)
    with writer_busy(service):
        bridge.port.on_event(CallStarted("c1", shop.cabins[0], UK, at=clock.now()))
        bridge.port.on_event(CallRinging("c1", at=clock.now()))
        assert shown(published) == [(CallState.DIALING, False), (CallState.RINGING, False)]
    await eventually(lambda: len(published) == 3)
    await service.async_inspect(lambda _: None)
    assert shown(published) == [(CallState.DIALING, False), (CallState.RINGING, False),
                                (CallState.RINGING, True)]
    assert desk.call("c1").state is CallState.RINGING
    await service.async_stop()


async def test_a_start_shown_but_not_stored_is_shown_failed(
        sessions: sessionmaker[Session], clock: FakeClock, monkeypatch: Any) -> None:
    """The start's INSERT fails after its dialing was shown: the call is hung up (as
    any call that cannot be accounted for) and the desks told it failed, so no tile
    keeps a call that never was."""
    shop, _, bridge, service = await started_service(sessions, clock, cabins=1)
    await authorised(service, bridge, shop, "c1", clock)
    published = published_by(service)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")
    monkeypatch.setattr(tracker_module._INSERT_CALL, "run", broken)
    bridge.port.on_event(CallStarted("c1", shop.cabins[0], UK, at=clock.now()))
    await eventually(lambda: len(shown(published)) == 2)
    assert shown(published) == [(CallState.DIALING, False), (CallState.FAILED, False)]
    await eventually(lambda: ("c1", CutReason.UNKNOWN_CALL) in bridge.cuts)
    await service.async_stop()


async def test_a_batch_whose_commit_fails_is_stored_event_by_event(
        sessions: sessionmaker[Session], clock: FakeClock, monkeypatch: Any) -> None:
    """The commit of a batch fails once (a disk error): the service hands its events
    over again one by one, and the call is stored ended and charged — the tracker's
    memory, read again from the database, does not take them for duplicates."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=1)
    await call_answered(service, bridge, shop, desk, "c1", clock)
    await service.async_inspect(lambda _: None)
    commit = CallTracker._commit
    failures = [RuntimeError("disk I/O error")]

    def failing_once(tracker: CallTracker, transaction: SessionTransaction) -> None:
        if failures:
            raise failures.pop()
        commit(tracker, transaction)
    monkeypatch.setattr(CallTracker, "_commit", failing_once)
    clock.advance(61)
    bridge.port.on_event(CallEnded("c1", hangup_by=HangupBy.CABIN, at=clock.now()))
    await eventually(lambda: desk.call("c1").state is CallState.ENDED)
    assert failures == []
    call = desk.call("c1")
    assert call.billed_seconds >= 61 and call.cost is not None and call.cost > 0
    assert desk.balance(shop.account_id) == Decimal(10) - call.cost
    desk.check_ledger(shop.callshop_id)
    await service.async_stop()


async def test_pbx_events_wait_for_a_database_that_went_away(
        clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    """PostgreSQL stops during two calls (a restart, say): one call's end waits for it
    rather than being dropped, a new call is refused (nothing could record it), the
    other call is still cut once at the instant the credit runs out; once the database
    is back the end and the cut are stored and charged, and the balance is exact."""
    try:
        cluster = await asyncio.to_thread(Cluster().start)
    except (PostgresUnavailable, OSError) as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"no PostgreSQL here: {exc}")
    engine = open_engine(cluster.url())
    try:
        upgrade(engine)
        shop, desk, bridge, service = await started_service(session_factory(engine), clock,
                                                            cabins=3)
        await call_answered(service, bridge, shop, desk, "ends", clock)
        await call_answered(service, bridge, shop, desk, "talks", clock, cabin=1)

        await asyncio.to_thread(cluster.halt)
        clock.advance(61)
        bridge.port.on_event(CallEnded("ends", hangup_by=HangupBy.CABIN, at=clock.now()))
        await eventually(lambda: "the database cannot be reached" in caplog.text)
        with pytest.raises(RuntimeError):
            await bridge.port.async_authorise(
                AuthorisationRequest("new", shop.cabins[2], UK, at=clock.now()))
        # The credit runs out while the database is away: the guard cuts from memory.
        instant = await service.async_inspect(lambda tracker: tracker.guard.next_cut())
        assert instant is not None
        clock.advance((instant - epoch_ms(clock.now()) + 1) / 1000)
        service.runner.wake()
        await eventually(lambda: ("talks", CutReason.CREDIT_EXHAUSTED) in bridge.cuts)
        await asyncio.sleep(2.5 * service_module.DATABASE_RETRY_S)    # tried again
        assert "PBX event dropped" not in caplog.text
        assert bridge.cuts.count(("talks", CutReason.CREDIT_EXHAUSTED)) == 1

        await asyncio.to_thread(cluster.serve)
        await eventually(lambda: "the database is back" in caplog.text, timeout=10)
        await eventually(lambda: desk.call("talks").state is CallState.CUT, timeout=5)
        ended, cut = desk.call("ends"), desk.call("talks")
        assert ended.state is CallState.ENDED and ended.cost is not None and ended.cost > 0
        assert cut.ended_at is not None and epoch_ms(cut.ended_at) == instant
        assert cut.cost is not None
        balance = desk.balance(shop.account_id)
        assert balance == Decimal(10) - ended.cost - cut.cost and balance >= 0
        assert desk.tracker.live_calls() == []
        desk.check_ledger(shop.callshop_id)
        await service.async_stop()
    finally:
        engine.dispose()
        await asyncio.to_thread(cluster.stop)


async def test_a_pull_with_nothing_left_still_tells_the_timer(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """A trip leaves the next deadline to the operation queued behind it; when that is
    a pull whose events a batch already took in, it tells the timer itself (else a
    cut could wait for whatever comes next)."""
    _, _, _, service = await started_service(sessions, clock, cabins=1)
    told: list[int | None] = []
    deadline_is = service.runner.deadline_is

    def recorded(deadline: int | None) -> None:
        told.append(deadline)
        deadline_is(deadline)
    service.runner.deadline_is = recorded  # type: ignore[method-assign]
    expected = await service.async_inspect(lambda tracker: tracker.next_deadline())
    await eventually(lambda: len(told) == 1)     # that trip told it too
    told.clear()
    await asyncio.wrap_future(service._submit(service._pull, lane=Lane.PBX, trip=False))
    await eventually(lambda: len(told) == 1)
    assert told == [expected]
    await service.async_stop()
