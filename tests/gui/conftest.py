"""GUI fixtures: the real server (the aiohttp app on a loopback port, from the client
tests' harness) with a shop whose cabin has calls to pay, and the desk's widgets.

Tests that need a shop in a given state at once feed the tiles protocol messages
(tests/gui/protocol.py) while login, Pay and history go to the real server; the desk
following the server's own /live and /events (a scripted PBX in the server's process,
or `cashdesk-server serve` killed and restarted) is tests/gui/live_server.py and
test_live_desk.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from cashdesk.store.database import session_factory
from cashdesk.store.models import Call
from server_client.client import ServerClient
from server_client.live import Snapshot
from tests.client.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    World,
    config,
    connect,
    hash_each_password_once,
    server,
    world,
)
from tests.client.harness import add_call, top_up
from tests.server.ledger_rows import add_cabin

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
TRANSLATIONS = ROOT / "resources" / "translations"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.gui)


@pytest.fixture(autouse=True)
def offscreen() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def qt_tool(name: str) -> str:
    """A PySide6 tool (pyside6-lupdate, pyside6-lrelease) of the running environment."""
    suffix = ".exe" if os.name == "nt" else ""
    beside = Path(sys.executable).parent / f"{name}{suffix}"
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: it comes with PySide6-Essentials")
    return found


@pytest.fixture(scope="session", autouse=True)
def compiled_translations() -> None:
    """The .qm files the desk loads, compiled from the committed .ts sources when they
    are missing or older (bootstrap.py does the same before the tests)."""
    lrelease = None
    for source in sorted(TRANSLATIONS.glob("*.ts")):
        target = source.with_suffix(".qm")
        if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
            continue
        lrelease = lrelease or qt_tool("pyside6-lrelease")
        subprocess.run([lrelease, "-silent", str(source), "-qm", str(target)], check=True)


@pytest.fixture(scope="session")
def qapp_args() -> list[str]:
    return ["cashdesk-tests"]


@pytest.fixture
def desk_app(qapp):  # type: ignore[no-untyped-def]
    from ui import theme
    from ui.i18n import Languages

    theme.apply(qapp)
    languages = Languages(qapp)
    languages.switch("en")
    yield languages
    languages.switch("en")


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


class PaidCabin:
    """A real cabin of shop A with 2 ended calls (1.20 + 0.80 = 2.00 due)."""

    def __init__(self, engine: Engine, world: World, clock) -> None:  # type: ignore[no-untyped-def]
        top_up(engine, clock, world.shop_a)
        self.id = add_cabin(engine, world.shop_a, "Cabin 1")
        self.calls = [add_call(engine, clock, self.id, price="1.20", cost="0.50"),
                      add_call(engine, clock, self.id, price="0.80", cost="0.30",
                               number="212612345678", destination="Morocco")]
        with session_factory(engine)() as session:
            rows = list(session.scalars(select(Call).where(Call.id.in_(self.calls))
                                        .order_by(Call.id)))
            self.session_id = rows[0].session_id
            self.rows = [(r.id, r.number, r.destination, r.started_at, r.answered_at,
                          r.ended_at, r.billed_seconds, r.price) for r in rows]
        self.now = clock.now()

    def snapshot(self, seq: int = 0, instance: str = "real-server") -> Snapshot:
        """The snapshot the server would send for this cabin (protocol shapes)."""
        def iso(moment):  # type: ignore[no-untyped-def]
            return moment.isoformat(timespec="microseconds") if moment else None

        calls = [{"id": cid, "pbx_call_id": f"p{cid}", "cabin_id": self.id,
                  "session_id": self.session_id, "dialed_number": "00" + number,
                  "number": number, "destination": destination, "state": "ended",
                  "started_at": iso(started), "ringing_at": None,
                  "answered_at": iso(answered), "ended_at": iso(ended),
                  "rate": None, "billed_seconds": billed, "price": f"{price:.4f}",
                  "hangup_reason": "normal", "training": False}
                 for cid, number, destination, started, answered, ended, billed, price
                 in self.rows]
        total = sum((Decimal(c["price"]) for c in calls), Decimal(0))
        return Snapshot.from_json({
            "instance": instance, "seq": seq, "server_time": iso(self.now),
            "callshop": {"id": 1, "name": "Shop A", "currency": "EUR", "locale": "fr_FR",
                         "timezone": "Europe/Paris", "training": False},
            "balance": {"balance": "97.2000", "available": "97.2000", "currency": "EUR"},
            "switch": {"connected": True, "kind": "training"},
            "cabins": [{"id": self.id, "name": "Cabin 1", "position": 1, "site": "",
                        "enabled": True, "state": "awaiting_payment",
                        "session": {"id": self.session_id, "opened_at": iso(self.now),
                                    "total": f"{total:.4f}", "calls": calls}}]})


@pytest.fixture
def paid_cabin(sqlite_engine, world, clock) -> PaidCabin:  # type: ignore[no-untyped-def]
    return PaidCabin(sqlite_engine, world, clock)


@pytest.fixture
def operator_client(connect) -> Iterator[ServerClient]:  # type: ignore[no-untyped-def]
    yield connect("operator_a")
