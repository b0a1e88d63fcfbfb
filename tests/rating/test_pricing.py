"""Billed seconds, price and charge: the one function for the tile and the bill."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cashdesk.money import Money
from cashdesk.rating.pricing import (
    Charge,
    RateTerms,
    billed_seconds,
    charge,
    next_increment_at_ms,
    price,
    reference_price,
)

EUR = "EUR"


def terms(rate: str = "0.10", fee: str = "0", initial: int = 60, subsequent: int = 60,
          grace: int = 0) -> RateTerms:
    return RateTerms("44", "United Kingdom", Decimal(rate), Decimal(fee), initial,
                     subsequent, grace)


def money(text: str, currency: str = EUR) -> Money:
    return Money.of(text, currency)


# --- examples ------------------------------------------------------------------------

@pytest.mark.parametrize(("duration_ms", "billed"), [
    (0, 0), (1, 60), (59_999, 60), (60_000, 60), (60_001, 120), (125_000, 180)])
def test_60_60(duration_ms: int, billed: int) -> None:
    assert billed_seconds(terms(initial=60, subsequent=60), duration_ms) == billed


@pytest.mark.parametrize(("duration_ms", "billed"), [
    (1, 30), (30_000, 30), (30_001, 36), (36_000, 36), (36_001, 42), (61_000, 66)])
def test_30_6(duration_ms: int, billed: int) -> None:
    assert billed_seconds(terms(initial=30, subsequent=6), duration_ms) == billed


@pytest.mark.parametrize(("duration_ms", "billed"), [
    (1, 1), (1_000, 1), (1_001, 2), (60_000, 60), (60_001, 61)])
def test_1_1(duration_ms: int, billed: int) -> None:
    assert billed_seconds(terms(initial=1, subsequent=1), duration_ms) == billed


def test_grace_is_free_then_bills_from_the_start() -> None:
    rate = terms(rate="0.60", fee="0.05", initial=30, subsequent=6, grace=5)
    assert charge(rate, 5_000, EUR) == Charge(0, money("0"))          # fee included
    assert charge(rate, 5_001, EUR) == Charge(30, money("0.35"))      # 0.05 + 0.30
    assert charge(rate, 0, EUR).amount == money("0")


def test_connection_fee_is_added_once() -> None:
    rate = terms(rate="0.12", fee="0.25", initial=60, subsequent=60)
    assert charge(rate, 1, EUR) == Charge(60, money("0.37"))
    assert charge(rate, 61_000, EUR) == Charge(120, money("0.49"))


def test_rounded_once_half_up_at_the_end() -> None:
    # 61 s at 0.0125/min = 0.012708… → 0.01; rounding each second would give 0.61.
    assert charge(terms(rate="0.0125", initial=1, subsequent=1), 61_000, EUR).amount == \
        money("0.01")
    # 0.005 exactly rounds up: 30 s at 0.01/min.
    assert price(terms(rate="0.01"), 30, EUR) == money("0.01")
    # 29 s at 0.01/min = 0.004833… rounds down.
    assert price(terms(rate="0.01"), 29, EUR) == money("0")


def test_currency_minor_units() -> None:
    rate = terms(rate="7.5", initial=1, subsequent=1)
    assert price(rate, 100, "JPY") == money("13", "JPY")     # 12.5 → 13, no decimals
    assert price(rate, 100, "KWD") == money("12.5", "KWD")   # 3 decimals
    assert price(terms(rate="0.0001", initial=1, subsequent=1), 1, "KWD") == \
        money("0", "KWD")


def test_price_of_zero_seconds_is_the_fee_but_charge_is_free() -> None:
    rate = terms(fee="0.10")
    assert price(rate, 0, EUR) == money("0.10")
    assert charge(rate, 0, EUR).amount == money("0")


def test_next_increment_examples() -> None:
    rate = terms(initial=30, subsequent=6, grace=3)
    assert next_increment_at_ms(rate, 0) == 3_001
    assert next_increment_at_ms(rate, 3_000) == 3_001
    assert next_increment_at_ms(rate, 3_001) == 30_001
    assert next_increment_at_ms(rate, 30_000) == 30_001
    assert next_increment_at_ms(rate, 30_001) == 36_001


def test_rate_terms_validation() -> None:
    with pytest.raises(ValueError, match="negative"):
        terms(rate="-0.01")
    with pytest.raises(ValueError, match="negative"):
        terms(fee="-1")
    with pytest.raises(ValueError, match="4 decimal"):
        terms(rate="0.00001")
    with pytest.raises(ValueError, match="initial increment"):
        terms(initial=0)
    with pytest.raises(ValueError, match="subsequent increment"):
        terms(subsequent=0)
    with pytest.raises(ValueError, match="grace"):
        terms(grace=-1)
    with pytest.raises(TypeError):
        RateTerms("44", "", 0.1, Decimal(0))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        RateTerms.from_sub_units("44", "", -1, 0)


def test_from_sub_units_is_the_same_terms() -> None:
    loaded = RateTerms.from_sub_units("4420", "London", 1234, 500, 30, 6, 2)
    built = RateTerms("4420", "London", Decimal("0.1234"), Decimal("0.05"), 30, 6, 2)
    assert loaded == built
    for name in ("rate_sub_units", "fee_sub_units", "grace_ms", "_fee_x60"):
        assert getattr(loaded, name) == getattr(built, name)
    assert charge(loaded, 100_000, EUR) == charge(built, 100_000, EUR)


# --- properties ----------------------------------------------------------------------

sub_units = st.integers(min_value=0, max_value=10**8)        # up to 10,000 per minute
increments = st.integers(min_value=1, max_value=3_600)
durations = st.integers(min_value=0, max_value=10**8)        # up to ~28 hours
currencies = st.sampled_from(["EUR", "JPY", "KWD", "USD", "MAD", "CLF"])


@st.composite
def rate_terms(draw: st.DrawFn) -> RateTerms:
    return RateTerms.from_sub_units(
        "44", "", draw(sub_units), draw(st.integers(0, 10**6)), draw(increments),
        draw(increments), draw(st.integers(0, 30)))


@settings(max_examples=300, deadline=None)
@given(rate_terms(), st.integers(min_value=0, max_value=10**6), currencies)
def test_integer_price_equals_the_decimal_definition(
        rate: RateTerms, seconds: int, currency: str) -> None:
    assert price(rate, seconds, currency) == reference_price(rate, seconds, currency)


@settings(max_examples=200, deadline=None)
@given(rate_terms(), st.integers(min_value=0, max_value=10**6))
def test_price_agrees_with_money_rounded(rate: RateTerms, seconds: int) -> None:
    # Where the exact amount fits in 4 decimals, it is literally Money.rounded().
    exact = rate.connection_fee + Decimal(seconds) * rate.price_per_minute / 60
    if exact == exact.quantize(Decimal("0.0001")):
        assert price(rate, seconds, "EUR") == Money(exact, "EUR").rounded()


@settings(max_examples=300, deadline=None)
@given(rate_terms(), durations, durations, currencies)
def test_charge_is_monotone_in_duration(rate: RateTerms, first: int, second: int,
                                        currency: str) -> None:
    shorter, longer = sorted((first, second))
    before, after = charge(rate, shorter, currency), charge(rate, longer, currency)
    assert before.billed_seconds <= after.billed_seconds
    assert before.amount <= after.amount


@settings(max_examples=300, deadline=None)
@given(rate_terms(), durations)
def test_billed_covers_the_duration(rate: RateTerms, duration_ms: int) -> None:
    billed = billed_seconds(rate, duration_ms)
    if duration_ms <= rate.grace_seconds * 1000:
        assert billed == 0
    else:
        assert billed * 1000 >= duration_ms
        assert billed >= rate.initial_increment
        assert (billed - rate.initial_increment) % rate.subsequent_increment == 0
        # ...and not a whole increment more than needed.
        assert (billed == rate.initial_increment
                or (billed - rate.subsequent_increment) * 1000 < duration_ms)


@settings(max_examples=300, deadline=None)
@given(rate_terms(), durations, st.data())
def test_billed_changes_only_at_next_increment(rate: RateTerms, duration_ms: int,
                                               data: st.DataObject) -> None:
    billed = billed_seconds(rate, duration_ms)
    boundary = next_increment_at_ms(rate, duration_ms)
    assert boundary > duration_ms
    assert billed_seconds(rate, boundary - 1) == billed
    assert billed_seconds(rate, boundary) > billed
    inside = data.draw(st.integers(min_value=duration_ms, max_value=boundary - 1))
    assert billed_seconds(rate, inside) == billed


@settings(max_examples=200, deadline=None)
@given(rate_terms(), durations, currencies)
def test_charge_is_billed_seconds_then_price(rate: RateTerms, duration_ms: int,
                                             currency: str) -> None:
    result = charge(rate, duration_ms, currency)
    assert result.billed_seconds == billed_seconds(rate, duration_ms)
    expected = (price(rate, result.billed_seconds, currency) if result.billed_seconds
                else Money.zero(currency))
    assert result.amount == expected
    assert result.amount.currency == currency
