"""What can go wrong talking to the server, as exceptions a screen can show.

The server answers every refusal as `{"error": {"code", "message", "field"?}}`, with
context for a program beside `error` (the bad lines of a rate deck, the amount due
when cash is short). Each HTTP status becomes one class here, carrying the server's
own sentence (`message`), its stable `code` and that context, so a screen can show the
sentence and branch on the code. Nothing here is ever swallowed by the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cashdesk.money import Money


class ApiError(Exception):
    """A refusal or failure answered by (or on the way to) the server.

    `status` is the HTTP status (None when no answer came at all), `code` the server's
    machine code (`nothing_to_pay`, `validation_error`, …), `message` its sentence for a
    person, `field` the body field it is about, `context` everything else the server
    put beside the error.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str = "error",
                 field: str | None = None, context: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.field = field
        self.context = dict(context or {})

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
                f"message={self.message!r})")


class Unauthorized(ApiError):
    """401: no login, a wrong password, or a token that expired or was revoked. The desk
    must show its login screen."""


class Forbidden(ApiError):
    """403: the role may not do this, or the callshop is disabled."""


class NotFound(ApiError):
    """404: no such thing in this callshop (another shop's ids look the same)."""


class Conflict(ApiError):
    """409: the request clashes with the data as it is now: a name taken, nothing to
    pay, a call still live, another desk paid first (`code` says which)."""


@dataclass(frozen=True, slots=True)
class LineError:
    """One rejected line of a rate deck."""

    line: int
    reason: str


class ValidationError(ApiError):
    """400 or 422: the request is malformed (`field` names the culprit) or the domain
    cannot take it (`code` says why; a rejected rate deck lists every bad line)."""

    def __init__(self, message: str, *, lines: tuple[LineError, ...] = (),
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.lines = lines


class InsufficientCash(ValidationError):
    """422 `insufficient_cash`: the cash received is less than what is due."""

    def __init__(self, message: str, *, amount_due: Money | None, received: Money,
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.amount_due = amount_due
        self.received = received


class TooManyAttempts(ApiError):
    """429: too many failed logins; wait `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerUnavailable(ApiError):
    """No usable answer: the server cannot be reached, did not answer in time, or failed
    (5xx). A GET has already been retried once when this is raised; a payment must be
    retried by the caller with the same idempotency key."""
