"""Cabins from the server's database into Kamailio's subscriber table (HA1 only):
unit tests on SQLite, and against a running Kamailio — a password reset, a disabled
and a deleted cabin take effect at the phone's next request, without a restart."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cashdesk.clock import FakeClock
from cashdesk.pbx.kamailio.provisioning import CabinProvisioner, ProvisionResult
from cashdesk.pbx.kamailio.subscribers import SubscriberError, SubscriberTable, ha1
from cashdesk.store.models import Cabin
from tests.calls.factories import make_shop
from tests.pbx.billing import make_world
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
async def test_cabins_changed_through_the_server_take_effect_in_kamailio_at_once(
        kamailio: Kamailio, billing_sessions: sessionmaker[Session], app_server: Any,
        sipp: SippFactory) -> None:
    """The server's cabin API and a running Kamailio: a new cabin registers with the
    password the API answered; after a password reset the old one is refused and the
    new one works; renamed, it still works; disabled, then deleted, it can no longer
    register. Kamailio is the same process throughout (no restart)."""
    _, token = make_world(billing_sessions, balance="1.00")
    server = await app_server(token)
    cabin = await server.add_cabin("Cabin 1", "cabin1")
    assert kamailio.process is not None
    pid = kamailio.process.pid

    async def registers(password: str) -> bool:
        result = await sipp.cabin("cabin_register", "cabin1", password=password).async_run()
        return result.ok

    assert await registers(cabin.sip_password)
    status, body = await server.request("POST", f"/cabins/{cabin.id}/sip-password")
    assert status == 200, body
    new_password = body["sip_password"]
    assert not await registers(cabin.sip_password)
    assert await registers(new_password)
    assert (await server.request("PATCH", f"/cabins/{cabin.id}", {"name": "Front"}))[0] == 200
    assert await registers(new_password)
    assert (await server.request("PATCH", f"/cabins/{cabin.id}", {"enabled": False}))[0] == 200
    assert not await registers(new_password)
    assert (await server.request("PATCH", f"/cabins/{cabin.id}", {"enabled": True}))[0] == 200
    assert await registers(new_password)
    assert (await server.request("DELETE", f"/cabins/{cabin.id}"))[0] in (200, 204)
    assert not await registers(new_password)
    assert kamailio.process.pid == pid and kamailio.process.poll() is None
