"""Fixtures for call tracking: a desk (tracker + recorded output) on SQLite, and on
both databases for the tests that ask for `any_desk`."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cashdesk.store.database import session_factory


@pytest.fixture
def sessions(sqlite_engine: Engine) -> sessionmaker[Session]:
    return session_factory(sqlite_engine)


@pytest.fixture
def any_sessions(any_engine: Engine) -> sessionmaker[Session]:
    return session_factory(any_engine)

