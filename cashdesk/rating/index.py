"""The in-memory longest-prefix index of one rate set (a tariff, or a cabin's own rates).

SQL is never on the per-call path: a rate set is loaded once into a dict and rebuilt
whole when its rates change. An index is immutable after construction, so a reader on
another thread can keep using the old one while a new one is being built.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from cashdesk.rating.pricing import RateTerms


class PrefixIndex:
    """Longest-prefix match over a set of `RateTerms`.

    One dict from prefix to terms, and the prefix lengths that actually occur, longest
    first: a lookup tries only those lengths (a 200,000-prefix deck typically has about
    ten), each a slice and a dict probe.
    """

    __slots__ = ("_by_prefix", "_lengths")

    def __init__(self, terms: Iterable[RateTerms] = ()) -> None:
        by_prefix: dict[str, RateTerms] = {}
        for item in terms:
            if item.prefix in by_prefix:
                raise ValueError(f"prefix {item.prefix} appears twice in one rate set")
            by_prefix[item.prefix] = item
        self._by_prefix = by_prefix
        self._lengths = tuple(sorted({len(prefix) for prefix in by_prefix}, reverse=True))

    def lookup(self, number: str) -> RateTerms | None:
        """The terms of the longest prefix of `number` (normalised digits), or None."""
        by_prefix = self._by_prefix
        size = len(number)
        for length in self._lengths:
            if length <= size:
                terms = by_prefix.get(number[:length])
                if terms is not None:
                    return terms
        return None

    def get(self, prefix: str) -> RateTerms | None:
        """The terms of exactly `prefix`, or None."""
        return self._by_prefix.get(prefix)

    def __len__(self) -> int:
        return len(self._by_prefix)

    def __iter__(self) -> Iterator[RateTerms]:
        return iter(self._by_prefix.values())

    def __bool__(self) -> bool:
        return bool(self._by_prefix)

    def __repr__(self) -> str:
        return f"<PrefixIndex {len(self._by_prefix)} prefixes, lengths {self._lengths}>"
