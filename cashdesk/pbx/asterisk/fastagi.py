"""Authorisation before dialing: a FastAGI server the dialplan asks before `Dial()`.

The cabins' context runs ``AGI(agi://HOST:PORT/authorize,${CHANNEL(linkedid)})``.
Asterisk connects, sends its environment (``agi_channel: PJSIP/cabin7-0000002a``,
``agi_extension: 0044…``, … ended by a blank line); the server asks the authoriser
and answers with ``SET VARIABLE`` commands, each acknowledged by ``200 result=1``:

- allowed: ``CASHDESK_LIMIT_MS`` (the `Dial(…,L(ms))` limit, empty for none), then
  ``CASHDESK_ALLOWED=1`` last, so a half-finished answer is never an allowed call;
- refused: ``CASHDESK_ALLOWED=0``, ``CASHDESK_REASON`` (a sentence),
  ``CASHDESK_REASON_CODE`` (`no_credit`…), ``CASHDESK_SIPCODE`` (402, 404…) and
  ``CASHDESK_CAUSE`` (a Q.850 cause for non-PJSIP channels).

Fail closed: an authoriser that raises or is slow gives a refusal (503), and the
dialplan treats a missing answer (server down, `AGISTATUS=FAILURE`) as one too. A
malformed session (garbage, no blank line, closed early) is logged and closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from cashdesk.pbx.bridge import Authorisation, AuthorisationRequest, RefusalReason

log = logging.getLogger(__name__)

SCRIPT = "authorize"
MAX_ENV_LINES = 200
MAX_LINE = 4096

#: SIP refusal code → Q.850 cause for `Hangup(cause)` on channels without PJSIPHangup.
SIP_TO_Q850: dict[int, int] = {400: 41, 402: 21, 403: 21, 404: 1, 480: 18, 484: 28,
                               486: 17, 503: 34}

Authoriser = Callable[[AuthorisationRequest], Awaitable[Authorisation]]
CabinOf = Callable[[str], str | None]


class AgiProtocolError(Exception):
    """The other side did not speak AGI as expected."""


@dataclass(frozen=True, slots=True)
class AgiSession:
    """What Asterisk told us about the channel asking (its `agi_*` environment)."""

    env: dict[str, str]

    def get(self, key: str, default: str = "") -> str:
        return self.env.get(key, default)

    @property
    def script(self) -> str:
        script = self.get("agi_network_script")
        if not script:
            request = self.get("agi_request")
            script = request.split("://", 1)[-1].partition("/")[2] if request else ""
        return script.partition("?")[0].strip("/")

    def arg(self, n: int) -> str:
        return self.get(f"agi_arg_{n}")


@dataclass(frozen=True, slots=True)
class AgiDecision:
    """What the server sent back, for logs and tests."""

    request: AuthorisationRequest | None
    authorisation: Authorisation
    limit_ms: int | None


def quote(value: str) -> str:
    """An AGI argument: double-quoted, backslash-escaped, on one line."""
    clean = " ".join(value.split())
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'


def limit_ms(authorisation: Authorisation, grace_ms: int = 0) -> int | None:
    """The `L()` limit for an allowed call, `grace_ms` after the server's own cut
    would come; at least 1 s (L(0) means no limit)."""
    if authorisation.max_duration_s is None:
        return None
    return max(1000, int(authorisation.max_duration_s) * 1000 + grace_ms)


class FastAgiServer:
    """Serves `agi://host:port/authorize`. `cabin_of` maps a channel name to a cabin
    (the bridge's `CabinMatcher.cabin`); `on_decision` hears every answer given."""

    def __init__(self, authorise: Authoriser, cabin_of: CabinOf, *,
                 host: str = "127.0.0.1", port: int = 4573,
                 authorise_timeout: float = 2.0, io_timeout: float = 5.0,
                 limit_grace_ms: int = 0,
                 on_decision: Callable[[AgiDecision], None] | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.authorise = authorise
        self.cabin_of = cabin_of
        self.host = host
        self.port = port
        self.authorise_timeout = authorise_timeout
        self.io_timeout = io_timeout
        self.limit_grace_ms = limit_grace_ms
        self.on_decision = on_decision
        self._now = now
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()

    @property
    def bound_port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("FastAGI server not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def async_start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port,
                                                  limit=MAX_LINE)
        log.info("FastAGI authorisation listening on %s:%d", self.host, self.bound_port)

    async def async_stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._sessions):
            task.cancel()
        for task in list(self._sessions):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._sessions.add(task)
        peer = writer.get_extra_info("peername")
        try:
            await self._session(reader, writer)
        except AgiProtocolError as exc:
            log.warning("FastAGI session from %s closed: %s", peer, exc)
        except (TimeoutError, ConnectionError, OSError) as exc:
            log.warning("FastAGI session from %s closed: %s", peer,
                        exc or type(exc).__name__)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            if task is not None:
                self._sessions.discard(task)

    async def _readline(self, reader: asyncio.StreamReader) -> str | None:
        try:
            raw = await asyncio.wait_for(reader.readline(), self.io_timeout)
        except ValueError:  # longer than the stream limit
            raise AgiProtocolError("line too long") from None
        if not raw:
            return None
        if not raw.endswith(b"\n"):
            raise AgiProtocolError("connection closed in the middle of a line")
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    async def read_environment(self, reader: asyncio.StreamReader) -> AgiSession:
        env: dict[str, str] = {}
        for _ in range(MAX_ENV_LINES):
            line = await self._readline(reader)
            if line is None:
                raise AgiProtocolError(f"closed before the end of the environment "
                                       f"({len(env)} variable(s) read)")
            if not line.strip():
                if not env:
                    raise AgiProtocolError("empty environment")
                return AgiSession(env)
            key, sep, value = line.partition(":")
            if not sep or not key.startswith("agi_") or " " in key:
                raise AgiProtocolError(f"not an AGI environment line: {line[:80]!r}")
            env[key] = value.strip()
        raise AgiProtocolError(f"environment longer than {MAX_ENV_LINES} lines")

    async def command(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      text: str) -> str:
        """Send one AGI command and return its `200 result=…` line."""
        writer.write(text.encode("utf-8") + b"\n")
        await asyncio.wait_for(writer.drain(), self.io_timeout)
        while True:
            line = await self._readline(reader)
            if line is None:
                raise AgiProtocolError(f"closed before answering {text.split()[0:2]}")
            if line.strip() == "HANGUP":
                # The channel hung up; Asterisk still answers the command (with 511).
                log.info("FastAGI: channel hung up during authorisation")
                continue
            if not line.startswith("200"):
                raise AgiProtocolError(f"{text!r} answered {line[:80]!r}")
            if "result=-1" in line:
                raise AgiProtocolError(f"{text!r} failed: {line[:80]!r}")
            return line

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = await self.read_environment(reader)
        if session.script != SCRIPT:
            # No variables set: the dialplan's default is a refusal.
            raise AgiProtocolError(f"unknown AGI script {session.script!r} "
                                   f"(this server answers {SCRIPT!r})")
        request, authorisation = await self._decide(session)
        ms = limit_ms(authorisation, self.limit_grace_ms) if authorisation.allowed else None
        if authorisation.allowed:
            await self.set_variable(reader, writer, "CASHDESK_LIMIT_MS",
                                    "" if ms is None else str(ms))
            await self.set_variable(reader, writer, "CASHDESK_ALLOWED", "1")
        else:
            sip = authorisation.sip_code
            reason = authorisation.reason or RefusalReason.SERVER_UNAVAILABLE
            await self.set_variable(reader, writer, "CASHDESK_ALLOWED", "0")
            await self.set_variable(reader, writer, "CASHDESK_REASON",
                                    authorisation.detail or reason.value)
            await self.set_variable(reader, writer, "CASHDESK_REASON_CODE", reason.value)
            await self.set_variable(reader, writer, "CASHDESK_SIPCODE", str(sip))
            await self.set_variable(reader, writer, "CASHDESK_CAUSE",
                                    str(SIP_TO_Q850.get(sip, 21)))
        log.info("FastAGI %s → %s for %s dialing %s (call %s)", session.get("agi_channel"),
                 f"allowed, limit {ms} ms" if authorisation.allowed else
                 f"refused {authorisation.sip_code} {authorisation.detail}",
                 request.sip_username if request else "?",
                 request.dialed_number if request else session.get("agi_extension"),
                 request.pbx_call_id if request else "?")
        if self.on_decision is not None:
            self.on_decision(AgiDecision(request, authorisation, ms))

    async def set_variable(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                           name: str, value: str) -> None:
        await self.command(reader, writer, f"SET VARIABLE {name} {quote(value)}")

    async def _decide(self, session: AgiSession) -> tuple[AuthorisationRequest | None,
                                                          Authorisation]:
        channel = session.get("agi_channel")
        cabin = self.cabin_of(channel) or session.get("agi_accountcode") or None
        number = session.get("agi_extension")
        if cabin is None:
            return None, Authorisation.refuse(RefusalReason.CABIN_UNKNOWN,
                                              f"channel {channel!r} is not a cabin")
        request = AuthorisationRequest(
            pbx_call_id=session.arg(1) or session.get("agi_uniqueid"),
            sip_username=cabin, dialed_number=number,
            at=self._now() if self._now else None)
        try:
            answer = await asyncio.wait_for(self.authorise(request), self.authorise_timeout)
        except TimeoutError:
            log.error("authorisation of %s → %s took over %g s: refused (fail closed)",
                      cabin, number, self.authorise_timeout)
            return request, Authorisation.refuse(RefusalReason.SERVER_UNAVAILABLE,
                                                 "cash desk did not answer in time")
        except Exception:
            log.exception("authorisation of %s → %s failed: refused (fail closed)",
                          cabin, number)
            return request, Authorisation.refuse(RefusalReason.SERVER_UNAVAILABLE,
                                                 "cash desk unavailable")
        if not isinstance(answer, Authorisation):
            log.error("authoriser returned %r, not an Authorisation: refused", answer)
            return request, Authorisation.refuse(RefusalReason.SERVER_UNAVAILABLE,
                                                 "cash desk answered nonsense")
        return request, answer
