"""Every failure the API answers, as one JSON shape: `{"error": {"code", "message"}}`.

Handlers raise `ApiError`s; `error_middleware` turns them (and aiohttp's own HTTP
errors, and anything unexpected) into that shape, so a client never has to parse HTML
or guess what went wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError

log = logging.getLogger("cashdesk.server")


class ApiError(Exception):
    """A refusal with an HTTP status, a stable machine code and a sentence for a person."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


class Invalid(ApiError):
    status = 400
    code = "validation_error"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"

    def __init__(self, message: str) -> None:
        # RFC 6750: tell the client which scheme to use.
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="cashdesk"'})


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class Unprocessable(ApiError):
    """Well-formed, but the domain cannot take it (cash short of what is due, a rate
    deck with bad lines). Context for a program (amounts, the bad lines) goes beside
    `error` in the body: `{"error": {...}, "amount_due": "6.80", ...}`."""

    status = 422
    code = "unprocessable"

    def __init__(self, message: str, *, code: str | None = None, **context: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.context = context

    def body(self) -> dict[str, Any]:
        return {**super().body(), **self.context}


class TooManyAttempts(ApiError):
    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


# aiohttp's own refusals (no such route, wrong method, body too large), in our words.
_HTTP_MESSAGES = {
    404: ("not_found", "there is no such endpoint"),
    405: ("method_not_allowed", "this endpoint does not accept {method}"),
    413: ("payload_too_large", "the request body is too large"),
}


def error_response(error: ApiError) -> web.Response:
    return web.json_response(error.body(), status=error.status, headers=error.headers)


@web.middleware
async def error_middleware(request: web.Request,
                           handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                           ) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and the like are not errors
        code, message = _HTTP_MESSAGES.get(exc.status, ("http_error", exc.reason))
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        body = {"error": {"code": code, "message": message.format(method=request.method)}}
        return web.json_response(body, status=exc.status, headers=headers)
    except IntegrityError:
        # Every known conflict is checked first with a clear message; this is the
        # backstop for a race between two writers.
        log.warning("integrity error on %s %s", request.method, request.path, exc_info=True)
        return error_response(Conflict("the change conflicts with data saved meanwhile; "
                                       "reload and try again"))
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        body = {"error": {"code": "internal_error",
                          "message": "the server failed to answer; the details are in its log"}}
        return web.json_response(body, status=500)
