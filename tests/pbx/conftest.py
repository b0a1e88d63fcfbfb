"""Fixtures for the end-to-end PBX tests: a real Kamailio per test, SIPp cabins and
carriers, and the Python evapi peer standing in for the sync server.

Without kamailio or sipp the tests skip, except under CI=true where a missing binary
fails the run (DESIGN.md: in CI a missing Kamailio or SIPp is a failure).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cashdesk.store.database import session_factory
from tests.conftest import IN_CI
from tests.pbx.billing import AppServer, server_config, start_app
from tests.pbx.harness import (
    CABIN_HOST,
    CARRIER_HOST,
    BinaryMissing,
    EvapiPeer,
    Kamailio,
    Sipp,
    require_binary,
)

CABINS = {"cabin1": "secret-one", "cabin2": "secret-two"}


@pytest.fixture(scope="session")
def pbx_binaries() -> None:
    try:
        for name in ("kamailio", "kamcmd", "sipp"):
            require_binary(name)
    except BinaryMissing as exc:
        if IN_CI:
            pytest.fail(f"end-to-end tests need Kamailio and SIPp in CI: {exc}")
        pytest.skip(f"end-to-end tests need Kamailio and SIPp: {exc}")


@pytest.fixture
def kamailio_factory(pbx_binaries: None, tmp_path: Path,
                     request: pytest.FixtureRequest) -> Iterator[Callable[..., Kamailio]]:
    """Start a Kamailio with the cabins of `CABINS` provisioned (settings overridable)."""
    started: list[Kamailio] = []

    def start(**overrides: Any) -> Kamailio:
        instance = Kamailio.prepare(tmp_path / f"kamailio{len(started)}", **overrides)
        instance.subscribers.sync(CABINS)
        started.append(instance)
        return instance.start()

    yield start
    for instance in started:
        instance.stop()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for instance in started:
            print(f"--- {instance.log_path} (tail)\n{instance.log_tail(120)}")


@pytest.fixture
def kamailio(kamailio_factory: Callable[..., Kamailio]) -> Kamailio:
    return kamailio_factory()


@pytest.fixture
async def evapi_peer(kamailio: Kamailio) -> AsyncIterator[EvapiPeer]:
    peer = EvapiPeer(kamailio.settings.evapi.host, kamailio.settings.evapi.port)
    await peer.async_start()
    yield peer
    await peer.async_stop()


class SippFactory:
    """Builds SIPp cabins (towards Kamailio) and carriers (listening where Kamailio
    sends calls), and makes sure every one of them is gone after the test."""

    def __init__(self, directory: Path, kamailio: Kamailio) -> None:
        self.directory = directory
        self.kamailio = kamailio
        self.instances: list[Sipp] = []
        self._count = 0

    def _name(self, scenario: str) -> str:
        self._count += 1
        return f"{self._count:02d}-{scenario}"

    def cabin(self, scenario: str, cabin: str = "cabin1", password: str | None = None,
              **kwargs: Any) -> Sipp:
        sipp = Sipp.build(self.directory, scenario, local_host=CABIN_HOST,
                          remote=self.kamailio.settings.listen, cabin=cabin,
                          password=CABINS.get(cabin, "") if password is None else password,
                          name=self._name(scenario), **kwargs)
        self.instances.append(sipp)
        return sipp

    def carrier(self, scenario: str, **kwargs: Any) -> Sipp:
        sipp = Sipp.build(self.directory, scenario, local_host=CARRIER_HOST, remote=None,
                          port=self.kamailio.settings.carrier.port,
                          name=self._name(scenario), **kwargs)
        self.instances.append(sipp)
        return sipp

    async def async_register(self, cabin: str = "cabin1") -> None:
        result = await self.cabin("cabin_register", cabin).async_run()
        assert result.ok, result.describe()

    def kill_all(self) -> None:
        for sipp in self.instances:
            sipp.kill()


@pytest.fixture
async def sipp(kamailio: Kamailio, tmp_path: Path) -> AsyncIterator[SippFactory]:
    factory = SippFactory(tmp_path / "sipp", kamailio)
    yield factory
    factory.kill_all()


@pytest.fixture
def billing_sessions(sqlite_engine: Engine) -> sessionmaker[Session]:
    return session_factory(sqlite_engine)


@pytest.fixture
async def app_server(kamailio: Kamailio, sqlite_engine: Engine, aiohttp_client: Any,
                     tmp_path: Path) -> AsyncIterator[Callable[[str], Any]]:
    """Start the sync server's app (`pbx = "kamailio"`, on this test's SQLite file and
    Kamailio) once the test has made its shop: `server = await app_server(token)`
    (keywords: more `[pbx.kamailio]` settings)."""
    started: list[AppServer] = []
    url = sqlite_engine.url.render_as_string(hide_password=False)

    async def start(token: str, **pbx_settings: Any) -> AppServer:
        config = server_config(kamailio, url, tmp_path / "server.log", **pbx_settings)
        server = await start_app(aiohttp_client, config, token)
        started.append(server)
        return server

    yield start
    for server in started:
        await server.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Lets fixtures see whether the test failed (to print Kamailio's log then).
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
