"""Money: exact, single-currency, rounded in one place."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cashdesk.money import (
    CurrencyMismatch,
    Money,
    MoneyError,
    minor_unit,
    minor_unit_sub_units,
    money_sum,
)

sub_units = st.integers(min_value=-10**14, max_value=10**14)


def test_exact_decimal_arithmetic():
    assert Money.of("0.1", "EUR") + Money.of("0.2", "EUR") == Money.of("0.3", "EUR")
    assert Money.of("10", "EUR") - Money.of("2.5", "EUR") == Money.of("7.5", "EUR")


def test_refuses_float_and_mixed_currencies():
    with pytest.raises(MoneyError):
        Money.of(0.1, "EUR")  # type: ignore[arg-type]
    with pytest.raises(CurrencyMismatch):
        Money.of("1", "EUR") + Money.of("1", "USD")
    with pytest.raises(CurrencyMismatch):
        _ = Money.of("1", "EUR") < Money.of("1", "USD")
    with pytest.raises(TypeError):
        Money.of("1", "EUR") * 1.5  # type: ignore[operator]


def test_refuses_more_than_four_decimals_and_bad_codes():
    with pytest.raises(MoneyError, match="4 decimal"):
        Money.of("0.00001", "EUR")
    with pytest.raises(MoneyError):
        Money.of("1", "euro")
    with pytest.raises(MoneyError):
        Money.of("NaN", "EUR")
    with pytest.raises(MoneyError):
        Money.of("abc", "EUR")


@given(sub_units)
def test_sub_units_round_trip(units):
    money = Money.from_sub_units(units, "EUR")
    assert money.sub_units == units
    assert isinstance(money.sub_units, int)


def test_minor_units_come_from_the_currency():
    assert minor_unit("EUR") == Decimal("0.01")
    assert minor_unit("JPY") == Decimal(1)
    assert minor_unit("KWD") == Decimal("0.001")
    assert minor_unit_sub_units("EUR") == 100
    assert minor_unit_sub_units("JPY") == 10_000


@pytest.mark.parametrize("amount, currency, expected", [
    ("0.125", "EUR", "0.13"),      # half up
    ("0.1249", "EUR", "0.12"),
    ("-0.125", "EUR", "-0.13"),    # away from zero, symmetric
    ("12.5", "JPY", "13"),
    ("0.0005", "KWD", "0.001"),
])
def test_rounding_to_the_minor_unit(amount, currency, expected):
    assert Money.of(amount, currency).rounded() == Money.of(expected, currency)


@given(sub_units)
def test_rounding_is_idempotent_and_within_half_a_minor_unit(units):
    money = Money.from_sub_units(units, "EUR")
    once = money.rounded()
    assert once.rounded() == once
    assert abs(once.amount - money.amount) <= Decimal("0.005")


def test_locale_formatting():
    assert Money.of("1234.5", "EUR").format("en") == "€1,234.50"
    assert Money.of("1234.5", "EUR").format("fr_FR").replace("\u202f", " ") \
        .replace("\xa0", " ") == "1 234,50 €"
    arabic = Money.of("12.5", "MAD").format("ar")
    assert "12" in arabic or "١٢" in arabic
    # a per-minute rate keeps its extra digits instead of being rounded for display
    assert Money.of("0.0125", "EUR").format("en") == "€0.0125"


def _spaces(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


@pytest.mark.parametrize("locale, expected", [
    ("en", "€0.1234"),
    ("fr_FR", "0,1234 €"),       # the symbol stays after the number, as in "12,50 €"
    ("es_ES", "0,1234 €"),
    ("ar", "\u200f0.1234 €"),    # CLDR's Arabic layout: RLM, number, then the symbol
])
def test_a_per_minute_rate_keeps_the_locales_own_layout(locale, expected):
    assert _spaces(Money.of("0.1234", "EUR").format(locale)) == expected


@pytest.mark.parametrize("locale", ["en", "fr_FR", "es_ES", "ar"])
def test_extra_digits_change_only_the_fraction_not_the_layout(locale):
    usual = _spaces(Money.of("1234.5", "EUR").format(locale))
    rate = _spaces(Money.of("1234.5125", "EUR").format(locale))
    # the same text with "25" more fraction digits: symbol, grouping and marks unchanged
    assert rate == usual.replace("50", "5125")
    negative = _spaces(Money.of("-0.0125", "EUR").format(locale))
    assert "0125" in negative and "-" in negative and "€" in negative
    # a whole-cent amount still shows the currency's usual two digits
    assert _spaces(Money.of("0.1200", "EUR").format(locale)).count("12") == 1
    assert "0.12" in Money.of("0.1200", "EUR").format(locale).replace(",", ".")


def test_a_currency_without_cents_shows_only_the_digits_a_rate_needs():
    assert Money.of("12", "JPY").format("en") == "¥12"
    assert Money.of("0.5", "JPY").format("en") == "¥0.5"
    assert _spaces(Money.of("0.5", "JPY").format("fr_FR")) == "0,5 JPY"


def test_arabic_uses_its_cldr_layout_with_western_digits():
    text = Money.of("12.5", "MAD").format("ar")
    assert text.startswith("\u200f") and "12.50" in text and "د.م." in text
    assert text.index("12.50") < text.index("د.م.")  # the number first, logically


def test_parse_what_a_cashier_types():
    assert Money.parse("12,50", "EUR", "fr_FR") == Money.of("12.50", "EUR")
    assert Money.parse("12.50", "EUR", "en") == Money.of("12.50", "EUR")
    with pytest.raises(MoneyError):
        Money.parse("12,5x", "EUR", "fr_FR")
    with pytest.raises(MoneyError):
        Money.parse("", "EUR", "en")


def test_wire_form_is_a_string_and_sum_of_nothing_is_zero():
    assert Money.of("7.5", "EUR").to_json() == "7.5000"
    assert money_sum([], "EUR") == Money.zero("EUR")
    assert money_sum([Money.of("1", "EUR")] * 3, "EUR") == Money.of("3", "EUR")
