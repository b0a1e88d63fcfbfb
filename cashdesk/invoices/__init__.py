"""Invoices: what a paid cabin session prints, as a numbered PDF.

- `InvoiceData` (`data.py`): plain values, no database; also what receipts print.
- `invoice_data_for(session, transaction)` (`records.py`): build it from the database.
- `vat_breakdown` (`vat.py`): net, VAT and gross, each amount rounded once.
- `render_invoice_pdf(data) -> bytes` (`pdf.py`): reportlab, Arabic and Urdu right to
  left with the bundled Noto fonts (`text.py`); labels per language (`labels.py`),
  money and dates by Babel (`formatting.py`).
- `allocate_invoice_number` (`numbering.py`): gap-free per shop, in the payment's
  own database transaction.
- `issue_invoice(session, clock, transaction)` (`issuing.py`): number, snapshot, PDF,
  row. Blocking: call it off the event loop.

The database-bound names are imported on first use, so code that only renders or
prints (`cashdesk.receipts`, the desktop) does not load SQLAlchemy models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cashdesk.invoices.data import CallLine, InvoiceData, ShopDetails, is_right_to_left
from cashdesk.invoices.errors import InvoiceError, NoInvoiceSettings, TotalMismatch
from cashdesk.invoices.vat import VatBreakdown, vat_breakdown

if TYPE_CHECKING:
    from cashdesk.invoices.issuing import issue_invoice
    from cashdesk.invoices.number_format import format_invoice_number
    from cashdesk.invoices.numbering import (
        InvoiceNumber,
        NumberingConflict,
        allocate_invoice_number,
    )
    from cashdesk.invoices.pdf import render_invoice_pdf
    from cashdesk.invoices.records import invoice_data_for

_LAZY = {
    "issue_invoice": "cashdesk.invoices.issuing",
    "InvoiceNumber": "cashdesk.invoices.numbering",
    "NumberingConflict": "cashdesk.invoices.numbering",
    "allocate_invoice_number": "cashdesk.invoices.numbering",
    "format_invoice_number": "cashdesk.invoices.number_format",
    "render_invoice_pdf": "cashdesk.invoices.pdf",
    "invoice_data_for": "cashdesk.invoices.records",
}

__all__ = ["CallLine", "InvoiceData", "InvoiceError", "InvoiceNumber", "NoInvoiceSettings",
           "NumberingConflict", "ShopDetails", "TotalMismatch", "VatBreakdown",
           "allocate_invoice_number", "format_invoice_number", "invoice_data_for",
           "is_right_to_left", "issue_invoice", "render_invoice_pdf", "vat_breakdown"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
