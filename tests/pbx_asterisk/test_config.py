"""The Asterisk configuration the cash desk writes: what it contains, that it agrees
with the bridge (variables, context, channel names, AMI classes), and the CLI."""

from __future__ import annotations

import hashlib
import re
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cashdesk.cli import main
from cashdesk.clock import FakeClock
from cashdesk.pbx.asterisk.config import (
    AsteriskConfigSettings,
    CabinAccount,
    ConfigError,
    render_configs,
)
from cashdesk.pbx.asterisk.lifecycle import DEFAULT_CABIN_CONTEXT, CallLifecycle
from cashdesk.shops import create_callshop, create_reseller
from cashdesk.store.database import session_factory
from cashdesk.store.models import Cabin
from tests.pbx_asterisk.transcript import SCENARIOS, load

SECRET = "Zm9vYmFyYmF6cXV4"


def ha1(user: str, realm: str = "cashdesk", password: str = "pw") -> str:
    return hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()


def settings(**overrides: object) -> AsteriskConfigSettings:
    values: dict[str, object] = {
        "ami_secret": SECRET, "agi_host": "10.0.0.5", "server_addr": "10.0.0.5",
        "carrier_host": "203.0.113.7:5060",
        "cabins": (CabinAccount("cabin7", "cashdesk", ha1("cabin7"), "Cabin 7, Corner"),
                   CabinAccount("shop-1", "shop.example", ha1("shop-1", "shop.example"),
                                "Booth; one"))}
    values.update(overrides)
    return AsteriskConfigSettings(**values)  # type: ignore[arg-type]


def sections(text: str) -> list[tuple[str, str, dict[str, list[str]]]]:
    """An Asterisk .conf as (name, template part, key → values), comments dropped."""
    out: list[tuple[str, str, dict[str, list[str]]]] = []
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        header = re.fullmatch(r"\[([^\]]+)\](\([^)]*\))?", line)
        if header:
            out.append((header.group(1), header.group(2) or "", {}))
            continue
        key, sep, value = re.split(r"\s*(=>|=)\s*", line, maxsplit=1)
        assert sep, f"not a setting: {raw!r}"
        out[-1][2].setdefault(key, []).append(value)
    return out


def test_cabins_get_endpoints_with_ha1_and_no_password() -> None:
    files = render_configs(settings())
    assert set(files) == {"manager.conf", "extensions.conf", "pjsip.conf"}
    for text in files.values():
        assert "%%" not in text
    pjsip = sections(files["pjsip.conf"])
    by = {(name, tpl): keys for name, tpl, keys in pjsip}
    assert by[("cabin-auth", "(!)")]["auth_type"] == ["md5"]
    assert by[("cabin-endpoint", "(!)")]["context"] == [DEFAULT_CABIN_CONTEXT]
    assert by[("cabin7", "(cabin-auth)")] == {
        "username": ["cabin7"], "realm": ["cashdesk"], "md5_cred": [ha1("cabin7")]}
    assert by[("shop-1", "(cabin-auth)")]["realm"] == ["shop.example"]
    assert by[("shop-1", "(cabin-endpoint)")] == {
        "auth": ["shop-1"], "aors": ["shop-1"], "accountcode": ["shop-1"]}
    assert ("shop-1", "(cabin-aor)") in by
    carrier = {k["type"][0]: k for n, _, k in pjsip if n == "carrier"}
    assert carrier["aor"]["contact"] == ["sip:203.0.113.7:5060"]
    assert carrier["identify"]["match"] == ["203.0.113.7"]
    assert carrier["endpoint"]["context"] == ["cashdesk-carrier"]
    assert not any("password" in keys for _, _, keys in pjsip)
    assert "; Booth, one" in files["pjsip.conf"]   # a label cannot start a comment early


def test_manager_user_has_only_what_the_bridge_needs() -> None:
    manager = {name: keys for name, _, keys in sections(render_configs(settings())
                                                          ["manager.conf"])}
    assert manager["general"]["bindaddr"] == ["127.0.0.1"]
    user = manager["cashdesk"]
    assert user["secret"] == [SECRET]
    assert user["permit"] == ["10.0.0.5/255.255.255.255"]
    assert user["deny"] == ["0.0.0.0/0.0.0.0"]
    read = set(user["read"][0].split(","))
    write = set(user["write"][0].split(","))
    assert (read, write) == ({"call", "cdr"}, {"call", "reporting"})
    # The authority each action needs (Asterisk's main/manager.c: one class suffices).
    needs = {"Hangup": {"system", "call"}, "AbsoluteTimeout": {"system", "call"},
             "CoreShowChannels": {"system", "reporting"}}
    for action, classes in needs.items():
        assert write & classes, action
    # Each event the lifecycle uses, with the class Asterisk 22 sent it in.
    used = set(CallLifecycle._HANDLERS)
    seen: dict[str, set[str]] = {}
    for name in SCENARIOS:
        for packet in load(name).received():
            if packet.event in used:
                seen.setdefault(packet.event, set()).add(
                    (packet.get("Privilege") or "").split(",")[0])
    assert set(seen) == used   # every one of them occurs in the recordings
    for event, classes in seen.items():
        assert classes <= read, event


def test_the_dialplan_uses_what_the_fastagi_server_sets() -> None:
    text = render_configs(settings())["extensions.conf"]
    dialplan = {name: keys for name, _, keys in sections(text)}
    assert dialplan["globals"]["CASHDESK_AGI"] == ["agi://10.0.0.5:4573/authorize"]
    cabins = dialplan[DEFAULT_CABIN_CONTEXT]["exten"] + dialplan[DEFAULT_CABIN_CONTEXT]["same"]
    steps = "\n".join(cabins)
    for variable in ("CASHDESK_ALLOWED", "CASHDESK_LIMIT_MS", "CASHDESK_REASON",
                     "CASHDESK_REASON_CODE", "CASHDESK_SIPCODE", "CASHDESK_CAUSE"):
        assert "${" + variable + "}" in steps, variable
    # Fail closed: before AGI() the answer is a refusal, and only "1" lets a call through.
    before_agi = steps[:steps.index("AGI(")]
    assert "Set(CASHDESK_ALLOWED=0)" in before_agi
    assert "Set(CASHDESK_SIPCODE=503)" in before_agi
    assert 'GotoIf($["${CASHDESK_ALLOWED}" != "1"]?refused)' in steps
    assert "AGI(${CASHDESK_AGI},${CHANNEL(linkedid)})" in steps   # pbx_call_id = Linkedid
    assert "L(${CASHDESK_LIMIT_MS})" in steps
    assert "PJSIPHangup(${CASHDESK_SIPCODE})" in steps


@pytest.mark.parametrize(("override", "message"), [
    ({"ami_secret": "short"}, "AMI secret"),
    ({"ami_secret": "abc;defghijklmn"}, "AMI secret"),
    ({"agi_host": "cashdesk.local"}, "not an IPv4"),
    ({"sip_bind": "0.0.0.0"}, "IP:PORT"),
    ({"carrier_host": "x y"}, "carrier host"),
    ({"cabins": (CabinAccount("bad name", "r", ha1("x")),)}, "not a valid endpoint"),
    ({"cabins": (CabinAccount("carrier", "r", ha1("x")),)}, "used twice"),
    ({"cabins": (CabinAccount("c1", "r", "plaintext"),)}, "HA1"),
    ({"context": "cash desk"}, "context"),
])
def test_settings_that_would_break_a_config_are_refused(override: dict[str, object],
                                                        message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        render_configs(settings(**override))


def test_an_unknown_placeholder_is_an_error() -> None:
    templates = {"manager.conf": "%%{NOPE}", "extensions.conf": "", "pjsip.conf": ""}
    with pytest.raises(ConfigError, match="NOPE"):
        render_configs(settings(), templates)


@pytest.fixture
def shop_db(sqlite_engine: Engine) -> str:
    clock = FakeClock()
    with session_factory(sqlite_engine).begin() as session:
        reseller = create_reseller(session, clock, name="R", currency="EUR")
        shop = create_callshop(session, clock, reseller, name="Corner Calls", currency="EUR",
                               admin_username="admin", admin_password="Asterisk-tests-2026")
        session.add_all([
            Cabin(callshop_id=shop.callshop.id, name="Cabin 1", position=1,
                  sip_username="cabin1", sip_realm="cashdesk", sip_ha1=ha1("cabin1")),
            Cabin(callshop_id=shop.callshop.id, name="Cabin 2", position=2,
                  sip_username="shop-2", sip_realm="", sip_ha1=ha1("shop-2").upper()),
            Cabin(callshop_id=shop.callshop.id, name="New", position=3,
                  sip_username="cabin3")])
    return str(sqlite_engine.url)


def test_cli_writes_the_files_for_the_cabins_in_the_database(
        shop_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "asterisk"
    args = ["asterisk-config", "--db", shop_db, "--carrier-host", "203.0.113.7",
            "--server-addr", "10.0.0.5", "-o", str(out)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "2 of 3 cabin(s)" in err
    assert "left out (no SIP password yet): cabin3" in err
    secret = re.search(r"new secret: (\S+)", err)
    assert secret is not None
    manager = (out / "manager.conf").read_text()
    assert f"secret = {secret.group(1)}" in manager
    assert stat.S_IMODE((out / "manager.conf").stat().st_mode) == 0o600
    pjsip = {(n, t): k for n, t, k in sections((out / "pjsip.conf").read_text())}
    assert pjsip[("cabin1", "(cabin-auth)")]["md5_cred"] == [ha1("cabin1")]
    # No realm stored: the default realm; HA1 written in lower case.
    assert pjsip[("shop-2", "(cabin-auth)")]["realm"] == ["cashdesk"]
    assert pjsip[("shop-2", "(cabin-auth)")]["md5_cred"] == [ha1("shop-2")]
    assert ("cabin3", "(cabin-endpoint)") not in pjsip
    assert "agi://10.0.0.5:4573/authorize" in (out / "extensions.conf").read_text()
    # Written files are not overwritten unless asked.
    assert main(args) == 2
    assert "pass --force" in capsys.readouterr().err
    assert main([*args, "--force", "--ami-secret", SECRET]) == 0
    assert f"secret = {SECRET}" in (out / "manager.conf").read_text()


def test_cli_prints_to_stdout_and_checks_the_shop(
        shop_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asterisk-config", "--db", shop_db, "--carrier-host", "203.0.113.7",
                 "--ami-secret", SECRET]) == 0
    out = capsys.readouterr().out
    assert out.count(";;;;;;;; ") == 3 and "[cabin1](cabin-endpoint)" in out
    assert main(["asterisk-config", "--db", shop_db, "--carrier-host", "h",
                 "--shop", "999"]) == 2
    assert "no callshop with id 999" in capsys.readouterr().err
