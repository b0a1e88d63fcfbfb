"""The cabins' SIP credentials in Kamailio's subscriber table."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

import pytest

from cashdesk.pbx.kamailio.subscribers import SubscriberError, SubscriberTable, ha1

KAMAILIO_SCHEMA = Path("/usr/share/kamailio/db_sqlite/auth_db-create.sql")


def rows(path: Path) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(
            "SELECT username, domain, password, ha1 FROM subscriber ORDER BY username").fetchall()


def test_ha1_is_md5_of_user_realm_password() -> None:
    assert ha1("cabin1", "cashdesk", "s3cret") == hashlib.md5(b"cabin1:cashdesk:s3cret").hexdigest()


def test_set_stores_ha1_only_and_updates_in_place(tmp_path: Path) -> None:
    table = SubscriberTable(tmp_path / "s.sqlite3")
    table.set("cabin1", "first")
    table.set("cabin2", "other")
    table.set("cabin1", "second")
    assert rows(table.path) == [("cabin1", "", "", ha1("cabin1", "cashdesk", "second")),
                                ("cabin2", "", "", ha1("cabin2", "cashdesk", "other"))]
    assert table.usernames() == ["cabin1", "cabin2"]


def test_delete_and_sync(tmp_path: Path) -> None:
    table = SubscriberTable(tmp_path / "s.sqlite3", realm="shop")
    table.set("cabin1", "a")
    assert table.delete("cabin1") is True
    assert table.delete("cabin1") is False
    table.sync({"c1": "x", "c2": "y"})
    table.sync({"c2": "z", "c3": "w"})
    assert table.usernames() == ["c2", "c3"]
    assert rows(table.path)[0][3] == ha1("c2", "shop", "z")


def test_rename_needs_the_password(tmp_path: Path) -> None:
    table = SubscriberTable(tmp_path / "s.sqlite3")
    table.set("old", "pw")
    table.rename("old", "new", "pw")
    assert table.usernames() == ["new"]


@pytest.mark.parametrize("username", ["", "with space", "a@b", "x" * 65, 'quo"te'])
def test_bad_usernames_are_refused(tmp_path: Path, username: str) -> None:
    with pytest.raises(SubscriberError):
        SubscriberTable(tmp_path / "s.sqlite3").set(username, "pw")


def test_empty_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SubscriberError):
        SubscriberTable(tmp_path / "s.sqlite3").set("cabin1", "")


def test_tables_match_kamailios_schema_and_versions(tmp_path: Path) -> None:
    table = SubscriberTable(tmp_path / "s.sqlite3")
    table.create()
    table.create()  # idempotent
    with sqlite3.connect(table.path) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(subscriber)")]
        versions = dict(connection.execute("SELECT table_name, table_version FROM version"))
    assert columns == ["id", "username", "domain", "password", "ha1", "ha1b"]
    assert versions == {"version": 1, "subscriber": 7}
    if KAMAILIO_SCHEMA.exists():  # the packaged schema, when Kamailio is installed
        sql = KAMAILIO_SCHEMA.read_text()
        assert re.findall(r"^    (\w+) ", sql, re.MULTILINE)[:6] == columns
        assert "('subscriber','7')" in sql.replace(" ", "")
