"""Cabin sessions: calls join the cabin's open session; one open session per cabin."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cashdesk.clock import FakeClock
from cashdesk.ledger.errors import TrainingMismatch
from cashdesk.ledger.payments import pay_cabin
from cashdesk.ledger.sessions import attach_call, open_session_for, session_due
from cashdesk.store.models import CabinSession
from tests.ledger.factories import ShopRows, end_call, ended_call, start_call


def test_calls_of_a_cabin_join_one_open_session(session: Session, clock: FakeClock,
                                                shop: ShopRows) -> None:
    first = start_call(session, clock, shop.cabins[0])
    second = start_call(session, clock, shop.cabins[0])
    elsewhere = start_call(session, clock, shop.cabins[1])
    assert first.session_id is not None
    assert second.session_id == first.session_id
    assert elsewhere.session_id not in (None, first.session_id)
    opened = session.get_one(CabinSession, first.session_id)
    assert (opened.cabin_id, opened.callshop_id, opened.closed_at, opened.opened_at) == \
        (shop.cabins[0].id, shop.callshop.id, None, clock.now())


def test_attaching_twice_keeps_the_call_where_it_is(session: Session, clock: FakeClock,
                                                    shop: ShopRows) -> None:
    call = start_call(session, clock, shop.cabins[0])
    assert attach_call(session, clock, call).id == call.session_id


def test_open_session_for_returns_the_open_one(session: Session, clock: FakeClock,
                                               shop: ShopRows) -> None:
    opened = open_session_for(session, clock, shop.cabins[0])
    assert open_session_for(session, clock, shop.cabins[0]).id == opened.id


def test_the_database_allows_one_open_session_per_cabin(session: Session, clock: FakeClock,
                                                        shop: ShopRows) -> None:
    open_session_for(session, clock, shop.cabins[0])
    session.add(CabinSession(callshop_id=shop.callshop.id, cabin_id=shop.cabins[0].id,
                             opened_at=clock.now()))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_after_payment_the_next_call_opens_a_new_session(session: Session, clock: FakeClock,
                                                         shop: ShopRows) -> None:
    paid = ended_call(session, clock, shop.cabins[0], price="1")
    pay_cabin(session, clock, cabin=shop.cabins[0], operator=shop.operator, shift=shop.shift,
              received=shop.money("1"), idempotency_key="pay-1")
    following = start_call(session, clock, shop.cabins[0])
    assert following.session_id != paid.session_id


def test_training_and_real_calls_never_share_a_session(session: Session, clock: FakeClock,
                                                       shop: ShopRows) -> None:
    start_call(session, clock, shop.cabins[0], training=True)
    real = start_call(session, clock, shop.cabins[0], attach=False)
    with pytest.raises(TrainingMismatch, match="a real call cannot join a training session"):
        attach_call(session, clock, real)
    assert real.session_id is None


def test_session_due_sums_the_answered_calls(session: Session, clock: FakeClock,
                                             shop: ShopRows) -> None:
    answered = ended_call(session, clock, shop.cabins[0], price="1.25", cost="0.5")
    ended_call(session, clock, shop.cabins[0], price="2.10", cost="1")
    failed = start_call(session, clock, shop.cabins[0])
    end_call(session, clock, failed, answered=False)
    failed.price = answered.price  # a stray price on a call never answered is not owed
    cabin_session = session.get_one(CabinSession, answered.session_id)
    assert session_due(session, cabin_session) == shop.money("3.35")


def test_an_empty_session_is_due_nothing(session: Session, clock: FakeClock,
                                         shop: ShopRows) -> None:
    cabin_session = open_session_for(session, clock, shop.cabins[0])
    assert session_due(session, cabin_session) == shop.money("0")
