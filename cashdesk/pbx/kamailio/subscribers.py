"""The cabins' SIP credentials in Kamailio's `subscriber` table (SQLite, auth_db).

Only HA1 = md5(username:realm:password) is stored (auth_db `calculate_ha1=0`), never
the password. Kamailio reads the table on every authentication, so adding, changing
or removing a cabin takes effect at once, without a Kamailio restart.

The tables are Kamailio's own (`/usr/share/kamailio/db_sqlite/standard-create.sql`
and `auth_db-create.sql`), with their standard column names and the `version` rows
auth_db checks when it starts.
"""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

from cashdesk.pbx.kamailio.config import DEFAULT_REALM

SUBSCRIBER_TABLE_VERSION = 7

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS version (
    id INTEGER PRIMARY KEY NOT NULL,
    table_name VARCHAR(32) NOT NULL,
    table_version INTEGER DEFAULT 0 NOT NULL,
    CONSTRAINT version_table_name_idx UNIQUE (table_name)
);
CREATE TABLE IF NOT EXISTS subscriber (
    id INTEGER PRIMARY KEY NOT NULL,
    username VARCHAR(64) DEFAULT '' NOT NULL,
    domain VARCHAR(64) DEFAULT '' NOT NULL,
    password VARCHAR(64) DEFAULT '' NOT NULL,
    ha1 VARCHAR(128) DEFAULT '' NOT NULL,
    ha1b VARCHAR(128) DEFAULT '' NOT NULL,
    CONSTRAINT subscriber_account_idx UNIQUE (username, domain)
);
CREATE INDEX IF NOT EXISTS subscriber_username_idx ON subscriber (username);
INSERT OR IGNORE INTO version (table_name, table_version) VALUES ('version', 1);
INSERT OR IGNORE INTO version (table_name, table_version)
    VALUES ('subscriber', {SUBSCRIBER_TABLE_VERSION});
"""

# SIP user part characters a cabin name may use (RFC 3261 "unreserved" minus the
# escapes): anything else would need quoting in the digest or the URI.
_USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            "0123456789-_.!~*'()&=+$,;?/")


class SubscriberError(ValueError):
    """A username or password Kamailio could not authenticate."""


def ha1(username: str, realm: str, password: str) -> str:
    """The digest HA1 Kamailio compares against: md5 of `username:realm:password`."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()


def _check_username(username: str) -> None:
    if not username or len(username) > 64 or not set(username) <= _USERNAME_CHARS:
        raise SubscriberError(f"SIP username {username!r}: 1–64 characters from "
                              "letters, digits and -_.!~*'()&=+$,;?/")


def _check_ha1(digest: str) -> None:
    if len(digest) != 32 or any(c not in "0123456789abcdef" for c in digest):
        raise SubscriberError("HA1 must be 32 lower-case hex digits (an MD5 digest)")


class SubscriberTable:
    """The `subscriber` table of one SQLite file (created on first use).

    Each call opens and closes its own connection: provisioning is rare, and Kamailio
    holds the file open in WAL mode so neither side blocks the other for long.
    """

    def __init__(self, path: Path, realm: str = DEFAULT_REALM) -> None:
        self.path = Path(path)
        self.realm = realm

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=5.0)
        connection.execute("PRAGMA journal_mode=WAL")
        return connection

    def create(self) -> None:
        """Create the tables Kamailio's auth_db needs, if they are not there yet."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as connection, connection:
            connection.executescript(_SCHEMA)

    def set(self, username: str, password: str) -> None:
        """Add the cabin, or change its password."""
        if not password:
            raise SubscriberError("an empty SIP password")
        self.set_ha1(username, ha1(username, self.realm, password))

    def set_ha1(self, username: str, digest: str) -> None:
        """Add the cabin, or change its credentials, from the HA1 the server keeps
        (it never keeps the password). The digest must be of this table's realm."""
        _check_username(username)
        _check_ha1(digest)
        self.create()
        with closing(self._connect()) as connection, connection:
            connection.execute(
                "INSERT INTO subscriber (username, domain, password, ha1, ha1b) "
                "VALUES (?, '', '', ?, '') "
                "ON CONFLICT (username, domain) DO UPDATE SET ha1 = excluded.ha1, "
                "password = ''",
                (username, digest))

    def delete(self, username: str) -> bool:
        """Remove the cabin; False when it was not there. Its registration stays in
        Kamailio's memory until it expires, but it can no longer authenticate."""
        self.create()
        with closing(self._connect()) as connection, connection:
            cursor = connection.execute("DELETE FROM subscriber WHERE username = ?",
                                        (username,))
            return cursor.rowcount > 0

    def rename(self, old: str, new: str, password: str) -> None:
        """A cabin's SIP username changed: HA1 depends on it, so the password is needed."""
        _check_username(new)
        self.create()
        with closing(self._connect()) as connection, connection:
            connection.execute("DELETE FROM subscriber WHERE username = ?", (old,))
        self.set(new, password)

    def usernames(self) -> list[str]:
        self.create()
        with closing(self._connect()) as connection:
            rows = connection.execute(
                "SELECT username FROM subscriber ORDER BY username").fetchall()
        return [str(row[0]) for row in rows]

    def sync(self, credentials: dict[str, str]) -> None:
        """Make the table hold exactly these cabins (username → password)."""
        self.sync_ha1({user: ha1(user, self.realm, password)
                       for user, password in credentials.items()})

    def sync_ha1(self, digests: dict[str, str]) -> None:
        """Make the table hold exactly these cabins (username → HA1), in one
        transaction: Kamailio never sees a half-written table."""
        for username, digest in digests.items():
            _check_username(username)
            _check_ha1(digest)
        self.create()
        with closing(self._connect()) as connection, connection:
            connection.execute("DELETE FROM subscriber")
            connection.executemany(
                "INSERT INTO subscriber (username, domain, password, ha1, ha1b) "
                "VALUES (?, '', '', ?, '')", list(digests.items()))

    def ha1_of(self, username: str) -> str | None:
        """The stored HA1 of a cabin, None when it is not in the table."""
        self.create()
        with closing(self._connect()) as connection:
            row = connection.execute("SELECT ha1 FROM subscriber WHERE username = ?",
                                     (username,)).fetchone()
        return None if row is None else str(row[0])
