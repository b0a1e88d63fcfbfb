"""A PBX the test scripts call by call, plugged in through the server's bridge factory
hook, and a desk that follows the live events socket.

`ScriptedBridge` speaks the `PbxBridge` contract like a real one: it asks the server
to authorise before "routing", reports started/ringing/answered/ended/failed with the
injected clock's time, lists its live calls for reconciliation, records cuts and
backstops, and can report its link going down and up.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cashdesk.clock import Clock
from cashdesk.pbx.bridge import (
    Authorisation,
    AuthorisationRequest,
    CutReason,
    LiveCall,
    PbxBridge,
)
from cashdesk.pbx.events import (
    CallAnswered,
    CallEnded,
    CallFailed,
    CallRinging,
    CallStarted,
    HangupBy,
)
from cashdesk.server.bridges import BridgeContext, LinkStatus


class ScriptedBridge(PbxBridge):
    name = "scripted"

    def __init__(self, clock: Clock, link: LinkStatus | None = None) -> None:
        super().__init__()
        self.clock = clock
        self.link = link
        self.started = False
        self.cuts: list[tuple[str, CutReason]] = []
        self.backstops: dict[str, int] = {}
        self.live: dict[str, LiveCall] = {}

    # -- the contract -------------------------------------------------------------------
    async def async_start(self) -> None:
        self.started = True

    async def async_stop(self) -> None:
        self.started = False

    async def cut(self, pbx_call_id: str, reason: CutReason) -> None:
        self.cuts.append((pbx_call_id, reason))

    async def set_backstop(self, pbx_call_id: str, max_duration_s: int) -> None:
        self.backstops[pbx_call_id] = max_duration_s

    async def list_live_calls(self) -> list[LiveCall]:
        return list(self.live.values())

    # -- the script ---------------------------------------------------------------------
    async def dial(self, call: str, cabin: str, number: str) -> Authorisation:
        """A cabin dials: authorised first, then started if allowed."""
        now = self.clock.now()
        answer = await self.listener.async_authorise(
            AuthorisationRequest(call, cabin, number, at=now))
        if answer.allowed:
            self.live[call] = LiveCall(call, cabin, number, started_at=now)
            self.listener.on_event(CallStarted(call, cabin, number, at=now))
        return answer

    def ring(self, call: str) -> None:
        self.listener.on_event(CallRinging(call, at=self.clock.now()))

    def answer(self, call: str) -> None:
        now = self.clock.now()
        seen = self.live[call]
        self.live[call] = LiveCall(call, seen.sip_username, seen.dialed_number,
                                   started_at=seen.started_at, answered_at=now)
        self.listener.on_event(CallAnswered(call, at=now))

    def hang_up(self, call: str, by: HangupBy = HangupBy.CABIN) -> None:
        self.live.pop(call, None)
        self.listener.on_event(CallEnded(call, "normal clearing", by, at=self.clock.now()))

    def fail(self, call: str, sip_code: int = 486) -> None:
        self.live.pop(call, None)
        self.listener.on_event(CallFailed(call, sip_code, "busy", at=self.clock.now()))


@dataclass
class Pbx:
    """The factory the app is created with, and the bridge it made."""

    bridges: list[ScriptedBridge] = field(default_factory=list)
    contexts: list[BridgeContext] = field(default_factory=list)

    def __call__(self, context: BridgeContext) -> ScriptedBridge:
        bridge = ScriptedBridge(context.clock, context.link)
        self.bridges.append(bridge)
        self.contexts.append(context)
        return bridge

    @property
    def bridge(self) -> ScriptedBridge:
        return self.bridges[-1]


class Desk:
    """A cash desk following `/events`: every message it received, in order."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.closed: Any = None
        self._task = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(cls, client: Any, token: str, **kwargs: Any) -> Desk:
        ws = await client.ws_connect("/api/v1/events",
                                     headers={"Authorization": f"Bearer {token}"}, **kwargs)
        return cls(ws)

    async def _read(self) -> None:
        async for message in self.ws:
            self.messages.append(json.loads(message.data))
        self.closed = self.ws.close_code

    @property
    def hello(self) -> dict[str, Any]:
        return self.messages[0]

    @property
    def events(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == "event"]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m["data"] for m in self.events if m["kind"] == kind]

    async def until(self, check: Callable[[Desk], bool], timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not check(self):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out; the desk has {self.messages[-5:]}")
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        await self.ws.close()
        await self._task
