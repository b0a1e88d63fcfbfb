"""Cabins into Kamailio's `subscriber` table, from the server's database.

The server keeps each cabin's SIP credentials as HA1 (`Cabin.sip_ha1`, of the realm
`Cabin.sip_realm`), never the password; Kamailio's auth_db reads the same HA1 from its
SQLite table on every REGISTER and INVITE. So a cabin added, given a new password,
disabled or deleted through the server is written here at once and Kamailio acts on
it at the phone's next request, without a restart.

A cabin is in the table when it is enabled, has an HA1 of Kamailio's realm and is not
in a training shop (whose calls are make-believe, never charged). A disabled or
deleted cabin is removed: its phone can neither register nor call (an old
registration stays in Kamailio's memory until it expires, but every INVITE is
challenged and its credentials no longer match). A cabin whose HA1 was made for
another realm (the server's `sip_realm` changed) is left out with a warning: its
password must be reset.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from cashdesk.pbx.kamailio.subscribers import SubscriberError, SubscriberTable
from cashdesk.store.models import Cabin, Callshop

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProvisionResult:
    """What one provisioning step did, by SIP username."""

    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()   # enabled but unusable here (no HA1, other realm)


class SipAccount(Protocol):
    """A cabin's SIP account as provisioning needs it (`Cabin` rows, the server's
    `CabinAccount`s)."""

    @property
    def sip_username(self) -> str: ...
    @property
    def sip_realm(self) -> str: ...
    @property
    def sip_ha1(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def training(self) -> bool: ...


@dataclass(frozen=True)
class _Account:
    name: str
    sip_username: str
    sip_realm: str
    sip_ha1: str
    enabled: bool
    training: bool


class CabinProvisioner:
    """Keeps a `SubscriberTable` in line with the cabins. Blocking (SQLite on both
    sides): call it from a worker thread, never the event loop."""

    def __init__(self, table: SubscriberTable) -> None:
        self.table = table

    @property
    def realm(self) -> str:
        return self.table.realm

    def _usable(self, account: SipAccount) -> bool:
        name = getattr(account, "name", account.sip_username)
        if account.training:
            # A training shop's calls are make-believe and never charged: a real phone
            # there would call the carrier for free.
            return False
        if not account.sip_ha1:
            log.warning("cabin %r (%s) has no SIP password yet: not in Kamailio", name,
                        account.sip_username)
            return False
        if account.sip_realm != self.realm:
            log.warning("cabin %r (%s): its SIP password was made for realm %r, Kamailio's "
                        "is %r; reset the password to use it", name, account.sip_username,
                        account.sip_realm, self.realm)
            return False
        return True

    def sync_accounts(self, accounts: Iterable[SipAccount]) -> ProvisionResult:
        """Make the table hold exactly the usable enabled cabins among `accounts` (all
        the cabins there are), in one transaction."""
        before = set(self.table.usernames())
        digests: dict[str, str] = {}
        skipped: list[str] = []
        for account in accounts:
            if not account.enabled:
                continue
            if self._usable(account):
                digests[account.sip_username] = account.sip_ha1
            else:
                skipped.append(account.sip_username)
        self.table.sync_ha1(digests)
        removed = before - set(digests)
        added = set(digests) - before
        if added or removed:
            log.info("Kamailio subscribers: %d cabin(s), %s added, %s removed", len(digests),
                     sorted(added) or "none", sorted(removed) or "none")
        return ProvisionResult(tuple(sorted(digests)), tuple(sorted(removed)),
                               tuple(sorted(skipped)))

    def sync_all(self, db: Session) -> ProvisionResult:
        """`sync_accounts` with every cabin in the database."""
        return self.sync_accounts(_accounts(db))

    def apply(self, db: Session, sip_username: str) -> ProvisionResult:
        """One cabin changed (created, edited, password reset, disabled, deleted):
        write or remove its row as the database now says. `sip_username` is the one
        it had, so a deleted cabin is still named."""
        found = _accounts(db, sip_username)
        account = found[0] if found else None
        if account is not None and account.enabled and self._usable(account):
            try:
                self.table.set_ha1(account.sip_username, account.sip_ha1)
            except SubscriberError as exc:
                log.error("cabin %r cannot be written to Kamailio: %s", account.name, exc)
                self.table.delete(sip_username)
                return ProvisionResult(removed=(sip_username,), skipped=(sip_username,))
            log.info("Kamailio subscriber %s written", sip_username)
            return ProvisionResult(written=(sip_username,))
        removed = self.table.delete(sip_username)
        if removed:
            log.info("Kamailio subscriber %s removed (%s)", sip_username,
                     "deleted" if account is None else
                     "disabled" if not account.enabled else "unusable")
        skipped = (sip_username,) if account is not None and account.enabled else ()
        return ProvisionResult(removed=(sip_username,) if removed else (), skipped=skipped)


def _accounts(db: Session, sip_username: str | None = None) -> list[_Account]:
    query = (select(Cabin.name, Cabin.sip_username, Cabin.sip_realm, Cabin.sip_ha1,
                    Cabin.enabled, Callshop.training)
             .join(Callshop, Callshop.id == Cabin.callshop_id))
    if sip_username is not None:
        query = query.where(Cabin.sip_username == sip_username)
    return [_Account(*row) for row in db.execute(query.order_by(Cabin.id))]
