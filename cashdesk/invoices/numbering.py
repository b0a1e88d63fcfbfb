"""Invoice numbers: unique and gap-free per callshop, even when desks pay at once.

Many tax authorities require invoice numbers without gaps, so the counter lives in
the shop's `invoice_settings.next_number` and is taken *in the payment's own database
transaction*: if the payment rolls back, so does the number, and nothing else can
have taken it in between.

Taking it: `SELECT … FOR UPDATE` on the settings row, then `UPDATE … SET next_number =
n + 1 WHERE next_number = n`.

- PostgreSQL (READ COMMITTED): the row lock makes a second desk wait until the first
  commits or rolls back, and then read the number the first one left.
- SQLite: `FOR UPDATE` is not SQL there, but the engine opens every transaction with
  `BEGIN IMMEDIATE` (`cashdesk.store.database`), which takes the database's write lock
  before anything is read: the second desk waits for the first to finish.
- The `WHERE next_number = n` is the belt to those braces: a connection opened
  without either lock loses with `NumberingConflict` instead of issuing a duplicate,
  and the `(callshop_id, sequence)` unique index catches anything else.

The lock is held until the payment commits, so payments with an invoice in one shop
are serialised (a few tens of milliseconds each, the PDF included); other shops and
payments without an invoice do not wait.

The sequence does not restart each year: with `number_with_year` the year of issue
(in the shop's time zone) is only printed, `INV-2026-000042`.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cashdesk.clock import Clock
from cashdesk.invoices.errors import InvoiceError, NoInvoiceSettings
from cashdesk.invoices.number_format import format_invoice_number
from cashdesk.store.models import Callshop, InvoiceSettings


class NumberingConflict(InvoiceError):
    """Someone else took the number between our read and our write (no lock held)."""


@dataclass(frozen=True, slots=True)
class InvoiceNumber:
    sequence: int   # the gap-free counter
    text: str       # as printed


def allocate_invoice_number(session: Session, callshop_id: int, clock: Clock) -> InvoiceNumber:
    """Take the shop's next invoice number inside the caller's open transaction.

    The number is final only when the caller commits; rolling back gives it back.
    Call it as late as possible in the payment, just before the invoice row is
    written, as the shop's numbering stays locked until the commit.
    """
    settings = session.scalar(select(InvoiceSettings)
                              .where(InvoiceSettings.callshop_id == callshop_id)
                              .with_for_update()
                              .execution_options(populate_existing=True))
    if settings is None:
        raise NoInvoiceSettings(f"callshop {callshop_id} has no invoice settings")
    sequence = settings.next_number
    if sequence < 1:
        raise InvoiceError(f"the next invoice number must be 1 or more, not {sequence}")
    taken = session.execute(update(InvoiceSettings)
                            .where(InvoiceSettings.callshop_id == callshop_id,
                                   InvoiceSettings.next_number == sequence)
                            .values(next_number=sequence + 1)
                            .execution_options(synchronize_session=False))
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise NumberingConflict(f"invoice number {sequence} of callshop {callshop_id} was "
                                f"taken by another payment; retry the payment")
    # The loaded object reads the counter again when next asked: after our UPDATE, or
    # after a rollback that undid it.
    session.expire(settings, ["next_number"])
    timezone = session.scalar(select(Callshop.timezone).where(Callshop.id == callshop_id))
    year = clock.now().astimezone(ZoneInfo(timezone or "UTC")).year
    return InvoiceNumber(sequence, format_invoice_number(
        sequence, prefix=settings.number_prefix, with_year=settings.number_with_year,
        padding=settings.number_padding, year=year))
