"""The asyncio edge: a bridge on the loop, the tracker on its writer thread, the timer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from cashdesk.call_state import CallState
from cashdesk.calls.changes import CallUpdated, Change
from cashdesk.calls.service import CallService
from cashdesk.clock import FakeClock
from cashdesk.pbx.bridge import (
    AuthorisationRequest,
    BridgeListener,
    CutReason,
    LiveCall,
    PbxBridge,
)
from cashdesk.pbx.events import CallAnswered, CallRinging, CallStarted
from cashdesk.prepaid.runner import DeadlineRunner
from cashdesk.prepaid.timeline import epoch_ms
from tests.calls.factories import Desk, make_shop

UK = "0044207946000"


class FakeBridge(PbxBridge):
    name = "fake"

    def __init__(self, live: list[LiveCall] | None = None) -> None:
        super().__init__()
        self.live = live or []
        self.cuts: list[tuple[str, CutReason]] = []
        self.backstops: list[tuple[str, int]] = []
        self.started = self.stopped = False

    async def async_start(self) -> None:
        self.started = True

    async def async_stop(self) -> None:
        self.stopped = True

    async def cut(self, pbx_call_id: str, reason: CutReason) -> None:
        self.cuts.append((pbx_call_id, reason))

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

    async def fire() -> None:
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
    of authorisations in one batch, in arrival order, even before an event that came
    first (a call's setup is held until its answer), then the events."""
    with sessions.begin() as db:
        shop = make_shop(db, clock, cabins=4)
    desk = Desk.open(sessions, clock)
    bridge = FakeBridge()
    service = CallService(desk.tracker, [bridge])
    await service.async_start()
    order: list[str] = []
    authorise_many, handle_many = desk.tracker.authorise_many, desk.tracker.handle_many

    def recorded_authorise_many(requests: list[AuthorisationRequest]) -> object:
        order.append("authorise " + " ".join(r.pbx_call_id for r in requests))
        return authorise_many(requests)

    def recorded_handle_many(events: object) -> None:
        order.append("events")
        handle_many(events)  # type: ignore[arg-type]

    desk.tracker.authorise_many = recorded_authorise_many  # type: ignore[method-assign]
    desk.tracker.handle_many = recorded_handle_many  # type: ignore[method-assign]
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
    assert order == ["authorise a1 a2 a3", "events", "read"]
    await service.async_stop()


async def test_an_authorisation_the_pbx_gave_up_on_is_not_decided(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """A caller that stopped waiting (its PBX's timer ran out, so the call was refused
    there) is not asked for when the writer gets to it."""
    with sessions.begin() as db:
        shop = make_shop(db, clock, cabins=4)
    desk = Desk.open(sessions, clock)
    bridge = FakeBridge()
    service = CallService(desk.tracker, [bridge])
    await service.async_start()
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
    with sessions.begin() as db:
        shop = make_shop(db, clock, cabins=2)
    desk = Desk.open(sessions, clock)
    bridge = FakeBridge()
    service = CallService(desk.tracker, [bridge])
    await service.async_start()
    deciding, release = threading.Event(), threading.Event()
    authorise_many = desk.tracker.authorise_many

    def slow_authorise_many(requests: list[AuthorisationRequest]) -> object:
        answers = authorise_many(requests)
        deciding.set()
        release.wait(5)
        return answers

    desk.tracker.authorise_many = slow_authorise_many  # type: ignore[method-assign]
    gave_up = asyncio.ensure_future(bridge.port.async_authorise(
        AuthorisationRequest("gone", shop.cabins[1], UK, at=clock.now())))
    await eventually(deciding.is_set)
    assert desk.tracker.guard.is_tracking("gone")
    gave_up.cancel()
    release.set()
    await eventually(lambda: not desk.tracker.guard.is_tracking("gone"))
    await service.async_stop()
