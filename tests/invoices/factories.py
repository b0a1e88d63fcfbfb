"""Paid cabin sessions to invoice: a shop (from the ledger's factories), its invoice
settings, a cabin's answered calls at known rates and durations, and the payment made
by the ledger's own `pay_cabin`, as the server's pay endpoint does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from cashdesk.call_state import CallState
from cashdesk.clock import FakeClock
from cashdesk.invoices.vat import round_once
from cashdesk.ledger.payments import pay_cabin
from cashdesk.ledger.sessions import attach_call
from cashdesk.money import Money, money_sum
from cashdesk.store.models import Cabin, Call, Callshop, InvoiceSettings, Transaction
from tests.ledger.factories import ShopRows, make_shop

DESTINATIONS = ("France - Mobile", "Maroc - Orange", "Sénégal - Fixe", "Pakistan Mobile",
                "Algérie - Djezzy")
RATES = ("0.1500", "0.0900", "0.2500", "0.0750", "0.1200")


@dataclass(frozen=True)
class CallSpec:
    dialed: str
    destination: str
    rate: str            # per minute
    billed_seconds: int


def call_specs(count: int) -> list[CallSpec]:
    """`count` varied calls: five destinations, durations from 0:07 to over an hour."""
    specs = []
    for i in range(count):
        seconds = 7 + (i * 97) % 1900 if i != 3 else 3725  # one call over an hour
        specs.append(CallSpec(dialed=f"00{212 + i % 7}6{i:08d}", destination=DESTINATIONS[i % 5],
                              rate=RATES[i % 5], billed_seconds=seconds))
    return specs


@dataclass
class Paid:
    shop: ShopRows
    settings: InvoiceSettings
    cabin: Cabin
    calls: list[Call]
    transaction: Transaction

    @property
    def currency(self) -> str:
        return self.shop.currency


def make_paid(session: Session, clock: FakeClock, *, specs: list[CallSpec] | None = None,
              shop: ShopRows | None = None, cabin_index: int = 0, currency: str = "EUR",
              timezone: str = "Europe/Paris", locale: str = "en", language: str = "en",
              vat_rate: str = "20", prices_include_vat: bool = True,
              tax_id: str = "FR40123456824", company_name: str = "Taxiphone de la Gare",
              address: str = "12 rue de la Paix\n75002 Paris", footer: str = "",
              operator_name: str = "Samira Benali", cabin_name: str | None = None,
              failed_calls: int = 1, extra_cash: str = "10", training: bool = False) -> Paid:
    """A paid session of `specs` (five calls by default) plus `failed_calls` never
    answered, in a shop set up as the keywords say. Flushed, not committed."""
    if shop is None:
        shop = make_shop(session, clock, currency=currency, cabins=3, training=training)
        shop.callshop.timezone = timezone
        shop.callshop.locale = locale
        shop.operator.display_name = operator_name
    settings = session.get_one(InvoiceSettings, shop.callshop.id)
    settings.company_name = company_name
    settings.address = address
    settings.tax_id = tax_id
    settings.vat_rate = Decimal(vat_rate)
    settings.prices_include_vat = prices_include_vat
    settings.footer = footer
    settings.language = language
    cabin = shop.cabins[cabin_index]
    if cabin_name is not None:
        cabin.name = cabin_name
    session.flush()

    calls = add_calls(session, clock, cabin, specs if specs is not None else call_specs(5),
                      failed_calls=failed_calls, training=training)
    due = money_sum([Money(c.price, shop.currency) for c in calls], shop.currency)
    payment = pay_cabin(session, clock, cabin=cabin, operator=shop.operator, shift=shop.shift,
                        received=due + Money.of(extra_cash, shop.currency),
                        idempotency_key=uuid.uuid4().hex)
    return Paid(shop=shop, settings=settings, cabin=cabin, calls=calls,
                transaction=payment.transaction)


def add_calls(session: Session, clock: FakeClock, cabin: Cabin, specs: list[CallSpec], *,
              failed_calls: int = 0, training: bool = False) -> list[Call]:
    """Answered calls of `specs` and `failed_calls` unanswered ones, in the cabin's open
    session (unpaid). Returns the answered ones."""
    calls = [_call(session, clock, cabin, spec, answered=True, training=training)
             for spec in specs]
    for i in range(failed_calls):
        _call(session, clock, cabin, CallSpec(f"0033100000{i:03d}", "France", "0.2", 0),
              answered=False, training=training)
    return calls


def _call(session: Session, clock: FakeClock, cabin: Cabin, spec: CallSpec, *,
          answered: bool, training: bool) -> Call:
    started = clock.now()
    currency = session.get_one(Callshop, cabin.callshop_id).currency
    rate = Decimal(spec.rate)
    call = Call(callshop_id=cabin.callshop_id, cabin_id=cabin.id, pbx_call_id=uuid.uuid4().hex,
                dialed_number=spec.dialed, number=spec.dialed.removeprefix("00"),
                destination=spec.destination, state=CallState.ENDED if answered
                else CallState.FAILED, price_per_minute=rate, started_at=started,
                training=training)
    if answered:
        call.answered_at = started + timedelta(seconds=6)
        call.ended_at = call.answered_at + timedelta(seconds=spec.billed_seconds)
        call.billed_seconds = spec.billed_seconds
        call.price = round_once(rate * spec.billed_seconds / 60, currency).amount
    else:
        call.ended_at = started + timedelta(seconds=20)
    session.add(call)
    session.flush()
    attach_call(session, clock, call)
    clock.advance(spec.billed_seconds + 60)
    return call
