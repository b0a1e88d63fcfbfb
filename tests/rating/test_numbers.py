"""Dialled numbers to the digits rates are matched on."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cashdesk.rating.numbers import MAX_DIGITS, InvalidNumber, NumberPlan

DEFAULT = NumberPlan()


@pytest.mark.parametrize(("dialed", "expected"), [
    ("004420794609", "4420794609"),
    ("+4420794609", "4420794609"),
    ("01144207946", "44207946"),
    ("4420794609", "4420794609"),           # PBXs often send it without any prefix
    ("+44 20 7946-0958", "442079460958"),
    ("+44 (0)20", "44020"),                 # the "(0)" people write is kept: not ours to guess
    ("00 33.1.23.45", "3312345"),
    ("sip:0044207946@pbx.example", "44207946"),
    ("sip:+44207946@pbx.example;user=phone", "44207946"),
    ("SIP:0044207946@10.0.0.1:5060", "44207946"),
    ("tel:+33123", "33123"),
    ("  0093700123  ", "93700123"),
])
def test_normalise_default_plan(dialed: str, expected: str) -> None:
    assert DEFAULT.normalise(dialed) == expected


@pytest.mark.parametrize(("dialed", "reason"), [
    ("", "empty"),
    ("   ", "empty"),
    ("+", "no digits"),
    ("00", "no digits"),
    ("0044abc", "letters"),
    ("hello", "letters"),
    ("*100#", "service code"),
    ("#31#0044207", "service code"),
    ("00442+07", "not at the start"),
    ("+" + "1" * (MAX_DIGITS + 1), "too long"),
    ("00" + "4" * (MAX_DIGITS + 1), "too long"),
    ("٠٠٤٤٢٠", "not digits"),              # Arabic-Indic digits are not ASCII digits
])
def test_normalise_rejects_with_a_reason(dialed: str, reason: str) -> None:
    with pytest.raises(InvalidNumber, match=reason):
        DEFAULT.normalise(dialed)


def test_invalid_number_is_a_value_error() -> None:
    assert issubclass(InvalidNumber, ValueError)


def test_exactly_max_digits_is_fine() -> None:
    assert DEFAULT.normalise("+" + "4" * MAX_DIGITS) == "4" * MAX_DIGITS


def test_tech_prefix_removed_longest_first() -> None:
    plan = NumberPlan(tech_prefixes=("123", "12345", "9#"))
    assert plan.normalise("123450044207") == "44207"
    assert plan.normalise("1230044207") == "44207"
    assert plan.normalise("9#+44207") == "44207"
    assert plan.normalise("9#0044207") == "44207"
    assert plan.normalise("+44207") == "44207"      # no tech prefix at all
    # Only one tech prefix comes off.
    assert plan.normalise("1231230044") == "1230044"


def test_tech_prefix_alone_is_not_removed_to_nothing() -> None:
    with pytest.raises(InvalidNumber):
        NumberPlan(tech_prefixes=("9#",)).normalise("9#")


def test_uk_shop_keeps_011_as_sheffield() -> None:
    """A UK shop removes 011 from its international prefixes: 0114… is Sheffield."""
    uk = NumberPlan(international_prefixes=("00",), national_prefix="0", country_code="44")
    assert uk.normalise("0114 496 0000") == "441144960000"
    assert uk.normalise("00 1 212 555 0100") == "12125550100"
    assert uk.normalise("+33 1 23") == "33123"
    # With the default exit codes the same digits would be misread as international.
    assert NumberPlan(national_prefix="0", country_code="44").normalise(
        "01144960000") == "44960000"


def test_national_prefix_needs_a_country_code() -> None:
    assert NumberPlan(national_prefix="0").normalise("0612345678") == "0612345678"
    france = NumberPlan(national_prefix="0", country_code="33")
    assert france.normalise("06 12 34 56 78") == "33612345678"
    assert france.normalise("0033612345678") == "33612345678"


def test_for_callshop_parses_the_comma_separated_columns() -> None:
    shop = SimpleNamespace(international_prefixes="00, 011", tech_prefixes="1234#,99",
                           national_prefix="0", country_code="44")
    plan = NumberPlan.for_callshop(shop)
    assert plan == NumberPlan(("00", "011"), ("1234#", "99"), "0", "44")
    assert plan.normalise("1234#07946") == "447946"

    bare = SimpleNamespace(international_prefixes="", tech_prefixes="",
                           national_prefix="", country_code="")
    assert NumberPlan.for_callshop(bare).normalise("0044") == "0044"


def test_plan_rejects_non_digit_settings() -> None:
    with pytest.raises(ValueError):
        NumberPlan(international_prefixes=("+",))
    with pytest.raises(ValueError):
        NumberPlan(country_code="UK")
