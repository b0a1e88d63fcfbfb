"""Reconciliation with the PBX's own list of live calls, after a restart or reconnect."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from cashdesk.call_state import CallState
from cashdesk.clock import FakeClock
from cashdesk.pbx.bridge import Cut, CutReason, LiveCall
from cashdesk.prepaid.timeline import epoch_ms
from tests.calls.factories import Desk, make_shop

UK = "0044207946000"


def live_call(desk: Desk, call_id: str, cabin: str, number: str = UK) -> LiveCall:
    call = desk.call(call_id)
    return LiveCall(call_id, cabin, number, call.started_at, call.answered_at)


def test_after_a_restart_billing_continues_from_the_answer(any_sessions: sessionmaker[Session],
                                                           clock: FakeClock) -> None:
    with any_sessions.begin() as db:
        shop = make_shop(db, clock)
    before = Desk.open(any_sessions, clock)
    talking = before.connect(shop.cabins[0], UK)
    ringing = before.dial(shop.cabins[1], UK)
    before.ring(ringing)
    clock.advance(100)

    after = Desk.open(any_sessions, clock)           # the server restarted
    assert after.tracker.load() == 2
    report = after.tracker.reconcile([live_call(after, talking, shop.cabins[0]),
                                      live_call(after, ringing, shop.cabins[1])])
    assert sorted(report.recovered) == sorted([talking, ringing])
    assert report.closed == report.cut == report.adopted == ()
    assert after.backstops()[0].pbx_call_id == talking
    clock.advance(50)
    after.hang_up(talking)
    call = after.call(talking)
    assert call.state is CallState.ENDED and call.billed_seconds == 180
    assert call.price == Decimal("0.60")
    after.answer(ringing)
    clock.advance(10)
    after.hang_up(ringing)
    assert after.call(ringing).price == Decimal("0.20")
    after.check_ledger(shop.callshop_id)


def test_a_recovered_call_is_billed_no_further_than_the_credit_went(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock, balance="1.00")
    before = Desk.open(sessions, clock)
    call_id = before.connect(shop.cabins[0], UK)
    answered = epoch_ms(clock.now())
    clock.advance(20 * 60)                          # down for twenty minutes
    after = Desk.open(sessions, clock)
    after.tracker.load()
    after.tracker.reconcile([live_call(after, call_id, shop.cabins[0])])
    assert after.cuts() == [Cut(call_id, CutReason.CREDIT_EXHAUSTED)]
    call = after.call(call_id)
    assert call.state is CallState.CUT
    assert epoch_ms(call.ended_at) == answered + 600_000     # what 1.00 paid for
    assert after.balance(shop.account_id) == 0
    after.check_ledger(shop.callshop_id)


def test_calls_gone_from_the_pbx_are_closed_at_the_best_known_time(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock)
    desk = Desk.open(sessions, clock)
    talking = desk.connect(shop.cabins[0], UK)
    ringing = desk.dial(shop.cabins[1], UK)
    clock.advance(70)
    lost_at = clock.now()                           # the bridge lost its PBX here
    clock.advance(300)
    report = desk.tracker.reconcile([], lost_at=lost_at)
    assert sorted(report.closed) == sorted([talking, ringing])
    call = desk.call(talking)
    assert call.state is CallState.ENDED and call.ended_at == lost_at
    assert call.billed_seconds == 120 and call.price == Decimal("0.40")
    assert desk.call(ringing).state is CallState.FAILED
    assert desk.tracker.live_calls() == [] and desk.tracker.guard.calls() == []
    desk.check_ledger(shop.callshop_id)


def test_without_a_lost_time_a_closed_call_ends_no_later_than_its_deadline(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock, balance="1.00")
    before = Desk.open(sessions, clock)
    call_id = before.connect(shop.cabins[0], UK)
    answered = epoch_ms(clock.now())
    clock.advance(3600)
    after = Desk.open(sessions, clock)
    after.tracker.load()
    after.tracker.reconcile([])
    call = after.call(call_id)
    # Its backstop ended it after 600 s at the latest: billed up to then, not for an hour.
    assert call.state is CallState.ENDED and epoch_ms(call.ended_at) == answered + 600_000
    assert after.balance(shop.account_id) == 0
    after.check_ledger(shop.callshop_id)


def test_calls_up_at_the_pbx_but_unknown_here_are_adopted_or_cut(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock)
    desk = Desk.open(sessions, clock)
    answered_at = clock.now() - timedelta(seconds=30)
    report = desk.tracker.reconcile([
        LiveCall("billable", shop.cabins[0], UK, answered_at - timedelta(seconds=5),
                 answered_at),
        LiveCall("stranger", "not-a-cabin", UK, answered_at, answered_at),
        LiveCall("unrated", shop.cabins[1], "009912345678", answered_at, answered_at),
    ])
    assert report.adopted == ("billable",)
    assert sorted(report.cut) == ["stranger", "unrated"]
    assert sorted(c.pbx_call_id for c in desk.cuts()) == ["stranger", "unrated"]
    assert {c.reason for c in desk.cuts()} == {CutReason.UNKNOWN_CALL}
    adopted = desk.call("billable")
    assert adopted.state is CallState.ANSWERED and adopted.answered_at == answered_at
    clock.advance(31)
    desk.hang_up("billable")
    assert desk.call("billable").billed_seconds == 120     # 61 s since its answer
    desk.check_ledger(shop.callshop_id)


def test_a_call_over_here_but_still_up_at_the_pbx_is_cut_again(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock, balance="0.50")
    desk = Desk.open(sessions, clock)
    call_id = desk.connect(shop.cabins[0], UK)
    desk.run_until(400)                 # cut at 300 s when the credit ran out
    assert desk.cuts() == [Cut(call_id, CutReason.CREDIT_EXHAUSTED)]
    # Kamailio 5.6.3 may BYE the cabin but not the carrier: the dialog stays listed.
    restarted = Desk.open(sessions, clock)
    restarted.tracker.load()
    report = restarted.tracker.reconcile([live_call(restarted, call_id, shop.cabins[0])])
    assert report.cut == (call_id,)
    assert restarted.cuts() == [Cut(call_id, CutReason.UNKNOWN_CALL)]
    assert restarted.call(call_id).state is CallState.CUT        # billed once, unchanged
    restarted.check_ledger(shop.callshop_id)
