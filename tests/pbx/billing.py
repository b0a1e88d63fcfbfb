"""The sync server's billing half against a real Kamailio: a shop on SQLite with rates,
a prepaid balance and cabins provisioned into Kamailio's subscriber table, and the
`CallService` + `KamailioBridge` + call tracker (the real guard and ledger) on the
system clock, in this process — or, for the tests that kill it, in its own process
(`tests/pbx/billing_process.py`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cashdesk.calls.changes import CallUpdated, Change
from cashdesk.calls.service import CallService
from cashdesk.calls.tracker import CallTracker
from cashdesk.clock import SystemClock
from cashdesk.ledger.invariants import check_all
from cashdesk.ledger.sessions import session_due
from cashdesk.ledger.snapshot import load_view
from cashdesk.money import Money
from cashdesk.pbx.kamailio.bridge import KamailioBridge, KamailioBridgeSettings
from cashdesk.pbx.kamailio.provisioning import CabinProvisioner
from cashdesk.pbx.kamailio.subscribers import SubscriberTable, ha1
from cashdesk.rating.rater import Rater
from cashdesk.store.models import Account, AccountEntry, Cabin, CabinSession, Call
from tests.calls.factories import RateRow, ShopSetup, make_shop
from tests.pbx.harness import Kamailio

ROOT = Path(__file__).resolve().parents[2]

CABIN_PASSWORD = "cabin-secret-1"
NUMBER = "0033123456789"            # France: rated
NO_RATE_NUMBER = "0081312345678"    # Japan: a valid number nobody sells
# Short increments so calls bill (and credit runs out) within seconds: the customer
# pays 6/6 with a connection fee, the shop buys 1/1 with a smaller one.
# Buying costs 0.02 + 0.01 a second: a balance of 0.06 pays one call exactly 4 s.
RATES = (RateRow("33", "France", sell="1.20", buy="0.60", provider="0.10", sell_fee="0.05",
                 buy_fee="0.02", sell_steps="6/6", buy_steps="1/1", provider_steps="1/1"),)
# Below the tests' Kamailio auth_timeout_ms (1000).
AUTHORISE_TIMEOUT_S = 0.8


def make_kamailio_shop(sessions: sessionmaker[Session], kamailio: Kamailio, *,
                       balance: str, cabins: int = 2) -> ShopSetup:
    """A shop with `RATES`, `balance` topped up, and `cabins` cabins whose SIP password
    is `CABIN_PASSWORD`, written into Kamailio's subscriber table from the database
    (as the server does) — Kamailio's realm, HA1 only."""
    realm = kamailio.settings.realm
    with sessions.begin() as db:
        shop = make_shop(db, SystemClock(), balance=balance, rates=RATES,  # type: ignore[arg-type]
                         cabins=cabins)
        for cabin in db.scalars(select(Cabin).where(Cabin.id.in_(shop.cabin_ids))):
            cabin.sip_realm = realm
            cabin.sip_ha1 = ha1(cabin.sip_username, realm, CABIN_PASSWORD)
    with sessions.begin() as db:
        CabinProvisioner(SubscriberTable(kamailio.settings.subscriber_db, realm)).sync_all(db)
    return shop


@dataclass
class Published:
    change: Change
    at: float  # time.time() when the service handed it over


@dataclass
class BillingServer:
    """CallService + KamailioBridge + CallTracker in this process, on the system clock."""

    sessions: sessionmaker[Session]
    kamailio: Kamailio
    published: list[Published] = field(default_factory=list)
    statuses: list[bool] = field(default_factory=list)
    #: Called in the event loop with each change, after it is recorded.
    listeners: list[Callable[[Change], object]] = field(default_factory=list)
    service: CallService | None = None
    bridge: KamailioBridge | None = None

    async def async_start(self) -> BillingServer:
        rater = Rater()
        with self.sessions() as db:
            rater.load(db)
        clock = SystemClock()
        tracker = CallTracker(self.sessions, clock, rater)
        evapi = self.kamailio.settings.evapi
        self.bridge = KamailioBridge(
            KamailioBridgeSettings(evapi.host, evapi.port,
                                   authorise_timeout=AUTHORISE_TIMEOUT_S),
            clock=clock, on_status=self.statuses.append)
        self.service = CallService(tracker, [self.bridge], publish=self._publish)
        bridge, service = self.bridge, self.service
        bridge.on_reconnected = lambda live, lost_at: service.bridge_reconnected(
            bridge, live, lost_at)
        await self.service.async_start()
        assert self.bridge.connected
        return self

    async def async_stop(self) -> None:
        if self.service is not None:
            await self.service.async_stop()

    def _publish(self, change: Change) -> None:
        self.published.append(Published(change, time.time()))
        for listener in self.listeners:
            listener(change)

    # looking ---------------------------------------------------------------------------
    def calls(self) -> list[Call]:
        return all_calls(self.sessions)

    def call(self, pbx_call_id: str) -> Call:
        return one_call(self.sessions, pbx_call_id)

    def call_states(self, pbx_call_id: str) -> list[str]:
        """The states the desk was told about for this call, in order, repeats folded."""
        states: list[str] = []
        for item in self.published:
            change = item.change
            if isinstance(change, CallUpdated) and change.call.pbx_call_id == pbx_call_id \
                    and (not states or states[-1] != change.call.state.value):
                states.append(change.call.state.value)
        return states


def all_calls(sessions: sessionmaker[Session]) -> list[Call]:
    with sessions() as db:
        return list(db.scalars(select(Call).order_by(Call.id)))


def one_call(sessions: sessionmaker[Session], pbx_call_id: str) -> Call:
    with sessions() as db:
        return db.scalars(select(Call).where(Call.pbx_call_id == pbx_call_id)).one()


def balance(sessions: sessionmaker[Session], account_id: int) -> Decimal:
    with sessions() as db:
        return db.scalars(select(Account.balance).where(Account.id == account_id)).one()


def topups(sessions: sessionmaker[Session], account_id: int) -> Decimal:
    """What was put into the account (every credit that is not a call's charge)."""
    with sessions() as db:
        amounts = db.scalars(select(AccountEntry.amount)
                             .where(AccountEntry.account_id == account_id,
                                    AccountEntry.call_id.is_(None)))
        return sum(amounts, Decimal(0))


def open_session_total(sessions: sessionmaker[Session], cabin_id: int,
                       currency: str) -> tuple[Money, list[Call]]:
    """The cabin's open session: what Pay would take, and its calls."""
    with sessions() as db:
        cabin_session = db.scalars(select(CabinSession).where(
            CabinSession.cabin_id == cabin_id, CabinSession.closed_at.is_(None))).one()
        calls = list(db.scalars(select(Call).where(Call.session_id == cabin_session.id)))
        return session_due(db, cabin_session), calls


def check_ledger(sessions: sessionmaker[Session], callshop_id: int) -> None:
    with sessions() as db:
        errors = check_all(load_view(db, callshop_id))
    assert errors == [], errors


async def eventually(check: Callable[[], Any], timeout: float = 5.0,
                     what: str = "condition") -> Any:
    """Poll `check` (every 10 ms) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


def utc_seconds(moment: datetime) -> float:
    return moment.timestamp()


# --- the billing half as a process (killed and restarted by the tests) -------------

@dataclass
class BillingProcess:
    """`tests/pbx/billing_process.py` on a database URL and Kamailio's evapi socket:
    started under timeout(1) in its own session, killed with SIGKILL by the tests."""

    database_url: str
    kamailio: Kamailio
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    lifetime_s: int = 60

    def start(self, timeout: float = 10.0) -> BillingProcess:
        evapi = self.kamailio.settings.evapi
        command = ["timeout", "--kill-after=2", str(self.lifetime_s), sys.executable,
                   str(ROOT / "tests" / "pbx" / "billing_process.py"),
                   "--db", self.database_url, "--evapi", f"{evapi.host}:{evapi.port}",
                   "--authorise-timeout", str(AUTHORISE_TIMEOUT_S)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.PIPE, stderr=log,
                                            start_new_session=True, cwd=ROOT)
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        # The process prints "ready" once its bridge is connected and reconciled.
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            if line.strip() == b"ready":
                return self
        self.kill()
        raise RuntimeError(f"billing process not ready:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, the whole group: no cleanup, no goodbye to Kamailio."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"
