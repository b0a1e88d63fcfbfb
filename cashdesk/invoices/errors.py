"""Why an invoice could not be made."""

from __future__ import annotations


class InvoiceError(Exception):
    """An invoice cannot be built or issued; the message says why, for a person."""


class NoInvoiceSettings(InvoiceError):
    """The shop has no invoice settings row (every shop gets one when it is created)."""


class TotalMismatch(InvoiceError):
    """The invoice's total differs from the cash the payment took as due.

    Happens when a shop's prices exclude VAT but the payment charged the bare call
    prices: the invoice would ask for more than the customer paid.
    """
