"""Random sequences of ledger operations (hypothesis state machine), with every invariant
checked against the database after every step.

One database serves the whole run; each example opens its own reseller and callshop
(rows are scoped by callshop, so examples never see each other) instead of building a
schema per example, and users get a precomputed password hash (see factories). A plain
model of the expected balances and sessions says which operations must be refused, so
a refusal the ledger forgets, or one it invents, fails the run as surely as a broken
invariant does.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, event

from cashdesk.call_state import CallState
from cashdesk.clock import FakeClock
from cashdesk.ledger.accounts import charge_call, record_topup
from cashdesk.ledger.errors import (
    CallNotFinished,
    CallStillLive,
    InsufficientCash,
    InsufficientCredit,
    InvalidAmount,
    NothingToPay,
    PaymentConflict,
    TrainingMismatch,
)
from cashdesk.ledger.invariants import check_all
from cashdesk.ledger.kinds import TopupKind
from cashdesk.ledger.payments import Payment, pay_cabin
from cashdesk.ledger.profit import profit
from cashdesk.ledger.snapshot import load_view
from cashdesk.money import Money, minor_unit
from cashdesk.store.database import session_factory
from cashdesk.store.models import Account, Call, Topup
from tests.ledger.factories import ShopRows, end_call, make_shop, start_call

#: The issue's bar: at least this many random sequences per CI run.
SQLITE_SEQUENCES = 1000
PG_SEQUENCES = 50
STEPS = 15
CABINS = 3
#: How a call ends: answered then hung up (most), never answered, or cut by the desk.
OUTCOMES = st.sampled_from([CallState.ENDED] * 3 + [CallState.FAILED, CallState.CUT])


@dataclass
class CallModel:
    id: int
    cabin: int
    training: bool
    live: bool = True
    answered: bool = False
    price: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    provider_cost: Decimal = Decimal(0)
    charged: bool = False


@dataclass
class OpenSession:
    training: bool
    calls: list[int] = field(default_factory=list)


@dataclass
class PaymentModel:
    key: str
    cabin: int
    received: Money
    transaction_id: int
    session_id: int
    change: Money


@dataclass
class TopupModel:
    key: str
    level: str
    amount: Money
    kind: TopupKind
    topup_id: int


class LedgerMachine(RuleBasedStateMachine):
    """Drives one fresh callshop through top-ups, corrections, calls, charges and
    payments, and checks the ledger after every step."""

    engine: Engine
    sequences = 0   # examples started, across the run
    outcomes: Counter[str]   # what the steps did, across the run (refusals by class)

    def __init__(self) -> None:
        super().__init__()
        self.db = session_factory(self.engine)()
        self.clock = FakeClock()
        self.shop: ShopRows | None = None
        self.expected: dict[str, Decimal] = {}
        self.calls: dict[int, CallModel] = {}
        self.open: dict[int, OpenSession] = {}
        self.payments: list[PaymentModel] = []
        self.topups: list[TopupModel] = []

    # helpers ---------------------------------------------------------------------
    @property
    def rows(self) -> ShopRows:
        assert self.shop is not None
        return self.shop

    def units(self, count: int) -> Money:
        """`count` of the currency's smallest coin: cents, yen, fils."""
        currency = self.rows.currency
        return Money(minor_unit(currency) * count, currency)

    def account(self, level: str) -> Account:
        return self.rows.account if level == "shop" else self.rows.reseller_account

    @property
    def levels(self) -> int:
        """How many accounts pay for a call: the shop's, and a prepaid reseller's."""
        return 2 if self.rows.reseller_account.prepaid else 1

    def refused(self, error: type[Exception], action: Callable[[], object]) -> Exception:
        """Assert `action` raises `error`, undo whatever it did, and commit the rest.

        Undone through a savepoint rather than a full rollback: it is the same proof
        (the invariants and the model then see no trace of the refused operation), but
        a rollback would expire every loaded row and make the next step reload them."""
        with pytest.raises(error) as caught, self.db.begin_nested():
            action()
        self.db.commit()
        self.outcomes[error.__name__] += 1
        return caught.value

    def teardown(self) -> None:
        self.db.close()

    # setup -----------------------------------------------------------------------
    @initialize(currency=st.sampled_from(["EUR", "JPY", "KWD"]), reseller_prepaid=st.booleans(),
                credit=st.integers(0, 5000), reseller_credit=st.integers(0, 5000))
    def open_shop(self, currency: str, reseller_prepaid: bool, credit: int,
                  reseller_credit: int) -> None:
        """A new reseller and shop, usually with some credit so calls can be charged."""
        type(self).sequences += 1
        self.shop = make_shop(self.db, self.clock, currency=currency,
                              reseller_prepaid=reseller_prepaid, cabins=CABINS)
        self.expected = {"shop": Decimal(0), "reseller": Decimal(0)}
        for level, count in (("shop", credit), ("reseller", reseller_credit)):
            if count:
                record_topup(self.db, self.clock, self.account(level), self.units(count),
                             TopupKind.BANK_TRANSFER)
                self.expected[level] += self.units(count).amount
        self.db.commit()

    # money in --------------------------------------------------------------------
    @rule(kind=st.sampled_from(list(TopupKind)), count=st.integers(-5, 3000),
          negative=st.booleans(), level=st.sampled_from(["shop", "shop", "reseller"]),
          keyed=st.booleans(), retry=st.sampled_from([False, False, True]),
          pick=st.integers(0, 1000))
    def move_credit(self, kind: TopupKind, count: int, negative: bool, level: str,
                    keyed: bool, retry: bool, pick: int) -> None:
        """A top-up of any kind (a correction may take credit away), or a retry of an
        earlier keyed one, which must return it unchanged."""
        if retry and self.topups:
            first = self.topups[pick % len(self.topups)]
            again = record_topup(self.db, self.clock, self.account(first.level), first.amount,
                                 first.kind, idempotency_key=first.key)
            self.db.commit()
            assert again.id == first.topup_id
            self.outcomes["top-up replayed"] += 1
            return
        if kind is TopupKind.CORRECTION and negative:
            count = -count
        amount = self.units(count)
        account = self.account(level)
        key = uuid.uuid4().hex if keyed else None

        def act() -> Topup:
            return record_topup(self.db, self.clock, account, amount, kind,
                                idempotency_key=key)

        if count == 0 or (count < 0 and kind is not TopupKind.CORRECTION):
            self.refused(InvalidAmount, act)
        elif account.prepaid and self.expected[level] + amount.amount < 0:
            self.refused(InsufficientCredit, act)
        else:
            topup = act()
            self.db.commit()
            self.outcomes["credit moved"] += 1
            self.expected[level] += amount.amount
            if key is not None:
                self.topups.append(TopupModel(key, level, amount, kind, topup.id))

    # calls -----------------------------------------------------------------------
    @rule(cabin=st.integers(0, CABINS - 1), training=st.sampled_from([False] * 7 + [True]),
          hang_up=st.sampled_from([True, True, False]), outcome=OUTCOMES,
          price=st.integers(0, 800), cost=st.integers(0, 500), provider_cost=st.integers(0, 400),
          charge_now=st.booleans(), seconds=st.integers(1, 900))
    def call(self, cabin: int, training: bool, hang_up: bool, outcome: CallState, price: int,
             cost: int, provider_cost: int, charge_now: bool, seconds: int) -> None:
        """A call starts in a cabin and usually ends after `seconds` (else `end_a_call`
        ends it later); the server may charge it at once."""
        opened = self.open.get(cabin)

        def act() -> Call:
            return start_call(self.db, self.clock, self.rows.cabins[cabin], training=training)

        if opened is not None and opened.training != training:
            self.refused(TrainingMismatch, act)
            return
        call = act()
        self.db.commit()
        self.open.setdefault(cabin, OpenSession(training=training)).calls.append(call.id)
        model = self.calls[call.id] = CallModel(call.id, cabin, training)
        if hang_up:
            self.clock.advance(seconds)
            self._end(model, outcome, price, cost, provider_cost)
            if charge_now:
                self._charge(model)

    @rule(pick=st.integers(0, 1000), outcome=OUTCOMES, price=st.integers(0, 800),
          cost=st.integers(0, 500), provider_cost=st.integers(0, 400),
          seconds=st.integers(1, 900))
    def end_a_call(self, pick: int, outcome: CallState, price: int, cost: int,
                   provider_cost: int, seconds: int) -> None:
        live = [c for c in self.calls.values() if c.live]
        if not live:
            return
        self.clock.advance(seconds)
        self._end(live[pick % len(live)], outcome, price, cost, provider_cost)

    def _end(self, model: CallModel, outcome: CallState, price: int, cost: int,
             provider_cost: int) -> None:
        call = self.db.get_one(Call, model.id)
        # FAILED was never answered; ENDED was; CUT here means cut after the answer.
        answered = outcome is not CallState.FAILED
        if answered:
            model.price = self.units(price).amount
            model.cost = self.units(cost).amount
            model.provider_cost = self.units(provider_cost).amount
        end_call(self.db, self.clock, call, answered=answered, price=model.price,
                 cost=model.cost, provider_cost=model.provider_cost, state=outcome)
        self.db.commit()
        model.live, model.answered = False, answered

    @rule(pick=st.integers(0, 1000), live=st.sampled_from([False] * 4 + [True]))
    def charge(self, pick: int, live: bool) -> None:
        """Charge an ended call, preferably one still owing its cost; now and then a
        live one (refused) or one already charged (harmless)."""
        ended = [c for c in self.calls.values() if not c.live]
        owing = [c for c in ended if c.answered and not c.training and not c.charged]
        models = ([c for c in self.calls.values() if c.live] if live else owing or ended) \
            or list(self.calls.values())
        if models:
            self._charge(models[pick % len(models)])

    def _charge(self, model: CallModel) -> None:
        call = self.db.get_one(Call, model.id)
        if model.live:
            self.refused(CallNotFinished, lambda: charge_call(self.db, self.clock, call))
            return
        if model.training or not model.answered or model.charged:
            assert len(charge_call(self.db, self.clock, call)) == \
                (0 if model.training or not model.answered else self.levels)
            self.db.commit()
            self.outcomes["nothing new to charge"] += 1
            return
        shop_short = self.rows.account.prepaid and self.expected["shop"] < model.cost
        reseller_pays = self.rows.reseller_account.prepaid
        reseller_short = reseller_pays and self.expected["reseller"] < model.provider_cost
        if shop_short or reseller_short:
            self.refused(InsufficientCredit, lambda: charge_call(self.db, self.clock, call))
            return
        entries = charge_call(self.db, self.clock, call)
        self.db.commit()
        assert len(entries) == self.levels
        self.outcomes["charged"] += 1
        self.expected["shop"] -= model.cost
        if reseller_pays:
            self.expected["reseller"] -= model.provider_cost
        model.charged = True

    # payments --------------------------------------------------------------------
    @precondition(lambda self: any(opened.calls for opened in self.open.values()))
    @rule(pick=st.integers(0, 1000), anywhere=st.sampled_from([False] * 4 + [True]),
          delta=st.integers(-60, 600), name_the_session=st.booleans())
    def pay(self, pick: int, anywhere: bool, delta: int, name_the_session: bool) -> None:
        """Pay a cabin with calls (now and then any cabin), handing over `delta` minor
        units more, or less, than what is due."""
        with_calls = [cabin for cabin, opened in self.open.items() if opened.calls]
        cabin = pick % CABINS if anywhere or not with_calls else with_calls[pick % len(with_calls)]
        opened = self.open.get(cabin)
        due = self.units(0)
        if opened is not None:
            for call_id in opened.calls:
                model = self.calls[call_id]
                if model.answered:
                    due = due + Money(model.price, due.currency)
        received = max(due + self.units(delta), self.units(0))
        key = uuid.uuid4().hex
        session_id = None
        if name_the_session and opened is not None and opened.calls:
            session_id = self.db.get_one(Call, opened.calls[0]).session_id

        def act() -> Payment:
            return pay_cabin(self.db, self.clock, cabin=self.rows.cabins[cabin],
                             operator=self.rows.operator, shift=self.rows.shift,
                             received=received, idempotency_key=key,
                             cabin_session_id=session_id)

        if opened is None or not opened.calls:
            self.refused(NothingToPay, act)
        elif any(self.calls[c].live for c in opened.calls):
            self.refused(CallStillLive, act)
        elif received < due:
            error = self.refused(InsufficientCash, act)
            assert received.format(self.rows.callshop.locale) in str(error)
            assert due.format(self.rows.callshop.locale) in str(error)
        else:
            payment = act()
            self.db.commit()
            transaction = payment.transaction
            assert not payment.replayed
            assert transaction.amount_due == due.amount
            assert payment.change == received - due
            assert transaction.training == opened.training
            self.outcomes["paid"] += 1
            self.payments.append(PaymentModel(key, cabin, received, transaction.id,
                                              transaction.session_id,
                                              payment.change))
            del self.open[cabin]

    @rule(pick=st.integers(0, 1000), how=st.sampled_from(["same", "more cash", "new key"]),
          extra=st.integers(1, 300))
    def pay_again(self, pick: int, how: str, extra: int) -> None:
        """A desk retries a payment: the same key and amount replay it; the same key
        with more cash, or a new key for the session already paid, conflict."""
        if not self.payments:
            return
        first = self.payments[pick % len(self.payments)]
        received, key, session_id = first.received, first.key, None
        if how == "more cash":
            received = received + self.units(extra)
        elif how == "new key":
            key, session_id = uuid.uuid4().hex, first.session_id

        def act() -> Payment:
            return pay_cabin(self.db, self.clock, cabin=self.rows.cabins[first.cabin],
                             operator=self.rows.operator, shift=self.rows.shift,
                             received=received, idempotency_key=key,
                             cabin_session_id=session_id)

        if how != "same":
            self.refused(PaymentConflict, act)
            return
        again = act()
        self.db.commit()
        assert again.replayed
        self.outcomes["payment replayed"] += 1
        assert (again.transaction.id, again.change) == (first.transaction_id, first.change)

    # after every step -------------------------------------------------------------
    @invariant()
    def ledger_holds(self) -> None:
        if self.shop is None:
            return
        self.outcomes["invariants checked"] += 1
        view = load_view(self.db, self.rows.callshop.id)
        assert check_all(view) == []
        balances = {a.id: a.balance.amount for a in view.accounts}
        assert balances[self.rows.account.id] == self.expected["shop"]
        assert balances[self.rows.reseller_account.id] == self.expected["reseller"]
        report = profit(view)
        paid = sum((self.calls[c.id].price for c in view.calls
                    if c.answered and not c.training
                    and any(p.session_id == c.session_id for p in self.payments)), Decimal(0))
        charged = sum((m.cost for m in self.calls.values() if m.charged), Decimal(0))
        assert report.profit.amount == paid - charged


#: Every outcome a run must have produced at least once, or the machine proves little.
MUST_HAPPEN = {"credit moved", "top-up replayed", "charged", "nothing new to charge", "paid",
               "payment replayed",
               "InvalidAmount", "InsufficientCredit", "TrainingMismatch", "CallNotFinished",
               "NothingToPay", "CallStillLive", "InsufficientCash", "PaymentConflict"}


def run_machine(engine: Engine, examples: int, steps: int) -> tuple[int, Counter[str]]:
    """Run the machine for `examples` sequences; say how many ran and what they did."""
    machine = type("Machine", (LedgerMachine,),
                   {"engine": engine, "sequences": 0, "outcomes": Counter()})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None,
        suppress_health_check=[HealthCheck.too_slow]))
    return machine.sequences, machine.outcomes  # type: ignore[attr-defined]


def _no_fsync(dbapi_connection: Any, _record: Any) -> None:
    # A throwaway test file: durability is the product's setting (synchronous=FULL), not
    # something this test measures, and an fsync per commit would dominate its run time.
    dbapi_connection.execute("PRAGMA synchronous=OFF")


def test_random_ledger_sequences_keep_every_invariant_on_sqlite(sqlite_engine: Engine) -> None:
    event.listen(sqlite_engine, "connect", _no_fsync)
    sqlite_engine.dispose()
    started, cpu = time.monotonic(), time.process_time()
    sequences, outcomes = run_machine(sqlite_engine, SQLITE_SEQUENCES, steps=STEPS)
    print(f"\nledger state machine: {sequences} sequences on SQLite in "
          f"{time.monotonic() - started:.1f} s ({time.process_time() - cpu:.1f} s CPU); "
          f"{dict(sorted(outcomes.items()))}")
    assert sequences >= SQLITE_SEQUENCES
    assert MUST_HAPPEN <= outcomes.keys(), MUST_HAPPEN - outcomes.keys()


@pytest.mark.pg
def test_random_ledger_sequences_keep_every_invariant_on_postgresql(pg_engine: Engine) -> None:
    sequences, outcomes = run_machine(pg_engine, PG_SEQUENCES, steps=STEPS)
    assert sequences >= PG_SEQUENCES
    assert {"charged", "paid"} <= outcomes.keys()
