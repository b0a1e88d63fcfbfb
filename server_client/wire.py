"""The wire formats of the sync server, read and written on the client's side.

Money is a decimal *string* both ways (`"12.5000"`), never a JSON number; times are
ISO 8601 with their offset. An answer that does not fit what this client understands
is a `ProtocolError` (a client and server of different versions), never a silent
default.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from cashdesk.money import Money, MoneyError
from server_client.errors import ApiError


class ProtocolError(ApiError):
    """The server answered something this client cannot read (versions differ)."""


def parse_time(value: Any) -> datetime:
    """An aware datetime from the server's ISO 8601 text."""
    if not isinstance(value, str):
        raise ProtocolError(f"expected a time, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ProtocolError(f"not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise ProtocolError(f"a time without its offset: {value!r}")
    return moment


def parse_optional_time(value: Any) -> datetime | None:
    return None if value is None else parse_time(value)


def parse_money(value: Any, currency: str) -> Money:
    """An amount from its decimal string. A JSON number is refused: it went through a
    float somewhere and may have lost a cent."""
    if not isinstance(value, str):
        raise ProtocolError(f"an amount must be a decimal string, got {value!r}")
    try:
        return Money(Decimal(value), currency)
    except (MoneyError, ArithmeticError, ValueError):
        raise ProtocolError(f"not an amount: {value!r}") from None


def parse_optional_money(value: Any, currency: str) -> Money | None:
    return None if value is None else parse_money(value, currency)


def to_wire(value: Any) -> Any:
    """A Python value as the server wants it in a JSON body or a query string."""
    if isinstance(value, Money):
        return value.to_json()
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, float):
        raise TypeError("money and rates are never floats; pass a Decimal, Money or str")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {key: to_wire(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_wire(item) for item in value]
    return value
