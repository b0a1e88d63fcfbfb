"""The bridge replaying real Asterisk 22.10.1 call recordings over a loopback socket,
checked against what each transcript shows (times in seconds from connect, read off
the `.txt` files by hand; the peer sets the injected clock to each packet's recorded
time). In every recording the channel running Dial() (`Local/2xx…;2`) is the cabin.

What the transcripts show, per call (uniqueids abbreviated to their last number):

dial_bridge_hangup_caller: caller Local/200@lab-00000001;2 (.3, Linkedid 1795646255.2)
  created 0.508, DialBegin → Local/100@lab-00000002;1 (.4) 0.510, .4 Up 0.510,
  Hangup action on the caller 4.520, SoftHangupRequest caller 4.524, Hangup .4 4.524
  (before the caller's own Hangup 4.525), cause 16.
dial_bridge_hangup_callee: caller Local/200@lab-00000003;2 (.7, Linkedid …264.6)
  created 0.508, DialBegin 0.513, .8 Up 0.513; the callee's side hung up by action:
  HangupRequest .8 4.524, Hangup caller .7 4.526 (first of caller/answered leg).
dial_limit L(10000:5000:2000): caller .11 (Linkedid …277.10) created 0.504, DialBegin
  0.510, .12 Up 0.511, Hangup .12 10.509 — ANSWEREDTIME_MS 10002, cause 16.
dial_limit_prompts L(8000:4000:2000): .15 created 0.505, .16 Up 0.509, Hangup .16 8.512.
dial_limit_302_gL_x gL(6000): .23 created 0.504, .24 Up 0.509, Hangup .24 6.514; the
  caller goes on in the dialplan ('g') and hangs up at 6.518 (not a second end).
dial_limit_303_gL_xyz gL(8000:4000:2000): .27 created 0.506, .28 Up 0.509, Hangup .28 8.512.
dial_limit_304_L_x L(6000): .31 created 0.506, .32 Up 0.508, Hangup .32 6.513; its
  caller's Cdr (BillableSeconds 6) arrives at 6.512, before any Hangup.
dial_noanswer: Local/500@lab-00000009;2 (.19, Linkedid …306.18) created 0.505, dials
  Local/400 (.20) 0.508, .20 Ringing 0.508, DialEnd NOANSWER 5.507, Hangup .20 cause 0
  5.508, Hangup caller cause 16 5.508 → failed, no answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cashdesk.pbx.bridge import CutReason
from cashdesk.pbx.events import CallEnded, CallFailed, CallStarted, HangupBy
from tests.pbx_asterisk.conftest import ReplayFactory

SEEDS = [None, 11]   # whole packets, then 1–700 byte pieces


@dataclass(frozen=True)
class Answered:
    name: str
    pbx_call_id: str
    cabin: str
    started: float
    answered: float
    ended: float
    limit_ms: int | None


LIMITED = [
    Answered("dial_limit", "1795646277.10", "300", 0.504, 0.511, 10.509, 10000),
    Answered("dial_limit_prompts", "1795646293.14", "301", 0.505, 0.509, 8.512, 8000),
    Answered("dial_limit_302_gL_x", "1795646346.22", "302", 0.504, 0.509, 6.514, 6000),
    Answered("dial_limit_303_gL_xyz", "1795646359.26", "303", 0.506, 0.509, 8.512, 8000),
    Answered("dial_limit_304_L_x", "1795646372.30", "304", 0.506, 0.508, 6.513, 6000),
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", LIMITED, ids=lambda c: c.name)
async def test_a_call_ended_by_its_limit(replay: ReplayFactory, case: Answered,
                                         seed: int | None) -> None:
    run = await replay(case.name, seed=seed)
    # What the FastAGI authorisation would have noted before Dial(…L(ms)).
    run.bridge.lifecycle.note_limit(case.pbx_call_id, case.limit_ms)
    await run.peer.reached("Logoff")
    events = run.listener.events
    assert run.listener.kinds() == ["started", "answered", "ended"]
    started, answered, ended = events
    assert isinstance(started, CallStarted) and isinstance(ended, CallEnded)
    assert {e.pbx_call_id for e in events} == {case.pbx_call_id}
    assert (started.sip_username, started.dialed_number) == (case.cabin, case.cabin)
    assert run.since_start(started.at) == case.started
    assert run.since_start(answered.at) == case.answered
    assert run.since_start(ended.at) == case.ended
    assert case.limit_ms is not None
    talk = run.since_start(ended.at) - run.since_start(answered.at)
    assert abs(talk - case.limit_ms / 1000) < 0.01
    # Cause 16 like any hangup: only the timing against the limit says who ended it.
    assert ended.hangup_by is HangupBy.PBX
    assert ended.reason == f"limit reached ({case.limit_ms} ms)"
    call = run.bridge.lifecycle.call(case.pbx_call_id)
    assert call is not None and call.cause == 16 and call.cause_txt == "Normal Clearing"
    assert [c["Disposition"] for c in call.cdrs][:1] == ["ANSWERED"]


async def test_without_the_limit_a_limited_call_looks_like_the_callee_hung_up(
        replay: ReplayFactory) -> None:
    run = await replay("dial_limit")
    await run.peer.reached("Logoff")
    (ended,) = run.listener.of("ended")
    assert isinstance(ended, CallEnded)
    assert ended.hangup_by is HangupBy.CALLEE
    assert ended.reason == ""      # normal clearing: the tracker says who hung up


async def test_the_cdr_comes_before_the_hangup_and_changes_nothing(replay: ReplayFactory) -> None:
    run = await replay("dial_limit_304_L_x")
    await run.peer.reached("Logoff")
    call = run.bridge.lifecycle.call("1795646372.30")
    assert call is not None
    assert call.cdrs[0]["BillableSeconds"] == "6"
    assert run.listener.kinds() == ["started", "answered", "ended"]


@pytest.mark.parametrize("seed", SEEDS)
async def test_cut_by_the_cash_desk(replay: ReplayFactory, seed: int | None) -> None:
    run = await replay("dial_bridge_hangup_caller", seed=seed,
                       await_actions=("Login", "CoreShowChannels", "Hangup", "Logoff"))
    await run.peer.reached("CoreShowChannels")
    live = await run.bridge.list_live_calls()
    assert [(c.pbx_call_id, c.sip_username, c.dialed_number) for c in live] == \
        [("1795646255.2", "200", "200")]
    assert run.since_start(live[0].started_at) == 0.508
    assert run.since_start(live[0].answered_at) == 0.510
    await run.peer.reached("Hangup")
    assert run.listener.kinds() == ["started", "answered"]
    await run.bridge.cut("1795646255.2", CutReason.CREDIT_EXHAUSTED)
    (hangup,) = run.peer.sent_actions("Hangup")
    assert (hangup["Channel"], hangup["Cause"]) == ("Local/200@lab-00000001;2", "16")
    (login,) = run.peer.sent_actions("Login")
    assert (login["Username"], login["Secret"]) == ("lab", "labsecret")
    # The recorded answers went back under the bridge's own ActionIDs, and were matched.
    assert run.peer.mapped == {"dial_bridge_hangup_caller-1": login["ActionID"],
                               "dial_bridge_hangup_caller-3": run.peer.sent_actions(
                                   "CoreShowChannels")[-1]["ActionID"],
                               "dial_bridge_hangup_caller-5": hangup["ActionID"]}
    await run.peer.reached("Logoff")
    started, answered, ended = run.listener.events
    assert isinstance(ended, CallEnded)
    assert run.since_start(started.at) == 0.508
    assert run.since_start(answered.at) == 0.510
    assert run.since_start(ended.at) == 4.524
    assert (ended.hangup_by, ended.reason) == (HangupBy.PBX, "credit_exhausted")
    # Cutting again, or a call that is over, is no error and sends nothing.
    await run.bridge.cut("1795646255.2", CutReason.CREDIT_EXHAUSTED)
    assert len(run.peer.sent_actions("Hangup")) == 1
    assert run.listener.kinds().count("ended") == 1


async def test_the_cabin_hangs_up(replay: ReplayFactory) -> None:
    """The same recording, as if the cabin had hung up (the action is not ours): the
    dialed leg's Hangup comes first, but the caller's hangup was requested first."""
    run = await replay("dial_bridge_hangup_caller")
    await run.peer.reached("Logoff")
    (ended,) = run.listener.of("ended")
    assert isinstance(ended, CallEnded)
    assert ended.hangup_by is HangupBy.CABIN
    assert run.since_start(ended.at) == 4.524
    assert ended.reason == ""      # normal clearing: the tracker says who hung up


@pytest.mark.parametrize("seed", SEEDS)
async def test_the_callee_hangs_up(replay: ReplayFactory, seed: int | None) -> None:
    run = await replay("dial_bridge_hangup_callee", seed=seed)
    await run.peer.reached("Logoff")
    started, answered, ended = run.listener.events
    assert isinstance(started, CallStarted) and isinstance(ended, CallEnded)
    assert started.pbx_call_id == "1795646264.6"
    assert run.since_start(started.at) == 0.508
    assert run.since_start(answered.at) == 0.513
    assert run.since_start(ended.at) == 4.526
    assert ended.hangup_by is HangupBy.CALLEE


@pytest.mark.parametrize("seed", SEEDS)
async def test_no_answer(replay: ReplayFactory, seed: int | None) -> None:
    run = await replay("dial_noanswer", seed=seed)
    await run.peer.reached("Logoff")
    assert run.listener.kinds() == ["started", "ringing", "failed"]
    started, ringing, failed = run.listener.events
    assert isinstance(started, CallStarted) and isinstance(failed, CallFailed)
    assert (started.pbx_call_id, started.sip_username, started.dialed_number) == \
        ("1795646306.18", "500", "500")
    assert run.since_start(started.at) == 0.505
    assert run.since_start(ringing.at) == 0.508
    assert run.since_start(failed.at) == 5.508
    assert (failed.sip_code, failed.reason) == (480, "no answer")


async def test_backstop_is_counted_from_the_answer(replay: ReplayFactory) -> None:
    """dial_bridge_hangup_callee: at 3.519 s (answered at 0.513) a 60 s maximum and
    the 0.5 s grace leave 57.494 s: AbsoluteTimeout on the dialed leg that answered,
    the channel a bare L() put its timer on (answered by the peer)."""
    run = await replay("dial_bridge_hangup_callee",
                       await_actions=("Login", "CoreShowChannels", "Logoff"))
    await run.peer.reached("CoreShowChannels")
    await run.bridge.set_backstop("1795646264.6", 60)
    (timeout,) = run.peer.sent_actions("AbsoluteTimeout")
    assert (timeout["Channel"], timeout["Timeout"]) == ("Local/100@lab-00000004;1", "57.494")
    await run.bridge.set_backstop("no-such-call", 60)   # no error, nothing sent
    assert len(run.peer.sent_actions("AbsoluteTimeout")) == 1
