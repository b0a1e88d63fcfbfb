"""Fixtures for the Asterisk bridge tests: a recording listener, a bridge wired to a
scripted AMI peer on a real loopback socket, and the fixtures' cabin pattern."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from cashdesk.clock import FakeClock
from cashdesk.pbx.asterisk.bridge import AsteriskBridge, AsteriskSettings
from cashdesk.pbx.bridge import Authorisation, AuthorisationRequest
from cashdesk.pbx.events import PbxEvent
from tests.pbx_asterisk.peer import ReplayPeer
from tests.pbx_asterisk.transcript import load

#: The recordings use Local channels, not PJSIP: the channel running Dial() for
#: extensions 200–599 (`Local/300@lab-00000005;2`) stands for a cabin's channel.
#: Local/100 and Local/400 (the answering side) are not cabins.
FIXTURE_CABINS = r"^Local/(?P<cabin>[2-5]\d\d)@lab-[0-9a-f]+;2$"


@dataclass
class RecordingListener:
    events: list[PbxEvent] = field(default_factory=list)
    requests: list[AuthorisationRequest] = field(default_factory=list)
    answer: Callable[[AuthorisationRequest], Awaitable[Authorisation]] | None = None

    def on_event(self, event: PbxEvent) -> None:
        self.events.append(event)

    def authorise_now(self, request: AuthorisationRequest) -> Authorisation | None:
        return None

    async def async_authorise(self, request: AuthorisationRequest) -> Authorisation:
        self.requests.append(request)
        if self.answer is None:
            return Authorisation.allow(60)
        return await self.answer(request)

    def kinds(self, pbx_call_id: str | None = None) -> list[str]:
        return [e.kind.value for e in self.events
                if pbx_call_id is None or e.pbx_call_id == pbx_call_id]

    def of(self, kind: str) -> list[PbxEvent]:
        return [e for e in self.events if e.kind.value == kind]


def settings_for(port: int, **overrides: object) -> AsteriskSettings:
    values: dict[str, object] = {
        "ami_port": port, "username": "lab", "secret": "labsecret", "agi_port": None,
        "cabin_pattern": FIXTURE_CABINS, "cabin_context": "lab", "action_timeout": 2.0,
        "connect_timeout": 2.0, "ping_interval": 30.0, "reconnect_delay": (0.05, 0.2)}
    values.update(overrides)
    return AsteriskSettings(**values)  # type: ignore[arg-type]


@dataclass
class Replay:
    peer: ReplayPeer
    bridge: AsteriskBridge
    listener: RecordingListener
    clock: FakeClock

    def since_start(self, at: datetime | None) -> float:
        """Seconds from the start of the recording (the clock's start)."""
        assert at is not None
        return round((at - START).total_seconds(), 3)


START = FakeClock().now()
ReplayFactory = Callable[..., Awaitable[Replay]]


@pytest.fixture
async def replay() -> AsyncIterator[ReplayFactory]:
    """`await replay(name, await_actions=…, seed=…)`: a started bridge on a peer
    replaying the recording `name`; everything is stopped afterwards."""
    started: list[Replay] = []

    async def make(name: str, *, await_actions: tuple[str, ...] = ("Login", "Logoff"),
                   seed: int | None = None, timed: bool = True, **overrides: object) -> Replay:
        clock = FakeClock()
        peer = ReplayPeer(load(name), await_actions=await_actions,
                          clock=clock if timed else None,
                          chunks=random.Random(seed) if seed is not None else None)
        port = await peer.start()
        bridge = AsteriskBridge(settings_for(port, **overrides), clock=clock)
        listener = RecordingListener()
        bridge.attach(listener)
        peer.consumed = lambda: bridge.ami.bytes_received
        result = Replay(peer, bridge, listener, clock)
        started.append(result)
        await bridge.async_start()
        return result

    yield make
    for item in started:
        await item.bridge.async_stop()
        await item.peer.stop()
