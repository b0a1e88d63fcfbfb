"""The rating engine over the database: sell, buy and provider rates, and refreshes."""

from __future__ import annotations

import threading
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cashdesk.clock import FakeClock
from cashdesk.money import Money
from cashdesk.rating.deck import import_deck
from cashdesk.rating.pricing import RateTerms, charge
from cashdesk.rating.rater import Rater
from cashdesk.store.models import Rate, Reseller, Tariff
from tests.rating.conftest import Shop, add_buy_tariff, add_cabin

SELL = b"44,United Kingdom,0.10\n447,UK mobile,0.20\n33,France,0.05\n"


def _loaded(session: Session) -> Rater:
    rater = Rater()
    rater.load(session)
    return rater


def _prefix(terms: RateTerms | None) -> str | None:
    return terms.prefix if terms is not None else None


def _price(terms: RateTerms | None) -> Decimal | None:
    return terms.price_per_minute if terms is not None else None


def test_sell_rate_from_the_shops_default_tariff(session: Session, clock: FakeClock,
                                                 shop: Shop) -> None:
    cabin = add_cabin(session, shop, "Cabin 1")
    import_deck(session, clock, tariff=shop.sell_tariff, data=SELL)
    session.commit()
    rater = _loaded(session)
    assert _prefix(rater.rate_sell(cabin, "447911123456")) == "447"
    assert _prefix(rater.rate_sell(cabin.id, "442079460958")) == "44"
    assert rater.rate_sell(cabin, "4915112345678") is None
    assert rater.sell_tariff_id(cabin) == shop.sell_tariff.id


def test_cabin_tariff_beats_the_shop_default(session: Session, clock: FakeClock,
                                             shop: Shop) -> None:
    vip = Tariff(reseller_id=shop.reseller.id, callshop_id=shop.callshop.id, name="VIP",
                 currency="EUR", updated_at=clock.now())
    session.add(vip)
    session.flush()
    import_deck(session, clock, tariff=shop.sell_tariff, data=SELL)
    import_deck(session, clock, tariff=vip, data=b"44,UK,0.08\n")
    plain, special = add_cabin(session, shop, "Cabin 1"), add_cabin(session, shop, "VIP", vip)
    session.commit()
    rater = _loaded(session)
    assert _price(rater.rate_sell(plain, "447911123456")) == Decimal("0.2")
    assert _price(rater.rate_sell(special, "447911123456")) == Decimal("0.08")
    # The cabin's tariff has no rate for France: no fallback to the shop's default.
    assert rater.rate_sell(special, "33123456789") is None


def test_cabin_rates_override_even_a_longer_tariff_prefix(session: Session, clock: FakeClock,
                                                          shop: Shop) -> None:
    cabin = add_cabin(session, shop, "Cabin 3")
    other = add_cabin(session, shop, "Cabin 4")
    import_deck(session, clock, tariff=shop.sell_tariff, data=SELL)
    import_deck(session, clock, cabin=cabin, data=b"44,All of the UK,0.15\n")
    session.commit()
    rater = _loaded(session)
    # The override "44" wins over the tariff's "447" for this cabin only.
    assert _price(rater.rate_sell(cabin, "447911123456")) == Decimal("0.15")
    assert _price(rater.rate_sell(other, "447911123456")) == Decimal("0.2")
    # No override matches France: the tariff applies.
    assert _prefix(rater.rate_sell(cabin, "33123456789")) == "33"
    assert len(rater.cabin_index(cabin.id) or ()) == 1


def test_buy_and_provider_rates(session: Session, clock: FakeClock, shop: Shop) -> None:
    cost = add_buy_tariff(session, clock, shop, "Shop cost")
    provider = add_buy_tariff(session, clock, shop, "Provider")
    import_deck(session, clock, tariff=shop.sell_tariff, data=SELL)
    import_deck(session, clock, tariff=cost, data=b"44,UK,0.04\n447,UK mobile,0.09\n")
    import_deck(session, clock, tariff=provider, data=b"44,UK,0.02\n")
    shop.callshop.buy_tariff_id = cost.id
    reseller = session.get_one(Reseller, shop.reseller.id)
    reseller.provider_tariff_id = provider.id
    session.commit()
    rater = _loaded(session)
    number = "447911123456"
    assert _price(rater.rate_buy(shop.callshop, number)) == Decimal("0.09")
    assert _price(rater.rate_provider(reseller, number)) == Decimal("0.02")
    assert rater.rate_buy(shop.callshop, "33123") is None

    reseller.provider_tariff_id = None
    assert rater.rate_provider(reseller, number) is None


def test_no_tariff_no_rate(session: Session, clock: FakeClock, shop: Shop) -> None:
    cabin = add_cabin(session, shop, "Cabin 1")
    session.commit()
    rater = _loaded(session)
    assert rater.rate_sell(cabin, "44") is None           # default tariff is empty
    assert rater.rate_buy(shop.callshop, "44") is None    # no buy tariff
    assert rater.rate_sell(999_999, "44") is None         # unknown cabin id
    assert rater.rate_tariff(None, "44") is None


def test_refresh_rebuilds_only_what_changed(session: Session, clock: FakeClock,
                                            shop: Shop) -> None:
    cost = add_buy_tariff(session, clock, shop, "Shop cost")
    import_deck(session, clock, tariff=shop.sell_tariff, data=SELL)
    import_deck(session, clock, tariff=cost, data=b"44,UK,0.04\n")
    session.commit()
    rater = _loaded(session)
    assert not rater.refresh(session).changed

    old_sell = rater.tariff_index(shop.sell_tariff.id)
    old_cost = rater.tariff_index(cost.id)
    import_deck(session, clock, tariff=shop.sell_tariff, data=b"44,UK,0.11\n")
    session.commit()
    report = rater.refresh(session)
    assert report.tariffs == {shop.sell_tariff.id} and not report.cabins
    assert rater.tariff_index(cost.id) is old_cost
    new_sell = rater.tariff_index(shop.sell_tariff.id)
    assert new_sell is not old_sell
    # The old index was replaced, never changed: a reader holding it saw a whole set.
    assert old_sell is not None and len(old_sell) == 3 and new_sell is not None
    assert _price(new_sell.lookup("447911")) == Decimal("0.11")
    assert rater.revision(shop.sell_tariff.id) == 2


def test_refresh_drops_deleted_tariffs(session: Session, clock: FakeClock, shop: Shop) -> None:
    cost = add_buy_tariff(session, clock, shop, "Old cost")
    import_deck(session, clock, tariff=cost, data=b"44,UK,0.04\n")
    session.commit()
    rater = _loaded(session)
    session.execute(delete(Rate).where(Rate.tariff_id == cost.id))
    session.delete(session.get_one(Tariff, cost.id))
    session.commit()
    report = rater.refresh(session)
    assert report.removed_tariffs == {cost.id}
    assert rater.tariff_index(cost.id) is None and rater.rate_tariff(cost.id, "44") is None


def test_refresh_sees_cabin_rate_changes(session: Session, clock: FakeClock,
                                         shop: Shop) -> None:
    cabin = add_cabin(session, shop, "Cabin 1")
    import_deck(session, clock, tariff=shop.sell_tariff, data=SELL)
    session.commit()
    rater = _loaded(session)

    import_deck(session, clock, cabin=cabin, data=b"44,UK,0.15\n")
    session.commit()
    assert rater.refresh(session).cabins == {cabin.id}
    assert _price(rater.rate_sell(cabin, "4420")) == Decimal("0.15")

    # Re-priced in place (as the rates screen does): the cabin's revision is bumped.
    rate = session.scalars(select(Rate).where(Rate.cabin_id == cabin.id)).one()
    rate.price_per_minute = Decimal("0.16")
    cabin.rates_revision += 1
    session.commit()
    assert rater.refresh(session).cabins == {cabin.id}
    assert _price(rater.rate_sell(cabin, "4420")) == Decimal("0.16")

    # Nothing changed: nothing rebuilt. Invalidated: rebuilt.
    assert not rater.refresh(session).changed
    rater.invalidate_cabin(cabin.id)
    assert rater.refresh(session).cabins == {cabin.id}

    session.execute(delete(Rate).where(Rate.cabin_id == cabin.id))
    session.commit()
    assert rater.refresh(session).removed_cabins == {cabin.id}
    assert _price(rater.rate_sell(cabin, "4420")) == Decimal("0.1")


def test_refresh_sees_a_cabin_moved_to_another_tariff(session: Session, clock: FakeClock,
                                                      shop: Shop) -> None:
    vip = Tariff(reseller_id=shop.reseller.id, callshop_id=shop.callshop.id, name="VIP",
                 currency="EUR", updated_at=clock.now())
    session.add(vip)
    session.flush()
    import_deck(session, clock, tariff=shop.sell_tariff, data=SELL)
    import_deck(session, clock, tariff=vip, data=b"44,UK,0.08\n")
    cabin = add_cabin(session, shop, "Cabin 1")
    session.commit()
    rater = _loaded(session)
    assert _price(rater.rate_sell(cabin.id, "4420")) == Decimal("0.1")
    cabin.tariff_id = vip.id
    session.commit()
    rater.refresh(session)
    assert _price(rater.rate_sell(cabin.id, "4420")) == Decimal("0.08")


def test_a_cabin_added_after_the_load_is_rated_from_its_row(session: Session,
                                                            clock: FakeClock,
                                                            shop: Shop) -> None:
    import_deck(session, clock, tariff=shop.sell_tariff, data=SELL)
    session.commit()
    rater = _loaded(session)
    cabin = add_cabin(session, shop, "New cabin")
    session.commit()
    assert _prefix(rater.rate_sell(cabin, "4420")) == "44"
    assert rater.rate_sell(cabin.id, "4420") is None  # by id it is unknown until refresh
    rater.refresh(session)
    assert _prefix(rater.rate_sell(cabin.id, "4420")) == "44"


def test_number_plan_per_shop(session: Session, clock: FakeClock, shop: Shop) -> None:
    shop.callshop.international_prefixes = "00"
    shop.callshop.national_prefix = "0"
    shop.callshop.country_code = "44"
    session.commit()
    rater = _loaded(session)
    plan = rater.number_plan(shop.callshop.id)
    assert plan.normalise("0114 496 0000") == "441144960000"
    assert rater.number_plan(12345).normalise("0044") == "44"  # unknown shop: default plan


def test_a_bad_numbering_plan_does_not_stop_rating(session: Session, clock: FakeClock,
                                                   shop: Shop) -> None:
    cabin = add_cabin(session, shop, "Cabin 1")
    import_deck(session, clock, tariff=shop.sell_tariff, data=SELL)
    shop.callshop.country_code = "UK"
    session.commit()
    rater = _loaded(session)
    assert rater.number_plan(shop.callshop.id).country_code == ""
    assert rater.rate_sell(cabin, "4420") is not None


def test_from_dialled_digits_to_the_bill(session: Session, clock: FakeClock,
                                         shop: Shop) -> None:
    cabin = add_cabin(session, shop, "Cabin 1")
    import_deck(session, clock, tariff=shop.sell_tariff,
                data=b"447,UK mobile,0.20,0.05,30,6\n")
    session.commit()
    rater = _loaded(session)
    number = rater.number_plan(shop.callshop.id).normalise("+44 7911 123456")
    terms = rater.rate_sell(cabin, number)
    assert terms is not None
    # 95.2 s on 30/6 → 96 s; 0.05 + 96 × 0.20 / 60 = 0.37
    assert charge(terms, 95_200, shop.callshop.currency).amount == Money.of("0.37", "EUR")


def test_readers_never_see_a_half_built_index(session: Session, clock: FakeClock,
                                              shop: Shop) -> None:
    cabin = add_cabin(session, shop, "Cabin 1")
    deck_a = b"".join(f"44{n:03d},A,0.10\n".encode() for n in range(500))
    deck_b = b"".join(f"44{n:03d},B,0.20\n".encode() for n in range(500))
    import_deck(session, clock, tariff=shop.sell_tariff, data=deck_a)
    session.commit()
    rater = _loaded(session)
    seen: set[object] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            index = rater.tariff_index(shop.sell_tariff.id)
            assert index is not None
            prices = {terms.price_per_minute for terms in index}
            seen.add((len(index), frozenset(prices)))
            assert rater.rate_sell(cabin.id, "44123456") is not None

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for deck in (deck_b, deck_a, deck_b):
            import_deck(session, clock, tariff=shop.sell_tariff, data=deck)
            session.commit()
            rater.refresh(session)
    finally:
        stop.set()
        reader.join()
    assert seen <= {(500, frozenset({Decimal("0.1")})), (500, frozenset({Decimal("0.2")}))}


def test_load_again_replaces_everything_and_drops_what_is_gone(session: Session,
                                                               clock: FakeClock,
                                                               shop: Shop) -> None:
    cost = add_buy_tariff(session, clock, shop, "Old cost")
    import_deck(session, clock, tariff=cost, data=b"44,UK,0.04\n")
    import_deck(session, clock, tariff=shop.sell_tariff, data=SELL)
    session.commit()
    rater = _loaded(session)
    before = rater.tariff_index(shop.sell_tariff.id)
    session.execute(delete(Rate).where(Rate.tariff_id == cost.id))
    session.delete(session.get_one(Tariff, cost.id))
    session.commit()
    rater.load(session)
    assert rater.tariff_index(cost.id) is None
    after = rater.tariff_index(shop.sell_tariff.id)
    assert after is not None and after is not before and len(after) == len(SELL.splitlines())
