"""Alembic builds the whole schema from an empty database, matches the models exactly,
and can go down and up again, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from cashdesk.store.database import alembic_config, current_revision, open_engine, upgrade
from cashdesk.store.models import Base


def _assert_matches_models(engine):
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == [], diff


def test_migrations_build_the_models_exactly(any_engine):
    assert current_revision(any_engine) is not None
    _assert_matches_models(any_engine)


def test_downgrade_to_empty_and_back(any_engine):
    command.downgrade(alembic_config(any_engine), "base")
    assert set(inspect(any_engine).get_table_names()) <= {"alembic_version"}
    upgrade(any_engine)
    _assert_matches_models(any_engine)


def test_upgrade_from_empty_sqlite_file(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'sub' / 'new.sqlite3'}")
    upgrade(engine)
    assert "calls" in inspect(engine).get_table_names()
    upgrade(engine)  # a second run is a no-op
    engine.dispose()


def test_sqlite_runs_with_wal_foreign_keys_and_full_sync(sqlite_engine):
    with sqlite_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_sqlite_readers_never_wait_for_a_writer(sqlite_engine):
    """A till reading its screen must not queue behind a payment being written."""
    import time

    from sqlalchemy import text

    from cashdesk.store.database import reader_factory, session_factory

    with session_factory(sqlite_engine)() as writer:
        writer.execute(text("UPDATE accounts SET balance = 0"))  # holds the write lock
        started = time.monotonic()
        with reader_factory(sqlite_engine)() as reader:
            reader.execute(text("SELECT count(*) FROM accounts")).scalar_one()
        assert time.monotonic() - started < 1.0  # busy_timeout is 10 s
        writer.rollback()
