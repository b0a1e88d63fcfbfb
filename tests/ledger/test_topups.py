"""Top-ups and corrections: credit in, one entry each, never below zero, idempotent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cashdesk.clock import FakeClock
from cashdesk.ledger.accounts import balance, record_topup
from cashdesk.ledger.errors import (
    InsufficientCredit,
    InvalidAmount,
    LedgerError,
    TopupConflict,
    WrongCurrency,
)
from cashdesk.ledger.invariants import check_all
from cashdesk.ledger.kinds import EntryKind, TopupKind
from cashdesk.ledger.snapshot import load_view
from cashdesk.money import Money
from cashdesk.store.models import AccountEntry, Topup
from tests.ledger.factories import ShopRows, make_shop


def entries(session: Session, account_id: int) -> list[AccountEntry]:
    return list(session.scalars(select(AccountEntry).where(AccountEntry.account_id == account_id)
                                .order_by(AccountEntry.id)))


def test_a_topup_credits_the_account_and_writes_an_entry(session: Session, clock: FakeClock,
                                                          shop: ShopRows) -> None:
    recorded_at = clock.now()
    topup = record_topup(session, clock, shop.account, shop.money("20.00"), TopupKind.CASH,
                         description="first credit", recorded_by=shop.operator)
    clock.advance(60)
    record_topup(session, clock, shop.account, shop.money("5.50"), TopupKind.BANK_TRANSFER)

    assert balance(session, shop.account) == shop.money("25.50")
    assert topup.callshop_id == shop.callshop.id  # found from the account
    assert topup.recorded_by == shop.operator.id
    assert topup.created_at == recorded_at  # the injected clock, not the wall
    first, second = entries(session, shop.account.id)
    assert (first.kind, first.amount, first.balance_after, first.topup_id) == \
        (EntryKind.TOPUP, Decimal(20), Decimal(20), topup.id)
    assert (second.amount, second.balance_after) == (Decimal("5.5"), Decimal("25.5"))
    assert check_all(load_view(session, shop.callshop.id)) == []


@pytest.mark.parametrize("amount", ["0", "-1.00"])
def test_a_topup_must_be_positive(session: Session, clock: FakeClock, shop: ShopRows,
                                  amount: str) -> None:
    with pytest.raises(InvalidAmount, match="must be positive"):
        record_topup(session, clock, shop.account, shop.money(amount), TopupKind.CARD)
    assert entries(session, shop.account.id) == []


def test_a_topup_must_be_in_the_accounts_currency(session: Session, clock: FakeClock,
                                                  shop: ShopRows) -> None:
    with pytest.raises(WrongCurrency, match="kept in EUR"):
        record_topup(session, clock, shop.account, Money.of("10", "USD"), TopupKind.CASH)


def test_a_negative_correction_reduces_the_balance_down_to_zero(
        session: Session, clock: FakeClock, shop: ShopRows) -> None:
    record_topup(session, clock, shop.account, shop.money("10"), TopupKind.CASH)
    record_topup(session, clock, shop.account, shop.money("-4"), TopupKind.CORRECTION,
                 description="typo in the last top-up")
    record_topup(session, clock, shop.account, shop.money("-6"), TopupKind.CORRECTION)
    assert balance(session, shop.account) == shop.money("0")
    assert check_all(load_view(session, shop.callshop.id)) == []


def test_a_correction_never_takes_a_prepaid_balance_below_zero(
        session: Session, clock: FakeClock, shop: ShopRows) -> None:
    record_topup(session, clock, shop.account, shop.money("3"), TopupKind.CASH)
    with pytest.raises(InsufficientCredit, match=r"below zero") as refused:
        record_topup(session, clock, shop.account, shop.money("-3.01"), TopupKind.CORRECTION)
    assert refused.value.account_id == shop.account.id
    assert "€3.00" in str(refused.value) and "-€3.01" in str(refused.value)
    assert balance(session, shop.account) == shop.money("3")
    assert len(entries(session, shop.account.id)) == 1


def test_a_zero_correction_is_refused(session: Session, clock: FakeClock, shop: ShopRows) -> None:
    with pytest.raises(InvalidAmount, match="zero"):
        record_topup(session, clock, shop.account, shop.money("0"), TopupKind.CORRECTION)


def test_a_postpaid_account_may_be_corrected_below_zero(session: Session, clock: FakeClock,
                                                        shop: ShopRows) -> None:
    assert not shop.reseller_account.prepaid
    topup = record_topup(session, clock, shop.reseller_account, shop.money("-50"),
                         TopupKind.CORRECTION)
    assert balance(session, shop.reseller_account) == shop.money("-50")
    assert topup.callshop_id is None  # the reseller's own account belongs to no shop
    assert check_all(load_view(session, shop.callshop.id)) == []


def test_the_same_key_returns_the_first_topup(session: Session, clock: FakeClock,
                                              shop: ShopRows) -> None:
    first = record_topup(session, clock, shop.account, shop.money("10"), TopupKind.CASH,
                         idempotency_key="topup-1")
    again = record_topup(session, clock, shop.account, shop.money("10"), TopupKind.CASH,
                         idempotency_key="topup-1")
    assert again.id == first.id
    assert balance(session, shop.account) == shop.money("10")
    assert session.scalar(select(func.count()).select_from(Topup)
                          .where(Topup.account_id == shop.account.id)) == 1


def test_the_same_key_for_another_amount_is_a_conflict(session: Session, clock: FakeClock,
                                                       shop: ShopRows) -> None:
    record_topup(session, clock, shop.account, shop.money("10"), TopupKind.CASH,
                 idempotency_key="topup-1")
    with pytest.raises(TopupConflict, match="already used"):
        record_topup(session, clock, shop.account, shop.money("11"), TopupKind.CASH,
                     idempotency_key="topup-1")
    with pytest.raises(TopupConflict):
        record_topup(session, clock, shop.account, shop.money("10"), TopupKind.CARD,
                     idempotency_key="topup-1")


def test_a_key_must_fit_the_schema(session: Session, clock: FakeClock, shop: ShopRows) -> None:
    with pytest.raises(LedgerError, match="idempotency key"):
        record_topup(session, clock, shop.account, shop.money("1"), TopupKind.CASH,
                     idempotency_key="x" * 65)


def test_a_topup_names_the_shop_owning_the_account(session: Session, clock: FakeClock,
                                                   shop: ShopRows) -> None:
    other = make_shop(session, clock)
    with pytest.raises(LedgerError, match="is not the account of callshop"):
        record_topup(session, clock, shop.account, shop.money("1"), TopupKind.CASH,
                     callshop_id=other.callshop.id)


def test_minor_units_of_other_currencies_are_exact(session: Session, clock: FakeClock) -> None:
    kwd = make_shop(session, clock, currency="KWD")
    record_topup(session, clock, kwd.account, kwd.money("0.001"), TopupKind.CASH)
    record_topup(session, clock, kwd.account, kwd.money("0.002"), TopupKind.CASH)
    assert balance(session, kwd.account) == kwd.money("0.003")
