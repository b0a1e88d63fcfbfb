"""VAT maths: each amount rounded once, net + VAT = gross to the last coin."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from cashdesk.invoices.vat import round_once, vat_breakdown
from cashdesk.money import Money, minor_unit


def eur(text: str) -> Money:
    return Money.of(text, "EUR")


def test_prices_include_vat():
    split = vat_breakdown(eur("12.00"), Decimal(20), prices_include_vat=True)
    assert (split.net, split.vat, split.gross) == (eur("10.00"), eur("2.00"), eur("12.00"))
    split = vat_breakdown(eur("10.00"), Decimal("5.5"), prices_include_vat=True)
    assert (split.net, split.vat) == (eur("9.48"), eur("0.52"))  # 9.4786… → 9.48


def test_prices_exclude_vat():
    split = vat_breakdown(eur("10.00"), Decimal(20), prices_include_vat=False)
    assert (split.net, split.vat, split.gross) == (eur("10.00"), eur("2.00"), eur("12.00"))
    split = vat_breakdown(eur("3.33"), Decimal("7.25"), prices_include_vat=False)
    assert split.vat == eur("0.24")  # 0.241425 → 0.24


def test_rounding_happens_once_not_twice():
    # 0.05 × 9.9 % = 0.00495: one rounding gives 0.00; rounding to 1/10000 first (0.0050)
    # and then to the cent would give 0.01.
    split = vat_breakdown(eur("0.05"), Decimal("9.9"), prices_include_vat=False)
    assert split.vat == eur("0.00")
    assert round_once(Decimal("0.004999999"), "EUR") == eur("0.00")
    assert round_once(Decimal("0.005"), "EUR") == eur("0.01")
    assert round_once(Decimal("1.5"), "JPY") == Money.of("2", "JPY")


def test_no_vat():
    split = vat_breakdown(eur("7.40"), Decimal(0), prices_include_vat=True)
    assert (split.net, split.vat, split.gross) == (eur("7.40"), eur("0"), eur("7.40"))


@given(cents=st.integers(min_value=0, max_value=10_000_000),
       rate=st.decimals(min_value=0, max_value=30, places=2),
       included=st.booleans(), currency=st.sampled_from(["EUR", "JPY", "KWD", "MAD"]))
def test_parts_always_add_up(cents: int, rate: Decimal, included: bool, currency: str):
    amount = Money((Decimal(cents) * minor_unit(currency)), currency)
    split = vat_breakdown(amount, rate, prices_include_vat=included)
    assert split.net + split.vat == split.gross
    for part in (split.net, split.vat, split.gross):
        assert part == part.rounded()
    exact = (amount.amount * 100 / (100 + rate)) if included else (amount.amount * rate / 100)
    one_rounding = exact.quantize(minor_unit(currency), ROUND_HALF_UP)
    assert (split.net if included else split.vat).amount == one_rounding
