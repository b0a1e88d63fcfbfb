"""The scripted Asterisk itself, against the recordings and the bridge's own reading
of them: every packet it sends has the keys, in the order, Asterisk 22.10.1 sent for
that event; its calls read as the calls they are (who hung up, the L() limit);
AbsoluteTimeout replaces the limit's timer on the carrier leg; a wrong secret is
refused as Asterisk refuses it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from cashdesk.pbx.asterisk.ami import AmiActionError, AmiAuthError, AmiClient
from cashdesk.pbx.asterisk.lifecycle import CallLifecycle
from cashdesk.pbx.asterisk.packets import Packet
from cashdesk.pbx.events import CallEnded, HangupBy
from tests.asterisk_billing.asterisk import ScriptedAsterisk
from tests.asterisk_billing.conftest import SECRET
from tests.asterisk_billing.templates import recorded_shapes

WRITTEN = {"pong", "timeout-set", "no-timeout", "unknown-action"}


class Watcher:
    """An AMI client logged in to the scripted Asterisk, feeding a `CallLifecycle`."""

    def __init__(self, port: int, secret: str = SECRET) -> None:
        self.lifecycle = CallLifecycle()
        self.ended: dict[str, CallEnded] = {}
        self.client = AmiClient("127.0.0.1", port, "cashdesk", secret, on_event=self._event,
                                action_timeout=2, connect_timeout=2, ping_interval=30)

    def _event(self, packet: Packet) -> None:
        for event in self.lifecycle.handle(packet, datetime.now(UTC)):
            if isinstance(event, CallEnded):
                self.ended[event.pbx_call_id] = event


@pytest.fixture
async def watched(asterisk: ScriptedAsterisk) -> AsyncIterator[Watcher]:
    watcher = Watcher(asterisk.port)
    await watcher.client.async_start()
    yield watcher
    await watcher.client.async_stop()


async def until(check: object, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_every_ending_reads_as_what_it_is(asterisk: ScriptedAsterisk,
                                                watched: Watcher) -> None:
    calls = {}
    for how in ("cabin", "callee", "limit", "action"):
        call = asterisk.new_call(f"cab-{how}", "0033123456789")
        asterisk.dial(call, 300 if how == "limit" else 60_000)
        asterisk.ring(call)
        asterisk.answer(call)
        calls[how] = call
    await until(lambda: len(watched.lifecycle.live_calls()) == 4)
    for call in calls.values():
        watched.lifecycle.note_limit(call.pbx_call_id, call.limit_ms)
    asterisk.hang_up(calls["cabin"], "cabin")
    asterisk.hang_up(calls["callee"], "callee")
    watched.lifecycle.note_cut(calls["action"].pbx_call_id, "credit_exhausted")
    response = await watched.client.action("Hangup", {"Channel": calls["action"].caller.name,
                                                      "Cause": 16})
    assert response.message == "Channel Hungup"
    await until(lambda: len(watched.ended) == 4)
    by = {how: watched.ended[call.pbx_call_id] for how, call in calls.items()}
    assert (by["cabin"].hangup_by, by["cabin"].reason) == (HangupBy.CABIN, "")
    assert (by["callee"].hangup_by, by["callee"].reason) == (HangupBy.CALLEE, "")
    assert (by["limit"].hangup_by, by["limit"].reason) == (HangupBy.PBX,
                                                           "limit reached (300 ms)")
    assert (by["action"].hangup_by, by["action"].reason) == (HangupBy.PBX, "credit_exhausted")
    assert calls["limit"].ended_by == "L()"
    with pytest.raises(AmiActionError, match="No such channel"):
        await watched.client.action("Hangup", {"Channel": calls["cabin"].caller.name})

    # Every packet sent has a shape Asterisk sent (list items: once their ActionID is in).
    listing = await watched.client.action_list("CoreShowChannels")
    assert listing.items == [] and listing.complete.get("ListItems") == "0"
    for template, packet in asterisk.sent:
        shape = tuple(key for key, _ in packet.fields)
        assert shape == template.keys
        if template.name not in WRITTEN and packet.event is not None:
            assert shape in recorded_shapes(packet.event), template.name


async def test_absolute_timeout_replaces_the_limit_on_the_carrier_leg(
        asterisk: ScriptedAsterisk, watched: Watcher) -> None:
    call = asterisk.new_call("cab-1", "0033123456789")
    asterisk.dial(call, 200)
    asterisk.answer(call)
    assert call.dest is not None
    await until(lambda: watched.lifecycle.live_calls())
    response = await watched.client.action("AbsoluteTimeout",
                                           {"Channel": call.dest.name, "Timeout": "0.6"})
    assert response.message == "Timeout Set"
    await asyncio.sleep(0.3)
    assert call.live                      # L(200) would have ended it by now
    await asyncio.wait_for(call.over.wait(), 2)
    assert call.ended_by == "AbsoluteTimeout"
    assert call.ended_at is not None and call.answered_at is not None
    assert 0.55 <= call.ended_at - call.answered_at <= 0.8
    with pytest.raises(AmiActionError, match="No timeout specified"):
        await watched.client.action("AbsoluteTimeout", {"Channel": call.dest.name,
                                                        "Timeout": "0"})


async def test_a_wrong_secret_is_refused(asterisk: ScriptedAsterisk) -> None:
    watcher = Watcher(asterisk.port, secret="wrong-secret")
    with pytest.raises(AmiAuthError, match="Authentication failed"):
        await watcher.client.async_start()
    assert asterisk.logins == 0
