"""The rating engine: which rate applies to a number, for the shop's customer (sell), for
the shop itself (buy) and for its reseller (provider), all from memory.

`Rater` keeps one `PrefixIndex` per tariff and per cabin that has rates of its own.
`load()` builds them all; `refresh()` rebuilds only what changed since. Indexes are
replaced whole (a new dict is swapped in with one assignment), so a thread rating a
call while another refreshes sees either the old index or the new one, never a
half-built one.

Which sell rate applies to a cabin:

1. the cabin's own rates (overrides), longest matching prefix among them — an
   override for `44` therefore wins over the tariff's `447` for that cabin, which is
   what an owner setting one price for "all of the UK from cabin 3" means;
2. otherwise the cabin's tariff (`Cabin.tariff_id`), or, when the cabin has none, its
   callshop's default tariff (`Callshop.default_tariff_id`), longest prefix;
3. otherwise no rate: the call must be refused (there is no free fallback).

The buy rate is the callshop's `buy_tariff_id`, the provider rate the reseller's
`provider_tariff_id`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import BigInteger, select, type_coerce
from sqlalchemy.orm import Session

from cashdesk.rating.bulk import gc_paused
from cashdesk.rating.index import PrefixIndex
from cashdesk.rating.numbers import NumberPlan
from cashdesk.rating.pricing import RateTerms
from cashdesk.store.models import Cabin, Callshop, Rate, Tariff

log = logging.getLogger(__name__)


class CabinLike(Protocol):
    id: int
    callshop_id: int
    tariff_id: int | None


@dataclass(frozen=True, slots=True)
class _Shop:
    default_tariff_id: int | None
    buy_tariff_id: int | None
    plan: NumberPlan


@dataclass(frozen=True)
class RefreshReport:
    """What a refresh rebuilt (ids), so callers and tests can see it did only that."""

    tariffs: frozenset[int] = field(default_factory=frozenset)
    cabins: frozenset[int] = field(default_factory=frozenset)
    removed_tariffs: frozenset[int] = field(default_factory=frozenset)
    removed_cabins: frozenset[int] = field(default_factory=frozenset)

    @property
    def changed(self) -> bool:
        return bool(self.tariffs or self.cabins or self.removed_tariffs or self.removed_cabins)


# Money columns read as their stored integers: no Decimal round trip per row.
_RATE_COLUMNS = (
    Rate.prefix,
    Rate.destination,
    type_coerce(Rate.price_per_minute, BigInteger),
    type_coerce(Rate.connection_fee, BigInteger),
    Rate.initial_increment,
    Rate.subsequent_increment,
    Rate.grace_seconds,
)


def _plan(shop: Any) -> NumberPlan:
    try:
        return NumberPlan.for_callshop(shop)
    except ValueError as exc:
        # One shop's typo must not stop rating for every shop; its numbers are then
        # read with the default plan until the setting is fixed.
        log.error("callshop %s: bad numbering plan (%s); using the default", shop.id, exc)
        return NumberPlan()


def _build(rows: Iterable[Sequence[Any]]) -> PrefixIndex:
    make = RateTerms.from_sub_units
    with gc_paused():
        return PrefixIndex(make(*row) for row in rows)


class Rater:
    """In-memory rating for every tariff and cabin of the database (see module doc)."""

    def __init__(self) -> None:
        self._tariffs: dict[int, PrefixIndex] = {}
        self._revisions: dict[int, int] = {}
        self._cabins: dict[int, PrefixIndex] = {}
        self._cabin_revisions: dict[int, int | None] = {}
        self._shops: dict[int, _Shop] = {}
        # Per cabin, resolved at each refresh: (its own rates, its sell tariff's index).
        self._routes: dict[int, tuple[PrefixIndex | None, PrefixIndex | None]] = {}
        # Writers (load/refresh) take turns; readers never lock.
        self._writer = threading.Lock()

    # building --------------------------------------------------------------------
    def load(self, session: Session) -> None:
        """Build every index from the database, replacing whatever was loaded."""
        with self._writer:
            # Forget what was loaded, so everything is rebuilt, but keep serving the
            # current indexes until the new ones replace them.
            self._revisions = {}
            self._cabin_revisions = {}
            self._refresh(session)

    def refresh(self, session: Session) -> RefreshReport:
        """Rebuild only the tariffs whose revision changed and the cabins whose rates
        changed (or were invalidated); drop those that are gone. Cheap when nothing
        changed: four small queries (shops, tariff revisions, cabin revisions,
        cabins)."""
        with self._writer:
            return self._refresh(session)

    def invalidate_cabin(self, cabin_id: int) -> None:
        """Make the next `refresh()` reload this cabin's own rates.

        `refresh()` already reloads a cabin whose `rates_revision` changed; this is for
        a change made without bumping it. Until the refresh, the old rates apply.
        """
        with self._writer:
            revisions = dict(self._cabin_revisions)
            revisions[cabin_id] = None
            self._cabin_revisions = revisions

    def _refresh(self, session: Session) -> RefreshReport:
        self._shops = {
            row.id: _Shop(row.default_tariff_id, row.buy_tariff_id, _plan(row))
            for row in session.execute(select(
                Callshop.id, Callshop.default_tariff_id, Callshop.buy_tariff_id,
                Callshop.international_prefixes, Callshop.tech_prefixes,
                Callshop.national_prefix, Callshop.country_code))}
        tariffs_done, tariffs_gone = self._refresh_tariffs(session)
        cabins_done, cabins_gone = self._refresh_cabins(session)
        self._routes = {
            row.id: self._route(row.tariff_id, row.callshop_id, row.id)
            for row in session.execute(select(Cabin.id, Cabin.callshop_id, Cabin.tariff_id))}
        return RefreshReport(tariffs_done, cabins_done, tariffs_gone, cabins_gone)

    def _route(self, tariff_id: int | None, callshop_id: int,
               cabin_id: int) -> tuple[PrefixIndex | None, PrefixIndex | None]:
        if tariff_id is None:
            shop = self._shops.get(callshop_id)
            tariff_id = shop.default_tariff_id if shop is not None else None
        tariff = self._tariffs.get(tariff_id) if tariff_id is not None else None
        return self._cabins.get(cabin_id), tariff

    def _refresh_tariffs(self, session: Session) -> tuple[frozenset[int], frozenset[int]]:
        current = {tariff_id: revision for tariff_id, revision
                   in session.execute(select(Tariff.id, Tariff.revision))}
        stale = [tariff_id for tariff_id, revision in current.items()
                 if self._revisions.get(tariff_id) != revision]
        gone = frozenset(self._tariffs.keys() - current.keys())
        if not stale and not gone:
            return frozenset(), frozenset()
        tariffs = {key: value for key, value in self._tariffs.items() if key not in gone}
        revisions = {key: value for key, value in self._revisions.items() if key not in gone}
        for tariff_id in stale:
            # The revision was read before the rates: if an import commits in between
            # (PostgreSQL's READ COMMITTED), newer rates get the older revision and
            # are merely rebuilt once more. The other order could label old rates
            # with the new revision, and they would never be reloaded.
            tariffs[tariff_id] = _build(session.execute(
                select(*_RATE_COLUMNS).where(Rate.tariff_id == tariff_id)))
            revisions[tariff_id] = current[tariff_id]
        # Publish the indexes before the revisions: a reader never uses revisions.
        self._tariffs = tariffs
        self._revisions = revisions
        return frozenset(stale), gone

    def _refresh_cabins(self, session: Session) -> tuple[frozenset[int], frozenset[int]]:
        # Cabin.rates_revision is bumped by whoever changes a cabin's own rates; only
        # cabins that have rates get an index.
        current = {cabin_id: revision for cabin_id, revision in session.execute(
            select(Cabin.id, Cabin.rates_revision)
            .where(Cabin.id.in_(select(Rate.cabin_id).where(Rate.cabin_id.is_not(None)))))}
        stale = [cabin_id for cabin_id, revision in current.items()
                 if self._cabin_revisions.get(cabin_id) != revision]
        gone = frozenset(self._cabins.keys() - current.keys())
        if not stale and not gone:
            return frozenset(), frozenset()
        cabins = {key: value for key, value in self._cabins.items() if key not in gone}
        revisions = {key: value for key, value in self._cabin_revisions.items()
                     if key not in gone}
        for cabin_id in stale:
            # Revision read before the rates, as for tariffs (see _refresh_tariffs).
            cabins[cabin_id] = _build(session.execute(
                select(*_RATE_COLUMNS).where(Rate.cabin_id == cabin_id)))
            revisions[cabin_id] = current[cabin_id]
        self._cabins = cabins
        self._cabin_revisions = revisions
        return frozenset(stale), gone

    # rating ----------------------------------------------------------------------
    def sell_tariff_id(self, cabin: CabinLike) -> int | None:
        """The tariff a cabin sells at: its own, else its shop's default."""
        if cabin.tariff_id is not None:
            return cabin.tariff_id
        shop = self._shops.get(cabin.callshop_id)
        return shop.default_tariff_id if shop is not None else None

    def rate_sell(self, cabin: CabinLike | int, number: str) -> RateTerms | None:
        """The customer's rate for the normalised `number` from `cabin`, or None.

        The cabin's own rates first, then its tariff (see the module doc). Which
        tariff a cabin uses is read from the database at load/refresh, like the
        rates; pass the cabin's id (fastest) or the cabin. A cabin created since the
        last refresh is rated from the object's own `tariff_id`/`callshop_id`.
        """
        route = self._routes.get(cabin if isinstance(cabin, int) else cabin.id)
        if route is None:
            if isinstance(cabin, int):
                return None
            route = self._route(cabin.tariff_id, cabin.callshop_id, cabin.id)
        overrides, tariff = route
        if overrides is not None:
            terms = overrides.lookup(number)
            if terms is not None:
                return terms
        return tariff.lookup(number) if tariff is not None else None

    def rate_buy(self, callshop: Any, number: str) -> RateTerms | None:
        """What the shop pays its reseller for `number` (its buy tariff), or None."""
        return self.rate_tariff(callshop.buy_tariff_id, number)

    def rate_provider(self, reseller: Any, number: str) -> RateTerms | None:
        """What the reseller pays its provider for `number`, or None."""
        return self.rate_tariff(reseller.provider_tariff_id, number)

    def rate_tariff(self, tariff_id: int | None, number: str) -> RateTerms | None:
        """The rate of `number` in one tariff, or None."""
        if tariff_id is None:
            return None
        index = self._tariffs.get(tariff_id)
        return index.lookup(number) if index is not None else None

    # what is loaded --------------------------------------------------------------
    def number_plan(self, callshop_id: int) -> NumberPlan:
        """How the shop's cabins dial (as of the last load/refresh); the default plan
        for a shop not loaded."""
        shop = self._shops.get(callshop_id)
        return shop.plan if shop is not None else NumberPlan()

    def tariff_index(self, tariff_id: int) -> PrefixIndex | None:
        return self._tariffs.get(tariff_id)

    def cabin_index(self, cabin_id: int) -> PrefixIndex | None:
        return self._cabins.get(cabin_id)

    def revision(self, tariff_id: int) -> int | None:
        """The revision of the loaded index of `tariff_id`, or None if not loaded."""
        return self._revisions.get(tariff_id)
