"""Building shops, cabins and calls for ledger tests, fast.

`create_callshop` and `create_user` hash passwords with argon2 (tens of milliseconds
each, on purpose); property tests build a shop per example, so here the hash is made
once and reused. Names carry a random tag: several shops share one database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from unittest import mock

from sqlalchemy.orm import Session

from cashdesk.auth.passwords import hash_password
from cashdesk.auth.roles import Role
from cashdesk.call_state import CallState
from cashdesk.clock import Clock
from cashdesk.ledger.sessions import attach_call
from cashdesk.money import Money
from cashdesk.shops import create_callshop, create_reseller
from cashdesk.store.models import Account, Cabin, Call, Callshop, Reseller, Shift, User
from cashdesk.users import create_user

PASSWORD = "correct horse battery"
_PRECOMPUTED_HASH = hash_password(PASSWORD)


@dataclass
class ShopRows:
    reseller: Reseller
    callshop: Callshop
    account: Account            # the shop's prepaid account
    reseller_account: Account
    cabins: list[Cabin]
    operator: User
    shift: Shift

    @property
    def currency(self) -> str:
        return self.callshop.currency

    def money(self, amount: str | int | Decimal) -> Money:
        return Money.of(amount, self.currency)


def make_shop(session: Session, clock: Clock, *, currency: str = "EUR",
              reseller_prepaid: bool = False, cabins: int = 2,
              training: bool = False) -> ShopRows:
    """A reseller, its callshop (prepaid account under the reseller's), an operator
    with an open shift, and `cabins` cabins. Flushed, not committed."""
    tag = uuid.uuid4().hex[:10]
    with mock.patch("cashdesk.users.hash_password", return_value=_PRECOMPUTED_HASH):
        reseller = create_reseller(session, clock, name=f"Reseller {tag}", currency=currency,
                                   prepaid=reseller_prepaid)
        new = create_callshop(session, clock, reseller, name=f"Shop {tag}", currency=currency,
                              admin_username=f"admin-{tag}", admin_password=PASSWORD,
                              training=training)
        operator = create_user(session, clock, username=f"op-{tag}", password=PASSWORD,
                               role=Role.OPERATOR, reseller_id=reseller.id,
                               callshop=new.callshop)
    shop = new.callshop
    cabin_rows = [Cabin(callshop_id=shop.id, name=f"Cabin {i + 1}", position=i,
                        sip_username=f"cab-{tag}-{i + 1}") for i in range(cabins)]
    session.add_all(cabin_rows)
    shift = Shift(callshop_id=shop.id, operator_id=operator.id, opened_at=clock.now())
    session.add(shift)
    session.flush()
    return ShopRows(reseller=reseller, callshop=shop, account=shop.account,
                    reseller_account=reseller.account, cabins=cabin_rows, operator=operator,
                    shift=shift)


def start_call(session: Session, clock: Clock, cabin: Cabin, *, training: bool = False,
               number: str = "33123456789", attach: bool = True) -> Call:
    """A call that is dialing from `cabin`, attached to the cabin's session."""
    call = Call(callshop_id=cabin.callshop_id, cabin_id=cabin.id,
                pbx_call_id=uuid.uuid4().hex, dialed_number="00" + number, number=number,
                state=CallState.DIALING, started_at=clock.now(), training=training)
    session.add(call)
    session.flush()
    if attach:
        attach_call(session, clock, call)
    return call


def end_call(session: Session, clock: Clock, call: Call, *, answered: bool = True,
             price: str | Decimal = "0", cost: str | Decimal = "0",
             provider_cost: str | Decimal = "0", state: CallState | None = None) -> Call:
    """Finish `call` as the tracker and rating would: ENDED when answered (or `state`),
    FAILED otherwise, with its frozen amounts (zero when never answered)."""
    now = clock.now()
    if answered:
        call.answered_at = now
        call.state = state or CallState.ENDED
        call.price, call.cost = Decimal(price), Decimal(cost)
        call.provider_cost = Decimal(provider_cost)
        call.billed_seconds = 60
    else:
        call.state = state or CallState.FAILED
    call.ended_at = now
    session.flush()
    return call


def ended_call(session: Session, clock: Clock, cabin: Cabin, *, price: str = "0",
               cost: str = "0", provider_cost: str = "0", answered: bool = True,
               training: bool = False) -> Call:
    """Shortcut: a call started and finished in one go."""
    call = start_call(session, clock, cabin, training=training)
    return end_call(session, clock, call, answered=answered, price=price, cost=cost,
                    provider_cost=provider_cost)
