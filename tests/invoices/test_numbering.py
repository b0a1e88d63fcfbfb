"""Invoice numbers: formatted as the settings say, and unique and gap-free per shop
even when several cash desks pay at the same moment, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cashdesk.clock import FakeClock
from cashdesk.invoices import allocate_invoice_number, format_invoice_number, issue_invoice
from cashdesk.invoices.errors import NoInvoiceSettings
from cashdesk.ledger.payments import pay_cabin
from cashdesk.money import Money
from cashdesk.store.database import session_factory
from cashdesk.store.models import Cabin, Invoice, InvoiceSettings, Shift, Transaction, User
from tests.invoices.factories import CallSpec, add_calls
from tests.invoices.pdftext import pdf_lines
from tests.ledger.factories import make_shop


def test_number_formats():
    assert format_invoice_number(42, prefix="INV-", with_year=True, padding=6,
                                 year=2026) == "INV-2026-000042"
    assert format_invoice_number(42, prefix="F", with_year=False, padding=4,
                                 year=2026) == "F0042"
    assert format_invoice_number(1234567, prefix="", with_year=False, padding=3,
                                 year=2026) == "1234567"


def test_numbers_follow_each_other_and_a_rollback_gives_one_back(session: Session,
                                                                 clock: FakeClock):
    shop = make_shop(session, clock)
    settings = session.get_one(InvoiceSettings, shop.callshop.id)
    settings.number_prefix, settings.number_padding = "F/", 4
    session.commit()

    first = allocate_invoice_number(session, shop.callshop.id, clock)
    session.commit()
    rolled_back = allocate_invoice_number(session, shop.callshop.id, clock)
    session.rollback()  # the payment failed: its number is not spent
    second = allocate_invoice_number(session, shop.callshop.id, clock)
    session.commit()
    assert (first.sequence, rolled_back.sequence, second.sequence) == (1, 2, 2)
    assert (first.text, second.text) == ("F/2026-0001", "F/2026-0002")


def test_the_year_is_the_shops_local_year(session: Session):
    clock = FakeClock(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    shop = make_shop(session, clock)
    shop.callshop.timezone = "Asia/Karachi"  # already 2027 there
    session.flush()
    assert allocate_invoice_number(session, shop.callshop.id, clock).text == "INV-2027-000001"


def test_a_shop_without_settings(session: Session, clock: FakeClock):
    with pytest.raises(NoInvoiceSettings):
        allocate_invoice_number(session, 999_999, clock)


def test_concurrent_allocations_are_unique_and_gap_free(any_engine: Engine,
                                                        clock: FakeClock):
    """Eight desks, each taking numbers in its own transaction while holding it a little
    (as rendering a PDF does); every third transaction rolls back, like a failed payment.
    The committed numbers must be exactly 1..n, and the counter n + 1."""
    factory = session_factory(any_engine)
    with factory() as session:
        shop_id = make_shop(session, clock).callshop.id
        other_id = make_shop(session, clock).callshop.id  # a second shop, its own sequence
        session.commit()
    desks, rounds = 8, 6
    barrier = threading.Barrier(desks)
    committed: list[tuple[int, int]] = []
    lock = threading.Lock()

    def desk(number: int) -> None:
        barrier.wait()
        for attempt in range(rounds):
            shop = other_id if (number + attempt) % 4 == 0 else shop_id
            with factory() as session:
                taken = allocate_invoice_number(session, shop, clock)
                session.add(Invoice(callshop_id=shop, sequence=taken.sequence,
                                    number=taken.text, created_at=clock.now()))
                session.flush()
                time.sleep(0.002)
                if (number * rounds + attempt) % 3 == 2:
                    session.rollback()
                    continue
                session.commit()
            with lock:
                committed.append((shop, taken.sequence))

    with ThreadPoolExecutor(desks) as pool:
        for future in [pool.submit(desk, n) for n in range(desks)]:
            future.result()

    with factory() as session:
        for shop in (shop_id, other_id):
            mine = sorted(seq for owner, seq in committed if owner == shop)
            stored = list(session.scalars(select(Invoice.sequence)
                                          .where(Invoice.callshop_id == shop)
                                          .order_by(Invoice.sequence)))
            assert stored == mine == list(range(1, len(mine) + 1))
            assert session.get_one(InvoiceSettings, shop).next_number == len(mine) + 1
    assert len(committed) == desks * rounds - desks * rounds // 3


def test_cashiers_paying_at_the_same_moment_get_consecutive_invoices(any_engine: Engine,
                                                                     clock: FakeClock):
    """Six cabins paid at once from six desks, each payment and its invoice in one
    transaction (the ledger's `pay_cabin`, then `issue_invoice`), as the pay endpoint
    does."""
    desks = 6
    factory = session_factory(any_engine)
    with factory() as session:
        shop = make_shop(session, clock, cabins=desks)
        for cabin in shop.cabins:
            add_calls(session, clock, cabin, [CallSpec("0033612345678", "France", "0.10", 90)])
        session.commit()
    barrier = threading.Barrier(desks)

    def desk(index: int) -> tuple[int, str, int]:
        with factory() as session:
            barrier.wait()
            cabin = session.get_one(Cabin, shop.cabins[index].id)
            payment = pay_cabin(session, clock, cabin=cabin,
                                operator=session.get_one(User, shop.operator.id),
                                shift=session.get_one(Shift, shop.shift.id),
                                received=Money.of("1", "EUR"),
                                idempotency_key=uuid.uuid4().hex)
            invoice = issue_invoice(session, clock, payment.transaction)
            session.commit()
            return invoice.sequence, invoice.number, payment.transaction.id

    with ThreadPoolExecutor(desks) as pool:
        results = list(pool.map(desk, range(desks)))

    assert sorted(seq for seq, _, _ in results) == list(range(1, desks + 1))
    assert sorted(number for _, number, _ in results) == \
        [f"INV-2026-{n:06d}" for n in range(1, desks + 1)]
    with factory() as session:
        for sequence, number, transaction_id in results:
            transaction = session.get_one(Transaction, transaction_id)
            invoice = session.get_one(Invoice, transaction.invoice_id)
            assert (invoice.sequence, invoice.number) == (sequence, number)
            assert number in pdf_lines(invoice.pdf or b"")
        assert session.get_one(InvoiceSettings, shop.callshop.id).next_number == desks + 1
