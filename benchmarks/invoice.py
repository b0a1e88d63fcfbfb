"""Invoice benchmark: the PDF of a 50-call cabin session, as Pay with an invoice makes it.

    python benchmarks/invoice.py [--calls N] [--runs N]

1. `render_invoice_pdf` alone on a 50-call session in English (two A4 pages, fonts
   embedded), then the same session in Arabic (shaping, bidi, font runs).
2. `issue_invoice` end to end on a SQLite file: read the paid session, take the
   number, render, store the PDF, commit: how long a payment holds the shop's
   numbering lock.

Each figure is the median of `--runs` runs after one warm-up (the warm-up loads the
fonts, once per process). Every run is printed.

Figures (DESIGN.md format), after the human-readable output:
    METRIC invoice_pdf_ms <ms> ms        50 calls, English (goal: 100 ms or less)
    METRIC invoice_pdf_ar_ms <ms> ms     50 calls, Arabic
    METRIC invoice_issue_ms <ms> ms      data + number + PDF + row + commit, SQLite
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cashdesk.auth.roles import Role
from cashdesk.call_state import CallState
from cashdesk.clock import FakeClock
from cashdesk.invoices import (
    CallLine,
    InvoiceData,
    ShopDetails,
    issue_invoice,
    render_invoice_pdf,
    vat_breakdown,
)
from cashdesk.invoices.vat import round_once
from cashdesk.ledger.payments import pay_cabin
from cashdesk.ledger.sessions import attach_call
from cashdesk.money import Money, money_sum
from cashdesk.shops import create_callshop, create_reseller
from cashdesk.store.database import open_engine, session_factory, upgrade
from cashdesk.store.models import Cabin, Call, InvoiceSettings, Shift, Transaction
from cashdesk.users import create_user

DESTINATIONS = ("France - Mobile", "Maroc - Orange", "Sénégal - Fixe", "Pakistan Mobile",
                "Algérie - Djezzy", "Côte d'Ivoire - MTN")
AR_DESTINATIONS = ("فرنسا - جوال", "المغرب - اتصالات", "السنغال", "باكستان - جوال",
                   "الجزائر - جيزي", "ساحل العاج")
RATES = ("0.1500", "0.0900", "0.2500", "0.0750", "0.1200", "0.1900")


def session_data(calls: int, *, arabic: bool) -> InvoiceData:
    clock = FakeClock()
    start = clock.now()
    lines = []
    for i in range(calls):
        rate = Decimal(RATES[i % len(RATES)])
        seconds = 7 + (i * 97) % 1900
        lines.append(CallLine(
            started_at=start + timedelta(minutes=9 * i), number=f"00{212 + i % 7}6{i:08d}",
            destination=(AR_DESTINATIONS if arabic else DESTINATIONS)[i % 6],
            duration_seconds=seconds, rate_per_minute=Money(rate, "EUR"),
            price=round_once(rate * seconds / 60, "EUR")))
    total = money_sum([line.price for line in lines], "EUR")
    received = Money.of(int(total.amount) + 20, "EUR")
    return InvoiceData(
        shop=ShopDetails("Taxiphone de la Gare" if not arabic else "مخدع الهاتف النور",
                         "12 rue de la Paix\n75002 Paris", "FR40123456824"),
        number="INV-2026-000042", issued_at=start + timedelta(hours=9), operator="Samira",
        cabin="Cabin 3", calls=tuple(lines),
        totals=vat_breakdown(total, Decimal(20), prices_include_vat=True),
        received=received, change=received - total, footer="Thank you for your visit",
        language="ar" if arabic else "en", locale="ar_MA" if arabic else "en")


def timed(action, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    action()  # warm-up: fonts, Babel's locale data
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return times


def issue_times(calls: int, runs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as directory:
        engine = open_engine(f"sqlite:///{Path(directory) / 'bench.sqlite3'}")
        upgrade(engine)
        factory = session_factory(engine)
        clock = FakeClock()
        with factory() as session:
            reseller = create_reseller(session, clock, name="Reseller", currency="EUR")
            shop = create_callshop(session, clock, reseller, name="Shop", currency="EUR",
                                   admin_username="admin", admin_password="bench password",
                                   timezone="Europe/Paris").callshop
            operator = create_user(session, clock, username="op", password="bench password",
                                   role=Role.OPERATOR, reseller_id=reseller.id, callshop=shop)
            shift = Shift(callshop_id=shop.id, operator_id=operator.id, opened_at=clock.now())
            cabin = Cabin(callshop_id=shop.id, name="Cabin 1", sip_username="bench-1")
            session.add_all([shift, cabin])
            session.get_one(InvoiceSettings, shop.id).vat_rate = Decimal(20)
            session.flush()
            transactions = []
            for _ in range(runs + 1):
                for i in range(calls):
                    rate, seconds = Decimal(RATES[i % 6]), 7 + (i * 97) % 1900
                    call = Call(callshop_id=shop.id, cabin_id=cabin.id,
                                pbx_call_id=uuid.uuid4().hex, dialed_number=f"0021261{i:07d}",
                                number=f"21261{i:07d}", destination=DESTINATIONS[i % 6],
                                state=CallState.ENDED, price_per_minute=rate,
                                started_at=clock.now(), answered_at=clock.now(),
                                ended_at=clock.now() + timedelta(seconds=seconds),
                                billed_seconds=seconds,
                                price=round_once(rate * seconds / 60, "EUR").amount)
                    session.add(call)
                    session.flush()
                    attach_call(session, clock, call)
                    clock.advance(seconds + 30)
                payment = pay_cabin(session, clock, cabin=cabin, operator=operator, shift=shift,
                                    received=Money.of("1000", "EUR"),
                                    idempotency_key=uuid.uuid4().hex)
                transactions.append(payment.transaction.id)
            session.commit()

        def issue(transaction_id: int) -> float:
            start = time.perf_counter()
            with factory() as session:
                issue_invoice(session, clock, session.get_one(Transaction, transaction_id))
                session.commit()
            return (time.perf_counter() - start) * 1000

        issue(transactions[0])  # warm-up
        times = [issue(transaction_id) for transaction_id in transactions[1:]]
        engine.dispose()
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    english = session_data(args.calls, arabic=False)
    arabic = session_data(args.calls, arabic=True)
    pdf = render_invoice_pdf(english)
    print(f"{args.calls} calls, {len(pdf) / 1024:.0f} KiB English PDF, "
          f"{len(render_invoice_pdf(arabic)) / 1024:.0f} KiB Arabic PDF")
    results = {}
    for name, data in (("invoice_pdf_ms", english), ("invoice_pdf_ar_ms", arabic)):
        times = timed(lambda d=data: render_invoice_pdf(replace(d)), args.runs)
        results[name] = statistics.median(times)
        print(f"{name}: runs " + " ".join(f"{t:.1f}" for t in times))
    times = issue_times(args.calls, min(args.runs, 7))
    results["invoice_issue_ms"] = statistics.median(times)
    print("invoice_issue_ms: runs " + " ".join(f"{t:.1f}" for t in times))
    for name, value in results.items():
        print(f"METRIC {name} {value:.1f} ms")


if __name__ == "__main__":
    main()
