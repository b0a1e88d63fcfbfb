"""Declared shapes of request and response bodies: one declaration both validates what
arrives and documents the endpoint in the OpenAPI description, so they cannot drift.

Money is always a decimal *string* on the wire ("12.50", "0.0125"): a JSON number is
a float to most clients, and floats never touch money here.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from cashdesk.money import MoneyError, to_decimal, to_sub_units
from cashdesk.server.errors import Invalid

_MISSING: Any = object()
_DECIMAL_TEXT = re.compile(r"^-?\d{1,15}(\.\d{1,4})?$")


def _where(path: str, message: str) -> Invalid:
    return Invalid(f"{path}: {message}" if path else message, field=path or None)


class Field:
    """One value of a body. Required unless `required=False`; `null` only if `nullable`."""

    type_name = "value"

    def __init__(self, description: str = "", *, required: bool = True, nullable: bool = False,
                 default: Any = _MISSING) -> None:
        self.description = description
        self.required = required and default is _MISSING
        self.nullable = nullable
        self.default = default

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING

    def optional(self) -> Field:
        """The same field, not required and without a default (for partial updates)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.required = False
        clone.default = _MISSING
        return clone

    def parse(self, value: Any, path: str = "") -> Any:
        if value is None:
            if self.nullable:
                return None
            raise _where(path, "cannot be null")
        return self._parse(value, path)

    def parse_text(self, text: str, path: str) -> Any:
        """A value from a query string, where everything arrives as text."""
        return self.parse(text, path)

    def _parse(self, value: Any, path: str) -> Any:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        schema = self._schema()
        if self.nullable:
            kind = schema.get("type")
            schema["type"] = [kind, "null"] if isinstance(kind, str) else schema["type"]
        if self.description:
            schema["description"] = self.description
        if self.has_default and not callable(self.default):
            default = self.default
            schema["default"] = f"{default:f}" if isinstance(default, Decimal) else default
        return schema

    def _schema(self) -> dict[str, Any]:
        raise NotImplementedError


class Str(Field):
    type_name = "text"

    def __init__(self, description: str = "", *, min_len: int = 0, max_len: int | None = None,
                 pattern: str | None = None, pattern_help: str = "",
                 choices: tuple[str, ...] | None = None, **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.min_len = min_len
        self.max_len = max_len
        self.pattern = re.compile(pattern) if pattern else None
        self.pattern_help = pattern_help
        self.choices = choices

    def _parse(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise _where(path, f"must be text, not {_json_kind(value)}")
        value = value.strip()
        if len(value) < self.min_len:
            raise _where(path, "cannot be empty" if self.min_len == 1
                         else f"needs at least {self.min_len} characters")
        if self.max_len is not None and len(value) > self.max_len:
            raise _where(path, f"is longer than {self.max_len} characters")
        if self.choices is not None and value not in self.choices:
            raise _where(path, f"must be one of {', '.join(self.choices)}")
        if self.pattern is not None and not self.pattern.fullmatch(value):
            raise _where(path, self.pattern_help or f"does not match {self.pattern.pattern}")
        return value

    def _schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.min_len:
            schema["minLength"] = self.min_len
        if self.max_len is not None:
            schema["maxLength"] = self.max_len
        if self.pattern is not None:
            schema["pattern"] = f"^{self.pattern.pattern}$"
        if self.choices is not None:
            schema["enum"] = list(self.choices)
        return schema


class Secret(Str):
    """Text never stripped (a password's spaces are the user's business)."""

    def _parse(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise _where(path, f"must be text, not {_json_kind(value)}")
        if self.max_len is not None and len(value) > self.max_len:
            raise _where(path, f"is longer than {self.max_len} characters")
        return value

    def _schema(self) -> dict[str, Any]:
        return {**super()._schema(), "format": "password"}


class Int(Field):
    type_name = "integer"

    def __init__(self, description: str = "", *, minimum: int | None = None,
                 maximum: int | None = None, **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def _parse(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _where(path, f"must be a whole number, not {_json_kind(value)}")
        if self.minimum is not None and value < self.minimum:
            raise _where(path, f"must be at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise _where(path, f"must be at most {self.maximum}")
        return value

    def parse_text(self, text: str, path: str) -> Any:
        if not re.fullmatch(r"-?\d{1,18}", text.strip()):
            raise _where(path, f"must be a whole number, not {text!r}")
        return self.parse(int(text), path)

    def _schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema


class Bool(Field):
    type_name = "boolean"

    def _parse(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise _where(path, f"must be true or false, not {_json_kind(value)}")
        return value

    def parse_text(self, text: str, path: str) -> Any:
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "1", "0"):
            raise _where(path, f"must be true or false, not {text!r}")
        return lowered in ("true", "1")

    def _schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class MoneyText(Field):
    """An exact amount as a decimal string, at most 4 decimals, parsed to `Decimal`."""

    type_name = "amount"

    def __init__(self, description: str = "", *, minimum: Decimal | None = Decimal(0),
                 maximum: Decimal | None = None, **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def _parse(self, value: Any, path: str) -> Decimal:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise _where(path, f'an amount is sent as a decimal string such as "{value}", '
                               "never as a JSON number (numbers lose cents in most clients)")
        if not isinstance(value, str) or not _DECIMAL_TEXT.match(value.strip()):
            raise _where(path, "must be a decimal string with a dot and at most 4 decimals, "
                               'such as "12.50" or "0.0125"')
        try:
            amount = to_decimal(value)
            to_sub_units(amount)
        except MoneyError as exc:
            raise _where(path, str(exc)) from None
        if self.minimum is not None and amount < self.minimum:
            raise _where(path, f"must be at least {self.minimum}")
        if self.maximum is not None and amount > self.maximum:
            raise _where(path, f"must be at most {self.maximum}")
        return amount

    def _schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "format": "decimal",
                                  "pattern": _DECIMAL_TEXT.pattern, "examples": ["12.50"]}
        if self.minimum is not None:
            schema["x-minimum"] = str(self.minimum)
        if self.maximum is not None:
            schema["x-maximum"] = str(self.maximum)
        return schema


class Timestamp(Field):
    """An ISO 8601 instant with its UTC offset (what the server sends)."""

    type_name = "timestamp"

    def _parse(self, value: Any, path: str) -> datetime:
        try:
            parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise _where(path, "must be an ISO 8601 time with its offset, "
                               "such as 2026-01-05T09:00:00+00:00")
        return parsed

    def _schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}


class Base64(Field):
    """Binary data (an image) as standard base64 text."""

    type_name = "base64"

    def __init__(self, description: str = "", *, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.max_bytes = max_bytes

    def _parse(self, value: Any, path: str) -> bytes:
        if not isinstance(value, str):
            raise _where(path, f"must be base64 text, not {_json_kind(value)}")
        if len(value) > (self.max_bytes + 2) // 3 * 4 + 4:
            raise _where(path, f"is larger than {self.max_bytes // 1024} KiB")
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _where(path, "is not valid base64") from None
        if len(data) > self.max_bytes:
            raise _where(path, f"is larger than {self.max_bytes // 1024} KiB")
        return data

    def _schema(self) -> dict[str, Any]:
        return {"type": "string", "contentEncoding": "base64",
                "x-max-bytes": self.max_bytes}


class ListOf(Field):
    type_name = "list"

    def __init__(self, item: Field, description: str = "", *, max_items: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.item = item
        self.max_items = max_items

    def _parse(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise _where(path, f"must be a list, not {_json_kind(value)}")
        if self.max_items is not None and len(value) > self.max_items:
            raise _where(path, f"has more than {self.max_items} items")
        return [self.item.parse(item, f"{path}[{index}]") for index, item in enumerate(value)]

    def _schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": self.item.schema()}
        if self.max_items is not None:
            schema["maxItems"] = self.max_items
        return schema


class Obj(Field):
    """A JSON object with known keys. Unknown keys are refused: a typo must not pass
    silently as 'nothing to change'."""

    type_name = "object"

    def __init__(self, fields: Mapping[str, Field], description: str = "",
                 **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.fields = dict(fields)

    def partial(self) -> Obj:
        """Every field optional, nothing defaulted: the body of a partial update."""
        return Obj({name: field.optional() for name, field in self.fields.items()},
                   self.description)

    def extend(self, fields: Mapping[str, Field]) -> Obj:
        return Obj({**self.fields, **fields}, self.description)

    def _parse(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _where(path, f"must be a JSON object, not {_json_kind(value)}")
        unknown = sorted(set(value) - set(self.fields))
        if unknown:
            name = f"{path}.{unknown[0]}" if path else unknown[0]
            raise Invalid(f"{name}: unknown field (known: {', '.join(self.fields)})",
                          field=name)
        result: dict[str, Any] = {}
        for name, field in self.fields.items():
            where = f"{path}.{name}" if path else name
            if name in value:
                result[name] = field.parse(value[name], where)
            elif field.has_default:
                result[name] = field.default() if callable(field.default) else field.default
            elif field.required:
                raise Invalid(f"{where}: is required", field=where)
        return result

    def _schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {name: field.schema() for name, field in self.fields.items()},
            "additionalProperties": False,
        }
        required = [name for name, field in self.fields.items() if field.required]
        if required:
            schema["required"] = required
        return schema


def page_of(item: Obj) -> Obj:
    """The envelope of a paged list."""
    return Obj({
        "items": ListOf(item),
        "total": Int("how many match the filters, over all pages", minimum=0),
        "offset": Int(minimum=0),
        "limit": Int(minimum=1),
    })


#: Query parameters every paged list accepts.
PAGING = {
    "offset": Int("how many matching rows to skip", minimum=0, default=0),
    "limit": Int("at most this many rows", minimum=1, maximum=1000, default=100),
}


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
