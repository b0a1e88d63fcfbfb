"""Choosing the PBX bridge by configuration, and a PBX unreachable at startup."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cashdesk.clock import FakeClock
from cashdesk.pbx.asterisk.server import create_bridge as asterisk_bridge
from cashdesk.pbx.bridge import CutReason, LiveCall
from cashdesk.server.bridges import (
    BridgeContext,
    CabinDirectory,
    LinkStatus,
    SupervisedBridge,
    factory_for,
)
from cashdesk.server.config import ConfigError, ServerConfig, load_config
from tests.server.scripted import ScriptedBridge


def test_the_pbx_and_its_settings_come_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text('[server]\npbx = "asterisk"\n\n[pbx.asterisk]\nami_port = 5039\n'
                    'secret = "s3cret-s3cret"\n')
    config = load_config(path=path, env={})
    assert config.pbx == "asterisk"
    assert config.pbx_settings == {"asterisk": {"ami_port": 5039, "secret": "s3cret-s3cret"}}
    assert load_config(path=path, env={"CASHDESK_PBX": "none"}).pbx == "none"
    path.write_text('[pbx]\nasterisk = 1\n')
    with pytest.raises(ConfigError, match=r"\[pbx.asterisk\]"):
        load_config(path=path, env={})


def test_kinds_are_resolved_lazily_and_unknown_ones_said_plainly() -> None:
    assert factory_for("none") is None
    assert factory_for("asterisk") is asterisk_bridge
    with pytest.raises(ConfigError, match="not a known PBX"):
        factory_for("freeswitch")
    with pytest.raises(ConfigError, match="not available"):
        factory_for("no_such_package.bridge:create_bridge")
    assert factory_for("tests.server.pbx_peer:create_bridge").__name__ == "create_bridge"


def _context(settings: dict[str, object], link: LinkStatus) -> BridgeContext:
    async def nothing() -> list:
        return []
    return BridgeContext(kind="asterisk", settings=settings, config=ServerConfig(),
                         clock=FakeClock(), link=link, cabins=CabinDirectory(nothing))


async def test_the_asterisk_factory_takes_its_settings_and_reports_its_link() -> None:
    link = LinkStatus("asterisk")
    bridge = asterisk_bridge(_context({"ami_port": 5039, "secret": "s3cret-s3cret",
                                       "agi_port": None}, link))
    assert bridge.settings.ami_port == 5039 and bridge.agi is None  # type: ignore[attr-defined]
    bridge.ami.on_disconnected()  # type: ignore[attr-defined]
    assert not link.connected and link.reported
    with pytest.raises(ConfigError, match="unknown setting"):
        asterisk_bridge(_context({"ami_prot": 5039}, link))
    with pytest.raises(ConfigError, match="expected a port number"):
        asterisk_bridge(_context({"ami_port": "5039"}, link))


class Unreachable(ScriptedBridge):
    def __init__(self, failures: int) -> None:
        super().__init__(FakeClock())
        self.failures = failures

    async def async_start(self) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("connection refused")
        await super().async_start()


async def test_a_pbx_down_at_startup_is_retried_and_reconciled_once_up() -> None:
    changes: list[bool] = []
    link = LinkStatus("asterisk", on_change=lambda: changes.append(link.connected))
    reconciled: list[list[LiveCall]] = []
    link.on_reconnect(lambda live, lost_at: reconciled.append(live))
    inner = Unreachable(failures=2)
    inner.live["c1"] = LiveCall("c1", "cab-1", "0044123")
    bridge = SupervisedBridge(inner, link, retry=(0.01, 0.02))
    await bridge.async_start()               # does not raise: the server starts anyway
    assert not link.connected
    with pytest.raises(ConnectionError):
        await bridge.list_live_calls()       # unknown, not "none": nothing gets closed
    await bridge.cut("c9", CutReason.OPERATOR)   # dropped, with a log line
    for _ in range(200):
        if reconciled:
            break
        await asyncio.sleep(0.01)
    assert inner.started and link.connected and changes == [True]
    assert [call.pbx_call_id for call in reconciled[0]] == ["c1"]
    await bridge.async_stop()
    assert not inner.started and changes == [True, False]
