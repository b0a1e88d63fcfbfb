"""Prepared statements write what `Connection.execute` writes, on SQLite and on
PostgreSQL (the `session` fixture runs each test on both), and refuse what they
cannot send as it is."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, select, update
from sqlalchemy.dialects import sqlite

from cashdesk.call_state import CallState
from cashdesk.clock import FakeClock
from cashdesk.store.models import CabinSession, Call
from cashdesk.store.prepared import PreparedStatement, PreparedStatements
from tests.calls.factories import make_shop

PARIS = ZoneInfo("Europe/Paris")


def test_a_call_inserted_and_moved_is_stored_as_execute_stores_it(session):  # type: ignore[no-untyped-def]
    clock = FakeClock()
    shop = make_shop(session, clock)
    row = CabinSession(cabin_id=shop.cabin_ids[0], callshop_id=shop.callshop_id,
                       opened_at=clock.now())
    session.add(row)
    session.flush()
    # Every kind of column the hot path writes: money, an enum, times in another zone
    # (stored in UTC), a flag, nulls; the defaults of the columns left out.
    started = datetime(2026, 3, 29, 3, 30, 15, 123456, tzinfo=PARIS)
    values = {"callshop_id": shop.callshop_id, "cabin_id": shop.cabin_ids[0],
              "dialed_number": "0033612345678", "number": "33612345678",
              "state": CallState.DIALING, "price_per_minute": Decimal("0.1234"),
              "connection_fee": Decimal("0.05"), "initial_increment": 30,
              "started_at": started, "training": True}
    moves = ({"state": CallState.RINGING, "ringing_at": started.astimezone(UTC)},
             {"state": CallState.ANSWERED, "answered_at": datetime(2026, 3, 29, 1, 31,
                                                                   tzinfo=UTC),
              "session_id": row.id},
             {"state": CallState.ENDED, "ended_at": datetime(2026, 3, 29, 3, 40, tzinfo=PARIS),
              "billed_seconds": 540, "price": Decimal("1.1606"), "cost": Decimal("0.4"),
              "hangup_reason": "hung up by caller", "sip_code": None, "session_id": row.id})
    connection = session.connection()
    inserts = PreparedStatements(insert(Call).returning(Call.id))
    updates = PreparedStatements(update(Call).where(Call.id == bindparam("call")))

    executed = connection.execute(insert(Call).returning(Call.id),
                                  {**values, "pbx_call_id": "executed"}).scalar_one()
    prepared = inserts.run(connection, {**values, "pbx_call_id": "prepared"}).fetchone()[0]
    assert prepared == executed + 1

    def stored() -> tuple[dict, dict]:
        rows = {r.pbx_call_id: r._asdict() for r in connection.execute(
            select(Call.__table__).where(Call.id.in_([executed, prepared])))}
        for kept in rows.values():
            del kept["id"], kept["pbx_call_id"]
        return rows["executed"], rows["prepared"]

    first, second = stored()
    assert first == second
    assert second["started_at"] == started and second["destination"] == ""
    for move in moves:
        connection.execute(update(Call).where(Call.id == bindparam("call")),
                           {"call": executed, **move})
        updates.run(connection, {"call": prepared, **move}, move)
        first, second = stored()
        assert first == second, move
    assert second["state"] is CallState.ENDED and second["price"] == Decimal("1.1606")
    assert second["ended_at"] == datetime(2026, 3, 29, 1, 40, tzinfo=UTC)


def test_each_set_of_columns_is_compiled_once(session):  # type: ignore[no-untyped-def]
    updates = PreparedStatements(update(Call).where(Call.id == bindparam("call")))
    connection = session.connection()
    for state in (CallState.RINGING, CallState.ANSWERED):
        updates.run(connection, {"call": 0, "state": state}, ["state"])
    updates.run(connection, {"call": 0, "state": CallState.FAILED, "sip_code": 486},
                ["state", "sip_code"])
    assert len(updates._compiled) == 2
    with pytest.raises(KeyError, match="needs a value for call"):    # as execute would
        updates.run(connection, {"state": CallState.RINGING})


def test_what_cannot_be_sent_as_compiled_is_refused_when_compiled():
    table = Table("things", MetaData(), Column("id", Integer, primary_key=True),
                  Column("name", String), Column("made", String, default=lambda: "now"))
    with pytest.raises(ValueError, match="default computed in Python"):
        PreparedStatement(insert(table), sqlite.dialect(), ["name"])
    # given, the column's default does not matter
    PreparedStatement(insert(table), sqlite.dialect(), ["name", "made"])
    with pytest.raises(ValueError, match="computed at execution"):
        PreparedStatement(update(table).values(name=bindparam("n", callable_=lambda: "x")),
                          sqlite.dialect())
    with pytest.raises(ValueError, match="completed at execution"):   # IN (a list)
        PreparedStatement(select(table).where(table.c.id.in_(bindparam("ids", expanding=True))),
                          sqlite.dialect())
