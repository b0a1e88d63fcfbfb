"""The backstop: Kamailio's own dialog timeout ends a call even if the server never
cuts it. Kamailio's dialog timer counts whole seconds and runs once a second, so a
timeout of T fires between T-1 and T+1 seconds after it is set (measured: 0.79 s for
T=1). The config adds one second: a call allowed N seconds ends N to N+2 seconds after
its answer, never before."""

from __future__ import annotations

import asyncio

import pytest

from tests.pbx.conftest import SippFactory
from tests.pbx.harness import EvapiPeer, Kamailio, allow

pytestmark = pytest.mark.e2e

PARALLEL = 8


def talk_time(peer: EvapiPeer, call_id: str) -> float:
    answered = peer.of_type("answered", call_id)[0].message["ts"]
    ended = peer.of_type("ended", call_id)[0].message["ts"]
    return float(ended - answered)


async def test_backstop_ends_calls_on_time_with_bye_to_both_legs(
        kamailio: Kamailio, evapi_peer: EvapiPeer, sipp: SippFactory) -> None:
    """Several calls time out at once: each leg of each gets its BYE (the timeout
    path has the same 5.6.3 BYE race as a cut)."""
    evapi_peer.policy = allow(max_seconds=1)
    await sipp.async_register("cabin1")
    carrier = await sipp.carrier("carrier_answer", calls=PARALLEL, timeout_s=8).async_start()
    cabin = sipp.cabin("cabin_call_until_bye", calls=PARALLEL, timeout_s=8,
                       extra=["-l", str(PARALLEL), "-r", "50"])
    cabin_result = await cabin.async_run()
    carrier_result = await carrier.async_result()
    assert cabin_result.ok, cabin_result.describe()
    assert carrier_result.ok, carrier_result.describe()
    assert len(cabin_result.received_requests("BYE")) == PARALLEL
    assert len(carrier_result.received_requests("BYE")) == PARALLEL

    ended = await evapi_peer.async_wait_for("ended", PARALLEL)
    assert {(e.message["hangup_by"], e.message["reason"]) for e in ended} == {("pbx", "timeout")}
    for event in ended:
        assert 1.0 <= talk_time(evapi_peer, event.message["call_id"]) < 3.1


async def test_a_reinvite_does_not_extend_the_backstop(kamailio: Kamailio,
                                                       evapi_peer: EvapiPeer,
                                                       sipp: SippFactory) -> None:
    evapi_peer.policy = allow(max_seconds=3)
    await sipp.async_register("cabin1")
    carrier = await sipp.carrier("carrier_answer", timeout_s=10).async_start()
    cabin_result = await sipp.cabin("cabin_call_reinvite", duration_ms=2500,
                                    timeout_s=10).async_run()
    carrier_result = await carrier.async_result()
    assert cabin_result.ok, cabin_result.describe()
    assert carrier_result.ok, carrier_result.describe()
    assert len(carrier_result.received_requests("INVITE")) == 2  # the re-INVITE got through
    ended = (await evapi_peer.async_wait_for("ended"))[0].message
    assert ended["reason"] == "timeout"
    # Reset by the re-INVITE (2.5 s in), it would have lasted 5.5 s or more.
    assert 3.0 <= talk_time(evapi_peer, ended["call_id"]) < 5.1


async def test_the_server_moves_the_backstop(kamailio: Kamailio, evapi_peer: EvapiPeer,
                                             sipp: SippFactory) -> None:
    evapi_peer.policy = allow(max_seconds=60)
    await sipp.async_register("cabin1")
    carrier = await sipp.carrier("carrier_answer", timeout_s=8).async_start()
    cabin = await sipp.cabin("cabin_call_until_bye", timeout_s=8).async_start()
    answered = (await evapi_peer.async_wait_for("answered"))[0].message
    await asyncio.sleep(0.5)
    await evapi_peer.async_send({"type": "set_timeout", "call_id": answered["call_id"],
                                 "seconds": 1})
    result = (await evapi_peer.async_wait_for("timeout_result"))[0].message
    assert result["found"] is True and result["seconds"] == 1
    cabin_result, carrier_result = await cabin.async_result(), await carrier.async_result()
    assert cabin_result.ok and carrier_result.ok
    ended = (await evapi_peer.async_wait_for("ended"))[0].message
    assert ended["reason"] == "timeout"
    # Counted from the update (0.5 s after the answer), not from the answer.
    assert 1.5 <= talk_time(evapi_peer, answered["call_id"]) < 3.6


async def test_moving_the_backstop_of_an_unknown_call(kamailio: Kamailio,
                                                      evapi_peer: EvapiPeer) -> None:
    await evapi_peer.async_send({"type": "set_timeout", "call_id": "nobody@nowhere",
                                 "seconds": 5})
    result = (await evapi_peer.async_wait_for("timeout_result"))[0].message
    assert result["found"] is False
