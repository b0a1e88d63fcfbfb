"""Cabins from the server's database into Kamailio's subscriber table (HA1 only):
unit tests on SQLite, and against a running Kamailio — a password reset, a disabled
and a deleted cabin take effect at the phone's next request, without a restart."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cashdesk.clock import FakeClock
from cashdesk.pbx.kamailio.provisioning import CabinProvisioner, ProvisionResult
from cashdesk.pbx.kamailio.subscribers import SubscriberError, SubscriberTable, ha1
from cashdesk.store.models import Cabin
from tests.calls.factories import make_shop
from tests.pbx.billing import CABIN_PASSWORD, make_kamailio_shop
from tests.pbx.conftest import SippFactory
from tests.pbx.harness import Kamailio


def cabins(sessions: sessionmaker[Session], clock: FakeClock, count: int = 3) -> list[str]:
    with sessions.begin() as db:
        shop = make_shop(db, clock, cabins=count)
        for cabin in db.scalars(select(Cabin).where(Cabin.id.in_(shop.cabin_ids))):
            cabin.sip_realm = "cashdesk"
            cabin.sip_ha1 = ha1(cabin.sip_username, "cashdesk", "pw-" + cabin.sip_username)
        return shop.cabins


def edit(sessions: sessionmaker[Session], username: str, **values: object) -> None:
    with sessions.begin() as db:
        cabin = db.scalars(select(Cabin).where(Cabin.sip_username == username)).one()
        for name, value in values.items():
            setattr(cabin, name, value)


@pytest.fixture
def sessions(billing_sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    return billing_sessions


def test_sync_all_writes_enabled_cabins_of_the_realm(
        sessions: sessionmaker[Session], clock: FakeClock, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    first, second, third = cabins(sessions, clock)
    edit(sessions, second, enabled=False)
    edit(sessions, third, sip_realm="elsewhere")
    table = SubscriberTable(tmp_path / "s.sqlite3")
    table.set_ha1("stale-cabin", ha1("stale-cabin", "cashdesk", "x"))
    with sessions() as db, caplog.at_level(logging.WARNING):
        result = CabinProvisioner(table).sync_all(db)
    assert result == ProvisionResult(written=(first,), removed=("stale-cabin",),
                                     skipped=(third,))
    assert table.usernames() == [first]
    assert table.ha1_of(first) == ha1(first, "cashdesk", "pw-" + first)
    assert "reset the password" in caplog.text


def test_apply_follows_each_change_of_one_cabin(sessions: sessionmaker[Session],
                                                clock: FakeClock, tmp_path: Path) -> None:
    first, _, _ = cabins(sessions, clock)
    table = SubscriberTable(tmp_path / "s.sqlite3")
    provisioner = CabinProvisioner(table)

    def apply() -> ProvisionResult:
        with sessions() as db:
            return provisioner.apply(db, first)

    assert apply() == ProvisionResult(written=(first,))
    edit(sessions, first, sip_ha1=ha1(first, "cashdesk", "new password"))
    apply()
    assert table.ha1_of(first) == ha1(first, "cashdesk", "new password")
    edit(sessions, first, name="Renamed")
    apply()
    assert table.ha1_of(first) == ha1(first, "cashdesk", "new password")
    edit(sessions, first, enabled=False)
    assert apply() == ProvisionResult(removed=(first,))
    assert table.ha1_of(first) is None
    edit(sessions, first, enabled=True)
    apply()
    assert table.ha1_of(first) is not None
    with sessions.begin() as db:
        db.delete(db.scalars(select(Cabin).where(Cabin.sip_username == first)).one())
    assert apply() == ProvisionResult(removed=(first,))
    assert table.usernames() == []
    assert apply() == ProvisionResult()     # gone from both: nothing to do


def test_a_digest_that_is_not_one_is_refused(tmp_path: Path) -> None:
    table = SubscriberTable(tmp_path / "s.sqlite3")
    for digest in ("", "x" * 32, "A" * 32, "0" * 31):
        with pytest.raises(SubscriberError):
            table.set_ha1("cabin1", digest)
    with pytest.raises(SubscriberError):
        table.sync_ha1({"cabin1": "nope"})


@pytest.mark.e2e
async def test_kamailio_follows_the_database_without_a_restart(
        kamailio: Kamailio, billing_sessions: sessionmaker[Session],
        sipp: SippFactory) -> None:
    """A running Kamailio: the provisioned cabin registers; after a password reset the
    old password is refused and the new one works; disabled, then deleted, it can no
    longer register. Kamailio is the same process throughout."""
    shop = make_kamailio_shop(billing_sessions, kamailio, balance="1.00")
    username = shop.cabins[0]
    provisioner = CabinProvisioner(SubscriberTable(kamailio.settings.subscriber_db,
                                                   kamailio.settings.realm))
    pid = kamailio.process.pid if kamailio.process else None

    async def registers(password: str) -> bool:
        result = await sipp.cabin("cabin_register", username, password=password).async_run()
        return result.ok

    def apply() -> None:
        with billing_sessions() as db:
            provisioner.apply(db, username)

    assert await registers(CABIN_PASSWORD)
    edit(billing_sessions, username,
         sip_ha1=ha1(username, kamailio.settings.realm, "a-new-password"))
    apply()
    assert not await registers(CABIN_PASSWORD)
    assert await registers("a-new-password")
    edit(billing_sessions, username, enabled=False)
    apply()
    assert not await registers("a-new-password")
    edit(billing_sessions, username, enabled=True)
    apply()
    assert await registers("a-new-password")
    with billing_sessions.begin() as db:
        db.delete(db.scalars(select(Cabin).where(Cabin.sip_username == username)).one())
    apply()
    assert not await registers("a-new-password")
    assert kamailio.process is not None and kamailio.process.pid == pid
    assert kamailio.process.poll() is None
