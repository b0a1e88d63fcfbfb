"""`pbx = "asterisk"`: the server's factory reads `[pbx.asterisk]` (every mistake a
ConfigError naming the setting), and the bridge it makes reports its AMI link to the
server, hands over the live calls after a reconnect, and refuses authorisation while
the link is down."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cashdesk.clock import FakeClock
from cashdesk.pbx.asterisk.bridge import AsteriskBridge
from cashdesk.pbx.asterisk.server import bridge_settings, create_bridge
from cashdesk.pbx.bridge import Authorisation, AuthorisationRequest, LiveCall
from cashdesk.server.bridges import BridgeContext, CabinDirectory, LinkStatus, factory_for
from cashdesk.server.config import ConfigError, ServerConfig, load_config
from tests.pbx_asterisk.conftest import RecordingListener
from tests.pbx_asterisk.stub import AmiStub
from tests.pbx_asterisk.test_fastagi import ENV, asterisk_side

SECRET = "s3cret-s3cret"


def context(settings: dict[str, Any], link: LinkStatus | None = None) -> BridgeContext:
    async def nobody() -> list[Any]:
        return []
    return BridgeContext(kind="asterisk", settings=settings, config=ServerConfig(),
                         clock=FakeClock(), link=link or LinkStatus("asterisk"),
                         cabins=CabinDirectory(nobody))


def test_the_kind_asterisk_is_this_factory() -> None:
    assert factory_for("asterisk") is create_bridge


def test_every_setting_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text(f'''[server]
pbx = "asterisk"

[pbx.asterisk]
ami_host = "10.0.0.5"
ami_port = 5039
ami_user = "desk"
ami_secret = "{SECRET}"
agi_host = "0.0.0.0"
agi_port = 4600
cabin_pattern = '^SIP/(?P<cabin>[a-z0-9]+)-[0-9a-f]{{8}}$'
cabin_context = ""
authorise_timeout = 1
backstop_grace = 0
ping_interval = 10
action_timeout = 3.5
connect_timeout = 2
reconnect_delay = [1, 60]
''')
    config = load_config(path=path, env={})
    settings = bridge_settings(config.pbx_settings["asterisk"])
    assert (settings.ami_host, settings.ami_port, settings.username, settings.secret) == \
        ("10.0.0.5", 5039, "desk", SECRET)
    assert (settings.agi_host, settings.agi_port) == ("0.0.0.0", 4600)
    assert settings.cabin_context is None           # "" = any context
    assert (settings.authorise_timeout, settings.backstop_grace, settings.ping_interval,
            settings.action_timeout, settings.connect_timeout) == (1.0, 0.0, 10.0, 3.5, 2.0)
    assert settings.reconnect_delay == (1.0, 60.0)
    bridge = create_bridge(context(config.pbx_settings["asterisk"]))
    assert bridge.matcher.cabin("SIP/cabin7-0000002a", "anything") == "cabin7"


def test_defaults_need_only_the_secret() -> None:
    settings = bridge_settings({"secret": SECRET})
    assert (settings.ami_host, settings.ami_port, settings.username) == \
        ("127.0.0.1", 5038, "cashdesk")
    assert (settings.agi_host, settings.agi_port, settings.cabin_context) == \
        ("127.0.0.1", 4573, "cashdesk-cabins")
    assert settings.backstop_grace == 0.5


@pytest.mark.parametrize(("table", "message"), [
    ({}, r"\[pbx.asterisk\] secret: missing; it is the secret of the AMI user"),
    ({"secret": ""}, r"secret: missing"),
    ({"secret": SECRET, "ami_prot": 5039}, r"ami_prot: unknown setting \(known: ami_host"),
    ({"secret": SECRET, "username": "a", "ami_user": "b"}, r"ami_user: given twice"),
    ({"secret": SECRET, "ami_port": "5039"}, r"ami_port: expected a port number from 1"),
    ({"secret": SECRET, "ami_port": 0}, r"ami_port: expected a port number from 1"),
    ({"secret": SECRET, "agi_port": 70000}, r"agi_port: expected a port number from 0"),
    ({"secret": SECRET, "agi_port": True}, r"agi_port: expected a port number"),
    ({"secret": SECRET, "ami_host": " "}, r"ami_host: cannot be empty"),
    ({"secret": SECRET, "ami_host": 127}, r"ami_host: expected text on one line"),
    ({"secret": "abc\r\nAction: Originate"}, r"secret: expected text on one line"),
    ({"secret": SECRET, "cabin_pattern": "PJSIP/(.+"}, r"cabin_pattern: not a regular"),
    ({"secret": SECRET, "cabin_pattern": r"PJSIP/(.+)-\w+"}, r"\(\?P<cabin>…\) group"),
    ({"secret": SECRET, "authorise_timeout": 0}, r"authorise_timeout: expected a number of s"),
    ({"secret": SECRET, "ping_interval": "20"}, r"ping_interval: expected a number"),
    ({"secret": SECRET, "backstop_grace": -1}, r"backstop_grace: expected .* 0 or more"),
    ({"secret": SECRET, "reconnect_delay": [5, 1]}, r"reconnect_delay: expected \[first, lo"),
    ({"secret": SECRET, "reconnect_delay": 1}, r"reconnect_delay: expected"),
])
def test_a_bad_setting_is_named_in_the_error(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        create_bridge(context(table))


async def test_the_link_and_reconnects_reach_the_server() -> None:
    """Up after the login and the listing; down when the AMI drops; after the
    reconnect the live calls and when the link was lost go to billing, and the
    link is up again."""
    stub = AmiStub()
    port = await stub.start()
    changes: list[bool] = []
    link = LinkStatus("asterisk", on_change=lambda: changes.append(link.connected))
    handed: list[tuple[list[LiveCall], datetime | None]] = []
    link.on_reconnect(lambda live, lost_at: handed.append((live, lost_at)))
    bridge = create_bridge(context({"secret": SECRET, "ami_port": port, "agi_port": 0,
                                    "reconnect_delay": [0.02, 0.05]}, link))
    bridge.attach(RecordingListener())
    try:
        await bridge.async_start()
        assert changes == [True] and stub.actions("CoreShowChannels")
        stub.drop()
        await until(lambda: changes == [True, False])
        await stub.wait_for("Login", count=2)
        await until(lambda: len(handed) == 1 and changes == [True, False, True])
        live, lost_at = handed[0]
        assert live == [] and lost_at is not None
        assert len(stub.actions("CoreShowChannels")) == 2
    finally:
        await bridge.async_stop()
        await stub.stop()


async def test_no_call_is_authorised_while_the_ami_link_is_down() -> None:
    """Fail closed: without the AMI the server could neither see the call nor cut it."""
    stub = AmiStub()
    port = await stub.start()
    listener = RecordingListener()
    bridge = create_bridge(context({"secret": SECRET, "ami_port": port, "agi_port": 0,
                                    "reconnect_delay": [5, 5]}))
    assert isinstance(bridge, AsteriskBridge) and bridge.agi is not None
    bridge.attach(listener)
    try:
        await bridge.async_start()
        _, allowed = await asterisk_side(bridge.agi.bound_port, ENV)
        assert allowed["CASHDESK_ALLOWED"] == "1"
        stub.drop()
        await until(lambda: not bridge.ami.connected)
        _, refused = await asterisk_side(bridge.agi.bound_port, ENV)
        assert (refused["CASHDESK_ALLOWED"], refused["CASHDESK_SIPCODE"],
                refused["CASHDESK_REASON_CODE"]) == ("0", "503", "server_unavailable")
        assert len(listener.requests) == 1      # the server was not even asked
    finally:
        await bridge.async_stop()
        await stub.stop()


async def test_authorisation_goes_through_the_listener() -> None:
    stub = AmiStub()
    port = await stub.start()
    listener = RecordingListener()

    async def answer(request: AuthorisationRequest) -> Authorisation:
        return Authorisation.allow(42)
    listener.answer = answer
    bridge = create_bridge(context({"secret": SECRET, "ami_port": port, "agi_port": 0}))
    assert bridge.agi is not None
    bridge.attach(listener)
    try:
        await bridge.async_start()
        _, variables = await asterisk_side(bridge.agi.bound_port, ENV)
        assert variables == {"CASHDESK_LIMIT_MS": "42500", "CASHDESK_ALLOWED": "1"}
        (request,) = listener.requests
        assert (request.pbx_call_id, request.sip_username, request.dialed_number) == \
            ("1795650000.42", "cabin7", "00442071838750")
    finally:
        await bridge.async_stop()
        await stub.stop()


async def until(check: Any, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)
