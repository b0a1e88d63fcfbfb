"""Destination names for prefixes, from the numbering plan (phonenumbers) and CLDR's
localised territory names (Babel): `44` → "United Kingdom", in Arabic "المملكة المتحدة".

Used when a rate deck has no destination column, so a cashier still sees where a call
goes. The name is the country (territory) only; carriers' finer labels such as
"United Kingdom - Mobile" come from decks that have them.

Shared calling codes are resolved from the digits after the code:

* a region with its own leading digits wins (`1876` → Jamaica, `76` → Kazakhstan,
  `441624` → Isle of Man);
* otherwise the number's shape decides when phonenumbers can tell (`1416` → Canada,
  `1212` → United States, `441534` → Jersey);
* otherwise, and for the bare code, the code's main country (`44` → United Kingdom,
  `7` → Russia, `61` → Australia) — except the North American `1` on its own, which
  decks use for the United States and Canada together, so it is named
  "United States/Canada" (each name localised).

Non-geographic codes (`800` freephone, `881` satellite…) and unknown prefixes have no
name: "".
"""

from __future__ import annotations

from functools import cache, lru_cache
from re import Pattern
from re import compile as compile_pattern

from babel import Locale, UnknownLocaleError
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    PhoneMetadata,
    PhoneNumber,
    region_code_for_number,
)

_NON_GEOGRAPHIC = "001"
# The bare code names several countries only where decks price them as one.
_SHARED_CODE_NAMES: dict[str, tuple[str, ...]] = {"1": ("US", "CA")}
# Digits after the code that can change the region: the longest leading-digits
# pattern in phonenumbers' metadata is 5 digits (Isle of Man's 74576); in North
# America the 3-digit area code decides the country.
_SIGNIFICANT_DIGITS = 5
_SIGNIFICANT_DIGITS_BY_CODE = {"1": 3}
# Digits to complete a partial number with when asking phonenumbers for its region.
_FILLS = "2503"

_CODES: dict[str, tuple[str, ...]] = {
    str(code): tuple(regions) for code, regions in COUNTRY_CODE_TO_REGION_CODE.items()}


def calling_code(prefix: str) -> str:
    """The country calling code at the start of `prefix` (1 to 3 digits), or ""."""
    for length in (1, 2, 3):
        if len(prefix) >= length and prefix[:length] in _CODES:
            return prefix[:length]
    return ""


@cache
def _leading_digits(code: str) -> tuple[tuple[tuple[str, Pattern[str]], ...], tuple[str, ...]]:
    """The regions of a shared code with their own leading digits, and the others."""
    patterns = []
    others = []
    for region in _CODES[code]:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is not None and metadata.leading_digits:
            patterns.append((region, compile_pattern(metadata.leading_digits)))
        else:
            others.append(region)
    return tuple(patterns), tuple(others)


@cache
def _possible_lengths(code: str) -> tuple[int, ...]:
    lengths: set[int] = set()
    for region in _CODES[code]:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is not None and metadata.general_desc is not None:
            lengths.update(metadata.general_desc.possible_length or ())
    return tuple(sorted(lengths))


@lru_cache(maxsize=20_000)
def _region_by_shape(code: str, national: str) -> str | None:
    # A prefix is only the start of a number: complete it a few ways and ask
    # phonenumbers which region's patterns accept the result.
    for length in _possible_lengths(code):
        if length <= len(national):
            continue
        for fill in _FILLS:
            number = PhoneNumber(country_code=int(code),
                                 national_number=int(national + fill * (length - len(national))))
            region = region_code_for_number(number)
            if region is not None and region != _NON_GEOGRAPHIC:
                return region
    return None


def regions_for_prefix(prefix: str) -> tuple[str, ...]:
    """The CLDR region codes a prefix is named after (usually one), or () if none."""
    code = calling_code(prefix)
    if not code:
        return ()
    regions = _CODES[code]
    if regions[0] == _NON_GEOGRAPHIC:
        return ()
    if len(regions) == 1:
        return regions
    national = prefix[len(code):][:_SIGNIFICANT_DIGITS_BY_CODE.get(code, _SIGNIFICANT_DIGITS)]
    if national:
        patterns, others = _leading_digits(code)
        for region, pattern in patterns:
            if pattern.match(national):
                return (region,)
        if len(others) == 1:
            return others
        if others:
            # Several regions share the code without leading digits of their own
            # (United States and Canada): ask the number's shape, which is slower.
            shaped = _region_by_shape(code, national)
            if shaped in others:
                return (shaped,)
    return _SHARED_CODE_NAMES.get(code, regions[:1])


@cache
def _territory_names(locale: str) -> dict[str, str]:
    try:
        parsed = Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        parsed = Locale.parse("en")
    return dict(parsed.territories)


@lru_cache(maxsize=65_536)
def destination_name(prefix: str, locale: str = "en") -> str:
    """The localised country name for `prefix` ("" when unknown). Cached per prefix."""
    names = _territory_names(locale)
    parts = [names.get(region, "") for region in regions_for_prefix(prefix)]
    return "/".join(part for part in parts if part)
