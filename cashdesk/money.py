"""Money: an exact amount in one currency.

Amounts are `Decimal` in code and integers of 1/10000 of the currency unit
(`SUB_UNITS`) in the database and on the wire, so no float ever touches money.
Rounding to the currency's minor unit (cents, fils, yen…) happens in exactly one
place, `Money.rounded()`, which billing calls once at the end of a price.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache, lru_cache

from babel import Locale
from babel.numbers import NumberPattern, format_currency, get_currency_precision, parse_decimal

#: Stored sub-units per currency unit: 4 decimals covers per-minute rates like 0.0125.
SUB_UNITS = 10_000
_SUB_UNIT = Decimal(1) / SUB_UNITS
_ZERO = Decimal(0)


class MoneyError(ValueError):
    """An amount that cannot be represented exactly, or currencies that do not mix."""


class CurrencyMismatch(MoneyError):
    pass


@cache
def minor_unit(currency: str) -> Decimal:
    """The smallest coin of `currency` (0.01 EUR, 1 JPY, 0.001 KWD), from CLDR via Babel."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


@cache
def minor_unit_sub_units(currency: str) -> int:
    """How many stored sub-units make the currency's minor unit (100 for EUR, 10000 for JPY)."""
    return int(minor_unit(currency) * SUB_UNITS)


def _check_currency(code: str) -> str:
    if not (isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper()):
        raise MoneyError(f"not an ISO 4217 currency code: {code!r}")
    return code


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Parse an amount from text or an integer without ever going through float."""
    if isinstance(value, float):  # callers are typed, but a float must still be refused
        raise MoneyError("money is never a float; pass a Decimal, int or str")
    if isinstance(value, Decimal):
        result = value
    else:
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise MoneyError(f"not an amount: {value!r}") from None
    if not result.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}")
    return result


def to_sub_units(amount: Decimal) -> int:
    """Exact integer sub-units for `amount`; refuses anything finer than 1/10000."""
    scaled = amount * SUB_UNITS
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} has more than 4 decimal places")
    return int(scaled)


def from_sub_units(units: int) -> Decimal:
    return (Decimal(units) / SUB_UNITS).quantize(_SUB_UNIT)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount and its currency. Arithmetic refuses to mix currencies."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        _check_currency(self.currency)
        amount = to_decimal(self.amount)
        to_sub_units(amount)  # reject sub-sub-unit precision early
        object.__setattr__(self, "amount", amount.quantize(_SUB_UNIT))

    # construction -----------------------------------------------------------
    @classmethod
    def of(cls, value: Decimal | int | str, currency: str) -> Money:
        return cls(to_decimal(value), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(_ZERO, currency)

    @classmethod
    def from_sub_units(cls, units: int, currency: str) -> Money:
        return cls(from_sub_units(units), currency)

    @classmethod
    def parse(cls, text: str, currency: str, locale: str = "en") -> Money:
        """Parse what a person typed, with the locale's decimal separator ("12,50" in fr)."""
        try:
            value = parse_decimal(text.strip(), locale=locale, strict=True)
        except Exception as exc:  # babel raises NumberFormatError (a ValueError) and others
            raise MoneyError(f"not an amount: {text!r}") from exc
        return cls(value, currency)

    # conversion -------------------------------------------------------------
    @property
    def sub_units(self) -> int:
        return to_sub_units(self.amount)

    def rounded(self) -> Money:
        """Round half-up to the currency's minor unit. The only rounding in billing."""
        return Money(self.amount.quantize(minor_unit(self.currency), ROUND_HALF_UP), self.currency)

    def format(self, locale: str = "en") -> str:
        """Locale-aware display: `12,50 €` in fr, `€12.50` in en, `‏12.50 €` in ar.

        An amount finer than the currency's minor unit (a per-minute rate such as
        0.1234) keeps all its digits, laid out the locale's own way (`0,1234 €` in fr):
        only the fraction digits of the locale's currency pattern are widened."""
        precision = get_currency_precision(self.currency)
        digits = max(precision, _significant_places(self.amount))
        if digits == precision:
            return format_currency(self.amount, self.currency, locale=locale)
        return _currency_pattern(locale, digits).apply(
            self.amount, _locale(locale), currency=self.currency, currency_digits=False)

    # arithmetic -------------------------------------------------------------
    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if isinstance(factor, (float, Money)) or isinstance(factor, bool):
            raise TypeError("Money can only be multiplied by an int or Decimal")
        return Money((self.amount * factor).quantize(_SUB_UNIT, ROUND_HALF_UP), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def __bool__(self) -> bool:
        return bool(self.amount)

    def is_negative(self) -> bool:
        return self.amount < 0

    def __str__(self) -> str:
        return f"{self.amount.normalize():f} {self.currency}"

    def to_json(self) -> str:
        """Wire form: a decimal string (never a JSON number, which clients read as float)."""
        return f"{self.amount:f}"


@lru_cache(maxsize=64)
def _locale(code: str) -> Locale:
    return Locale.parse(code)


@lru_cache(maxsize=256)
def _currency_pattern(locale: str, digits: int) -> NumberPattern:
    """The locale's standard currency pattern (symbol before or after, spacing, bidi
    marks, grouping) with exactly `digits` fraction digits."""
    pattern = copy.copy(_locale(locale).currency_formats["standard"])
    pattern.frac_prec = (digits, digits)
    return pattern


def _significant_places(amount: Decimal) -> int:
    exponent = amount.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def money_sum(amounts: list[Money] | tuple[Money, ...], currency: str) -> Money:
    """Sum that is well defined for an empty list (zero in `currency`)."""
    total = Money.zero(currency)
    for amount in amounts:
        total = total + amount
    return total
