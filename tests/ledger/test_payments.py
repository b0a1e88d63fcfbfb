"""Pay: a cabin's session becomes one cash transaction, with change; each refusal has
its own exception; a retried payment returns the first result."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cashdesk.call_state import CallState
from cashdesk.clock import FakeClock
from cashdesk.ledger.errors import (
    CallStillLive,
    InsufficientCash,
    InvalidAmount,
    InvalidPayment,
    NothingToPay,
    PaymentConflict,
    WrongCurrency,
)
from cashdesk.ledger.invariants import check_all
from cashdesk.ledger.payments import Payment, pay_cabin
from cashdesk.ledger.profit import profit
from cashdesk.ledger.sessions import open_session_for
from cashdesk.ledger.snapshot import load_view
from cashdesk.money import Money
from cashdesk.store.models import Cabin, CabinSession, Transaction
from tests.ledger.factories import ShopRows, end_call, ended_call, make_shop, start_call


def pay(session: Session, clock: FakeClock, shop: ShopRows, received: str, key: str = "pay-1",
        cabin: Cabin | None = None, **kwargs: object) -> Payment:
    return pay_cabin(session, clock, cabin=cabin or shop.cabins[0], operator=shop.operator,
                     shift=shop.shift, received=shop.money(received), idempotency_key=key,
                     **kwargs)  # type: ignore[arg-type]


def count_transactions(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Transaction)) or 0


def test_paying_closes_the_session_into_a_transaction(session: Session, clock: FakeClock,
                                                      shop: ShopRows) -> None:
    first = ended_call(session, clock, shop.cabins[0], price="1.20", cost="0.70")
    ended_call(session, clock, shop.cabins[0], price="2.35", cost="1.10")
    clock.advance(30)
    payment = pay(session, clock, shop, "5.00")

    transaction = payment.transaction
    assert payment.change == shop.money("1.45")
    assert not payment.replayed
    assert (transaction.amount_due, transaction.received, transaction.change) == \
        (Decimal("3.55"), Decimal(5), Decimal("1.45"))
    assert (transaction.cabin_id, transaction.session_id, transaction.operator_id,
            transaction.shift_id, transaction.idempotency_key, transaction.created_at,
            transaction.training) == \
        (shop.cabins[0].id, first.session_id, shop.operator.id, shop.shift.id, "pay-1",
         clock.now(), False)
    assert session.get_one(CabinSession, first.session_id).closed_at == clock.now()
    view = load_view(session, shop.callshop.id)
    assert check_all(view) == []
    assert profit(view).revenue == shop.money("3.55")


def test_exact_cash_gives_no_change(session: Session, clock: FakeClock, shop: ShopRows) -> None:
    ended_call(session, clock, shop.cabins[0], price="2.00")
    assert pay(session, clock, shop, "2.00").change == shop.money("0")


def test_a_session_of_failed_calls_is_paid_with_nothing_due(session: Session, clock: FakeClock,
                                                            shop: ShopRows) -> None:
    ended_call(session, clock, shop.cabins[0], answered=False)
    payment = pay(session, clock, shop, "0")
    assert payment.transaction.amount_due == Decimal(0)


def test_nothing_to_pay_without_an_open_session(session: Session, clock: FakeClock,
                                                shop: ShopRows) -> None:
    with pytest.raises(NothingToPay, match="'Cabin 1' has nothing to pay"):
        pay(session, clock, shop, "1")


def test_nothing_to_pay_in_an_empty_session(session: Session, clock: FakeClock,
                                            shop: ShopRows) -> None:
    open_session_for(session, clock, shop.cabins[0])
    with pytest.raises(NothingToPay, match="no calls"):
        pay(session, clock, shop, "1")


@pytest.mark.parametrize("state", [CallState.DIALING, CallState.RINGING, CallState.ANSWERED])
def test_a_live_call_blocks_payment(session: Session, clock: FakeClock, shop: ShopRows,
                                    state: CallState) -> None:
    ended_call(session, clock, shop.cabins[0], price="1")
    live = start_call(session, clock, shop.cabins[0], number="212600000000")
    live.state = state
    with pytest.raises(CallStillLive, match=f"still has a call {state.value} to 00212600000000"):
        pay(session, clock, shop, "10")
    assert count_transactions(session) == 0
    assert session.get_one(CabinSession, live.session_id).closed_at is None


def test_too_little_cash_is_refused_showing_both_amounts(session: Session, clock: FakeClock,
                                                         shop: ShopRows) -> None:
    ended_call(session, clock, shop.cabins[0], price="3.55")
    with pytest.raises(InsufficientCash, match=r"received €3\.50 is less than the €3\.55 due"):
        pay(session, clock, shop, "3.50")
    assert count_transactions(session) == 0


def test_amounts_are_shown_in_the_shops_locale(session: Session, clock: FakeClock) -> None:
    from cashdesk.shops import check_locale
    shop = make_shop(session, clock)
    shop.callshop.locale = check_locale("fr_FR")
    ended_call(session, clock, shop.cabins[0], price="3.55")
    with pytest.raises(InsufficientCash, match=r"3,50\s€.*3,55\s€"):
        pay(session, clock, shop, "3.50")


def test_the_same_key_replays_the_first_payment(session: Session, clock: FakeClock,
                                                shop: ShopRows) -> None:
    ended_call(session, clock, shop.cabins[0], price="1.20")
    first = pay(session, clock, shop, "2.00", key="k-1")
    clock.advance(10)
    again = pay(session, clock, shop, "2.00", key="k-1")
    assert again.replayed
    assert (again.transaction.id, again.change) == (first.transaction.id, first.change)
    assert count_transactions(session) == 1


def test_the_same_key_for_another_amount_or_cabin_is_a_conflict(
        session: Session, clock: FakeClock, shop: ShopRows) -> None:
    ended_call(session, clock, shop.cabins[0], price="1.20")
    ended_call(session, clock, shop.cabins[1], price="1.20")
    pay(session, clock, shop, "2.00", key="k-1")
    with pytest.raises(PaymentConflict, match="'k-1' was already used"):
        pay(session, clock, shop, "5.00", key="k-1")
    with pytest.raises(PaymentConflict, match="'k-1' was already used"):
        pay(session, clock, shop, "2.00", key="k-1", cabin=shop.cabins[1])
    assert count_transactions(session) == 1


def test_paying_a_session_someone_else_paid_is_a_conflict(session: Session, clock: FakeClock,
                                                          shop: ShopRows) -> None:
    call = ended_call(session, clock, shop.cabins[0], price="1.20")
    pay(session, clock, shop, "2.00", key="desk-a")
    with pytest.raises(PaymentConflict, match="already paid"):
        pay(session, clock, shop, "2.00", key="desk-b", cabin_session_id=call.session_id)


def test_a_session_of_another_cabin_is_refused(session: Session, clock: FakeClock,
                                               shop: ShopRows) -> None:
    call = ended_call(session, clock, shop.cabins[1], price="1.20")
    with pytest.raises(InvalidPayment, match="not a session of cabin 'Cabin 1'"):
        pay(session, clock, shop, "2.00", cabin_session_id=call.session_id)


def test_the_operator_and_shift_must_be_of_this_shop_and_open(
        session: Session, clock: FakeClock, shop: ShopRows) -> None:
    ended_call(session, clock, shop.cabins[0], price="1")
    other = make_shop(session, clock)
    with pytest.raises(InvalidPayment, match="cannot take cash in this shop"):
        pay_cabin(session, clock, cabin=shop.cabins[0], operator=other.operator,
                  shift=other.shift, received=shop.money("1"), idempotency_key="x")
    with pytest.raises(InvalidPayment, match="not .*'s shift here"):
        pay_cabin(session, clock, cabin=shop.cabins[0], operator=shop.operator,
                  shift=other.shift, received=shop.money("1"), idempotency_key="x")
    shop.shift.closed_at = clock.now()
    with pytest.raises(InvalidPayment, match="is closed"):
        pay(session, clock, shop, "1")


def test_cash_is_in_the_shops_currency_and_not_negative(session: Session, clock: FakeClock,
                                                        shop: ShopRows) -> None:
    ended_call(session, clock, shop.cabins[0], price="1")
    with pytest.raises(WrongCurrency):
        pay_cabin(session, clock, cabin=shop.cabins[0], operator=shop.operator,
                  shift=shop.shift, received=Money.of("1", "USD"), idempotency_key="x")
    with pytest.raises(InvalidAmount, match="negative"):
        pay(session, clock, shop, "-1")


def test_a_training_session_is_a_training_transaction_and_earns_nothing(
        session: Session, clock: FakeClock, shop: ShopRows) -> None:
    call = start_call(session, clock, shop.cabins[0], training=True)
    end_call(session, clock, call, price="4.00", cost="2.00")
    payment = pay(session, clock, shop, "5.00")
    assert payment.transaction.training
    assert payment.change == shop.money("1")
    view = load_view(session, shop.callshop.id)
    assert check_all(view) == []
    assert profit(view).revenue == shop.money("0")


def test_a_payment_may_be_taken_outside_a_shift(session: Session, clock: FakeClock,
                                                shop: ShopRows) -> None:
    ended_call(session, clock, shop.cabins[0], price="1")
    payment = pay_cabin(session, clock, cabin=shop.cabins[0], operator=shop.operator,
                        shift=None, received=shop.money("1"), idempotency_key="x")
    assert payment.transaction.shift_id is None
