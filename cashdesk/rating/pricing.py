"""What a call costs: billed seconds from its duration, then the price of those seconds.

`charge()` is the one function for both the running cost on a cabin tile and the
final bill, so the last figure the cashier saw is the figure the customer pays. The
duration it takes is the *answered* duration: a call that was never answered costs
nothing, and deciding that is the caller's job (the call tracker does not rate an
unanswered call at all).

Price = connection fee + billed seconds × rate per minute / 60, rounded half-up to the
currency's minor unit once, at the end (the semantics of `Money.rounded()`). The
definition in `Decimal` arithmetic is `reference_price()`; `price()` computes exactly
the same amount in integers of 1/10000 because it runs for every cabin on every tick.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from cashdesk.money import SUB_UNITS, Money, minor_unit, minor_unit_sub_units, to_sub_units

_MS = 1000
# Stored amounts are integers of 10^-4: Decimal(units).scaleb(-4) is their exact value.
_SUB_UNIT_EXPONENT = -Decimal(SUB_UNITS).adjusted()

# Charges repeat a lot (same rate, same increment), and building a Money validates its
# Decimal each time; a small per-currency cache of finished Money values keeps the
# running-cost path cheap. Money and Decimal are immutable, so sharing is safe. The
# caches are bounded so a long-running server cannot grow them forever.
_CACHE_LIMIT = 50_000
_money_cache: dict[str, dict[int, Money]] = {}


def _money(units: int, currency: str) -> Money:
    cache = _money_cache.get(currency)
    if cache is None:
        cache = _money_cache.setdefault(currency, {})
    amount = cache.get(units)
    if amount is None:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        amount = cache[units] = Money.from_sub_units(units, currency)
    return amount


# Decimals are immutable: a tariff's many equal amounts can share one object.
_decimals: dict[int, Decimal] = {}


def _decimal(units: int) -> Decimal:
    value = _decimals.get(units)
    if value is None:
        if len(_decimals) >= _CACHE_LIMIT:
            _decimals.clear()
        value = _decimals[units] = Decimal(units).scaleb(_SUB_UNIT_EXPONENT)
    return value


_minor_cache: dict[str, int] = {}


def _minor_sub_units(currency: str) -> int:
    minor = _minor_cache.get(currency)
    if minor is None:
        # No currency has more than 4 decimals in CLDR today; never divide by 0 anyway.
        minor = _minor_cache[currency] = max(1, minor_unit_sub_units(currency))
    return minor


def _whole(value: object, name: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be a whole number ≥ {minimum}, got {value!r}")
    return value


def _amount(value: object, name: str) -> Decimal:
    if not isinstance(value, Decimal):
        if isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)
        else:
            raise TypeError(f"{name} must be a Decimal, got {type(value).__name__}")
    if not value.is_finite() or value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class RateTerms:
    """One prefix's price and billing increments, as the rating engine uses them.

    `initial_increment` is the first block of seconds billed as soon as the call
    passes the grace period; each `subsequent_increment` after that is billed whole.
    Integer sub-units are precomputed so pricing needs no `Decimal` arithmetic.
    """

    prefix: str
    destination: str
    price_per_minute: Decimal
    connection_fee: Decimal
    initial_increment: int = 60
    subsequent_increment: int = 60
    grace_seconds: int = 0
    rate_sub_units: int = field(init=False, repr=False, compare=False)
    fee_sub_units: int = field(init=False, repr=False, compare=False)
    grace_ms: int = field(init=False, repr=False, compare=False)
    # connection fee × 60: price × 60 is then one integer sum, see price().
    _fee_x60: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        price_per_minute = _amount(self.price_per_minute, "rate per minute")
        connection_fee = _amount(self.connection_fee, "connection fee")
        _whole(self.initial_increment, "initial increment", 1)
        _whole(self.subsequent_increment, "subsequent increment", 1)
        _whole(self.grace_seconds, "grace seconds", 0)
        setter = object.__setattr__
        setter(self, "price_per_minute", price_per_minute)
        setter(self, "connection_fee", connection_fee)
        setter(self, "rate_sub_units", to_sub_units(price_per_minute))
        fee = to_sub_units(connection_fee)
        setter(self, "fee_sub_units", fee)
        setter(self, "_fee_x60", fee * 60)
        setter(self, "grace_ms", self.grace_seconds * _MS)

    @classmethod
    def from_sub_units(cls, prefix: str, destination: str, rate_sub_units: int,
                       fee_sub_units: int, initial_increment: int = 60,
                       subsequent_increment: int = 60, grace_seconds: int = 0) -> RateTerms:
        """Terms from the stored integer amounts (1/10000 units), as the index loads them.

        Loading a 200,000-prefix tariff calls this for every row, so it checks only
        what the amounts' Decimal form cannot (the database's constraints already
        held these values) and sets the fields directly.
        """
        if (rate_sub_units < 0 or fee_sub_units < 0 or initial_increment < 1
                or subsequent_increment < 1 or grace_seconds < 0):
            # The slow path raises the precise error.
            return cls(prefix, destination, Decimal(rate_sub_units).scaleb(_SUB_UNIT_EXPONENT),
                       Decimal(fee_sub_units).scaleb(_SUB_UNIT_EXPONENT), initial_increment,
                       subsequent_increment, grace_seconds)
        terms = object.__new__(cls)
        setter = object.__setattr__
        setter(terms, "prefix", prefix)
        setter(terms, "destination", destination)
        setter(terms, "price_per_minute", _decimal(rate_sub_units))
        setter(terms, "connection_fee", _decimal(fee_sub_units))
        setter(terms, "initial_increment", int(initial_increment))
        setter(terms, "subsequent_increment", int(subsequent_increment))
        setter(terms, "grace_seconds", int(grace_seconds))
        setter(terms, "rate_sub_units", int(rate_sub_units))
        setter(terms, "fee_sub_units", int(fee_sub_units))
        setter(terms, "grace_ms", int(grace_seconds) * _MS)
        setter(terms, "_fee_x60", int(fee_sub_units) * 60)
        return terms


class Charge(NamedTuple):
    """What a call costs at some duration: the seconds billed and the rounded amount."""

    billed_seconds: int
    amount: Money


# A named tuple's own constructor is a Python function; the tuple's is not, and a
# Charge is made for every cabin on every tick.
_new_charge = tuple.__new__


def billed_seconds(terms: RateTerms, duration_ms: int) -> int:
    """Seconds billed for an answered call of `duration_ms` milliseconds.

    0 within the grace period (duration ≤ grace); otherwise the initial increment,
    then whole subsequent increments until the duration is covered (rounded up, to
    the millisecond: 60.001 s on 1/1 bills 61 s).
    """
    if duration_ms <= terms.grace_ms:
        return 0
    seconds = -(-duration_ms // _MS)
    initial = terms.initial_increment
    if seconds <= initial:
        return initial
    step = terms.subsequent_increment
    return initial + -(-(seconds - initial) // step) * step


def next_increment_at_ms(terms: RateTerms, duration_ms: int) -> int:
    """The smallest duration > `duration_ms` at which `billed_seconds` increases.

    The prepaid guard reserves an increment when it starts: that is this instant.
    """
    if duration_ms <= terms.grace_ms:
        return terms.grace_ms + 1
    return billed_seconds(terms, duration_ms) * _MS + 1


def _price_sub_units(terms: RateTerms, seconds: int, minor: int) -> int:
    # fee + seconds × rate / 60, in sub-units, is (fee × 60 + seconds × rate) / 60;
    # rounding that half-up to a multiple of `minor` sub-units is an integer division
    # of the doubled numerator: floor((2n + d) / 2d) with d = 60 × minor (n ≥ 0).
    denominator = 60 * minor
    numerator = terms._fee_x60 + seconds * terms.rate_sub_units
    return (2 * numerator + denominator) // (2 * denominator) * minor


def price(terms: RateTerms, billed_seconds: int, currency: str) -> Money:
    """Connection fee + `billed_seconds` × rate / 60, rounded half-up once to the
    currency's minor unit. Exactly `reference_price()`, in integer arithmetic.

    The formula only: for 0 seconds it is the connection fee. Whether a call is
    charged at all (grace, unanswered) is `charge()`'s and its caller's rule."""
    return _money(_price_sub_units(terms, billed_seconds, _minor_sub_units(currency)), currency)


def price_sub_units(terms: RateTerms, billed_seconds: int, currency: str) -> int:
    """`price()` as its integer of 1/10000 units, without building a `Money`: the
    prepaid guard prices thousands of candidate durations per search."""
    return _price_sub_units(terms, billed_seconds, _minor_sub_units(currency))


def reference_price(terms: RateTerms, billed_seconds: int, currency: str) -> Money:
    """The price by its definition, in `Decimal`: the exact amount, then
    `Money.rounded()`'s rounding (half-up to the minor unit). Slow; for checking."""
    exact = terms.connection_fee + Decimal(billed_seconds) * terms.price_per_minute / 60
    return Money(exact.quantize(minor_unit(currency), ROUND_HALF_UP), currency)


def charge(terms: RateTerms, duration_ms: int, currency: str) -> Charge:
    """What an answered call of `duration_ms` costs now: THE function for both the
    live running cost and the final bill.

    A call within the grace period is free, connection fee included. Callers must
    not charge unanswered calls at all (their duration is not a talk time).
    """
    # billed_seconds() and price(), written out once more: this runs for every cabin
    # on every tick, and the calls cost a fifth of it. The tests hold the two equal.
    if duration_ms <= terms.grace_ms:
        return _new_charge(Charge, (0, _money(0, currency)))
    seconds = -(-duration_ms // _MS)
    initial = terms.initial_increment
    if seconds <= initial:
        seconds = initial
    else:
        step = terms.subsequent_increment
        seconds = initial + -(-(seconds - initial) // step) * step
    minor = _minor_cache.get(currency) or _minor_sub_units(currency)
    numerator = terms._fee_x60 + seconds * terms.rate_sub_units
    units = (2 * numerator + 60 * minor) // (120 * minor) * minor
    cache = _money_cache.get(currency)
    amount = cache.get(units) if cache is not None else None
    if amount is None:
        amount = _money(units, currency)
    return _new_charge(Charge, (seconds, amount))
