"""The till and the reports through the client: Pay (change, idempotency, refusals,
invoices), the cabin's history, transactions, calls, money history, dashboard, profit.

Calls are arranged in the database the way the call tracker leaves them (ended,
priced, charged to the balance, in the cabin's open session)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cashdesk.call_state import CallState
from cashdesk.money import Money
from server_client.client import new_idempotency_key
from server_client.errors import (
    Conflict,
    Forbidden,
    InsufficientCash,
    NotFound,
    ValidationError,
)
from tests.client.harness import add_call, top_up

EUR = "EUR"


def eur(text: str) -> Money:
    return Money.of(text, EUR)


@pytest.fixture
def cabin(admin, sqlite_engine, clock, world) -> int:
    """Shop A's Cabin 1 with two ended calls: 1.20 + 0.80 = 2.00 due."""
    top_up(sqlite_engine, clock, world.shop_a)
    cabin_id = admin.create_cabin("Cabin 1", "cab-one").cabin.id
    add_call(sqlite_engine, clock, cabin_id, price="1.20", cost="0.50")
    add_call(sqlite_engine, clock, cabin_id, price="0.80", cost="0.30", number="442079460000",
             destination="United Kingdom")
    return cabin_id


def test_pay_answers_the_change(operator, cabin, world):
    paid = operator.pay(cabin, eur("5"), new_idempotency_key())
    assert paid.cabin_id == cabin and not paid.replayed and paid.invoice is None
    assert (paid.amount_due, paid.received, paid.change) == (eur("2"), eur("5"), eur("3"))
    assert paid.operator_id == world.users["operator_a"] and paid.shift_id is not None
    assert paid.created_at.tzinfo is not None


def test_the_same_key_twice_is_one_payment(operator, admin, cabin):
    key = new_idempotency_key()
    first = operator.pay(cabin, eur("2.50"), key)
    retry = operator.pay(cabin, eur("2.50"), key)
    assert retry.replayed and not first.replayed
    assert retry.transaction_id == first.transaction_id and retry.change == first.change
    assert admin.transactions().total == 1
    # A new key is a new press of Pay: the cabin has nothing left to pay.
    with pytest.raises(Conflict) as nothing:
        operator.pay(cabin, eur("2.50"), new_idempotency_key())
    assert nothing.value.code == "nothing_to_pay"
    assert f"transaction {first.transaction_id}" in nothing.value.message


def test_short_cash_is_insufficient_cash_with_the_amount_due(operator, cabin):
    with pytest.raises(InsufficientCash) as short:
        operator.pay(cabin, eur("1.50"), new_idempotency_key())
    error = short.value
    assert isinstance(error, ValidationError) and error.status == 422
    assert error.code == "insufficient_cash"
    assert error.amount_due == eur("2") and error.received == eur("1.50")
    assert "more" in error.message


def test_a_live_call_or_a_stale_session_refuses_the_payment(operator, cabin, sqlite_engine,
                                                            clock, admin):
    live = admin.create_cabin("Cabin 2", "cab-two").cabin.id
    add_call(sqlite_engine, clock, live, state=CallState.ANSWERED)
    with pytest.raises(Conflict) as still_live:
        operator.pay(live, eur("5"), new_idempotency_key())
    assert still_live.value.code == "call_still_live"

    shown = operator.cabin_sessions(cabin).total  # nothing paid yet
    assert shown == 0
    paid = operator.pay(cabin, eur("2"), new_idempotency_key())
    with pytest.raises(Conflict) as raced:
        operator.pay(cabin, eur("2"), new_idempotency_key(), session_id=paid.session_id)
    assert raced.value.code in ("payment_conflict", "nothing_to_pay")
    with pytest.raises(NotFound):
        operator.pay(999_999, eur("2"), new_idempotency_key())


def test_pay_with_an_invoice_and_print_it_again(operator, cabin):
    paid = operator.pay(cabin, eur("2"), new_idempotency_key(), invoice=True)
    assert paid.invoice is not None and paid.invoice.number
    pdf = operator.invoice_pdf(paid.transaction_id)
    assert pdf.startswith(b"%PDF")


def test_a_payment_without_invoice_has_no_pdf(operator, cabin):
    paid = operator.pay(cabin, eur("2"), new_idempotency_key())
    with pytest.raises(NotFound, match=f"transaction {paid.transaction_id} has no invoice"):
        operator.invoice_pdf(paid.transaction_id)


def test_the_cabins_history_for_the_till(operator, cabin):
    paid = operator.pay(cabin, eur("2"), new_idempotency_key())
    sessions = operator.cabin_sessions(cabin)
    assert sessions.total == 1
    [past] = sessions.items
    assert past.transaction_id == paid.transaction_id and past.operator.display_name == "Olga"
    assert past.amount_due == eur("2") and past.invoice is None
    assert [c.price for c in past.calls] == [eur("1.20"), eur("0.80")]
    assert all(c.state is CallState.ENDED for c in past.calls)


def test_transactions_and_their_detail(operator, admin, cabin, world):
    paid = operator.pay(cabin, eur("10"), new_idempotency_key())
    page = admin.transactions(operator_id=world.users["operator_a"], since=date(2026, 1, 1))
    [listed] = page.items
    assert listed.id == paid.transaction_id and listed.cabin.name == "Cabin 1"
    assert listed.change == eur("8") and listed.calls.count == 2
    assert listed.calls.destinations == ("France", "United Kingdom")
    detail = admin.transaction(paid.transaction_id)
    assert [c.cost for c in detail.calls] == [eur("0.50"), eur("0.30")]
    assert admin.transactions(until=date(2026, 1, 4)).total == 0
    with pytest.raises(Forbidden, match="view_transactions"):
        operator.transactions()
    with pytest.raises(ValidationError) as backwards:
        admin.transactions(since=date(2026, 2, 1), until=date(2026, 1, 1))
    assert backwards.value.field == "since"


def test_the_call_history(admin, cabin, reseller, world):
    calls = admin.calls(cabin_id=cabin)
    assert calls.total == 2
    newest = calls.items[0]
    assert newest.cabin_name == "Cabin 1" and newest.transaction_id is None
    assert newest.state is CallState.ENDED and newest.cost.currency == EUR
    assert [c.destination for c in admin.calls(number="4420")] == ["United Kingdom"]
    # A reseller reads a shop's history by naming it.
    assert reseller.calls(callshop_id=world.shop_a).total == 2
    with pytest.raises(ValidationError) as unnamed:
        reseller.calls()
    assert unnamed.value.status == 400
    with pytest.raises(ValidationError) as bad_state:
        admin.calls(state="talking")
    assert bad_state.value.field == "state"


def test_money_history_dashboard_and_profit(operator, admin, cabin, world):
    operator.pay(cabin, eur("2"), new_idempotency_key())
    history = admin.money_history()
    assert [m.type for m in history.page] == ["payment", "topup"]
    assert history.payments_total == eur("2") and history.topups_total == eur("100")
    assert history.period.since is None

    dashboard = admin.dashboard()
    assert dashboard.currency == EUR and dashboard.sales == eur("2")
    assert dashboard.today.answered_calls == 2 and dashboard.today.payments == 1
    assert [s.operator.username for s in dashboard.operators_on_shift] == ["operator_a"]
    assert dashboard.top_payments[0].amount_due == eur("2")
    assert dashboard.sales_by_operator[0].sales == eur("2")
    assert dashboard.period.until is not None and dashboard.period.since is not None
    assert dashboard.period.until - dashboard.period.since == timedelta(days=1)
    assert admin.dashboard(period="last_week").sales == eur("0")

    profit = admin.profit(group_by="cabin")
    assert profit.totals.revenue == eur("2") and profit.totals.cost == eur("0.80")
    assert profit.totals.profit == eur("1.20")
    [row] = profit.rows
    assert (row.key, row.label, row.calls) == (str(cabin), "Cabin 1", 2)
    with pytest.raises(ValidationError) as bad_group:
        admin.profit(group_by="week")
    assert bad_group.value.field == "group_by"
    with pytest.raises(Forbidden, match="view_dashboard"):
        operator.dashboard()


def test_the_balance_at_the_till(operator, cabin):
    balance = operator.balance()
    assert balance.callshop is not None and balance.callshop.prepaid
    assert balance.callshop.balance == eur("99.20")  # 100 topped up − 0.80 of calls
