"""Destination names from the numbering plan, localised."""

from __future__ import annotations

import pytest

from cashdesk.rating.destinations import calling_code, destination_name, regions_for_prefix


@pytest.mark.parametrize(("prefix", "name"), [
    ("44", "United Kingdom"),
    ("447", "United Kingdom"),
    ("33", "France"),
    ("336", "France"),
    ("93", "Afghanistan"),
    ("212", "Morocco"),
    ("2126", "Morocco"),
    ("1876", "Jamaica"),            # NANP: the area code decides
    ("1416", "Canada"),
    ("1212", "United States"),
    ("1", "United States/Canada"),  # the bare NANP code is priced as one
    ("7", "Russia"),                # shared code: its main country
    ("77", "Kazakhstan"),
    ("441534", "Jersey"),
    ("441624", "Isle of Man"),
    ("3906698", "Vatican City"),
    ("61", "Australia"),
])
def test_english_names(prefix: str, name: str) -> None:
    assert destination_name(prefix) == name


@pytest.mark.parametrize(("prefix", "name"), [
    ("44", "المملكة المتحدة"),
    ("212", "المغرب"),
    ("1876", "جامايكا"),
    ("1", "الولايات المتحدة/كندا"),
])
def test_arabic_names(prefix: str, name: str) -> None:
    assert destination_name(prefix, "ar") == name


def test_other_locales() -> None:
    assert destination_name("49", "fr_FR") == "Allemagne"
    assert destination_name("49", "de-DE") == "Deutschland"
    assert destination_name("49", "xx_not_a_locale") == "Germany"  # falls back to English


@pytest.mark.parametrize("prefix", ["", "0", "999", "800", "881", "abc"])
def test_unknown_or_non_geographic_is_empty(prefix: str) -> None:
    assert destination_name(prefix) == ""


def test_calling_code_and_regions() -> None:
    assert calling_code("4420") == "44"
    assert calling_code("1876") == "1"
    assert calling_code("2125") == "212"
    assert calling_code("0") == ""
    assert regions_for_prefix("1") == ("US", "CA")
    assert regions_for_prefix("33") == ("FR",)
    assert regions_for_prefix("800") == ()


def test_cached_per_prefix() -> None:
    destination_name.cache_clear()
    destination_name("4420")
    destination_name("4420")
    assert destination_name.cache_info().hits >= 1
