"""Charging calls: each prepaid level pays its cost once; training and unanswered calls
cost nothing; a level that cannot pay is refused without touching any balance."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cashdesk.call_state import CallState
from cashdesk.clock import FakeClock
from cashdesk.ledger.accounts import balance, charge_call, record_topup
from cashdesk.ledger.errors import CallNotFinished, InsufficientCredit
from cashdesk.ledger.invariants import check_all
from cashdesk.ledger.kinds import EntryKind, TopupKind
from cashdesk.ledger.snapshot import load_view
from cashdesk.store.models import AccountEntry
from tests.ledger.factories import ShopRows, end_call, ended_call, start_call


def call_entries(session: Session, call_id: int) -> list[AccountEntry]:
    return list(session.scalars(select(AccountEntry).where(AccountEntry.call_id == call_id)
                                .order_by(AccountEntry.id)))


def fund(session: Session, clock: FakeClock, shop: ShopRows, shop_credit: str,
         reseller_credit: str | None = None) -> None:
    record_topup(session, clock, shop.account, shop.money(shop_credit), TopupKind.CASH)
    if reseller_credit is not None:
        record_topup(session, clock, shop.reseller_account, shop.money(reseller_credit),
                     TopupKind.BANK_TRANSFER)


def test_a_call_debits_the_shop_its_cost(session: Session, clock: FakeClock,
                                         shop: ShopRows) -> None:
    fund(session, clock, shop, "10")
    call = ended_call(session, clock, shop.cabins[0], price="1.50", cost="0.90",
                      provider_cost="0.60")
    clock.advance(5)
    [entry] = charge_call(session, clock, call)

    assert (entry.account_id, entry.kind, entry.amount, entry.balance_after, entry.call_id) == \
        (shop.account.id, EntryKind.CALL, Decimal("-0.9"), Decimal("9.1"), call.id)
    assert entry.created_at == clock.now()
    assert balance(session, shop.account) == shop.money("9.10")
    # A postpaid reseller is billed by its provider, not by this ledger.
    assert balance(session, shop.reseller_account) == shop.money("0")
    assert check_all(load_view(session, shop.callshop.id)) == []


def test_a_prepaid_reseller_pays_its_provider_cost(session: Session, clock: FakeClock,
                                                   prepaid_shop: ShopRows) -> None:
    shop = prepaid_shop
    fund(session, clock, shop, "10", "5")
    call = ended_call(session, clock, shop.cabins[0], price="1.50", cost="0.90",
                      provider_cost="0.60")
    shop_entry, reseller_entry = charge_call(session, clock, call)
    assert (shop_entry.account_id, shop_entry.amount) == (shop.account.id, Decimal("-0.9"))
    assert (reseller_entry.account_id, reseller_entry.amount) == \
        (shop.reseller_account.id, Decimal("-0.6"))
    assert balance(session, shop.reseller_account) == shop.money("4.40")
    assert check_all(load_view(session, shop.callshop.id)) == []


def test_charging_twice_is_harmless(session: Session, clock: FakeClock,
                                    prepaid_shop: ShopRows) -> None:
    shop = prepaid_shop
    fund(session, clock, shop, "10", "5")
    call = ended_call(session, clock, shop.cabins[0], price="2", cost="1", provider_cost="0.5")
    first = charge_call(session, clock, call)
    again = charge_call(session, clock, call)
    assert [e.id for e in again] == [e.id for e in first]
    assert balance(session, shop.account) == shop.money("9")
    assert balance(session, shop.reseller_account) == shop.money("4.5")
    assert len(call_entries(session, call.id)) == 2


def test_a_call_that_was_cut_after_answer_is_charged(session: Session, clock: FakeClock,
                                                     shop: ShopRows) -> None:
    fund(session, clock, shop, "1")
    call = start_call(session, clock, shop.cabins[0])
    end_call(session, clock, call, price="1.00", cost="1.00", state=CallState.CUT)
    charge_call(session, clock, call)
    assert balance(session, shop.account) == shop.money("0")  # exactly to zero is fine


def test_training_and_unanswered_calls_touch_no_balance(session: Session, clock: FakeClock,
                                                        prepaid_shop: ShopRows) -> None:
    shop = prepaid_shop
    fund(session, clock, shop, "10", "5")
    training = ended_call(session, clock, shop.cabins[0], price="2", cost="1",
                          provider_cost="0.5", training=True)
    failed = ended_call(session, clock, shop.cabins[1], answered=False)
    assert charge_call(session, clock, training) == []
    assert charge_call(session, clock, failed) == []
    assert call_entries(session, training.id) == call_entries(session, failed.id) == []
    assert balance(session, shop.account) == shop.money("10")
    assert check_all(load_view(session, shop.callshop.id)) == []


def test_a_live_call_is_not_charged(session: Session, clock: FakeClock, shop: ShopRows) -> None:
    call = start_call(session, clock, shop.cabins[0])
    call.state = CallState.ANSWERED
    with pytest.raises(CallNotFinished, match="still answered"):
        charge_call(session, clock, call)


def test_a_shop_that_cannot_pay_is_refused(session: Session, clock: FakeClock,
                                           prepaid_shop: ShopRows) -> None:
    shop = prepaid_shop
    fund(session, clock, shop, "0.50", "5")
    call = ended_call(session, clock, shop.cabins[0], price="2", cost="0.51",
                      provider_cost="0.30")
    with pytest.raises(InsufficientCredit, match=r"cannot pay €0\.51.*balance is €0\.50") as no:
        charge_call(session, clock, call)
    assert no.value.account_id == shop.account.id
    # Neither level was debited.
    assert call_entries(session, call.id) == []
    assert balance(session, shop.reseller_account) == shop.money("5")


def test_a_reseller_that_cannot_pay_is_refused_and_the_shop_keeps_its_credit(
        session: Session, clock: FakeClock, prepaid_shop: ShopRows) -> None:
    shop = prepaid_shop
    fund(session, clock, shop, "10", "0.10")
    call = ended_call(session, clock, shop.cabins[0], price="2", cost="1", provider_cost="0.20")
    with pytest.raises(InsufficientCredit) as no:
        charge_call(session, clock, call)
    assert no.value.account_id == shop.reseller_account.id
    assert balance(session, shop.account) == shop.money("10")
    assert call_entries(session, call.id) == []
    assert check_all(load_view(session, shop.callshop.id)) == []
