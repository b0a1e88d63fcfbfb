"""Shared fixtures: an injected clock, and a migrated database per test on SQLite and,
for tests that ask for `any_engine`, on PostgreSQL too (marked `pg`)."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from cashdesk.clock import FakeClock
from cashdesk.store.database import open_engine, session_factory, upgrade
from tests.support.pg import Cluster, PostgresUnavailable

IN_CI = os.environ.get("CI", "").lower() == "true"
_counter = itertools.count()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = open_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection to close folds the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "cashdesk.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = open_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    try:
        cluster = Cluster().start()
    except (PostgresUnavailable, OSError) as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"no PostgreSQL here: {exc}")
    admin = open_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE cashdesk_template"))
    template = open_engine(cluster.url("cashdesk_template"))
    upgrade(template)
    template.dispose()
    admin.dispose()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_engine(pg_cluster: Cluster) -> Iterator[Engine]:
    name = f"test_{os.getpid()}_{next(_counter)}"
    admin = open_engine(pg_cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE cashdesk_template"))
    engine = open_engine(pg_cluster.url(name))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def any_engine(request: pytest.FixtureRequest) -> Engine:
    """The same test on SQLite and on PostgreSQL."""
    return request.getfixturevalue("sqlite_engine" if request.param == "sqlite" else "pg_engine")


@pytest.fixture
def session(any_engine: Engine) -> Iterator[Session]:
    with session_factory(any_engine)() as db_session:
        yield db_session


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say plainly how many storage-backed tests ran on each database."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if getattr(report, "when", "call") not in ("call", "setup"):
                continue
            if outcome == "passed" and report.when != "call":
                continue
            for backend in ("sqlite", "postgresql"):
                if f"[{backend}" in nodeid or f"-{backend}]" in nodeid or \
                        f"-{backend}-" in nodeid:
                    counts.setdefault(backend, {}).setdefault(outcome, 0)
                    counts[backend][outcome] += 1
    if counts:
        terminalreporter.section("database backends")
        for backend, outcomes in sorted(counts.items()):
            parts = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
            terminalreporter.write_line(f"{backend}: {parts}")
