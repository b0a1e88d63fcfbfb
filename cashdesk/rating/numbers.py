"""Dialled numbers: from what a cabin's phone sent to the digits rates are matched on.

A cabin may send `+44 20 7946-0958`, `0044207…`, `011447…`, `sip:0044207…@pbx`, a
carrier's tech prefix in front (`1234#0044…`), or a national number (`020 7946…`) when
the shop has told us its own country. Rating needs one canonical form: the
international number as digits only, country code first, no `+`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Longest number we rate. E.164 allows 15 digits; carriers add a few routing digits.
MAX_DIGITS = 20

# Characters people and phones put between digits. Removing them never changes which
# number was meant.
_SEPARATORS = str.maketrans("", "", " \t-.()/")


class InvalidNumber(ValueError):
    """A dialled string that is not a callable number; the message says why."""


def _split_list(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _longest_first(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    # Longest first, so a tech prefix "12345" wins over "123" and "011" over "0".
    return tuple(sorted(set(prefixes), key=lambda p: (-len(p), p)))


@dataclass(frozen=True, slots=True)
class NumberPlan:
    """How one callshop's cabins dial: which prefixes mean "international", which tech
    prefixes the PBX or carrier put in front, and the shop's own country for national
    numbers.

    The international prefixes are per shop, and `011` must be removable, because
    they clash with national numbers: `011` is the North American exit code, but a UK
    shop dials `0114 496 0000` for Sheffield. With the default ("00", "011") that
    would be read as the international number `4 496 0000`. A UK shop therefore keeps
    only "00" (and national prefix "0", country code "44").
    """

    international_prefixes: tuple[str, ...] = ("00", "011")
    tech_prefixes: tuple[str, ...] = ()
    national_prefix: str = ""
    country_code: str = ""
    # Derived once: the prefixes in the order they must be tried.
    _international: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _tech: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("international_prefixes", "tech_prefixes"):
            value = getattr(self, name)
            if isinstance(value, str):  # tolerate "00,011" as well as a tuple
                value = _split_list(value)
            object.__setattr__(self, name, tuple(value))
        for prefix in self.international_prefixes:
            if not (prefix.isascii() and prefix.isdigit()):
                raise ValueError(f"international prefix must be digits: {prefix!r}")
        for name in ("national_prefix", "country_code"):
            value = getattr(self, name).strip()
            if value and not (value.isascii() and value.isdigit()):
                raise ValueError(f"{name.replace('_', ' ')} must be digits: {value!r}")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_international", _longest_first(self.international_prefixes))
        object.__setattr__(self, "_tech", _longest_first(self.tech_prefixes))

    @classmethod
    def for_callshop(cls, shop: Any) -> NumberPlan:
        """The plan configured on a `Callshop` row (its comma-separated columns)."""
        return cls(international_prefixes=_split_list(shop.international_prefixes),
                   tech_prefixes=_split_list(shop.tech_prefixes),
                   national_prefix=(shop.national_prefix or "").strip(),
                   country_code=(shop.country_code or "").strip())

    def normalise(self, dialed: str) -> str:
        """The international number, digits only, for `dialed`; raises `InvalidNumber`.

        In order: remove separators (spaces, dashes, dots, parentheses) and a SIP
        URI's `sip:` and `@host`; remove one tech prefix (the longest that matches);
        `+` means the rest is international; otherwise remove an international
        prefix; otherwise, when the shop set both a national prefix and a country
        code, replace the national prefix by the country code. Anything else is taken
        as already international (PBXs often send `4420…`).
        """
        # Fast paths first: PBXs mostly send plain digits or "+digits", and rating runs
        # for every call and every tile refresh.
        if dialed.isdigit() and dialed.isascii():
            return self._without_exit_code(dialed, self._without_tech(dialed)
                                           if self._tech else dialed)
        if dialed[:1] == "+" and not self._tech:
            rest = dialed[1:]
            if rest.isdigit() and rest.isascii() and len(rest) <= MAX_DIGITS:
                return rest
        number = self._without_tech(_strip_decoration(dialed))
        if number[:1] == "+":
            number = number[1:]
            if number.isdigit() and number.isascii():
                return _checked_length(dialed, number)
        elif number.isdigit() and number.isascii():
            return self._without_exit_code(dialed, number)
        raise InvalidNumber(_why_not_digits(dialed, number))

    def _without_tech(self, number: str) -> str:
        for tech in self._tech:
            if number.startswith(tech) and len(number) > len(tech):
                return number[len(tech):]
        return number

    def _without_exit_code(self, dialed: str, number: str) -> str:
        # `number` is digits only: remove the exit code, or turn a national number
        # into an international one.
        for prefix in self._international:
            if number.startswith(prefix):
                number = number[len(prefix):]
                if number and len(number) <= MAX_DIGITS:
                    return number
                return _checked_length(dialed, number)
        national = self.national_prefix
        if national and self.country_code and number.startswith(national):
            number = self.country_code + number[len(national):]
        return _checked_length(dialed, number)


def _checked_length(dialed: str, number: str) -> str:
    if not number:
        raise InvalidNumber(f"{dialed!r} has no digits to call")
    if len(number) > MAX_DIGITS:
        raise InvalidNumber(f"{dialed!r} is too long ({len(number)} digits, "
                            f"at most {MAX_DIGITS})")
    return number


def _strip_decoration(dialed: str) -> str:
    number = dialed.strip()
    if number[:4].lower() in ("sip:", "tel:"):
        number = number[4:]
    elif number[:5].lower() == "sips:":
        number = number[5:]
    # `sip:0044…@pbx.example;user=phone`: the user part is the number.
    number = number.split("@", 1)[0].split(";", 1)[0]
    return number.translate(_SEPARATORS)


def _why_not_digits(dialed: str, number: str) -> str:
    if not number:
        return f"{dialed!r} has no digits to call" if dialed.strip() else "empty number"
    if "*" in number or "#" in number:
        return f"{dialed!r} is a service code (* or #), not a number to rate"
    if "+" in number:
        return f"{dialed!r} has a '+' that is not at the start"
    if any(char.isalpha() for char in number):
        return f"{dialed!r} contains letters"
    return f"{dialed!r} contains characters that are not digits"
