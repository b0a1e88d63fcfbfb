"""FastAGI authorisation over a real loopback socket, with a test client playing
Asterisk's side of `AGI(agi://127.0.0.1:PORT/authorize,${CHANNEL(linkedid)})`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cashdesk.clock import FakeClock
from cashdesk.pbx.asterisk.bridge import AsteriskBridge
from cashdesk.pbx.asterisk.fastagi import FastAgiServer, quote
from cashdesk.pbx.asterisk.lifecycle import CabinMatcher
from cashdesk.pbx.bridge import Authorisation, AuthorisationRequest, RefusalReason
from tests.pbx_asterisk.conftest import RecordingListener, settings_for
from tests.pbx_asterisk.peer import ReplayPeer
from tests.pbx_asterisk.transcript import load

ENV = {
    "agi_network": "yes",
    "agi_network_script": "authorize",
    "agi_request": "agi://127.0.0.1/authorize",
    "agi_channel": "PJSIP/cabin7-0000002a",
    "agi_language": "en",
    "agi_type": "PJSIP",
    "agi_uniqueid": "1795650000.42",
    "agi_version": "22.10.1",
    "agi_callerid": "cabin7",
    "agi_calleridname": "Cabin 7",
    "agi_context": "cashdesk-cabins",
    "agi_extension": "00442071838750",
    "agi_priority": "5",
    "agi_enhanced": "0.0",
    "agi_accountcode": "cabin7",
    "agi_threadid": "140245",
    "agi_arg_1": "1795650000.42",
}


def parse_args(line: str) -> list[str]:
    """Asterisk's res_agi.c parse_args(), ported: how it splits a command line."""
    args: list[str] = []
    cur: list[str] | None = None
    quoted = escaped = False
    whitespace = True
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                cur = []
                args.append("")
                whitespace = False
            escaped = False
            continue
        if ch in " \t" and not quoted and not escaped:
            whitespace = True
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        if whitespace:
            cur = []
            args.append("")
            whitespace = False
        args[-1] += ch
        escaped = False
    del cur
    return args


async def asterisk_side(port: int, env: dict[str, str] | None = None, *, raw: bytes | None = None,
                        answer: Callable[[str], str] = lambda cmd: "200 result=1",
                        ) -> tuple[list[str], dict[str, str]]:
    """Connect like Asterisk, send the environment, answer each command; return the
    commands received and the variables they set, once the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if raw is not None:
        writer.write(raw)
    else:
        text = "".join(f"{k}: {v}\n" for k, v in (env or ENV).items()) + "\n"
        writer.write(text.encode())
    await writer.drain()
    commands: list[str] = []
    variables: dict[str, str] = {}
    try:
        while True:
            line = await asyncio.wait_for(reader.readline(), 3)
            if not line:
                break
            command = line.decode().rstrip("\n")
            commands.append(command)
            args = parse_args(command)
            if args[:2] == ["SET", "VARIABLE"] and len(args) == 4:
                variables[args[2]] = args[3]
            writer.write((answer(command) + "\n").encode())
            await writer.drain()
    finally:
        writer.close()
    return commands, variables


AgiFactory = Callable[..., Awaitable[FastAgiServer]]


@pytest.fixture
async def agi() -> AsyncIterator[AgiFactory]:
    servers: list[FastAgiServer] = []

    async def start(authorise: Callable[[AuthorisationRequest], Awaitable[Authorisation]],
                    **options: object) -> FastAgiServer:
        server = FastAgiServer(authorise, CabinMatcher().cabin, host="127.0.0.1", port=0,
                               **options)  # type: ignore[arg-type]
        await server.async_start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.async_stop()


async def test_an_allowed_call_gets_its_limit(agi: AgiFactory) -> None:
    seen: list[AuthorisationRequest] = []

    async def allow(request: AuthorisationRequest) -> Authorisation:
        seen.append(request)
        return Authorisation.allow(max_duration_s=754)

    server = await agi(allow)
    commands, variables = await asterisk_side(server.bound_port)
    assert commands == ['SET VARIABLE CASHDESK_LIMIT_MS "754000"',
                        'SET VARIABLE CASHDESK_ALLOWED "1"']   # allowed last
    assert variables == {"CASHDESK_LIMIT_MS": "754000", "CASHDESK_ALLOWED": "1"}
    (request,) = seen
    assert (request.pbx_call_id, request.sip_username, request.dialed_number) == \
        ("1795650000.42", "cabin7", "00442071838750")


async def test_the_limit_comes_a_grace_after_the_servers_cut(agi: AgiFactory) -> None:
    async def allow(request: AuthorisationRequest) -> Authorisation:
        return Authorisation.allow(max_duration_s=754)

    server = await agi(allow, limit_grace_ms=500)
    _, variables = await asterisk_side(server.bound_port)
    assert variables == {"CASHDESK_LIMIT_MS": "754500", "CASHDESK_ALLOWED": "1"}


async def test_no_limit_is_an_empty_limit(agi: AgiFactory) -> None:
    async def allow(request: AuthorisationRequest) -> Authorisation:
        return Authorisation.allow(None)

    server = await agi(allow)
    _, variables = await asterisk_side(server.bound_port)
    assert variables == {"CASHDESK_LIMIT_MS": "", "CASHDESK_ALLOWED": "1"}


@pytest.mark.parametrize(("reason", "detail", "sip", "cause"), [
    (RefusalReason.NO_RATE, "no rate for 0044207", "404", "1"),
    (RefusalReason.NO_CREDIT, 'balance 0.12 "EUR" cannot pay 60 s', "402", "21"),
    (RefusalReason.BLOCKED_DESTINATION, "premium numbers \\ blocked", "403", "21"),
])
async def test_a_refused_call_gets_its_reason(agi: AgiFactory, reason: RefusalReason,
                                              detail: str, sip: str, cause: str) -> None:
    async def refuse(request: AuthorisationRequest) -> Authorisation:
        return Authorisation.refuse(reason, detail)

    server = await agi(refuse)
    _, variables = await asterisk_side(server.bound_port)
    assert variables == {"CASHDESK_ALLOWED": "0", "CASHDESK_REASON": detail,
                         "CASHDESK_REASON_CODE": reason.value, "CASHDESK_SIPCODE": sip,
                         "CASHDESK_CAUSE": cause}


async def test_a_failing_authoriser_refuses(
        agi: AgiFactory, caplog: pytest.LogCaptureFixture) -> None:
    async def broken(request: AuthorisationRequest) -> Authorisation:
        raise RuntimeError("database is locked")

    server = await agi(broken)
    _, variables = await asterisk_side(server.bound_port)
    assert (variables["CASHDESK_ALLOWED"], variables["CASHDESK_SIPCODE"],
            variables["CASHDESK_REASON_CODE"]) == ("0", "503", "server_unavailable")
    assert "refused (fail closed)" in caplog.text


async def test_a_slow_authoriser_refuses(agi: AgiFactory) -> None:
    async def slow(request: AuthorisationRequest) -> Authorisation:
        await asyncio.sleep(5)
        return Authorisation.allow(60)

    server = await agi(slow, authorise_timeout=0.1)
    _, variables = await asterisk_side(server.bound_port)
    assert variables["CASHDESK_ALLOWED"] == "0"
    assert variables["CASHDESK_SIPCODE"] == "503"


async def test_a_channel_that_is_not_a_cabin_is_refused_unasked(agi: AgiFactory) -> None:
    asked: list[AuthorisationRequest] = []

    async def allow(request: AuthorisationRequest) -> Authorisation:
        asked.append(request)
        return Authorisation.allow(60)

    server = await agi(allow)
    env = {**ENV, "agi_channel": "Local/100@lab-00000001;2", "agi_accountcode": ""}
    _, variables = await asterisk_side(server.bound_port, env)
    assert (variables["CASHDESK_ALLOWED"], variables["CASHDESK_REASON_CODE"]) == \
        ("0", "cabin_unknown")
    assert asked == []


@pytest.mark.parametrize(("raw", "logged"), [
    (b"agi_network: yes\nthis is not agi\n\n", "not an AGI environment line"),
    (b"agi_network: yes\nagi_channel: PJSIP/cabin7-01\n", "closed before the end"),
    (b"agi_network: yes\nagi_chann", "in the middle of a line"),
    (b"", "closed before the end"),
    (b"\n", "empty environment"),
    (b"agi_network: yes\nagi_network_script: other\n\n", "unknown AGI script 'other'"),
])
async def test_a_malformed_session_is_closed_cleanly(agi: AgiFactory, raw: bytes, logged: str,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    async def allow(request: AuthorisationRequest) -> Authorisation:
        raise AssertionError("not asked")

    server = await agi(allow)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.bound_port)
    writer.write(raw)
    await writer.drain()
    if not raw or raw.endswith((b"agi_chann", b"cabin7-01\n")):
        writer.write_eof()
    assert await asyncio.wait_for(reader.read(), 3) == b""   # no command, closed
    writer.close()
    await asyncio.sleep(0.01)
    assert logged in caplog.text
    assert "FastAGI session from" in caplog.text


async def test_a_hangup_during_authorisation_ends_the_session(
        agi: AgiFactory, caplog: pytest.LogCaptureFixture) -> None:
    async def allow(request: AuthorisationRequest) -> Authorisation:
        return Authorisation.allow(60)

    server = await agi(allow)
    answers = iter(["HANGUP\n511 Command Not Permitted on a dead channel or intercept routine"])
    commands, _ = await asterisk_side(server.bound_port, answer=lambda c: next(answers))
    assert commands == ['SET VARIABLE CASHDESK_LIMIT_MS "60000"']   # ALLOWED never set
    assert "answered '511 Command Not Permitted" in caplog.text


async def test_garbage_answers_are_not_taken_as_success(
        agi: AgiFactory, caplog: pytest.LogCaptureFixture) -> None:
    async def allow(request: AuthorisationRequest) -> Authorisation:
        return Authorisation.allow(60)

    server = await agi(allow)
    commands, _ = await asterisk_side(server.bound_port, answer=lambda c: "520 Invalid command")
    assert len(commands) == 1
    assert "answered '520 Invalid command'" in caplog.text


@given(st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=60))
def test_quoted_values_reach_asterisk_intact(value: str) -> None:
    (parsed,) = parse_args(quote(value))[:1] or [""]
    assert parsed == " ".join(value.split())


async def test_the_bridge_serves_authorisation_and_notes_the_limit(
        caplog: pytest.LogCaptureFixture) -> None:
    """The bridge's own FastAGI server asks its listener, and the limit it gave is
    what later tells an L() cut from a callee hangup."""
    clock = FakeClock()
    peer = ReplayPeer(load("dial_limit"), clock=clock)
    port = await peer.start()
    # No grace: the recording's L(10000) is the limit the bridge gave.
    bridge = AsteriskBridge(settings_for(port, agi_port=0, backstop_grace=0.0), clock=clock)
    peer.consumed = lambda: bridge.ami.bytes_received
    listener = RecordingListener()

    async def decide(request: AuthorisationRequest) -> Authorisation:
        return Authorisation.allow(10)

    listener.answer = decide
    bridge.attach(listener)
    try:
        await bridge.async_start()
        assert bridge.agi is not None
        env = {**ENV, "agi_channel": "Local/300@lab-00000005;2", "agi_extension": "300",
               "agi_arg_1": "1795646277.10"}
        _, variables = await asterisk_side(bridge.agi.bound_port, env)
        assert variables == {"CASHDESK_LIMIT_MS": "10000", "CASHDESK_ALLOWED": "1"}
        assert [(r.pbx_call_id, r.sip_username, r.dialed_number) for r in listener.requests] \
            == [("1795646277.10", "300", "300")]
        assert listener.requests[0].at is not None
        await peer.reached("Logoff")
        (ended,) = listener.of("ended")
        assert ended.reason == "limit reached (10000 ms)"  # type: ignore[union-attr]
    finally:
        await bridge.async_stop()
        await peer.stop()


async def test_without_a_listener_the_bridge_refuses(caplog: pytest.LogCaptureFixture) -> None:
    peer = ReplayPeer(load("hangup_bogus"))
    port = await peer.start()
    bridge = AsteriskBridge(settings_for(port, agi_port=0))
    try:
        await bridge.async_start()
        assert bridge.agi is not None
        env = {**ENV, "agi_channel": "Local/300@lab-00000005;2"}
        with caplog.at_level(logging.INFO):
            _, variables = await asterisk_side(bridge.agi.bound_port, env)
        assert (variables["CASHDESK_ALLOWED"], variables["CASHDESK_SIPCODE"]) == ("0", "503")
    finally:
        await bridge.async_stop()
        await peer.stop()
