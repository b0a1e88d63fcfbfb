"""Issuing an invoice for a payment: number, settings snapshot, PDF, one row.

`issue_invoice` runs inside the payment's database transaction, right after
`cashdesk.ledger.payments.pay_cabin` and before the commit, so the payment, its
invoice and the number counter commit or roll back together. It renders the PDF
(reportlab, CPU-bound, some tens of milliseconds) and holds the shop's numbering lock
until the commit: the aiohttp server must call it from its database writer thread or
an executor (`loop.run_in_executor`), never on the event loop.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy.orm import Session

from cashdesk.clock import Clock
from cashdesk.invoices.numbering import allocate_invoice_number
from cashdesk.invoices.pdf import render_invoice_pdf
from cashdesk.invoices.records import invoice_data_for
from cashdesk.invoices.snapshot import SettingsSnapshot
from cashdesk.store.models import Callshop, Invoice, InvoiceSettings, Transaction

TRAINING_PREFIX = "TRAINING-"


def issue_invoice(session: Session, clock: Clock, transaction: Transaction) -> Invoice:
    """The invoice of `transaction`, issued now if it has none yet (else the same one).

    Takes the shop's next number (`allocate_invoice_number`), snapshots the invoice
    settings as JSON, renders and stores the PDF, and links the transaction to it;
    flushed, not committed. Everything happens in a savepoint: if anything fails
    (`TotalMismatch`, a rendering error), the number is given back even when the
    caller goes on to commit the payment without an invoice.

    A training payment gets a PDF marked as practice, numbered `TRAINING-<transaction
    id>` with the negative transaction id as its sequence: it never consumes a real,
    gap-free number.
    """
    if transaction.invoice_id is not None:
        return session.get_one(Invoice, transaction.invoice_id)
    shop = session.get_one(Callshop, transaction.callshop_id)
    now = clock.now()
    # Built before the number is taken: a refusal (TotalMismatch) then costs no number.
    data = invoice_data_for(session, transaction, number="", issued_at=now)
    with session.begin_nested():
        if transaction.training:
            sequence, number = -transaction.id, f"{TRAINING_PREFIX}{transaction.id}"
        else:
            allocated = allocate_invoice_number(session, shop.id, clock)
            sequence, number = allocated.sequence, allocated.text
        settings = session.get_one(InvoiceSettings, shop.id)
        pdf = render_invoice_pdf(dataclasses.replace(data, number=number))
        invoice = Invoice(callshop_id=shop.id, sequence=sequence, number=number, pdf=pdf,
                          settings_snapshot=SettingsSnapshot.of(settings, shop).to_json(),
                          created_at=now)
        session.add(invoice)
        session.flush()
        transaction.invoice_id = invoice.id
        session.flush()
    return invoice
