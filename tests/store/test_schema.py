"""Storage on SQLite and PostgreSQL: the schema guards money by itself.

Every test here runs twice (the `session` fixture is parametrised over both backends).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from cashdesk.auth.passwords import hash_password
from cashdesk.auth.roles import Role
from cashdesk.call_state import CallState
from cashdesk.shops import create_callshop, create_reseller
from cashdesk.store.models import (
    Account,
    Cabin,
    CabinSession,
    Call,
    Rate,
    Shift,
    Transaction,
    User,
)

PASSWORD_HASH = hash_password("password1")


@pytest.fixture
def shop(session, clock):
    reseller = create_reseller(session, clock, name="Reseller", currency="EUR")
    created = create_callshop(session, clock, reseller, name="Shop", currency="EUR",
                              admin_username="owner", admin_password="password1")
    session.commit()
    return created


def _cabin(session, shop, name="Cabin 1"):
    cabin = Cabin(callshop_id=shop.callshop.id, name=name, sip_username=f"sip-{name}")
    session.add(cabin)
    session.flush()
    return cabin


def test_money_is_stored_as_integer_sub_units(session, shop):
    account = session.get(Account, shop.callshop.account_id)
    account.balance = Decimal("12.3456")
    session.commit()
    raw = session.execute(text("SELECT balance FROM accounts WHERE id = :id"),
                          {"id": account.id}).scalar_one()
    assert raw == 123456 and isinstance(raw, int)
    session.expire_all()
    assert session.get(Account, account.id).balance == Decimal("12.3456")


def test_money_columns_are_integers_not_numeric(any_engine):
    inspector = inspect(any_engine)
    for table in ("accounts", "rates", "calls", "transactions", "topups", "account_entries"):
        for column in inspector.get_columns(table):
            type_name = str(column["type"]).upper()
            assert "NUMERIC" not in type_name and "FLOAT" not in type_name \
                and "REAL" not in type_name, (table, column["name"], type_name)


def test_float_never_reaches_a_money_column(session, shop):
    account = session.get(Account, shop.callshop.account_id)
    account.balance = 1.5  # type: ignore[assignment]
    with pytest.raises(Exception, match="float"):
        session.flush()


def test_prepaid_balance_cannot_go_negative(session, shop):
    account = session.get(Account, shop.callshop.account_id)
    account.balance = Decimal("-0.01")
    with pytest.raises(IntegrityError):
        session.commit()


def test_postpaid_account_may_go_negative(session, shop):
    reseller_account = session.get(Account, shop.callshop.account.parent_id)
    assert reseller_account.prepaid is False
    reseller_account.balance = Decimal(-100)
    session.commit()


def test_one_open_session_per_cabin(session, shop, clock):
    cabin = _cabin(session, shop)
    session.add(CabinSession(callshop_id=shop.callshop.id, cabin_id=cabin.id,
                             opened_at=clock.now()))
    session.commit()
    session.add(CabinSession(callshop_id=shop.callshop.id, cabin_id=cabin.id,
                             opened_at=clock.now()))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    # a closed session does not block a new one
    open_one = session.scalars(select(CabinSession)).one()
    open_one.closed_at = clock.now()
    session.add(CabinSession(callshop_id=shop.callshop.id, cabin_id=cabin.id,
                             opened_at=clock.now()))
    session.commit()


def test_one_open_shift_per_operator(session, shop, clock):
    operator = User(reseller_id=shop.callshop.reseller_id, callshop_id=shop.callshop.id,
                    username="cashier", password_hash=PASSWORD_HASH, role=Role.OPERATOR,
                    created_at=clock.now())
    session.add(operator)
    session.flush()
    session.add(Shift(callshop_id=shop.callshop.id, operator_id=operator.id,
                      opened_at=clock.now()))
    session.commit()
    session.add(Shift(callshop_id=shop.callshop.id, operator_id=operator.id,
                      opened_at=clock.now()))
    with pytest.raises(IntegrityError):
        session.commit()


def _transaction(shop, cabin_session, operator_id, due, received, change, key="k1"):
    return Transaction(callshop_id=shop.callshop.id, cabin_id=cabin_session.cabin_id,
                       session_id=cabin_session.id, operator_id=operator_id,
                       amount_due=Decimal(due), received=Decimal(received),
                       change=Decimal(change), idempotency_key=key,
                       created_at=datetime.now(UTC))


@pytest.mark.parametrize("due, received, change", [
    ("5.00", "4.99", "-0.01"),   # received less than due
    ("5.00", "10.00", "4.00"),   # change is not the difference
])
def test_transaction_arithmetic_is_enforced(session, shop, clock, due, received, change):
    cabin = _cabin(session, shop)
    cabin_session = CabinSession(callshop_id=shop.callshop.id, cabin_id=cabin.id,
                                 opened_at=clock.now())
    session.add(cabin_session)
    session.flush()
    session.add(_transaction(shop, cabin_session, shop.admin.id, due, received, change))
    with pytest.raises(IntegrityError):
        session.commit()


def test_idempotency_key_is_unique_per_shop(session, shop, clock):
    cabin = _cabin(session, shop)
    sessions = []
    for _ in range(2):
        cabin_session = CabinSession(callshop_id=shop.callshop.id, cabin_id=cabin.id,
                                     opened_at=clock.now(), closed_at=clock.now())
        session.add(cabin_session)
        session.flush()
        sessions.append(cabin_session)
    session.add(_transaction(shop, sessions[0], shop.admin.id, "1", "1", "0", key="same"))
    session.commit()
    session.add(_transaction(shop, sessions[1], shop.admin.id, "1", "1", "0", key="same"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_rate_belongs_to_a_tariff_or_a_cabin_not_both(session, shop):
    cabin = _cabin(session, shop)
    session.add(Rate(tariff_id=shop.sell_tariff.id, cabin_id=cabin.id, prefix="33",
                     price_per_minute=Decimal("0.1")))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    session.add(Rate(tariff_id=None, cabin_id=None, prefix="33",
                     price_per_minute=Decimal("0.1")))
    with pytest.raises(IntegrityError):
        session.commit()


def test_negative_rates_are_refused_by_the_database(session, shop):
    session.add(Rate(tariff_id=shop.sell_tariff.id, prefix="33",
                     price_per_minute=Decimal("-0.1")))
    with pytest.raises(IntegrityError):
        session.commit()


def test_shop_users_need_a_shop_and_resellers_none(session, shop, clock):
    session.add(User(reseller_id=shop.callshop.reseller_id, callshop_id=None,
                     username="lost", password_hash=PASSWORD_HASH, role=Role.OPERATOR,
                     created_at=clock.now()))
    with pytest.raises(IntegrityError):
        session.commit()


def test_foreign_keys_are_enforced(session, shop, clock):
    session.add(CabinSession(callshop_id=shop.callshop.id, cabin_id=999_999,
                             opened_at=clock.now()))
    with pytest.raises(IntegrityError):
        session.commit()


def test_timestamps_come_back_aware_and_exact(session, shop, clock):
    cabin = _cabin(session, shop)
    paris = timezone(timedelta(hours=1))
    started = datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=paris)
    session.add(Call(callshop_id=shop.callshop.id, cabin_id=cabin.id, pbx_call_id="c1",
                     dialed_number="0033123", number="33123", state=CallState.DIALING,
                     started_at=started))
    session.commit()
    session.expire_all()
    call = session.scalars(select(Call)).one()
    assert call.started_at == started
    assert call.started_at.tzinfo is not None and call.started_at.utcoffset() == timedelta(0)
    assert call.state is CallState.DIALING


def test_naive_datetimes_are_refused(session, shop):
    cabin = _cabin(session, shop)
    session.add(Call(callshop_id=shop.callshop.id, cabin_id=cabin.id, pbx_call_id="c1",
                     dialed_number="1", number="1", state=CallState.DIALING,
                     started_at=datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="timezone-aware"):
        session.flush()


def test_pbx_call_ids_are_unique_per_shop(session, shop, clock):
    cabin = _cabin(session, shop)
    for _ in range(2):
        session.add(Call(callshop_id=shop.callshop.id, cabin_id=cabin.id, pbx_call_id="dup",
                         dialed_number="1", number="1", state=CallState.DIALING,
                         started_at=clock.now()))
    with pytest.raises(IntegrityError):
        session.commit()


def test_concurrent_balance_writers_do_not_both_win(any_engine, shop):
    """An account read earlier and written later must not overwrite a newer balance:
    the version column turns that lost update into an error."""
    from sqlalchemy.orm.exc import StaleDataError

    from cashdesk.store.database import session_factory

    sessions = session_factory(any_engine)  # expire_on_commit=False, as the server uses
    with sessions() as first:
        account = first.get(Account, shop.callshop.account_id)
        first.commit()  # the balance is now held in memory, outside any transaction
        with sessions() as second:
            second.get(Account, shop.callshop.account_id).balance = Decimal(30)
            second.commit()
        account.balance = Decimal(20)
        with pytest.raises(StaleDataError):
            first.commit()
