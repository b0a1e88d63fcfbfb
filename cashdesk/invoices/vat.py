"""VAT on a paid session: net, VAT and gross, each rounded exactly once.

A shop either shows prices with VAT included (a walk-in shop: the figure on the tile
is what the customer pays) or without (VAT is added on top). The call prices are
already rounded to the currency's minor unit by rating; the VAT split rounds one
amount and derives the other by subtraction, so net + VAT = gross to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext

from cashdesk.money import SUB_UNITS, Money

_HUNDRED = Decimal(100)
_SUB_UNIT = Decimal(1) / SUB_UNITS


@dataclass(frozen=True, slots=True)
class VatBreakdown:
    net: Money          # before VAT
    vat: Money
    gross: Money        # what the customer pays
    rate: Decimal       # percent, e.g. Decimal("20") or Decimal("5.5")
    prices_include_vat: bool


def round_once(exact: Decimal, currency: str) -> Money:
    """`exact` rounded half-up to the currency's minor unit by `Money.rounded()`.

    Money holds at most 4 decimals, so `exact` is first cut (towards zero, never
    rounded) to 1/10000. For a minor unit of 1/10000 or coarser, cutting first and
    then rounding half-up gives the same result as rounding `exact` half-up directly:
    the half-way point is itself a multiple of 1/10000, and cutting never moves a
    value across it. So this is one rounding, not two.
    """
    return Money(exact.quantize(_SUB_UNIT, ROUND_DOWN), currency).rounded()


def vat_breakdown(prices: Money, rate: Decimal, *, prices_include_vat: bool) -> VatBreakdown:
    """Split (or extend) `prices`, the sum of the session's call prices, by `rate` percent.

    Included: gross = prices, net = gross / (1 + rate), VAT = gross − net.
    Excluded: net = prices, VAT = net × rate, gross = net + VAT.
    """
    if rate < 0:
        raise ValueError(f"a VAT rate cannot be negative ({rate})")
    currency = prices.currency
    if not rate:
        zero = Money.zero(currency)
        return VatBreakdown(prices, zero, prices, rate, prices_include_vat)
    if prices_include_vat:
        with localcontext() as context:
            # Cut the quotient's last digit instead of rounding it, so `round_once`
            # sees a value that is never pushed up to a half-way point.
            context.rounding = ROUND_DOWN
            exact_net = prices.amount * _HUNDRED / (_HUNDRED + rate)
        net = round_once(exact_net, currency)
        return VatBreakdown(net, prices - net, prices, rate, True)
    vat = round_once(prices.amount * rate / _HUNDRED, currency)
    return VatBreakdown(prices, vat, prices + vat, rate, False)
