"""Shops with rates, balances and cabins, and a tracker wired to record what it says.

`create_callshop` hashes a password with argon2 on purpose (slow); tests build many
shops, so the hash is made once and reused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from unittest import mock

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cashdesk.auth.passwords import hash_password
from cashdesk.calls.changes import Change
from cashdesk.calls.tracker import CallTracker
from cashdesk.clock import FakeClock
from cashdesk.ledger.accounts import record_topup
from cashdesk.ledger.invariants import check_all
from cashdesk.ledger.kinds import TopupKind
from cashdesk.ledger.snapshot import load_view
from cashdesk.money import Money
from cashdesk.pbx.bridge import BridgeCommand, Cut, SetBackstop
from cashdesk.pbx.events import CallAnswered, CallEnded, CallRinging, CallStarted, HangupBy
from cashdesk.prepaid.timeline import epoch_ms
from cashdesk.rating.rater import Rater
from cashdesk.shops import create_buy_tariff, create_callshop, create_reseller
from cashdesk.store.models import Account, Cabin, Call, Rate, Reseller

_HASH = hash_password("correct horse battery")


@dataclass(frozen=True)
class RateRow:
    """One destination in all three tariffs: sell (the customer), buy (the shop),
    provider (the reseller). Prices per minute; increments "initial/subsequent"."""

    prefix: str
    destination: str
    sell: str
    buy: str
    provider: str = "0"
    sell_fee: str = "0"
    buy_fee: str = "0"
    provider_fee: str = "0"
    sell_steps: str = "60/60"
    buy_steps: str = "60/60"
    provider_steps: str = "60/60"
    grace: int = 0


DEFAULT_RATES = (
    RateRow("44", "United Kingdom", sell="0.20", buy="0.10", provider="0.05"),
    RateRow("33", "France", sell="0.15", buy="0.08", provider="0.04", sell_fee="0.05",
            buy_fee="0.02", sell_steps="30/6", buy_steps="30/6", provider_steps="1/1"),
    RateRow("1", "United States", sell="0.05", buy="0.02", provider="0.01",
            sell_steps="1/1", buy_steps="1/1", provider_steps="1/1"),
    RateRow("212", "Morocco", sell="0.90", buy="0.60", provider="0.40", sell_fee="0.10",
            buy_fee="0.05"),
    RateRow("2126", "Morocco mobile", sell="1.20", buy="0.80", provider="0.55",
            sell_steps="30/6", buy_steps="30/6", provider_steps="30/6"),
)


@dataclass
class ShopSetup:
    reseller_id: int
    callshop_id: int
    account_id: int
    reseller_account_id: int
    currency: str
    cabins: list[str]            # SIP usernames
    cabin_ids: list[int]


def _steps(text: str) -> tuple[int, int]:
    initial, subsequent = text.split("/")
    return int(initial), int(subsequent)


def _rate(tariff_id: int, prefix: str, destination: str, price: str, fee: str, steps: str,
          grace: int) -> Rate:
    initial, subsequent = _steps(steps)
    return Rate(tariff_id=tariff_id, prefix=prefix, destination=destination,
                price_per_minute=Decimal(price), connection_fee=Decimal(fee),
                initial_increment=initial, subsequent_increment=subsequent,
                grace_seconds=grace)


def make_reseller(db: Session, clock: FakeClock, *, prepaid: bool = False,
                  balance: str | None = None, rates: tuple[RateRow, ...] = DEFAULT_RATES,
                  currency: str = "EUR") -> Reseller:
    """A reseller with a provider tariff; prepaid with `balance` when asked."""
    tag = uuid.uuid4().hex[:8]
    reseller = create_reseller(db, clock, name=f"Reseller {tag}", currency=currency,
                               prepaid=prepaid)
    provider = create_buy_tariff(db, clock, reseller, f"Provider {tag}")
    db.add_all(_rate(provider.id, r.prefix, r.destination, r.provider, r.provider_fee,
                     r.provider_steps, 0) for r in rates)
    reseller.provider_tariff_id = provider.id
    db.flush()
    if balance is not None:
        record_topup(db, clock, db.get_one(Account, reseller.account_id),
                     Money.of(balance, currency), TopupKind.BANK_TRANSFER)
    return reseller


def make_shop(db: Session, clock: FakeClock, *, balance: str = "10",
              reseller: Reseller | None = None, rates: tuple[RateRow, ...] = DEFAULT_RATES,
              cabins: int = 2, training: bool = False, currency: str = "EUR",
              **shop_settings: object) -> ShopSetup:
    """A callshop with buy and sell tariffs from `rates`, `cabins` cabins and a prepaid
    balance (a cash top-up of `balance`). Flushed, not committed."""
    if reseller is None:
        reseller = make_reseller(db, clock, rates=rates, currency=currency)
    tag = uuid.uuid4().hex[:8]
    buy = create_buy_tariff(db, clock, reseller, f"Buy {tag}")
    with mock.patch("cashdesk.users.hash_password", return_value=_HASH):
        new = create_callshop(db, clock, reseller, name=f"Shop {tag}", currency=currency,
                              admin_username=f"admin-{tag}",
                              admin_password="correct horse battery", training=training,
                              buy_tariff=buy)
    shop = new.callshop
    for name, value in shop_settings.items():
        setattr(shop, name, value)
    db.add_all(_rate(buy.id, r.prefix, r.destination, r.buy, r.buy_fee, r.buy_steps, 0)
               for r in rates)
    db.add_all(_rate(new.sell_tariff.id, r.prefix, r.destination, r.sell, r.sell_fee,
                     r.sell_steps, r.grace) for r in rates)
    cabin_rows = [Cabin(callshop_id=shop.id, name=f"Cabin {i + 1}", position=i,
                        sip_username=f"cab-{tag}-{i + 1}") for i in range(cabins)]
    db.add_all(cabin_rows)
    db.flush()
    if Decimal(balance) > 0:
        record_topup(db, clock, shop.account, Money.of(balance, currency), TopupKind.CASH)
    return ShopSetup(reseller_id=reseller.id, callshop_id=shop.id, account_id=shop.account_id,
                     reseller_account_id=reseller.account_id, currency=currency,
                     cabins=[c.sip_username for c in cabin_rows],
                     cabin_ids=[c.id for c in cabin_rows])


@dataclass
class Desk:
    """A tracker on a database and a fake clock, recording what it announces and
    what it tells the PBX."""

    sessions: sessionmaker[Session]
    clock: FakeClock
    rater: Rater
    tracker: CallTracker
    changes: list[Change] = field(default_factory=list)
    commands: list[BridgeCommand] = field(default_factory=list)

    @classmethod
    def open(cls, sessions: sessionmaker[Session], clock: FakeClock,
             rater: Rater | None = None) -> Desk:
        if rater is None:
            rater = Rater()
            with sessions() as db:
                rater.load(db)
        desk = cls(sessions, clock, rater, tracker=None)  # type: ignore[arg-type]
        desk.tracker = CallTracker(sessions, clock, rater, on_change=desk.changes.append,
                                   on_command=desk.commands.append)
        return desk

    # driving calls -----------------------------------------------------------------
    def dial(self, cabin: str, number: str, call_id: str | None = None,
             at: datetime | None = None) -> str:
        call_id = call_id or uuid.uuid4().hex
        self.tracker.handle(CallStarted(call_id, cabin, number, at=at or self.clock.now()))
        return call_id

    def ring(self, call_id: str) -> None:
        self.tracker.handle(CallRinging(call_id, at=self.clock.now()))

    def answer(self, call_id: str) -> None:
        self.tracker.handle(CallAnswered(call_id, at=self.clock.now()))

    def hang_up(self, call_id: str, by: HangupBy = HangupBy.CABIN) -> None:
        self.tracker.handle(CallEnded(call_id, hangup_by=by, at=self.clock.now()))

    def connect(self, cabin: str, number: str) -> str:
        call_id = self.dial(cabin, number)
        self.ring(call_id)
        self.answer(call_id)
        return call_id

    def run_until(self, seconds: float) -> None:
        """Advance the clock by `seconds`, stopping at every guard deadline on the way
        to act on it exactly then (as the asyncio runner would)."""
        target = epoch_ms(self.clock.now()) + round(seconds * 1000)
        while True:
            deadline = self.tracker.next_deadline()
            if deadline is None or deadline > target:
                break
            self.advance_to(deadline)
            self.tracker.on_time()
        self.advance_to(target)
        self.tracker.on_time()

    def advance_to(self, instant_ms: int) -> None:
        now = epoch_ms(self.clock.now())
        if instant_ms > now:
            self.clock.advance((instant_ms - now) / 1000)
        assert epoch_ms(self.clock.now()) == max(now, instant_ms)

    # looking -----------------------------------------------------------------------
    def call(self, pbx_call_id: str) -> Call:
        with self.sessions() as db:
            return db.scalars(select(Call).where(Call.pbx_call_id == pbx_call_id)).one()

    def balance(self, account_id: int) -> Decimal:
        with self.sessions() as db:
            return db.scalars(select(Account.balance).where(Account.id == account_id)).one()

    def cuts(self) -> list[Cut]:
        return [c for c in self.commands if isinstance(c, Cut)]

    def backstops(self) -> list[SetBackstop]:
        return [c for c in self.commands if isinstance(c, SetBackstop)]

    def check_ledger(self, callshop_id: int) -> None:
        with self.sessions() as db:
            errors = check_all(load_view(db, callshop_id))
        assert errors == [], errors
