"""The call tracker on a real database: CDRs, prices, sessions, charges, refusals."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from cashdesk.call_state import CallState
from cashdesk.calls.changes import BalanceUpdated, CallUpdated, SessionUpdated
from cashdesk.clock import FakeClock
from cashdesk.ledger.sessions import session_due
from cashdesk.money import Money
from cashdesk.pbx.bridge import AuthorisationRequest, Cut, CutReason, RefusalReason
from cashdesk.pbx.events import CallAnswered, CallEnded, CallFailed, CallStarted, HangupBy, PbxEvent
from cashdesk.prepaid.guard import account_budget
from cashdesk.prepaid.timeline import epoch_ms
from cashdesk.rating.pricing import RateTerms, charge
from cashdesk.store.database import session_factory
from cashdesk.store.models import Cabin, CabinSession, Call, Callshop
from tests.calls.factories import (
    DEFAULT_RATES,
    Desk,
    RateRow,
    ShopSetup,
    make_reseller,
    make_shop,
)


def sell_terms(call: Call) -> RateTerms:
    return RateTerms(call.sell_prefix, call.destination, call.price_per_minute,
                     call.connection_fee, call.initial_increment, call.subsequent_increment,
                     call.grace_seconds)


def buy_terms(call: Call) -> RateTerms:
    return RateTerms(call.buy_prefix, call.destination, call.buy_price_per_minute,
                     call.buy_connection_fee, call.buy_initial_increment,
                     call.buy_subsequent_increment, call.buy_grace_seconds)


def talk_ms(call: Call) -> int:
    assert call.answered_at is not None and call.ended_at is not None
    return epoch_ms(call.ended_at) - epoch_ms(call.answered_at)


def test_a_call_from_dialing_to_ended_is_billed_by_the_one_pricing_function(
        any_sessions: sessionmaker[Session], clock: FakeClock) -> None:
    with any_sessions.begin() as db:
        shop = make_shop(db, clock, balance="10", reseller=None)
    desk = Desk.open(any_sessions, clock)
    cabin = shop.cabins[0]

    call_id = desk.dial(cabin, "+44 20 7946 0958")
    assert desk.call(call_id).state is CallState.DIALING
    clock.advance(0.8)
    desk.ring(call_id)
    clock.advance(6.2)
    desk.answer(call_id)
    clock.advance(125.347)
    desk.hang_up(call_id)

    call = desk.call(call_id)
    assert call.state is CallState.ENDED and call.number == "442079460958"
    assert (call.sell_prefix, call.price_per_minute) == ("44", Decimal("0.2000"))
    assert (call.buy_prefix, call.buy_price_per_minute) == ("44", Decimal("0.1000"))
    duration = talk_ms(call)
    assert duration == 125_347
    sold = charge(sell_terms(call), duration, "EUR")
    assert (call.billed_seconds, call.price) == (sold.billed_seconds, sold.amount.amount) \
        == (180, Decimal("0.6000"))
    assert call.cost == charge(buy_terms(call), duration, "EUR").amount.amount == Decimal("0.3")
    assert call.provider_cost == Decimal("0.15")       # the reseller's 0.05/min
    assert call.hangup_reason == "hung up by cabin"
    assert desk.balance(shop.account_id) == Decimal("9.7")

    # A second call in the same cabin joins the same session.
    second = desk.connect(cabin, "0033612345678")
    clock.advance(47)
    desk.hang_up(second)
    with any_sessions() as db:
        cabin_session = db.scalars(select(CabinSession)
                                   .where(CabinSession.cabin_id == shop.cabin_ids[0])).one()
        calls = db.scalars(select(Call).where(Call.session_id == cabin_session.id)).all()
        assert {c.pbx_call_id for c in calls} == {call_id, second}
        assert session_due(db, cabin_session) == Money(sum(c.price for c in calls), "EUR")
    france = desk.call(second)
    assert france.price == charge(sell_terms(france), 47_000, "EUR").amount.amount
    assert france.price == Decimal("0.05") + Decimal("0.15") * 48 / 60   # 30/6: 48 s billed

    states = [c.call.state for c in desk.changes
              if isinstance(c, CallUpdated) and c.call.pbx_call_id == call_id]
    assert states == [CallState.DIALING, CallState.RINGING, CallState.ANSWERED, CallState.ENDED]
    last_session = [c for c in desk.changes if isinstance(c, SessionUpdated)][-1]
    assert last_session.total_due == Money(Decimal("0.6") + france.price, "EUR")
    assert last_session.live_calls == 0 and last_session.calls == 2
    balances = [c for c in desk.changes if isinstance(c, BalanceUpdated)
                and c.account_id == shop.account_id]
    assert balances[-1].balance == Money(desk.balance(shop.account_id), "EUR")
    assert balances[-1].callshop_id == shop.callshop_id
    assert desk.cuts() == []
    desk.check_ledger(shop.callshop_id)


def test_changes_carry_wire_data(sessions: sessionmaker[Session], clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock)
    desk = Desk.open(sessions, clock)
    desk.connect(shop.cabins[0], "0044207946000")
    update = [c for c in desk.changes if isinstance(c, CallUpdated)][-1]
    data = update.data()
    assert data["state"] == "answered" and data["rate"]["price_per_minute"] == "0.2000"
    assert update.kind == "call_updated"


def test_unanswered_calls_cost_nothing_and_join_no_session(sessions: sessionmaker[Session],
                                                           clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock)
    desk = Desk.open(sessions, clock)
    busy = desk.dial(shop.cabins[0], "0044207946000")
    desk.ring(busy)
    clock.advance(3)
    desk.tracker.handle(CallFailed(busy, 486, "busy", at=clock.now()))
    cancelled = desk.dial(shop.cabins[0], "0044207946001")
    desk.ring(cancelled)
    clock.advance(20)
    desk.tracker.handle(CallFailed(cancelled, 487, "cancelled", at=clock.now()))
    for call_id, code in ((busy, 486), (cancelled, 487)):
        call = desk.call(call_id)
        assert call.state is CallState.FAILED and call.sip_code == code
        assert (call.price, call.cost, call.billed_seconds) == (0, 0, 0)
        assert call.session_id is None and call.answered_at is None
    assert desk.balance(shop.account_id) == Decimal(10)
    assert desk.tracker.guard.available(account_budget(shop.account_id)) == 100_000
    desk.check_ledger(shop.callshop_id)


def _refusal_cases() -> list:
    return [
        pytest.param({}, "0099123456789", RefusalReason.NO_RATE, 404, id="no-sell-rate"),
        pytest.param({"blocked_prefixes": "2126, 88"}, "00212612345678",
                     RefusalReason.BLOCKED_DESTINATION, 403, id="blocked"),
        pytest.param({"cabin.enabled": False}, "0044207946000", RefusalReason.CABIN_DISABLED,
                     403, id="cabin-disabled"),
        pytest.param({"active": False}, "0044207946000", RefusalReason.SHOP_INACTIVE, 403,
                     id="shop-suspended"),
        pytest.param({}, "00*44#", RefusalReason.INVALID_NUMBER, 484, id="service-code"),
        pytest.param({"balance": "0.09"}, "0044207946000", RefusalReason.NO_CREDIT, 402,
                     id="no-credit"),
        pytest.param({"cabin.deposit": Decimal("0.19")}, "0044207946000",
                     RefusalReason.DEPOSIT_EXHAUSTED, 402, id="deposit"),
        pytest.param({"max_session_amount": Decimal("0.15")}, "0044207946000",
                     RefusalReason.MAX_SESSION_AMOUNT, 403, id="max-session-amount"),
        pytest.param({"cabin.max_call_seconds": 0}, "0044207946000",
                     RefusalReason.MAX_CALL_DURATION, 403, id="max-call-duration"),
    ]


@pytest.mark.parametrize(("settings", "number", "reason", "code"), _refusal_cases())
def test_each_refusal_has_its_reason_and_sip_code(sessions: sessionmaker[Session],
                                                  clock: FakeClock, settings: dict,
                                                  number: str, reason: RefusalReason,
                                                  code: int) -> None:
    settings = dict(settings)
    with sessions.begin() as db:
        shop = make_shop(db, clock, balance=settings.pop("balance", "10"),
                         **{k: v for k, v in settings.items() if not k.startswith("cabin.")})
        cabin = db.get_one(Cabin, shop.cabin_ids[0])
        for name, value in settings.items():
            if name.startswith("cabin."):
                setattr(cabin, name.removeprefix("cabin."), value)
    desk = Desk.open(sessions, clock)
    answer = desk.tracker.authorise(AuthorisationRequest("ask-1", shop.cabins[0], number,
                                                         at=clock.now()))
    assert not answer.allowed
    assert (answer.reason, answer.sip_code) == (reason, code)
    assert answer.detail
    refused = desk.call("ask-1")
    assert refused.state is CallState.FAILED and refused.sip_code == code
    assert refused.hangup_reason == reason.value and refused.session_id is None
    # Asking again gets the same answer; a PBX routing it anyway gets it cut.
    assert desk.tracker.authorise(AuthorisationRequest("ask-1", shop.cabins[0], number)) == answer
    desk.dial(shop.cabins[0], number, call_id="ask-1")
    assert desk.cuts() == [Cut("ask-1", CutReason.REFUSED)]
    assert desk.tracker.guard.calls() == []
    desk.check_ledger(shop.callshop_id)


def test_an_unknown_cabin_is_refused_without_a_record(sessions: sessionmaker[Session],
                                                      clock: FakeClock) -> None:
    with sessions.begin() as db:
        make_shop(db, clock)
    desk = Desk.open(sessions, clock)
    answer = desk.tracker.authorise(AuthorisationRequest("x", "nobody", "0044207946000"))
    assert (answer.reason, answer.sip_code) == (RefusalReason.CABIN_UNKNOWN, 404)
    desk.dial("nobody", "0044207946000", call_id="y")     # routed without asking
    assert desk.cuts() == [Cut("y", CutReason.REFUSED)]
    with sessions() as db:
        assert db.scalars(select(Call)).all() == []


def test_missing_buy_or_provider_rates_refuse(sessions: sessionmaker[Session],
                                              clock: FakeClock) -> None:
    rates = (*DEFAULT_RATES, RateRow("49", "Germany", sell="0.10", buy="0.05", provider="0"))
    with sessions.begin() as db:
        reseller = make_reseller(db, clock, prepaid=True, balance="5",
                                 rates=DEFAULT_RATES)     # no provider rate for 49
        shop = make_shop(db, clock, reseller=reseller, rates=rates)
        other = make_shop(db, clock, rates=DEFAULT_RATES)
        # The shop sells a destination its reseller does not sell it.
        db.get_one(Callshop, other.callshop_id)
    desk = Desk.open(sessions, clock)
    no_provider = desk.tracker.authorise(AuthorisationRequest("p", shop.cabins[0],
                                                              "004930123456"))
    assert no_provider.reason is RefusalReason.NO_RATE and "provider" in no_provider.detail
    assert desk.tracker.authorise(AuthorisationRequest("q", shop.cabins[0],
                                                       "0044207946000")).allowed


def test_authorised_rates_are_the_rates_the_call_is_billed_at(sessions: sessionmaker[Session],
                                                              clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock)
    desk = Desk.open(sessions, clock)
    answer = desk.tracker.authorise(AuthorisationRequest("c1", shop.cabins[0],
                                                         "00212612345678", at=clock.now()))
    assert answer.allowed and answer.sip_code == 200
    assert answer.max_duration_s is not None and answer.max_duration_s > 600
    desk.dial(shop.cabins[0], "00212612345678", call_id="c1")
    desk.answer("c1")
    clock.advance(31)
    desk.hang_up("c1")
    call = desk.call("c1")
    assert (call.sell_prefix, call.destination) == ("2126", "Morocco mobile")
    assert call.price == Decimal("1.20") * 36 / 60


def test_credit_running_out_cuts_every_call_at_the_exact_instant(
        any_sessions: sessionmaker[Session], clock: FakeClock) -> None:
    from tests.prepaid.expected import expected_cut
    with any_sessions.begin() as db:
        shop = make_shop(db, clock, balance="2.00", cabins=4)
    desk = Desk.open(any_sessions, clock)
    numbers = ["0044207946000", "0033612345678", "0012025550123", "00212612345678"]
    calls = []
    for cabin, number in zip(shop.cabins, numbers):
        calls.append(desk.connect(cabin, number))
        clock.advance(4.321)
    stored = [desk.call(c) for c in calls]
    expected = expected_cut([(buy_terms(c), epoch_ms(c.answered_at)) for c in stored],
                            20_000, "EUR")
    assert desk.tracker.guard.next_cut() == expected
    desk.run_until(3600)
    assert {c.pbx_call_id for c in desk.cuts()} == set(calls)
    for call in (desk.call(c) for c in calls):
        assert call.state is CallState.CUT and call.hangup_reason == "credit_exhausted"
        assert epoch_ms(call.ended_at) == expected
        assert call.cost == charge(buy_terms(call), talk_ms(call), "EUR").amount.amount
        assert call.price == charge(sell_terms(call), talk_ms(call), "EUR").amount.amount
    assert 0 <= desk.balance(shop.account_id) < Decimal("2.00")
    # A PBX hang-up a few ms after the cut changes nothing.
    for call_id in calls:
        desk.tracker.handle(CallEnded(call_id, "cut", HangupBy.PBX,
                                      at=clock.now() + timedelta(milliseconds=3)))
    assert [desk.call(c).state for c in calls] == [CallState.CUT] * 4
    # And a new call is refused with 402 if the rest cannot pay a first increment.
    answer = desk.tracker.authorise(AuthorisationRequest("late", shop.cabins[0],
                                                         "00212612345678"))
    assert (answer.allowed, answer.sip_code) == (False, 402)
    desk.check_ledger(shop.callshop_id)


def test_cuts_taken_ahead_are_recorded_at_their_instant_by_the_next_transaction(
        any_sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """The server takes the cuts a few milliseconds before their instant (to send them
    at it) and leaves their database work to whatever runs next on the writer."""
    with any_sessions.begin() as db:
        shop = make_shop(db, clock, balance="2.00", cabins=3)
    desk = Desk.open(any_sessions, clock)
    cut_calls = [desk.connect(cabin, "0044207946000") for cabin in shop.cabins[:2]]
    instant = desk.tracker.guard.next_cut()
    assert instant is not None
    desk.advance_to(instant - 20)
    assert desk.tracker.take_due(instant - 30) == []      # nothing due by then
    taken = desk.tracker.take_due(instant)
    assert taken == [Cut(c, CutReason.CREDIT_EXHAUSTED) for c in cut_calls]
    assert desk.cuts() == []                   # the taker sends them, not `on_cuts`
    assert [desk.call(c).state for c in cut_calls] == [CallState.ANSWERED] * 2
    # Memory is past the instant already: the exhausted account admits no new call.
    late = desk.tracker.authorise(AuthorisationRequest("late", shop.cabins[2],
                                                         "0044207946000"))
    assert (late.allowed, late.sip_code) == (False, 402)
    # The next operation (here the cabin hanging up before the instant) records them
    # at their instant first; the hang-up of a call already cut changes nothing.
    desk.hang_up(cut_calls[0])
    for call in (desk.call(c) for c in cut_calls):
        assert call.state is CallState.CUT and call.hangup_reason == "credit_exhausted"
        assert epoch_ms(call.ended_at) == instant
        assert call.cost == charge(buy_terms(call), talk_ms(call), "EUR").amount.amount
    desk.advance_to(instant)
    desk.tracker.on_time()                     # nothing left to do, nothing twice
    assert desk.cuts() == []
    assert 0 <= desk.balance(shop.account_id) < Decimal("2.00")
    desk.check_ledger(shop.callshop_id)


@pytest.mark.parametrize("count", [1, 12, 40])
def test_many_mixed_calls_are_cut_at_the_independently_computed_instant(
        sessions: sessionmaker[Session], clock: FakeClock, count: int) -> None:
    import random

    from tests.prepaid.expected import expected_cut
    rng = random.Random(count)
    numbers = ["0044207946000", "0033612345678", "0012025550123", "00212612345678",
               "00212512345678"]
    with sessions.begin() as db:
        shop = make_shop(db, clock, balance=str(2 * count), cabins=count)
    desk = Desk.open(sessions, clock)
    calls = []
    for cabin in shop.cabins:
        calls.append(desk.connect(cabin, rng.choice(numbers)))
        clock.advance(rng.uniform(0.1, 20))
    stored = [desk.call(c) for c in calls]
    expected = expected_cut([(buy_terms(c), epoch_ms(c.answered_at)) for c in stored],
                            2 * count * 10_000, "EUR")
    assert expected is not None
    desk.run_until(4 * 3600)
    for call in (desk.call(c) for c in calls):
        assert call.state is CallState.CUT and epoch_ms(call.ended_at) == expected
    assert 0 <= desk.balance(shop.account_id)
    assert {c.pbx_call_id for c in desk.cuts()} == set(calls)
    desk.check_ledger(shop.callshop_id)


def test_a_top_up_during_calls_moves_the_cut_later(sessions: sessionmaker[Session],
                                                   clock: FakeClock) -> None:
    from cashdesk.ledger.accounts import record_topup
    from cashdesk.ledger.kinds import TopupKind
    from cashdesk.store.models import Account
    with sessions.begin() as db:
        shop = make_shop(db, clock, balance="1.00")
    desk = Desk.open(sessions, clock)
    start = epoch_ms(clock.now())
    call_id = desk.connect(shop.cabins[0], "0044207946000")      # 0.10/min buy
    assert desk.tracker.guard.next_cut() == start + 600_000
    desk.run_until(300)
    with sessions.begin() as db:
        record_topup(db, clock, db.get_one(Account, shop.account_id),
                     Money.of("0.50", "EUR"), TopupKind.CASH)
    desk.tracker.refresh_balances([shop.account_id])
    assert desk.tracker.guard.next_cut() == start + 900_000
    assert desk.backstops()[-1].max_duration_s == 900
    topped = desk.changes[-1]
    assert isinstance(topped, BalanceUpdated) and topped.balance == Money.of("1.50", "EUR")
    # Five minutes of 0.10 are reserved by the running call (the sixth starts at 300.001 s).
    assert topped.available == Money.of("1.00", "EUR")
    assert topped.data()["available"] == "1.0000"
    desk.run_until(3600)
    call = desk.call(call_id)
    assert call.state is CallState.CUT and epoch_ms(call.ended_at) == start + 900_000
    assert desk.balance(shop.account_id) == 0
    desk.check_ledger(shop.callshop_id)


def test_a_prepaid_reseller_running_dry_cuts_the_calls_of_all_its_shops(
        any_sessions: sessionmaker[Session], clock: FakeClock) -> None:
    with any_sessions.begin() as db:
        reseller = make_reseller(db, clock, prepaid=True, balance="0.60")
        shops = [make_shop(db, clock, reseller=reseller, balance="50") for _ in range(2)]
    desk = Desk.open(any_sessions, clock)
    start = epoch_ms(clock.now())
    calls = [desk.connect(shop.cabins[k], "0044207946000") for shop in shops for k in (0, 1)]
    # Four calls at the reseller's 0.05/min on 0.60: three minutes, not four.
    assert desk.tracker.guard.next_cut() == start + 180_000
    desk.run_until(3600)
    for call_id in calls:
        call = desk.call(call_id)
        assert call.state is CallState.CUT and epoch_ms(call.ended_at) == start + 180_000
        assert call.provider_cost == Decimal("0.15") and call.cost == Decimal("0.30")
    assert desk.balance(shops[0].reseller_account_id) == Decimal(0)
    for shop in shops:
        assert desk.balance(shop.account_id) == Decimal("49.40")
        desk.check_ledger(shop.callshop_id)


def test_the_cabin_deposit_caps_the_session_including_its_ended_calls(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock)
        db.get_one(Cabin, shop.cabin_ids[0]).deposit = Decimal("1.00")
    desk = Desk.open(sessions, clock)
    first = desk.connect(shop.cabins[0], "0044207946000")       # sell 0.20/min
    clock.advance(100)
    desk.hang_up(first)                                         # 0.40 spent
    start = epoch_ms(clock.now())
    second = desk.connect(shop.cabins[0], "0044207946000")
    desk.run_until(3600)
    call = desk.call(second)
    assert call.state is CallState.CUT and call.hangup_reason == "deposit_exhausted"
    assert epoch_ms(call.ended_at) == start + 180_000            # 0.60 left: 3 minutes
    assert call.price == Decimal("0.60")
    other = desk.connect(shop.cabins[1], "0044207946000")       # another cabin: no cap
    assert desk.tracker.is_live(other)
    desk.check_ledger(shop.callshop_id)


def test_the_maximum_call_duration_cuts_one_call(sessions: sessionmaker[Session],
                                                 clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock, max_call_seconds=600)
        db.get_one(Cabin, shop.cabin_ids[0]).max_call_seconds = 90
    desk = Desk.open(sessions, clock)
    short = desk.connect(shop.cabins[0], "0044207946000")
    long = desk.connect(shop.cabins[1], "0044207946000")
    desk.run_until(120)
    assert desk.call(short).state is CallState.CUT
    assert desk.call(short).hangup_reason == "max_call_duration"
    assert talk_ms(desk.call(short)) == 90_000
    assert desk.tracker.is_live(long)
    desk.run_until(600)
    assert talk_ms(desk.call(long)) == 600_000


def test_an_operator_can_cut_a_call(sessions: sessionmaker[Session], clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock)
    desk = Desk.open(sessions, clock)
    call_id = desk.connect(shop.cabins[0], "0044207946000")
    clock.advance(61)
    assert desk.tracker.cut(call_id)
    assert not desk.tracker.cut(call_id)
    call = desk.call(call_id)
    assert call.state is CallState.CUT and call.hangup_reason == "operator"
    assert call.price == Decimal("0.40")
    assert desk.cuts() == [Cut(call_id, CutReason.OPERATOR)]


def test_training_calls_never_touch_a_balance(sessions: sessionmaker[Session],
                                              clock: FakeClock) -> None:
    with sessions.begin() as db:
        shop = make_shop(db, clock, training=True, balance="0")
    desk = Desk.open(sessions, clock)
    call_id = desk.connect(shop.cabins[0], "0044207946000")
    clock.advance(600)
    desk.hang_up(call_id)
    call = desk.call(call_id)
    assert call.training and call.state is CallState.ENDED and call.price == Decimal("2.00")
    with sessions() as db:
        assert db.get_one(CabinSession, call.session_id).training
    assert desk.balance(shop.account_id) == 0
    desk.check_ledger(shop.callshop_id)


def test_an_event_that_fails_is_dropped_alone_from_its_batch(
        any_sessions: sessionmaker[Session], clock: FakeClock,
        caplog: pytest.LogCaptureFixture) -> None:
    """One event of a batch fails (a bug, a constraint) after its row was written: it
    is dropped and logged with its rows and announcements, its call is forgotten and
    hung up (fail closed), and the events before and after it are stored and announced
    — the tracker's memory never gets ahead of the database."""
    with any_sessions.begin() as db:
        shop = make_shop(db, clock, cabins=3)
    desk = Desk.open(any_sessions, clock)
    tracker = desk.tracker
    apply = tracker._apply

    def failing(db: Session, outbox: Any, event: PbxEvent) -> None:
        apply(db, outbox, event)
        if event.pbx_call_id == "bad":
            raise RuntimeError("something broke after its row was written")

    tracker._apply = failing  # type: ignore[method-assign]
    tracker.handle_many([CallStarted(call, cabin, "0044207946000", at=clock.now())
                         for call, cabin in zip(("before", "bad", "after"), shop.cabins,
                                                strict=True)])
    assert "PBX event dropped" in caplog.text
    with any_sessions() as db:
        stored = set(db.scalars(select(Call.pbx_call_id)))
    assert stored == {"before", "after"}
    announced = {c.call.pbx_call_id for c in desk.changes if isinstance(c, CallUpdated)}
    assert announced == {"before", "after"}
    assert tracker.live_calls() == ["before", "after"]
    assert not tracker.guard.is_tracking("bad")
    assert desk.commands == [Cut("bad", CutReason.UNKNOWN_CALL)]
    # What the PBX says of it later changes nothing but another cut.
    tracker.handle(CallAnswered("bad", at=clock.now()))
    with any_sessions() as db:
        assert set(db.scalars(select(Call.pbx_call_id))) == {"before", "after"}


def _a_call_hung_up_after_59_s(sessions: sessionmaker[Session], clock: FakeClock,
                               ) -> tuple[ShopSetup, Desk, str, CallEnded]:
    """A shop with 10 of credit, a call of its cabin answered 59 s ago, and the event
    of its end (not handed over yet)."""
    with sessions.begin() as db:
        shop = make_shop(db, clock, balance="10")
    desk = Desk.open(sessions, clock)
    call = desk.connect(shop.cabins[0], "+44 20 7946 0958")
    clock.advance(59)
    return shop, desk, call, CallEnded(call, hangup_by=HangupBy.CABIN, at=clock.now())


def _failing_commit(transaction: Any) -> None:
    raise OperationalError("COMMIT", None, Exception("disk I/O error"))


def test_a_failed_commit_leaves_memory_as_the_database_has_it(
        any_sessions: sessionmaker[Session], clock: FakeClock,
        caplog: pytest.LogCaptureFixture) -> None:
    """A transaction that fails as a whole (its commit: a disk error, the database
    gone) rolls back in the database what memory had applied. Memory is read again
    from the database and the event is kept: the next operation, whatever it is,
    stores and charges it first (the PBX will not send it again); the calls still up
    and the call authorised meanwhile keep their credit held."""
    with any_sessions.begin() as db:
        shop = make_shop(db, clock, balance="10", cabins=3)
    desk = Desk.open(any_sessions, clock)
    tracker = desk.tracker
    ending = desk.connect(shop.cabins[0], "+44 20 7946 0958")
    talking = desk.connect(shop.cabins[1], "+44 20 7946 0958")
    asked = AuthorisationRequest("asked", shop.cabins[2], "0044207946000", at=clock.now())
    assert tracker.authorise(asked).allowed
    clock.advance(125.347)
    hung_up = CallEnded(ending, hangup_by=HangupBy.CABIN, at=clock.now())

    tracker._commit = _failing_commit  # type: ignore[method-assign]
    with pytest.raises(OperationalError):
        tracker.handle(hung_up)
    del tracker._commit                 # the class's own again
    assert "memory read again from the database" in caplog.text
    assert desk.call(ending).state is CallState.ANSWERED        # rolled back
    assert desk.balance(shop.account_id) == Decimal(10)
    assert tracker.missed == 1

    tracker.on_time()                   # the timer's next look, say
    assert tracker.missed == 0
    ended = desk.call(ending)
    assert ended.state is CallState.ENDED and ended.price == Decimal("0.6000")
    assert desk.balance(shop.account_id) == Decimal(10) - ended.cost    # the buy rate
    tracker.handle(hung_up)             # a duplicate from the PBX changes nothing
    assert desk.balance(shop.account_id) == Decimal(10) - ended.cost
    assert tracker.live_calls() == [talking]
    assert tracker.guard.is_tracking(talking) and tracker.guard.is_tracking("asked")
    assert not tracker.guard.is_tracking(ending)
    desk.dial(shop.cabins[2], "0044207946000", call_id="asked")
    desk.answer("asked")
    clock.advance(10)
    desk.hang_up("asked")
    desk.hang_up(talking)
    assert desk.call("asked").state is desk.call(talking).state is CallState.ENDED
    assert desk.balance(shop.account_id) == Decimal(10) - sum(
        desk.call(c).cost for c in (ending, talking, "asked"))
    assert desk.cuts() == []
    desk.check_ledger(shop.callshop_id)


def test_memory_not_read_again_is_read_before_the_next_operation(
        sessions: sessionmaker[Session], clock: FakeClock,
        caplog: pytest.LogCaptureFixture) -> None:
    """The database still away when memory is read again after a failed commit:
    memory stays as it was, and the next operation reads it first, then stores the
    event it kept."""
    shop, desk, call, hung_up = _a_call_hung_up_after_59_s(sessions, clock)
    tracker = desk.tracker

    def database_away() -> int:
        raise OperationalError("SELECT", None, Exception("unable to open database file"))

    tracker._commit = _failing_commit  # type: ignore[method-assign]
    tracker.load = database_away  # type: ignore[method-assign]
    with pytest.raises(OperationalError):
        tracker.handle(hung_up)
    assert "memory could not be read again" in caplog.text
    # Still as the failed transaction left it: the call ended here, not in the database.
    assert tracker.live_calls() == [] and not tracker.guard.is_tracking(call)
    del tracker._commit, tracker.load

    tracker.handle_many(())
    assert desk.call(call).state is CallState.ENDED
    assert desk.balance(shop.account_id) == Decimal(10) - desk.call(call).cost > 0
    assert tracker.live_calls() == []
    desk.check_ledger(shop.callshop_id)


def test_the_connection_to_postgresql_lost_at_a_commit(
        pg_engine: Engine, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    """PostgreSQL restarted (or the link to it cut) just as a call's end commits: its
    backend is terminated, the commit fails for real, and the event it kept is stored
    and charged by the next transaction, on a new connection."""
    sessions = session_factory(pg_engine)
    shop, desk, call, hung_up = _a_call_hung_up_after_59_s(sessions, clock)
    tracker = desk.tracker
    commit = tracker._commit

    def backend_gone(transaction: SessionTransaction) -> None:
        pid = transaction.session.connection().exec_driver_sql(
            "SELECT pg_backend_pid()").scalar()
        with pg_engine.connect() as other:
            # Waits (up to 5 s) until that backend is gone.
            assert other.execute(text("SELECT pg_terminate_backend(:pid, 5000)"),
                                 {"pid": pid}).scalar()
        commit(transaction)

    tracker._commit = backend_gone  # type: ignore[method-assign]
    with pytest.raises(OperationalError):
        tracker.handle(hung_up)
    del tracker._commit
    assert "memory read again from the database" in caplog.text
    assert desk.call(call).state is CallState.ANSWERED        # rolled back

    tracker.handle_many(())
    ended = desk.call(call)
    assert ended.state is CallState.ENDED and ended.cost is not None
    assert desk.balance(shop.account_id) == Decimal(10) - ended.cost > 0
    assert tracker.live_calls() == [] and not tracker.guard.is_tracking(call)
    desk.check_ledger(shop.callshop_id)


def test_cuts_taken_ahead_survive_a_failed_transaction(
        sessions: sessionmaker[Session], clock: FakeClock,
        caplog: pytest.LogCaptureFixture) -> None:
    """A cut sent to the PBX happened, whatever memory says after a failure. Here one
    call's end could not be stored (kept for the next transaction), so the memory read
    again thinks both calls still talk and the credit runs out early; both are cut at
    that instant; the transaction that was to record the cuts fails too. The next one
    stores the end, then the cut of the other call at the instant it was sent — not at
    the later instant memory computes once it knows of the end."""
    with sessions.begin() as db:
        shop = make_shop(db, clock, balance="2.00", cabins=2)
    desk = Desk.open(sessions, clock)
    tracker = desk.tracker
    ending, talking = (desk.connect(cabin, "0044207946000") for cabin in shop.cabins)
    clock.advance(10)
    tracker._commit = _failing_commit  # type: ignore[method-assign]
    with pytest.raises(OperationalError):
        desk.hang_up(ending)
    assert tracker.missed == 1 and tracker.live_calls() == [ending, talking]
    instant = tracker.guard.next_cut()
    assert instant is not None
    desk.advance_to(instant)
    assert tracker.take_due(instant) == [Cut(c, CutReason.CREDIT_EXHAUSTED)
                                         for c in (ending, talking)]
    with pytest.raises(OperationalError):
        tracker.on_time()
    del tracker._commit
    assert [desk.call(c).state for c in (ending, talking)] == [CallState.ANSWERED] * 2

    clock.advance(0.5)                   # the timer's next look comes a little later
    tracker.on_time()
    ended, cut = desk.call(ending), desk.call(talking)
    assert ended.state is CallState.ENDED and talk_ms(ended) == 10_000
    assert cut.state is CallState.CUT and epoch_ms(cut.ended_at) == instant
    assert tracker.guard.next_cut() is None and tracker.live_calls() == []
    assert 0 <= desk.balance(shop.account_id) == Decimal("2.00") - ended.cost - cut.cost
    desk.check_ledger(shop.callshop_id)


def test_a_batch_that_fails_before_its_events_keeps_them_all(
        sessions: sessionmaker[Session], clock: FakeClock) -> None:
    """The batch's transaction fails before it reaches its events (the database gone
    at its first statement): none is lost, the next transaction applies them."""
    shop, desk, call, hung_up = _a_call_hung_up_after_59_s(sessions, clock)
    tracker = desk.tracker
    prune = tracker._prune

    def database_gone(db: Session, outbox: Any) -> None:
        raise OperationalError("SELECT", None, Exception("server closed the connection"))

    tracker._prune = database_gone  # type: ignore[method-assign]
    second = CallStarted("second", shop.cabins[0], "0044207946000", at=clock.now())
    with pytest.raises(OperationalError):
        tracker.handle_many(iter([hung_up, second]))
    assert tracker.missed == 2
    tracker._prune = prune  # type: ignore[method-assign]

    tracker.handle_many(())
    assert desk.call(call).state is CallState.ENDED
    assert desk.call("second").state is CallState.DIALING
    assert tracker.live_calls() == ["second"] and tracker.missed == 0
    desk.check_ledger(shop.callshop_id)
