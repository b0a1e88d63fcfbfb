"""Importing decks into the database (SQLite and PostgreSQL): all or nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cashdesk.clock import FakeClock
from cashdesk.rating.deck import DeckRejected, export_deck, import_deck, parse_deck
from cashdesk.store.models import Rate, Tariff
from tests.rating.conftest import Shop, add_cabin, make_shop

DECK = (b"prefix,destination,rate,connection_fee,initial,subsequent,grace\n"
        b"44,United Kingdom,0.1,0,60,60,0\n"
        b"447,,0.25,0.05,30,6,3\n"
        b"33,France,0.0125,0,1,1,0\n"
        b"1876,,0.3,0,60,60,0\n")

MALFORMED = {
    "bad prefix": b"prefix,rate\n44,0.1\n4a4,0.2\n",
    "negative rate": b"prefix,rate\n44,0.1\n33,-0.2\n",
    "missing column": b"prefix,destination,rate\n44,UK,0.1\n33,France\n",
    "duplicate prefix": b"prefix,rate\n44,0.1\n33,0.2\n44,0.3\n",
    "non-UTF-8 bytes": b"prefix,destination,rate\n44,UK,0.1\n33,Fran\xe7e,0.2\n",
    "missing header column": b"prefix,destination\n44,UK\n",
    "too many decimals": b"44,UK,0.12345\n",
    "bad increment": b"44,UK,0.1,0,0,60\n",
}


def _rates(session: Session, **owner: int) -> list[tuple[object, ...]]:
    column = Rate.tariff_id if "tariff_id" in owner else Rate.cabin_id
    return [tuple(row) for row in session.execute(
        select(Rate.prefix, Rate.destination, Rate.price_per_minute, Rate.connection_fee,
               Rate.initial_increment, Rate.subsequent_increment, Rate.grace_seconds)
        .where(column == next(iter(owner.values()))).order_by(Rate.prefix))]


def test_import_into_a_tariff(session: Session, clock: FakeClock, shop: Shop) -> None:
    tariff = shop.sell_tariff
    clock.advance(60)
    report = import_deck(session, clock, tariff=tariff, data=DECK)
    session.commit()
    assert (report.imported, report.replaced, report.names_filled) == (4, 0, 2)
    assert report.tariff_id == tariff.id and report.cabin_id is None
    assert report.revision == 1
    session.expire_all()
    stored = session.get_one(Tariff, tariff.id)
    assert stored.revision == 1 and stored.updated_at == clock.now()
    assert _rates(session, tariff_id=tariff.id) == [
        ("1876", "Jamaica", Decimal("0.3"), Decimal(0), 60, 60, 0),
        ("33", "France", Decimal("0.0125"), Decimal(0), 1, 1, 0),
        ("44", "United Kingdom", Decimal("0.1"), Decimal(0), 60, 60, 0),
        ("447", "United Kingdom", Decimal("0.25"), Decimal("0.05"), 30, 6, 3),
    ]


def test_a_second_import_replaces_everything(session: Session, clock: FakeClock,
                                             shop: Shop) -> None:
    import_deck(session, clock, tariff=shop.sell_tariff, data=DECK)
    session.commit()
    report = import_deck(session, clock, tariff=shop.sell_tariff, data=b"49,Germany,0.02\n")
    session.commit()
    assert (report.imported, report.replaced, report.revision) == (1, 4, 2)
    assert [row[0] for row in _rates(session, tariff_id=shop.sell_tariff.id)] == ["49"]


def test_destination_names_in_the_shops_language(session: Session, clock: FakeClock) -> None:
    arabic = make_shop(session, clock, name="Hanout", locale="ar_MA")
    import_deck(session, clock, tariff=arabic.sell_tariff, data=b"212,0.2\n44,0.1\n",
                locale=arabic.callshop.locale)
    session.commit()
    names = {row[0]: row[1] for row in _rates(session, tariff_id=arabic.sell_tariff.id)}
    assert names == {"212": "المغرب", "44": "المملكة المتحدة"}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_rejected_deck_leaves_the_tariff_unchanged(session: Session, clock: FakeClock,
                                                   shop: Shop, case: str) -> None:
    tariff = shop.sell_tariff
    import_deck(session, clock, tariff=tariff, data=DECK)
    session.commit()
    before = _rates(session, tariff_id=tariff.id)
    updated_at = session.get_one(Tariff, tariff.id).updated_at
    clock.advance(3600)

    with pytest.raises(DeckRejected) as rejected:
        import_deck(session, clock, tariff=tariff, data=MALFORMED[case])
    session.commit()  # even committing afterwards changes nothing

    assert rejected.value.errors == parse_deck(MALFORMED[case]).errors
    assert all(error.line >= 1 and error.reason for error in rejected.value.errors)
    session.expire_all()
    assert _rates(session, tariff_id=tariff.id) == before
    stored = session.get_one(Tariff, tariff.id)
    assert stored.revision == 1 and stored.updated_at == updated_at


def test_rejection_message_lists_the_lines(session: Session, clock: FakeClock,
                                           shop: Shop) -> None:
    with pytest.raises(DeckRejected, match=r"2 bad lines: line 2: .*; line 3: "):
        import_deck(session, clock, tariff=shop.sell_tariff, data=b"prefix,rate\n4a,1\n5,-1\n")


def test_cabin_rates(session: Session, clock: FakeClock, shop: Shop) -> None:
    cabin = add_cabin(session, shop, "Cabin 1")
    import_deck(session, clock, tariff=shop.sell_tariff, data=DECK)
    report = import_deck(session, clock, cabin=cabin, data=b"44,UK special,0.05\n")
    session.commit()
    assert report.cabin_id == cabin.id and report.tariff_id is None
    assert report.revision is None
    assert _rates(session, cabin_id=cabin.id) == [
        ("44", "UK special", Decimal("0.05"), Decimal(0), 60, 60, 0)]
    # The tariff's own 44 is untouched.
    assert len(_rates(session, tariff_id=shop.sell_tariff.id)) == 4


def test_tariff_or_cabin_exactly_one(session: Session, clock: FakeClock, shop: Shop) -> None:
    cabin = add_cabin(session, shop, "Cabin 1")
    with pytest.raises(ValueError):
        import_deck(session, clock, data=DECK)
    with pytest.raises(ValueError):
        import_deck(session, clock, tariff=shop.sell_tariff, cabin=cabin, data=DECK)


def test_export_round_trip(session: Session, clock: FakeClock, shop: Shop) -> None:
    import_deck(session, clock, tariff=shop.sell_tariff,
                data=DECK + b'82,"Korea, Republic of",0.0301,0.0001,1,1,2\n')
    session.commit()
    exported = export_deck(session, tariff=shop.sell_tariff)
    assert exported.startswith("prefix,destination,rate_per_minute,")
    assert '82,"Korea, Republic of",0.0301,0.0001,1,1,2' in exported

    other = session.get_one(Tariff, shop.sell_tariff.id)
    copy = Tariff(reseller_id=other.reseller_id, callshop_id=other.callshop_id, name="Copy",
                  currency=other.currency, updated_at=clock.now() + timedelta(seconds=1))
    session.add(copy)
    session.flush()
    import_deck(session, clock, tariff=copy, data=exported.encode())
    session.commit()
    assert _rates(session, tariff_id=copy.id) == _rates(session, tariff_id=other.id)
    assert export_deck(session, tariff=copy) == exported


def test_export_of_a_cabin(session: Session, clock: FakeClock, shop: Shop) -> None:
    cabin = add_cabin(session, shop, "Cabin 1")
    import_deck(session, clock, cabin=cabin, data=b"33,France,0.5\n")
    assert export_deck(session, cabin=cabin).splitlines()[1] == "33,France,0.5,0,60,60,0"
