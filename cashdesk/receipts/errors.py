"""Why a receipt did not print. The payment is recorded either way."""

from __future__ import annotations


class ReceiptError(Exception):
    """A receipt could not be printed; the message is for the cashier."""


class PrinterUnavailable(ReceiptError):
    """The receipt printer is absent, switched off, unplugged or not allowed to us."""


class ReceiptNeedsImage(ReceiptError):
    """A right-to-left receipt was asked for as text; it must be printed as a picture."""
