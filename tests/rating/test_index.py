"""Longest-prefix matching in memory."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cashdesk.rating.index import PrefixIndex
from cashdesk.rating.pricing import RateTerms


def rate(prefix: str, units: int = 1000) -> RateTerms:
    return RateTerms.from_sub_units(prefix, f"dest {prefix}", units, 0)


def _prefix(terms: RateTerms | None) -> str | None:
    return terms.prefix if terms is not None else None


def test_longest_prefix_wins() -> None:
    index = PrefixIndex([rate("4"), rate("44"), rate("447"), rate("4479"), rate("1")])
    assert _prefix(index.lookup("447912345678")) == "4479"
    assert _prefix(index.lookup("447812345678")) == "447"
    assert _prefix(index.lookup("442079460958")) == "44"
    assert _prefix(index.lookup("4312345")) == "4"
    assert _prefix(index.lookup("12125550100")) == "1"
    assert index.lookup("33123") is None


def test_number_shorter_than_the_prefixes() -> None:
    index = PrefixIndex([rate("44"), rate("4479")])
    assert _prefix(index.lookup("447")) == "44"
    assert index.lookup("4") is None
    assert index.lookup("") is None


def test_empty_index() -> None:
    index = PrefixIndex()
    assert index.lookup("44") is None
    assert not index and len(index) == 0


def test_duplicate_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        PrefixIndex([rate("44"), rate("44", 2000)])


def test_get_len_iter() -> None:
    rates = [rate("44"), rate("33")]
    index = PrefixIndex(rates)
    assert index.get("44") is rates[0] and index.get("4") is None
    assert len(index) == 2 and set(index) == set(rates)
    assert "2 prefixes" in repr(index)


def _slow_lookup(rates: list[RateTerms], number: str) -> RateTerms | None:
    matches = [item for item in rates if number.startswith(item.prefix)]
    return max(matches, key=lambda item: len(item.prefix), default=None)


@settings(max_examples=200, deadline=None)
@given(st.sets(st.text("0123", min_size=1, max_size=6), max_size=40),
       st.lists(st.text("0123", max_size=9), max_size=20))
def test_same_as_scanning_every_prefix(prefixes: set[str], numbers: list[str]) -> None:
    rates = [rate(prefix) for prefix in prefixes]
    index = PrefixIndex(rates)
    for number in numbers:
        assert index.lookup(number) == _slow_lookup(rates, number)


def test_large_random_deck_agrees_with_scan() -> None:
    rng = random.Random(7)
    prefixes = {str(rng.randint(1, 999)) + str(rng.randint(0, 9999))[: rng.randint(0, 4)]
                for _ in range(3000)}
    rates = [rate(prefix) for prefix in prefixes]
    index = PrefixIndex(rates)
    for _ in range(300):
        number = str(rng.randint(10**9, 10**12))
        assert index.lookup(number) == _slow_lookup(rates, number)
