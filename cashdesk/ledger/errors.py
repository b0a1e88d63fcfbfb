"""What the ledger refuses, one class per reason, so callers (the HTTP API, the pay
dialog) can answer each one precisely instead of parsing messages.

Every ledger operation only flushes; the caller owns the database transaction. After
any `LedgerError` the caller rolls back: nothing the failed operation did is kept.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of everything the ledger refuses. The message is fit to show a person."""


class InvalidAmount(LedgerError, ValueError):
    """An amount the operation cannot take: zero, negative, or in the wrong currency."""


class WrongCurrency(InvalidAmount):
    """Money in a currency other than the account's or the shop's."""


class InsufficientCredit(LedgerError):
    """A prepaid account cannot pay: the movement would take its balance below zero."""

    def __init__(self, message: str, *, account_id: int) -> None:
        super().__init__(message)
        self.account_id = account_id


class TopupConflict(LedgerError):
    """An idempotency key already names a different top-up."""


class CallNotFinished(LedgerError):
    """A call that is still live cannot be charged."""


class TrainingMismatch(LedgerError):
    """A training call cannot join a real customer's session, nor the other way round."""


class PaymentError(LedgerError):
    """Base of the reasons a cabin cannot be paid."""


class NothingToPay(PaymentError):
    """The cabin has no open session, or the session has no calls."""


class CallStillLive(PaymentError):
    """A call of the session is still dialing, ringing or connected."""


class InsufficientCash(PaymentError):
    """The cash received is less than the amount due."""


class PaymentConflict(PaymentError):
    """Another payment closed that session first, or the idempotency key was already
    used for a different cabin or amount."""


class InvalidPayment(PaymentError):
    """The payment is wired wrongly: an operator of another shop, a closed shift, a
    session of another cabin."""
