"""The places cabins call from (`calls.authorisation.Place`), kept in memory so that the
next call from a cabin can be decided without the database (`CallTracker.
authorise_from_memory`, on the event loop, while the writer thread is busy elsewhere).

A place is read by the writer thread, inside its transaction, and kept with the
generation it was read in. Any statement that writes a table a place is made of
(`PLACE_TABLES`; for accounts, anything but the balance, which the prepaid guard keeps)
starts a new generation, forgetting every place: a cabin disabled, a shop suspended, a
destination blocked take effect on the very next call. On SQLite the writer's
transaction excludes every other writer, so a place is never read while such a write
is uncommitted. A write this process cannot see (another process, or a PostgreSQL
transaction racing the read) is caught when the call starts: the writer rates it again
from the database and cuts it if it is refused now (`CallTracker._started`).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from sqlalchemy import Engine, event

from cashdesk.calls.authorisation import Place

#: The tables a place is read from.
PLACE_TABLES = frozenset({"cabins", "callshops", "resellers", "accounts"})
#: Columns of `accounts` that billing moves on every charge and top-up (not the place's).
_BALANCE_COLUMNS = frozenset({"balance", "version"})

_WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
_SET = re.compile(r"\bSET\s+(.*?)\s+WHERE\b", re.IGNORECASE | re.DOTALL)
_ASSIGNED = re.compile(r'"?(\w+)"?\s*=')


def writes_a_place(statement: str) -> bool:
    """Whether an SQL statement may change a place (see the module doc)."""
    match = _WRITE.match(statement)
    if match is None or match.group(1).lower() not in PLACE_TABLES:
        return False
    if match.group(1).lower() != "accounts" or statement.lstrip()[:6].upper() != "UPDATE":
        return True
    assignments = _SET.search(statement)
    if assignments is None:
        return True
    return not set(_ASSIGNED.findall(assignments.group(1))) <= _BALANCE_COLUMNS


class PlaceBook:
    """Places by SIP username, and the shops whose places are all here. Thread-safe:
    filled by the writer, read by the loop, emptied by whichever thread writes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = 0
        self._places: dict[str, Place] = {}
        self._shops: set[int] = set()

    @property
    def generation(self) -> int:
        """Read before reading places from the database, and given to `keep`."""
        return self._generation

    def get(self, sip_username: str) -> Place | None:
        return self._places.get(sip_username)

    def has_shop(self, callshop_id: int) -> bool:
        return callshop_id in self._shops

    def keep(self, places: dict[str, Place], generation: int, *,
             callshop_id: int | None = None) -> None:
        """Keep places read in `generation` (of one whole shop, if `callshop_id`);
        nothing, if a write started a new generation since."""
        with self._lock:
            if generation != self._generation:
                return
            self._places.update(places)
            if callshop_id is not None:
                self._shops.add(callshop_id)

    def forget_all(self) -> None:
        with self._lock:
            self._generation += 1
            self._places.clear()
            self._shops.clear()

    def watch(self, engine: Engine) -> None:
        """Forget every place whenever `engine` runs a statement that may change one."""
        def after_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if writes_a_place(statement):
                self.forget_all()
        event.listen(engine, "after_cursor_execute", after_execute)
