"""Arranging money in the test world: cabins, calls the way the tracker and rating
leave them (ended, priced, charged to the balance), top-ups and payments, written
through the ledger's own functions so the invariants hold."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine

from cashdesk.call_state import CallState
from cashdesk.clock import Clock
from cashdesk.ledger.accounts import charge_call, record_topup
from cashdesk.ledger.invariants import check_all
from cashdesk.ledger.kinds import TopupKind
from cashdesk.ledger.payments import pay_cabin
from cashdesk.ledger.sessions import attach_call
from cashdesk.ledger.snapshot import load_view
from cashdesk.money import Money
from cashdesk.store.database import session_factory
from cashdesk.store.models import Account, Cabin, Call, Callshop, Shift, User

_unique = itertools.count(1)


class At:
    """A clock fixed at one instant (to date rows without moving the test's clock)."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def monotonic(self) -> float:
        return 0.0


def add_cabin(engine: Engine, shop_id: int, name: str | None = None) -> int:
    n = next(_unique)
    with session_factory(engine).begin() as session:
        cabin = Cabin(callshop_id=shop_id, name=name or f"Cabin {n}",
                      sip_username=f"cab-{uuid.uuid4().hex[:12]}")
        session.add(cabin)
        session.flush()
        return cabin.id


def top_up(engine: Engine, clock: Clock, shop_id: int, amount: str = "100") -> None:
    with session_factory(engine).begin() as session:
        shop = session.get_one(Callshop, shop_id)
        record_topup(session, clock, session.get_one(Account, shop.account_id),
                     Money.of(amount, shop.currency), TopupKind.CASH)


def add_call(engine: Engine, clock: Clock, cabin_id: int, *, price: str = "1.00",
             cost: str = "0.40", number: str = "33123456789", destination: str = "France",
             seconds: int = 60, answered: bool = True, training: bool = False,
             state: CallState | None = None) -> int:
    """A call from the cabin, joined to its open session. Finished calls are charged
    to the shop's balance (top it up first); `state` may leave it live."""
    now = clock.now()
    final = state or (CallState.ENDED if answered else CallState.FAILED)
    with session_factory(engine).begin() as session:
        cabin = session.get_one(Cabin, cabin_id)
        call = Call(callshop_id=cabin.callshop_id, cabin_id=cabin.id,
                    pbx_call_id=uuid.uuid4().hex, dialed_number="00" + number, number=number,
                    destination=destination, state=final, started_at=now,
                    answered_at=now if answered else None,
                    ended_at=now if final.is_final else None,
                    billed_seconds=seconds if answered else 0,
                    price_per_minute=Decimal(price),
                    price=Decimal(price) if answered else Decimal(0),
                    cost=Decimal(cost) if answered else Decimal(0), training=training)
        session.add(call)
        session.flush()
        attach_call(session, clock, call)
        if final.is_final:
            charge_call(session, clock, call)
        return call.id


def pay(engine: Engine, clock: Clock, cabin_id: int, operator_id: int, received: str,
        *, shift_id: int | None = None) -> int:
    """Pay the cabin straight through the ledger (not the API); the transaction id."""
    with session_factory(engine).begin() as session:
        cabin = session.get_one(Cabin, cabin_id)
        currency = session.get_one(Callshop, cabin.callshop_id).currency
        payment = pay_cabin(session, clock, cabin=cabin,
                            operator=session.get_one(User, operator_id),
                            shift=session.get(Shift, shift_id) if shift_id else None,
                            received=Money.of(received, currency),
                            idempotency_key=uuid.uuid4().hex)
        return payment.transaction.id


def invariant_errors(engine: Engine, shop_id: int) -> list[str]:
    with session_factory(engine)() as session:
        return check_all(load_view(session, shop_id))


def key() -> str:
    return uuid.uuid4().hex
