"""The AMI client against the recorded Asterisk 22.10.1 sessions, over real sockets:
login, refused login, list actions correlated by ActionID, Hangup answers."""

from __future__ import annotations

import asyncio
import random

import pytest

from cashdesk.pbx.asterisk.ami import AmiActionError, AmiAuthError, AmiClient
from tests.pbx_asterisk.conftest import ReplayFactory
from tests.pbx_asterisk.peer import ReplayPeer
from tests.pbx_asterisk.transcript import SCENARIOS, load


@pytest.mark.parametrize("name", SCENARIOS)
def test_transcript_splits_back_into_the_raw_bytes(name: str) -> None:
    transcript = load(name)
    assert transcript.raw.startswith(b"Asterisk Call Manager/11.0.0\r\n")
    assert transcript.actions()[0].action == "Login"
    # Every packet is well formed: the parser drops nothing from real Asterisk output.
    assert all(p.event or p.response for p in transcript.received())


async def test_bad_login_is_an_auth_error(caplog: pytest.LogCaptureFixture) -> None:
    peer = ReplayPeer(load("bad_login"))
    port = await peer.start()
    client = AmiClient("127.0.0.1", port, "lab", "wrong", action_timeout=2.0,
                       connect_timeout=2.0)
    try:
        with pytest.raises(AmiAuthError, match="Authentication failed"):
            await client.async_start()
        login = peer.sent_actions("Login")
        assert [(p["Username"], p["Secret"], p["Events"]) for p in login] == \
            [("lab", "wrong", "on")]
        assert not client.connected
        assert "refused: Authentication failed" in caplog.text
        assert peer.connections == 1   # a refused start does not go on retrying
    finally:
        await client.async_stop()
        await peer.stop()


async def test_bad_login_stops_the_bridge_start(replay: ReplayFactory) -> None:
    with pytest.raises(AmiAuthError):
        await replay("bad_login", secret="wrong")


async def test_hangup_on_a_missing_channel_is_already_gone(replay: ReplayFactory) -> None:
    run = await replay("hangup_bogus", await_actions=("Login", "Hangup", "Logoff"))
    await run.peer.reached("Hangup")
    assert await run.bridge.hangup_channel("Local/999@lab-deadbeef;1") is False
    (hangup,) = run.peer.sent_actions("Hangup")
    assert hangup["Channel"] == "Local/999@lab-deadbeef;1"
    assert hangup["Cause"] == "16"
    # The recorded answer came back under our own ActionID.
    assert run.peer.mapped["hangup_bogus-2"] == hangup["ActionID"]
    await run.peer.reached("Logoff")
    await run.bridge.async_stop()
    await asyncio.wait_for(run.peer.finished.wait(), 2)
    assert [p["Action"] for p in run.peer.received] == \
        ["Login", "CoreShowChannels", "Hangup", "Logoff"]
    assert run.listener.events == []


async def test_the_raw_ami_error_names_no_such_channel(replay: ReplayFactory) -> None:
    run = await replay("hangup_bogus", await_actions=("Login", "Hangup"))
    await run.peer.reached("Hangup")
    with pytest.raises(AmiActionError) as caught:
        await run.bridge.ami.action("Hangup", {"Channel": "Local/999@lab-deadbeef;1"})
    assert caught.value.no_such_channel
    assert caught.value.response.action_id == run.peer.sent_actions("Hangup")[0]["ActionID"]


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
async def test_core_show_channels_collects_its_items_by_action_id(
        replay: ReplayFactory, seed: int | None) -> None:
    """originate_app_hangup: two live channels listed at 3.5 s, then a Hangup by
    action whose Success arrives before the channels' Hangup events. Nothing there
    is a cabin (Local/100 running Wait), so the bridge reports no call."""
    run = await replay("originate_app_hangup", seed=seed,
                       await_actions=("Login", "CoreShowChannels", "Hangup", "Logoff"))
    await run.peer.reached("CoreShowChannels")
    result = await run.bridge.ami.action_list("CoreShowChannels")
    assert result.response.message == "Channels will follow"
    assert [p["Channel"] for p in result.items] == \
        ["Local/100@lab-00000000;2", "Local/100@lab-00000000;1"]
    assert {p["Linkedid"] for p in result.items} == {"1795646553.0"}
    assert result.complete["ListItems"] == "2"
    await run.peer.reached("Hangup")
    assert await run.bridge.hangup_channel("Local/100@lab-00000000;1") is True
    await run.peer.reached("Logoff")
    assert run.listener.events == []
    assert run.bridge.lifecycle.live_calls() == []


async def test_events_and_responses_interleaved_in_chunks(caplog: pytest.LogCaptureFixture) -> None:
    """The dial_bridge_hangup_callee recording has a BridgeList answered in the middle
    of a CoreShowChannels listing; replayed in 1–40 byte pieces, with the recorded
    foreign ActionIDs (Originate, BridgeList) left as they were."""
    peer = ReplayPeer(load("dial_bridge_hangup_callee"), chunks=random.Random(7),
                      max_chunk=40, await_actions=("Login", "CoreShowChannels", "Logoff"))
    port = await peer.start()
    events: list[str] = []
    client = AmiClient("127.0.0.1", port, "lab", "labsecret", action_timeout=3.0,
                       on_event=lambda p: events.append(p.event or ""))
    try:
        await client.async_start()
        await peer.reached("CoreShowChannels")
        result = await client.action_list("CoreShowChannels")
        assert len(result.items) == 4
        assert all(p.event == "CoreShowChannel" for p in result.items)
        await peer.reached("Logoff")
        # The list items went to the list, not to the event handler.
        assert "CoreShowChannel" not in events
        assert "BridgeListItem" in events   # someone else's list: an ordinary event
        assert "Hangup" in events and "Cdr" in events
    finally:
        await client.async_stop()
        await peer.stop()
    assert "neither Event nor Response" not in caplog.text
