"""The training PBX: simulated customers on a fake clock, through the real tracker."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cashdesk.call_state import CallState
from cashdesk.clock import FakeClock
from cashdesk.pbx.bridge import Authorisation, AuthorisationRequest, Cut, SetBackstop
from cashdesk.pbx.events import CallAnswered, CallEnded, HangupBy, PbxEvent
from cashdesk.pbx.training import Behaviour, TrainingBridge, training_bridge_for
from cashdesk.prepaid.timeline import epoch_ms
from cashdesk.rating.numbers import NumberPlan
from cashdesk.store.models import Call
from tests.calls.factories import DEFAULT_RATES, Desk, make_shop


class DirectListener:
    """The tracker as a bridge sees it, without threads (tests only)."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def on_event(self, event: PbxEvent) -> None:
        self.desk.tracker.handle(event)

    def authorise_now(self, request: AuthorisationRequest) -> Authorisation | None:
        return None

    async def async_authorise(self, request: AuthorisationRequest) -> Authorisation:
        return self.desk.tracker.authorise(request)


async def simulate(desk: Desk, bridge: TrainingBridge, seconds: int, *,
                   server_alive: bool = True) -> None:
    """Run the shop for `seconds` of fake time: the bridge's customers and the guard's
    deadlines in time order, the tracker's commands handed to the bridge."""
    bridge.attach(DirectListener(desk))
    bridge.begin()
    end = epoch_ms(desk.clock.now()) + seconds * 1000
    delivered = 0

    async def deliver() -> None:
        nonlocal delivered
        for command in desk.commands[delivered:]:
            if isinstance(command, Cut):
                await bridge.cut(command.pbx_call_id, command.reason)
            elif isinstance(command, SetBackstop):
                await bridge.set_backstop(command.pbx_call_id, command.max_duration_s)
        delivered = len(desk.commands)

    while True:
        upcoming = bridge.next_action_at()
        moments = [epoch_ms(upcoming)] if upcoming is not None else []
        deadline = desk.tracker.next_deadline() if server_alive else None
        if deadline is not None:
            moments.append(deadline)
        if not moments or min(moments) > end:
            break
        desk.advance_to(min(moments))
        if server_alive:
            desk.tracker.on_time()
            await deliver()
        await bridge.run_due()
        await deliver()


def calls_of(sessions: sessionmaker[Session], callshop_id: int) -> list[Call]:
    with sessions() as db:
        return list(db.scalars(select(Call).where(Call.callshop_id == callshop_id)
                               .order_by(Call.id)))


async def test_an_afternoon_in_a_training_shop(sessions: sessionmaker[Session],
                                               clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock, training=True, balance="0", cabins=4)
    desk = Desk.open(sessions, clock)
    with sessions() as db:
        bridge = training_bridge_for(db, desk.rater, clock, shop.callshop_id, seed=42)
    await simulate(desk, bridge, 3 * 3600)

    calls = calls_of(sessions, shop.callshop_id)
    assert len(calls) > 40
    outcomes = Counter((c.state, c.sip_code) for c in calls if c.state.is_final)
    assert outcomes[(CallState.ENDED, None)] > 20
    assert outcomes[(CallState.FAILED, 486)] and outcomes[(CallState.FAILED, 480)]
    assert outcomes[(CallState.FAILED, 487)]
    prefixes = {rate.prefix for rate in DEFAULT_RATES}
    for call in calls:
        assert call.training
        assert call.dialed_number.startswith("00")
        assert call.number == NumberPlan().normalise(call.dialed_number)
        assert call.sell_prefix in prefixes and call.number.startswith(call.sell_prefix)
        if call.state is CallState.ENDED:
            assert call.price > 0 and call.session_id is not None
    # Everything still live at the end is live at the PBX too, and nothing else.
    live_here = set(desk.tracker.live_calls())
    assert live_here == {c.pbx_call_id for c in await bridge.list_live_calls()}
    assert desk.balance(shop.account_id) == 0        # training: no money moved
    desk.check_ledger(shop.callshop_id)


async def test_the_same_seed_replays_the_same_afternoon(sessions: sessionmaker[Session],
                                                        clock: FakeClock) -> None:
    with sessions.begin() as db:
        shops = [make_shop(db, clock, training=True, balance="0", cabins=2) for _ in range(2)]
    runs = []
    for shop in shops:
        run_clock = FakeClock(clock.now())
        desk = Desk.open(sessions, run_clock)
        bridge = TrainingBridge(run_clock, shop.cabins, [r.prefix for r in DEFAULT_RATES],
                                seed=7)
        await simulate(desk, bridge, 3600)
        runs.append([(type(e).__name__, e.at, getattr(e, "dialed_number", ""))
                     for e in bridge.emitted])
    assert runs[0] == runs[1] and len(runs[0]) > 20


async def test_credit_running_out_cuts_the_customers_and_the_pbx_obeys(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock, balance="3.00", cabins=3)
    desk = Desk.open(sessions, clock)
    busy = Behaviour(mean_idle_s=20, answer_share=0.95, busy_share=0.02, cancel_share=0.01,
                     talk_median_s=600)
    bridge = TrainingBridge(clock, shop.cabins, ["44", "212"], seed=3, behaviour=busy)
    await simulate(desk, bridge, 2 * 3600)

    calls = calls_of(sessions, shop.callshop_id)
    cut = [c for c in calls if c.state is CallState.CUT]
    assert cut and {c.hangup_reason for c in cut} == {"credit_exhausted"}
    # The PBX hung each cut call up then or a few ms later (its own backstop may fall
    # on the very millisecond of the cut); that changed nothing.
    ends = {e.pbx_call_id: e for e in bridge.emitted if isinstance(e, CallEnded)}
    for call in cut:
        assert ends[call.pbx_call_id].hangup_by is HangupBy.PBX
        assert epoch_ms(ends[call.pbx_call_id].at) >= epoch_ms(call.ended_at)
    refused = [c for c in calls if c.sip_code == 402]
    assert refused, "once the credit is gone, customers are refused with 402"
    assert desk.balance(shop.account_id) >= 0
    desk.check_ledger(shop.callshop_id)


async def test_with_the_server_silent_the_backstop_still_ends_the_call(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock, balance="1.00", cabins=1)
    desk = Desk.open(sessions, clock)
    forever = Behaviour(mean_idle_s=1, answer_share=1.0, busy_share=0, cancel_share=0,
                        talk_median_s=36_000, talk_sigma=0.01, talk_max_s=36_000,
                        calls_per_customer=(1, 1))
    bridge = TrainingBridge(clock, shop.cabins, ["44"], seed=1, behaviour=forever)
    # The server authorises and hears events, but its timer never fires.
    await simulate(desk, bridge, 1200, server_alive=False)
    first = calls_of(sessions, shop.callshop_id)[0]
    answered = next(e for e in bridge.emitted if isinstance(e, CallAnswered))
    ended = next(e for e in bridge.emitted if isinstance(e, CallEnded))
    assert ended.hangup_by is HangupBy.PBX and ended.reason == "backstop timeout"
    assert ended.at is not None and answered.at is not None
    assert (ended.at - answered.at).total_seconds() == 600     # 1.00 at 0.10/min
    assert first.state in (CallState.CUT, CallState.ENDED)
    assert epoch_ms(first.ended_at) - epoch_ms(first.answered_at) == 600_000
    assert desk.balance(shop.account_id) == 0
    desk.check_ledger(shop.callshop_id)


def test_numbers_look_like_real_international_numbers(clock: FakeClock) -> None:
    bridge = TrainingBridge(clock, ["cab"], ["44", "33", "1", "2126", "880"], seed=5)
    plan = NumberPlan()
    for _ in range(200):
        dialed = bridge.number()
        number = plan.normalise(dialed)
        assert dialed.startswith("00") and 10 <= len(number) <= 15
        assert any(number.startswith(p) for p in ("44", "33", "1", "2126", "880"))
