"""Cabins into Kamailio's `subscriber` table, from the server's database.

The server keeps each cabin's SIP credentials as HA1 (`Cabin.sip_ha1`, of the realm
`Cabin.sip_realm`), never the password; Kamailio's auth_db reads the same HA1 from its
SQLite table on every REGISTER and INVITE. So a cabin added, given a new password,
disabled or deleted through the server is written here at once and Kamailio acts on
it at the phone's next request, without a restart.

A cabin is in the table when it is enabled and has an HA1 of Kamailio's realm. A
disabled or deleted cabin is removed: its phone can neither register nor call (an old
registration stays in Kamailio's memory until it expires, but every INVITE is
challenged and its credentials no longer match). A cabin whose HA1 was made for
another realm (the server's `sip_realm` changed) is left out with a warning: its
password must be reset.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cashdesk.pbx.kamailio.subscribers import SubscriberError, SubscriberTable
from cashdesk.store.models import Cabin

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProvisionResult:
    """What one provisioning step did, by SIP username."""

    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()   # enabled but unusable here (no HA1, other realm)


class CabinProvisioner:
    """Keeps a `SubscriberTable` in line with the cabins in the database. Blocking
    (SQLite on both sides): call it from a database thread, never the event loop."""

    def __init__(self, table: SubscriberTable) -> None:
        self.table = table

    @property
    def realm(self) -> str:
        return self.table.realm

    def _usable(self, cabin: Cabin) -> bool:
        if not cabin.sip_ha1:
            log.warning("cabin %r (%s) has no SIP password yet: not in Kamailio",
                        cabin.name, cabin.sip_username)
            return False
        if cabin.sip_realm != self.realm:
            log.warning("cabin %r (%s): its SIP password was made for realm %r, Kamailio's "
                        "is %r; reset the password to use it", cabin.name,
                        cabin.sip_username, cabin.sip_realm, self.realm)
            return False
        return True

    def sync_all(self, db: Session) -> ProvisionResult:
        """Make the table hold exactly the usable enabled cabins (at server start: the
        table may be new, or older than the database)."""
        before = set(self.table.usernames())
        digests: dict[str, str] = {}
        skipped: list[str] = []
        for cabin in db.scalars(select(Cabin).where(Cabin.enabled.is_(True))):
            if self._usable(cabin):
                digests[cabin.sip_username] = cabin.sip_ha1
            else:
                skipped.append(cabin.sip_username)
        self.table.sync_ha1(digests)
        log.info("Kamailio subscribers: %d cabin(s) written, %d removed", len(digests),
                 len(before - set(digests)))
        return ProvisionResult(tuple(sorted(digests)), tuple(sorted(before - set(digests))),
                               tuple(sorted(skipped)))

    def apply(self, db: Session, sip_username: str) -> ProvisionResult:
        """One cabin changed (created, edited, password reset, disabled, deleted):
        write or remove its row as the database now says. `sip_username` is the one
        it had, so a deleted cabin is still named."""
        cabin = db.scalar(select(Cabin).where(Cabin.sip_username == sip_username))
        if cabin is not None and cabin.enabled and self._usable(cabin):
            try:
                self.table.set_ha1(cabin.sip_username, cabin.sip_ha1)
            except SubscriberError as exc:
                log.error("cabin %r cannot be written to Kamailio: %s", cabin.name, exc)
                self.table.delete(sip_username)
                return ProvisionResult(removed=(sip_username,), skipped=(sip_username,))
            log.info("Kamailio subscriber %s written", sip_username)
            return ProvisionResult(written=(sip_username,))
        removed = self.table.delete(sip_username)
        if removed:
            log.info("Kamailio subscriber %s removed (%s)", sip_username,
                     "deleted" if cabin is None else
                     "disabled" if not cabin.enabled else "unusable")
        skipped = (sip_username,) if cabin is not None and cabin.enabled else ()
        return ProvisionResult(removed=(sip_username,) if removed else (), skipped=skipped)
