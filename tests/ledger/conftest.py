"""Fixtures for ledger tests: a fresh shop on the parametrised `session` (SQLite and
PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from cashdesk.clock import FakeClock
from tests.ledger.factories import ShopRows, make_shop


@pytest.fixture
def shop(session: Session, clock: FakeClock) -> ShopRows:
    """An EUR shop under a postpaid reseller, two cabins, an operator on shift."""
    return make_shop(session, clock)


@pytest.fixture
def prepaid_shop(session: Session, clock: FakeClock) -> ShopRows:
    """Same, but the reseller is prepaid too: calls debit both levels."""
    return make_shop(session, clock, reseller_prepaid=True)
