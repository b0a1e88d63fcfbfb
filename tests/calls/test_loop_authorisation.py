"""Authorisations decided on the event loop from memory (`CallTracker.
authorise_from_memory`, `CallService.authorise_now`), and what must still go to
the writer thread: the first call of a shop, refusals, capped sessions, anything while
the writer holds the tracker."""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from cashdesk.call_state import CallState
from cashdesk.calls.places import writes_a_place
from cashdesk.calls.service import CallService
from cashdesk.calls.tracker import CallTracker
from cashdesk.clock import FakeClock, SystemClock
from cashdesk.pbx.bridge import Authorisation, AuthorisationRequest, CutReason, RefusalReason
from cashdesk.pbx.events import CallAnswered, CallEnded, CallRinging, CallStarted, HangupBy
from cashdesk.prepaid.guard import account_budget
from cashdesk.store.database import open_engine, session_factory
from cashdesk.store.models import Cabin, Call, Callshop
from tests.calls.factories import Desk, RateRow, ShopSetup, make_shop
from tests.calls.test_service import (
    UK,
    FakeBridge,
    busy_writer,
    commits_held,
    eventually,
    first_rest_held,
    started_service,
)


def decided_on_loop(service: CallService) -> list[str]:
    """The calls the loop allowed from memory, as they are allowed."""
    allowed: list[str] = []
    at_once = service.authorise_now

    def recorded(request: AuthorisationRequest) -> Authorisation | None:
        assert threading.current_thread() is threading.main_thread()
        decision = at_once(request)
        if decision is not None:
            allowed.append(request.pbx_call_id)
        return decision

    service.authorise_now = recorded  # type: ignore[method-assign]
    return allowed


async def ask(bridge: FakeBridge, clock: FakeClock, call_id: str, cabin: str,
              number: str = UK) -> Authorisation:
    return await bridge.port.async_authorise(AuthorisationRequest(call_id, cabin, number,
                                                                  at=clock.now()))


async def first_call(shop: ShopSetup, bridge: FakeBridge, clock: FakeClock,
                     service: CallService) -> None:
    """A first call, decided by the writer: the shop's places and its account's budget
    are in memory from then on."""
    assert (await ask(bridge, clock, "first", shop.cabins[0])).allowed
    await service.async_inspect(lambda _: None)     # the writer's trip is over
    assert service.tracker.places.has_shop(shop.callshop_id)
    assert service.tracker.guard.has_budget(account_budget(shop.account_id))


async def test_a_call_from_a_known_shop_is_allowed_on_the_loop(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """At start the server reads every cabin's place and every shop's balance: a call
    is allowed at once on the loop, holds its first increment in the guard like any
    other, is billed when it starts, and the timer learns the deadline its hold may
    have moved."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=3)
    on_loop = decided_on_loop(service)

    answer = await ask(bridge, clock, "second", shop.cabins[1])
    assert answer.allowed and answer.max_duration_s is not None
    assert on_loop == ["second"]
    assert desk.tracker.guard.is_tracking("second")
    assert service.runner._told == (desk.tracker.next_deadline(),)
    # Asking again for it is the writer's (a repeated question is not the fast path's).
    assert await ask(bridge, clock, "second", shop.cabins[1]) == answer
    assert on_loop == ["second"]

    for event in (CallStarted("second", shop.cabins[1], UK, at=clock.now()),
                  CallAnswered("second", at=clock.now())):
        bridge.port.on_event(event)
    await eventually(lambda: desk.tracker.is_live("second")
                     and desk.call("second").state is CallState.ANSWERED)
    assert desk.call("second").price_per_minute > 0
    await service.async_stop()


async def test_a_forgotten_shop_is_read_again_on_its_next_call(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """Places forgotten (a write somewhere), a shop's next call goes to the writer,
    which reads the places of all its cabins at once: the call after it, from another
    cabin, is on the loop again."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=3)
    on_loop = decided_on_loop(service)
    desk.tracker.places.forget_all()
    assert (await ask(bridge, clock, "first", shop.cabins[0])).allowed
    assert on_loop == []
    await service.async_inspect(lambda _: None)     # the writer's trip is over
    assert desk.tracker.places.has_shop(shop.callshop_id)
    assert (await ask(bridge, clock, "next", shop.cabins[2])).allowed
    assert on_loop == ["next"]
    await service.async_stop()


async def test_refusals_and_capped_sessions_are_left_to_the_writer(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """The loop only ever allows: a number with no rate (its refusal is recorded for
    the desk) and a cabin whose session is capped (what it spent is stored) are
    decided by the writer, with the same answers as without the loop."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=3)
    with sessions.begin() as db:
        db.get_one(Cabin, shop.cabin_ids[2]).max_session_amount = Decimal("5.00")
    await first_call(shop, bridge, clock, service)
    on_loop = decided_on_loop(service)

    refused = await ask(bridge, clock, "nowhere", shop.cabins[1], "999")
    assert not refused.allowed
    assert desk.call("nowhere").state is CallState.FAILED
    capped = await ask(bridge, clock, "capped", shop.cabins[2])
    assert capped.allowed
    assert on_loop == []
    await service.async_stop()


async def test_nothing_is_decided_on_the_loop_while_the_writer_holds_the_tracker(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """The loop never waits for the tracker's lock: while the writer works, a call it
    could allow from memory is queued for the writer instead."""
    shop, _, bridge, service = await started_service(sessions, clock, cabins=3)
    await first_call(shop, bridge, clock, service)
    on_loop = decided_on_loop(service)
    release, blocker = await busy_writer(service)
    waiting = asyncio.ensure_future(ask(bridge, clock, "queued", shop.cabins[1]))
    await asyncio.sleep(0.02)
    assert not waiting.done() and len(service._asking.queue) == 1
    release.set()
    await blocker
    assert (await waiting).allowed
    assert on_loop == []
    await service.async_stop()


async def test_waiting_authorisations_go_first_and_in_order(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """Credit is first come, first served: a new INVITE decided on the loop first
    answers those already waiting that memory can allow, in order; one that needs the
    writer (here an unknown cabin) keeps everything behind it for the writer."""
    shop, _, bridge, service = await started_service(sessions, clock, cabins=3)
    await first_call(shop, bridge, clock, service)
    on_loop = decided_on_loop(service)
    loop = asyncio.get_running_loop()
    waited: asyncio.Future[Authorisation] = loop.create_future()
    service._asking.queue.append(
        (AuthorisationRequest("waited", shop.cabins[1], UK, at=clock.now()), waited))
    assert (await ask(bridge, clock, "next", shop.cabins[2])).allowed
    assert waited.done() and waited.result().allowed
    assert on_loop == ["next"] and not service._asking.queue

    stranger: asyncio.Future[Authorisation] = loop.create_future()
    service._asking.queue.append(
        (AuthorisationRequest("stranger", "nobody", UK, at=clock.now()), stranger))
    behind = await ask(bridge, clock, "behind", shop.cabins[2])
    assert behind.allowed and on_loop == ["next"]       # decided by the writer
    assert stranger.done() and stranger.result().reason is RefusalReason.CABIN_UNKNOWN
    await service.async_stop()


@pytest.mark.parametrize("where", ["statement", "commit"])
async def test_a_call_is_allowed_on_the_loop_whenever_the_writer_lets_go(
        sessions: sessionmaker[Session], clock: FakeClock, where: str) -> None:
    """The writer lets go of the tracker for every statement of an event (a call
    starting: its place read again, its row inserted) and while its transaction
    commits (the database's time, not the tracker's): an INVITE then is decided at
    once, not after the event or the commit."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=3)
    await first_call(shop, bridge, clock, service)
    on_loop = decided_on_loop(service)
    held = first_rest_held if where == "statement" else commits_held
    with held(desk.tracker) as resting:
        bridge.port.on_event(CallStarted("first", shop.cabins[0], UK, at=clock.now()))
        await eventually(resting.is_set)
        # Inside the event (the call not live yet), or at its commit (live).
        assert ("first" in desk.tracker._live) is (where == "commit")
        assert (await asyncio.wait_for(ask(bridge, clock, "meanwhile", shop.cabins[1]),
                                       1)).allowed
        assert on_loop == ["meanwhile"]
    await eventually(lambda: desk.call("first").state is CallState.DIALING)
    await service.async_stop()


async def test_a_changed_cabin_is_read_again_before_the_next_call(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """Writing a table a place is made of forgets every place: a cabin disabled (or a
    shop suspended) is refused on its very next call, by the writer, with its reason."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=3)
    await first_call(shop, bridge, clock, service)
    on_loop = decided_on_loop(service)
    with sessions.begin() as db:
        db.get_one(Cabin, shop.cabin_ids[1]).enabled = False
    assert not desk.tracker.places.has_shop(shop.callshop_id)

    refused = await ask(bridge, clock, "disabled", shop.cabins[1])
    assert not refused.allowed and refused.reason is RefusalReason.CABIN_DISABLED
    with sessions.begin() as db:
        db.execute(update(Callshop).where(Callshop.id == shop.callshop_id).values(active=False))
    suspended = await ask(bridge, clock, "suspended", shop.cabins[2])
    assert suspended.reason is RefusalReason.SHOP_INACTIVE
    assert on_loop == []
    await service.async_stop()


async def test_a_call_allowed_from_a_stale_place_is_cut_as_it_starts(
        sessions: sessionmaker[Session], clock: FakeClock, sqlite_engine: Engine) -> None:
    """A change this process could not see (another process disabled the cabin): the
    loop allows the call from the place it kept, and the writer, reading the place
    again when the call starts, cuts it, records why, and holds nothing for it."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=3)
    await first_call(shop, bridge, clock, service)
    on_loop = decided_on_loop(service)
    elsewhere = open_engine(str(sqlite_engine.url))
    try:
        with session_factory(elsewhere).begin() as db:
            db.get_one(Cabin, shop.cabin_ids[1]).enabled = False
    finally:
        elsewhere.dispose()
    assert desk.tracker.places.has_shop(shop.callshop_id)

    assert (await ask(bridge, clock, "stale", shop.cabins[1])).allowed
    assert on_loop == ["stale"]
    bridge.port.on_event(CallStarted("stale", shop.cabins[1], UK, at=clock.now()))
    await eventually(lambda: ("stale", CutReason.REFUSED) in bridge.cuts)
    assert desk.call("stale").state is CallState.FAILED
    assert desk.call("stale").hangup_reason == RefusalReason.CABIN_DISABLED.value
    assert not desk.tracker.guard.is_tracking("stale")
    await service.async_stop()


async def test_a_deadline_computed_before_a_loop_admission_is_asked_again(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """A trip's deadline reaches the loop after the loop admitted a call (whose hold
    may bring the guard's cuts earlier): the timer does not take it, it asks again."""
    shop, _, bridge, service = await started_service(sessions, clock, cabins=3)
    await first_call(shop, bridge, clock, service)
    service.runner._told = None
    service.runner._woken.clear()
    computed_before = service._decided_on_loop
    assert (await ask(bridge, clock, "second", shop.cabins[1])).allowed
    told = service.runner._told
    service._deliver([], 1, True, computed_before)
    assert service.runner._told == told != (1,)
    service._deliver([], 2, True, service._decided_on_loop)
    assert service.runner._told == (2,)
    await service.async_stop()


def test_which_statements_may_change_a_place() -> None:
    assert writes_a_place("UPDATE cabins SET enabled=? WHERE cabins.id = ?")
    assert writes_a_place('INSERT INTO "callshops" (name) VALUES (?)')
    assert writes_a_place("DELETE FROM resellers WHERE resellers.id = ?")
    assert writes_a_place("UPDATE accounts SET prepaid=? WHERE accounts.id = ?")
    # Charges and top-ups move the balance, which the guard keeps itself.
    assert not writes_a_place(
        "UPDATE accounts SET balance=?, version=? WHERE accounts.id = ? AND accounts.version = ?")
    assert not writes_a_place("UPDATE accounts SET balance=%(balance)s, version=(accounts.version"
                              " + %(version_1)s) WHERE accounts.id = %(account)s")
    assert not writes_a_place("UPDATE calls SET state=? WHERE calls.id = ?")
    assert not writes_a_place("SELECT cabins.id FROM cabins")


async def test_credit_never_goes_negative_with_calls_allowed_on_the_loop(
        sessions: sessionmaker[Session]) -> None:
    """Forty calls from six cabins on the real clock, their INVITEs, answers and hangups
    interleaved at random, on 12.00 at 0.50 a second plus 0.05 a call: many are allowed
    on the loop while the writer applies the others' events, and the guard cuts them
    all when the credit is gone. The balance ends at or above zero, equal to the
    top-up minus the costs, and the ledger's invariants hold."""
    clock = SystemClock()
    with sessions.begin() as db:
        shop = make_shop(db, clock, balance="12.00", cabins=6, rates=(  # type: ignore[arg-type]
            RateRow("44", "United Kingdom", sell="60", buy="30", buy_fee="0.05",
                    sell_steps="1/1", buy_steps="1/1"),))
    desk = Desk.open(sessions, clock)  # type: ignore[arg-type]
    bridge = FakeBridge()
    service = CallService(desk.tracker, [bridge])
    await service.async_start()
    on_loop = decided_on_loop(service)
    rng = random.Random(20261126)
    allowed: list[str] = []

    async def one_call(number: int) -> None:
        await asyncio.sleep(rng.uniform(0, 1.0))
        call, cabin = f"s{number}", shop.cabins[number % len(shop.cabins)]
        if not (await ask(bridge, clock, call, cabin)).allowed:  # type: ignore[arg-type]
            return
        allowed.append(call)
        bridge.port.on_event(CallStarted(call, cabin, UK, at=clock.now()))
        await asyncio.sleep(rng.uniform(0, 0.03))
        bridge.port.on_event(CallAnswered(call, at=clock.now()))
        await asyncio.sleep(rng.uniform(0.3, 1.5))
        bridge.port.on_event(CallEnded(call, hangup_by=HangupBy.CABIN, at=clock.now()))

    await asyncio.gather(*(one_call(number) for number in range(40)))
    await eventually(lambda: not desk.tracker.live_calls(), timeout=5)
    await service.async_stop()

    assert on_loop and set(on_loop) <= set(allowed)
    assert any(reason is CutReason.CREDIT_EXHAUSTED for _, reason in bridge.cuts)
    costs = sum((desk.call(call).cost or Decimal(0) for call in allowed), Decimal(0))
    final = desk.balance(shop.account_id)
    assert final >= 0
    assert final == Decimal("12.00") - costs
    desk.check_ledger(shop.callshop_id)


def test_places_are_kept_per_shop_and_forgotten_on_a_write_on_both_databases(
        any_sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """The writer keeps every cabin's place of a shop on its first call there; a write
    to a cabin (through any session of the engine) forgets them, a charge does not."""
    with any_sessions.begin() as db:
        shop = make_shop(db, clock, cabins=3)
    desk = Desk.open(any_sessions, clock)
    tracker = desk.tracker
    assert tracker.authorise(AuthorisationRequest("a", shop.cabins[0], UK, at=clock.now())).allowed
    assert tracker.places.has_shop(shop.callshop_id)
    assert {tracker.places.get(cabin) is not None for cabin in shop.cabins} == {True}
    assert tracker.authorise_from_memory(
        AuthorisationRequest("b", shop.cabins[1], UK, at=clock.now())) is not None

    desk.connect(shop.cabins[0], UK)     # a call answered, then ended and charged
    clock.advance(90)
    desk.hang_up(tracker.live_calls()[-1])
    assert tracker.places.has_shop(shop.callshop_id)

    with any_sessions.begin() as db:
        db.get_one(Cabin, shop.cabin_ids[2]).enabled = False
    assert not tracker.places.has_shop(shop.callshop_id)
    assert tracker.authorise_from_memory(
        AuthorisationRequest("c", shop.cabins[2], UK, at=clock.now())) is None
    refused = tracker.authorise(AuthorisationRequest("c", shop.cabins[2], UK, at=clock.now()))
    assert refused.reason is RefusalReason.CABIN_DISABLED


async def test_a_shop_whose_cabins_changed_is_read_again_at_once(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """After its cabins change (which forgets every place), the server reads the shop's
    places and balances again right away: even its very first call is then allowed on
    the loop, without waiting for the database."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=3)
    on_loop = decided_on_loop(service)
    with sessions.begin() as db:
        db.get_one(Cabin, shop.cabin_ids[0]).name = "Window"
    assert not desk.tracker.places.has_shop(shop.callshop_id)
    await service.async_warm(shop.callshop_id)
    assert desk.tracker.guard.has_budget(account_budget(shop.account_id))
    assert (await ask(bridge, clock, "first", shop.cabins[0])).allowed
    assert on_loop == ["first"]
    await service.async_stop()


def state_of(desk: Desk, pbx_call_id: str) -> CallState | None:
    with desk.sessions() as db:
        return db.scalar(select(Call.state).where(Call.pbx_call_id == pbx_call_id))


async def test_what_waits_is_decided_as_soon_as_the_writer_lets_go(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """An INVITE that came while the writer held the tracker is decided from memory by
    the writer itself the moment it lets go (a statement, a commit), not after the
    rest of what it is doing."""
    shop, _, bridge, service = await started_service(sessions, clock, cabins=3)
    await first_call(shop, bridge, clock, service)
    on_loop = decided_on_loop(service)
    go, in_window, leave = threading.Event(), threading.Event(), threading.Event()

    def work(tracker: CallTracker) -> None:
        go.wait(5)
        with tracker.at_rest():
            in_window.set()
            leave.wait(5)

    working = asyncio.ensure_future(service.async_inspect(work))
    await eventually(lambda: service._writer_thread is not None)
    waiting = asyncio.ensure_future(ask(bridge, clock, "waited", shop.cabins[1]))
    await eventually(lambda: len(service._asking.queue) == 1)
    go.set()
    await eventually(in_window.is_set)
    assert (await asyncio.wait_for(waiting, 1)).allowed
    assert not working.done() and on_loop == [] and not service._asking.queue
    leave.set()
    await working
    await service.async_stop()


async def test_memory_is_whole_whenever_the_writer_lets_go(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """What lets the loop decide while an event's statements run: at every moment the
    writer lets go of the tracker, each call the guard holds credit for is either
    authorised or live (a call id in neither could be allowed twice), through a whole
    call's life and a cut at exhaustion."""
    shop, desk, bridge, service = await started_service(sessions, clock, cabins=3)
    await first_call(shop, bridge, clock, service)
    tracker = desk.tracker
    at_rest = tracker.at_rest
    checked: list[set[str]] = []

    @contextlib.contextmanager
    def checking() -> Iterator[None]:
        held = set(tracker.guard.calls())
        assert held <= set(tracker._live) | set(tracker._authorised), held
        checked.append(held)
        with at_rest():
            yield

    tracker.at_rest = checking
    for n, call in enumerate(("first", "second")):
        if call != "first":
            assert (await ask(bridge, clock, call, shop.cabins[n])).allowed
        for event in (CallStarted(call, shop.cabins[n], UK, at=clock.now()),
                      CallRinging(call, at=clock.now()), CallAnswered(call, at=clock.now())):
            bridge.port.on_event(event)
    await eventually(lambda: state_of(desk, "second") is CallState.ANSWERED)
    clock.advance(30)
    bridge.port.on_event(CallEnded("first", hangup_by=HangupBy.CABIN, at=clock.now()))
    await eventually(lambda: state_of(desk, "first") is CallState.ENDED)
    clock.advance(36_000)      # far past what the balance pays: "second" is cut
    service.runner.wake()
    await eventually(lambda: state_of(desk, "second") is CallState.CUT)
    tracker.at_rest = at_rest
    assert any("second" in held for held in checked) and len(checked) > 8
    await service.async_stop()
