"""Each validator on small hand-made views: silent on a sound ledger, and loud on one
that breaks it (so a validator that always answers [] fails here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cashdesk.call_state import CallState
from cashdesk.ledger import invariants
from cashdesk.ledger.invariants import INVARIANTS, Validator, check_all
from cashdesk.ledger.kinds import EntryKind, TopupKind
from cashdesk.ledger.profit import profit
from cashdesk.ledger.view import (
    AccountView,
    CallView,
    EntryView,
    LedgerView,
    SessionView,
    TopupView,
    TransactionView,
)
from cashdesk.money import Money

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SHOP, RESELLER = 1, 2


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def call(id: int, cabin_id: int, session_id: int | None, *, state: CallState = CallState.ENDED,
         answered: bool = True, training: bool = False, price: str = "0", cost: str = "0",
         provider_cost: str = "0") -> CallView:
    return CallView(id=id, cabin_id=cabin_id, session_id=session_id, state=state,
                    answered=answered, training=training, price=eur(price), cost=eur(cost),
                    provider_cost=eur(provider_cost))


def sound_view() -> LedgerView:
    """A small, correct ledger: a shop under a prepaid reseller, both topped up; cabin 1
    made a charged call and a failed one and paid; cabin 2 is still talking; cabin 3
    practises in training mode."""
    return LedgerView(
        callshop_id=7, currency="EUR", shop_account_id=SHOP,
        accounts=(AccountView(SHOP, "EUR", True, eur("8.80"), parent_id=RESELLER),
                  AccountView(RESELLER, "EUR", True, eur("4.20"))),
        topups=(TopupView(1, SHOP, TopupKind.CASH, eur("10"), at(0)),
                TopupView(2, RESELLER, TopupKind.BANK_TRANSFER, eur("5"), at(0))),
        entries=(EntryView(1, SHOP, EntryKind.TOPUP, eur("10"), eur("10"), at(0), topup_id=1),
                 EntryView(2, RESELLER, EntryKind.TOPUP, eur("5"), eur("5"), at(0), topup_id=2),
                 EntryView(3, SHOP, EntryKind.CALL, eur("-1.20"), eur("8.80"), at(5), call_id=1),
                 EntryView(4, RESELLER, EntryKind.CALL, eur("-0.80"), eur("4.20"), at(5),
                           call_id=1)),
        calls=(call(1, 1, 1, price="2.00", cost="1.20", provider_cost="0.80"),
               call(2, 1, 1, state=CallState.FAILED, answered=False),
               call(3, 2, 2, state=CallState.ANSWERED, price="0.40", cost="0.20"),
               call(4, 3, 3, training=True, price="1.00", cost="0.50", provider_cost="0.30")),
        sessions=(SessionView(1, 1, at(1), closed_at=at(10)),
                  SessionView(2, 2, at(2)),
                  SessionView(3, 3, at(3), training=True)),
        transactions=(TransactionView(1, 1, 1, eur("2.00"), eur("5.00"), eur("3.00"), at(10)),),
    )


def with_entry(view: LedgerView, index: int, **changes: object) -> LedgerView:
    entries = list(view.entries)
    entries[index] = replace(entries[index], **changes)  # type: ignore[arg-type]
    return replace(view, entries=tuple(entries))


def with_call(view: LedgerView, index: int, **changes: object) -> LedgerView:
    calls = list(view.calls)
    calls[index] = replace(calls[index], **changes)  # type: ignore[arg-type]
    return replace(view, calls=tuple(calls))


def with_account(view: LedgerView, index: int, **changes: object) -> LedgerView:
    accounts = list(view.accounts)
    accounts[index] = replace(accounts[index], **changes)  # type: ignore[arg-type]
    return replace(view, accounts=tuple(accounts))


def with_session(view: LedgerView, index: int, **changes: object) -> LedgerView:
    sessions = list(view.sessions)
    sessions[index] = replace(sessions[index], **changes)  # type: ignore[arg-type]
    return replace(view, sessions=tuple(sessions))


def with_transaction(view: LedgerView, **changes: object) -> LedgerView:
    return replace(view, transactions=(replace(view.transactions[0], **changes),))  # type: ignore[arg-type]


def add(view: LedgerView, **extra: tuple[object, ...]) -> LedgerView:
    return replace(view, **{name: getattr(view, name) + rows
                            for name, rows in extra.items()})


# (validator, how the view is broken, a phrase the error must contain)
VIOLATIONS: list[tuple[Validator, Callable[[LedgerView], LedgerView], str]] = [
    (invariants.check_currency,
     lambda v: with_call(v, 0, cost=Money.of("1.20", "USD")), "call 1: amounts not in EUR"),
    (invariants.check_currency,
     lambda v: with_account(v, 0, currency="USD"), "kept in USD, the shop in EUR"),
    (invariants.check_prepaid_not_negative,
     lambda v: with_account(v, 1, balance=eur("-0.01")), "prepaid account 2 is below zero"),
    (invariants.check_prepaid_not_negative,
     lambda v: with_entry(v, 2, balance_after=eur("-1")), "went below zero at entry 3"),
    (invariants.check_balances_replay,
     lambda v: with_account(v, 0, balance=eur("9.00")), "entries sum to 8.8 EUR"),
    (invariants.check_balances_replay,
     lambda v: with_entry(v, 2, balance_after=eur("8.70")), "entry 3 on account 1"),
    (invariants.check_topups,
     lambda v: replace(v, entries=v.entries[:1] + v.entries[2:]), "top-up 2 has 0 entries"),
    (invariants.check_topups,
     lambda v: with_entry(v, 0, topup_id=99), "name top-up 99, which does not exist"),
    (invariants.check_topups,
     lambda v: replace(v, topups=(replace(v.topups[0], amount=eur("11")), v.topups[1])),
     "has an entry of 10 EUR"),
    (invariants.check_topups,
     lambda v: replace(v, topups=(replace(v.topups[0], amount=eur("-10")), v.topups[1])),
     "cash top-up 1 is not positive"),
    (invariants.check_topups,
     lambda v: with_entry(v, 2, call_id=None), "call entry 3 must name a call"),
    (invariants.check_payments_equal_calls,
     lambda v: with_transaction(v, amount_due=eur("1.50"), change=eur("3.50")),
     "amount due 1.5 EUR, its calls' prices sum to 2 EUR"),
    (invariants.check_payments_equal_calls,
     lambda v: with_call(v, 1, answered=True, price=eur("0.30")), "sum to 2.3 EUR"),
    (invariants.check_change,
     lambda v: with_transaction(v, change=eur("2.00")), "change 2 EUR != 5 EUR − 2 EUR"),
    (invariants.check_change,
     lambda v: with_transaction(v, received=eur("1.00"), change=eur("-1.00")),
     "received 1 EUR < due 2 EUR"),
    (invariants.check_one_payment_per_call,
     lambda v: add(v, transactions=(TransactionView(2, 1, 1, eur("2"), eur("2"), eur("0"),
                                                    at(11)),)),
     "session 1 was paid 2 times"),
    (invariants.check_one_payment_per_call,
     lambda v: with_session(v, 0, closed_at=None), "session 1 is paid but open"),
    (invariants.check_one_payment_per_call,
     lambda v: with_session(v, 1, closed_at=at(12)), "session 2 is closed but unpaid"),
    (invariants.check_one_payment_per_call,
     lambda v: with_call(v, 1, state=CallState.RINGING), "call 2 is still ringing in paid"),
    (invariants.check_one_payment_per_call,
     lambda v: with_call(v, 2, session_id=1), "call 3 of cabin 2 is in session 1 of cabin 1"),
    (invariants.check_one_payment_per_call,
     lambda v: with_transaction(v, cabin_id=2), "is for cabin 2, its session for cabin 1"),
    (invariants.check_one_open_session_per_cabin,
     lambda v: add(v, sessions=(SessionView(4, 2, at(4)),)), "cabin 2 has 2 open sessions"),
    (invariants.check_call_charges,
     lambda v: with_entry(v, 3, amount=eur("-0.70")), "charged -0.7 EUR on account 2"),
    (invariants.check_call_charges,
     lambda v: replace(v, entries=v.entries[:3]), "call 1 has 0 entries on account 2"),
    (invariants.check_call_charges,
     lambda v: add(v, entries=(EntryView(5, SHOP, EntryKind.CALL, eur("0"), eur("8.80"), at(6),
                                         call_id=2),)),
     "call 2 (failed, answered=False, training=False) must not be charged"),
    (invariants.check_call_charges,
     lambda v: add(v, entries=(EntryView(5, SHOP, EntryKind.CALL, eur("0"), eur("8.80"), at(6),
                                         call_id=99),)),
     "charges call 99, not a call of this shop"),
    (invariants.check_call_charges,
     lambda v: add(v, entries=(EntryView(5, SHOP, EntryKind.CALL, eur("-1.20"), eur("7.60"),
                                         at(6), call_id=1),)),
     "call 1 has 2 entries on account 1"),
    (invariants.check_training_apart,
     lambda v: add(v, entries=(EntryView(5, SHOP, EntryKind.CALL, eur("-0.50"), eur("8.30"),
                                         at(6), call_id=4),)),
     "training call 4 moved account 1"),
    (invariants.check_training_apart,
     lambda v: with_call(v, 2, training=True), "call 3 (training=True) is in session 2"),
    (invariants.check_training_apart,
     lambda v: with_transaction(v, training=True), "transaction 1 (training=True)"),
    (invariants.check_profit,
     lambda v: with_transaction(v, amount_due=eur("1.50"), change=eur("3.50")),
     "paid calls' prices sum to 2 EUR"),
    (invariants.check_profit,
     lambda v: with_call(v, 0, cost=eur("1.00")), "charged calls' costs sum to 1 EUR"),
]


def test_a_sound_ledger_passes_every_invariant() -> None:
    view = sound_view()
    for validator in INVARIANTS:
        assert validator(view) == [], validator.__name__
    assert check_all(view) == []


@pytest.mark.parametrize(("validator", "breakage", "phrase"), VIOLATIONS,
                         ids=[f"{v.__name__}-{i}" for i, (v, _, _) in enumerate(VIOLATIONS)])
def test_each_validator_catches_its_violation(validator: Validator,
                                              breakage: Callable[[LedgerView], LedgerView],
                                              phrase: str) -> None:
    broken = breakage(sound_view())
    errors = validator(broken)
    assert any(phrase in error for error in errors), errors
    assert any(error.startswith(f"{validator.__name__}: ") for error in check_all(broken))


def test_every_registered_invariant_has_a_violation_test() -> None:
    assert {v for v, _, _ in VIOLATIONS} == set(INVARIANTS)


def test_check_all_reports_a_validator_that_cannot_run() -> None:
    # Mixed currencies make Money arithmetic raise: that is reported, not swallowed.
    broken = with_entry(sound_view(), 2, amount=Money.of("-1.20", "USD"))
    errors = check_all(broken)
    assert any("check_balances_replay: could not check: CurrencyMismatch" in e for e in errors)
    assert any(e.startswith("check_currency: entry 3: not in EUR") for e in errors)


def test_profit_is_revenue_minus_cost() -> None:
    report = profit(sound_view())
    assert (report.revenue, report.cost, report.profit) == (eur("2.00"), eur("1.20"), eur("0.80"))


def test_profit_counts_each_side_when_the_money_moved() -> None:
    view = sound_view()  # charged at minute 5, paid at minute 10
    assert profit(view, until=at(5)).profit == eur("0")
    assert profit(view, since=at(5), until=at(10)) == profit(view, at(5), at(10))
    assert (profit(view, at(5), at(10)).cost, profit(view, at(5), at(10)).revenue) == \
        (eur("1.20"), eur("0"))
    assert profit(view, since=at(10)).revenue == eur("2.00")
    halves = profit(view, until=at(7)).profit + profit(view, since=at(7)).profit
    assert halves == profit(view).profit


def test_training_earns_and_costs_nothing() -> None:
    view = add(with_session(sound_view(), 2, closed_at=at(20)),
               transactions=(TransactionView(2, 3, 3, eur("1.00"), eur("1.00"), eur("0"),
                                             at(20), training=True),))
    assert check_all(view) == []
    assert profit(view).revenue == eur("2.00")
