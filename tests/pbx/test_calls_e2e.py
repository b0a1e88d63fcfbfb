"""Calls through a real Kamailio with SIPp cabins and carrier, authorised by a Python
evapi peer that stands in for the sync server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from tests.pbx.conftest import SippFactory
from tests.pbx.harness import (
    CABIN_HOST,
    EvapiPeer,
    Kamailio,
    UdpSink,
    allow,
    refuse,
    silent,
)

pytestmark = pytest.mark.e2e

NUMBER = "0033123456789"


def sub_second(ts: float) -> bool:
    """$TV(Sn) gives microseconds; a whole-second clock would give .0 every time."""
    return ts != int(ts)


async def test_authorised_call_reports_every_step(kamailio: Kamailio, evapi_peer: EvapiPeer,
                                                  sipp: SippFactory) -> None:
    await sipp.async_register("cabin1")
    carrier = await sipp.carrier("carrier_answer").async_start()
    cabin_result = await sipp.cabin("cabin_call", duration_ms=300, service=NUMBER).async_run()
    carrier_result = await carrier.async_result()
    assert cabin_result.ok, cabin_result.describe()
    assert carrier_result.ok, carrier_result.describe()
    assert len(carrier_result.received_requests("INVITE")) == 1

    ended = await evapi_peer.async_wait_for("ended")
    call_id = ended[0].message["call_id"]
    kinds = [e.type for e in evapi_peer.events if e.message.get("call_id") == call_id]
    assert kinds == ["authorize", "started", "ringing", "answered", "ended"]

    by_type = {e.type: e.message for e in evapi_peer.events}
    authorize = by_type["authorize"]
    assert authorize["cabin"] == "cabin1" and authorize["number"] == NUMBER
    assert isinstance(authorize["tindex"], int) and isinstance(authorize["tlabel"], int)
    for kind in ("started", "ringing", "answered", "ended"):
        message = by_type[kind]
        assert message["call_id"] == call_id
        assert message["cabin"] == "cabin1" and message["number"] == NUMBER
        assert message["from_tag"] == authorize["from_tag"]
    assert by_type["ringing"]["code"] == 180
    assert by_type["answered"]["to_tag"] == by_type["ringing"]["to_tag"] != ""
    assert by_type["answered"]["h_entry"] == by_type["started"]["h_entry"]
    assert by_type["ended"]["hangup_by"] == "cabin"
    assert by_type["ended"]["reason"] == "bye"

    stamps = [by_type[k]["ts"] for k in ("authorize", "started", "ringing", "answered", "ended")]
    assert stamps == sorted(stamps)
    assert sum(sub_second(ts) for ts in stamps) >= 4
    # The cabin talked for 300 ms between the 200 OK and its BYE.
    talk = by_type["ended"]["ts"] - by_type["answered"]["ts"]
    assert 0.25 < talk < 0.6, talk
    # Events reach Python within a millisecond or so of Kamailio's stamp (without
    # TCP_QUICKACK, one sent right after another waited ~40 ms for an ACK).
    delays = sorted(e.received_at - e.message["ts"] for e in evapi_peer.events)
    assert delays[len(delays) // 2] < 0.02 and delays[-1] < 0.2, delays


async def test_wrong_password_gets_no_call_and_no_event(kamailio: Kamailio,
                                                       evapi_peer: EvapiPeer,
                                                       sipp: SippFactory) -> None:
    register = await sipp.cabin("cabin_register", "cabin1", password="wrong").async_run()
    assert not register.ok
    assert register.received_statuses() == [401, 401]

    async with UdpSink(kamailio.settings.carrier) as carrier:
        call = await sipp.cabin("cabin_call_refused", "cabin1", password="wrong").async_run()
    assert call.ok, call.describe()
    assert call.received_statuses() == [407, 407]
    assert carrier.datagrams == []
    assert evapi_peer.events == []


async def test_unregistered_cabin_cannot_call(kamailio: Kamailio, evapi_peer: EvapiPeer,
                                              sipp: SippFactory) -> None:
    await sipp.async_register("cabin1")  # another cabin's registration does not count
    async with UdpSink(kamailio.settings.carrier) as carrier:
        call = await sipp.cabin("cabin_call_refused", "cabin2").async_run()
    assert call.ok, call.describe()
    assert call.received()[-1].first_line == "SIP/2.0 403 Cabin Not Registered"
    assert carrier.datagrams == []
    assert evapi_peer.events == []


async def test_refused_authorisation_gives_the_servers_code(
        kamailio: Kamailio, evapi_peer: EvapiPeer, sipp: SippFactory) -> None:
    evapi_peer.policy = refuse(402, "Payment Required")
    await sipp.async_register("cabin1")
    async with UdpSink(kamailio.settings.carrier) as carrier:
        call = await sipp.cabin("cabin_call_refused", "cabin1").async_run()
    assert call.ok, call.describe()
    final = [m for m in call.received() if m.status and m.status >= 300][-1]
    assert final.first_line == "SIP/2.0 402 Payment Required"
    assert carrier.datagrams == []
    assert [e.type for e in evapi_peer.events] == ["authorize"]


async def test_no_server_connected_fails_closed_at_once(kamailio: Kamailio,
                                                        sipp: SippFactory) -> None:
    await sipp.async_register("cabin1")
    async with UdpSink(kamailio.settings.carrier) as carrier:
        call = await sipp.cabin("cabin_call_refused", "cabin1").async_run()
    assert call.ok, call.describe()
    invite = [m for m in call.sent() if m.method == "INVITE"][-1]
    final = call.received()[-1]
    assert final.first_line == "SIP/2.0 503 Billing Unavailable"
    assert final.at - invite.at < 0.05  # no waiting for a server that is not there
    assert carrier.datagrams == []


async def test_silent_server_fails_closed_after_the_timeout(kamailio: Kamailio,
                                                            evapi_peer: EvapiPeer,
                                                            sipp: SippFactory) -> None:
    evapi_peer.policy = silent()
    await sipp.async_register("cabin1")
    call = await sipp.cabin("cabin_call_refused", "cabin1").async_run()
    assert call.ok, call.describe()
    invite = [m for m in call.sent() if m.method == "INVITE"][-1]
    final = call.received()[-1]
    assert final.first_line == "SIP/2.0 503 Billing Timeout"
    waited = final.at - invite.at
    assert 0.9 < waited < 2.0, waited  # auth_timeout_ms=1000 in the tests

    # An answer after the timeout finds no transaction to resume: logged, harmless.
    request = evapi_peer.of_type("authorize")[0].message
    await evapi_peer.async_send({"type": "authorization", "tindex": request["tindex"],
                                 "tlabel": request["tlabel"], "allow": True})
    await asyncio.sleep(0.2)
    assert "came too late" in kamailio.log()
    evapi_peer.policy = allow()
    carrier = await sipp.carrier("carrier_answer").async_start()
    assert (await sipp.cabin("cabin_call", "cabin1").async_run()).ok
    assert (await carrier.async_result()).ok


async def test_a_refusal_with_a_success_code_is_still_a_refusal(
        kamailio: Kamailio, evapi_peer: EvapiPeer, sipp: SippFactory) -> None:
    evapi_peer.policy = refuse(200, "OK\r\nX-Injected: 1")
    await sipp.async_register("cabin1")
    async with UdpSink(kamailio.settings.carrier) as carrier:
        call = await sipp.cabin("cabin_call_refused", "cabin1").async_run()
    assert call.ok, call.describe()
    final = call.received()[-1]
    assert final.first_line == "SIP/2.0 403 OK X-Injected: 1"
    assert "\nX-Injected" not in final.text
    assert carrier.datagrams == []


async def test_busy_carrier_reports_failed_with_code(kamailio: Kamailio,
                                                     evapi_peer: EvapiPeer,
                                                     sipp: SippFactory) -> None:
    await sipp.async_register("cabin1")
    carrier = await sipp.carrier("carrier_busy").async_start()
    call = await sipp.cabin("cabin_call_refused", "cabin1").async_run()
    assert call.ok, call.describe()
    assert call.received_statuses()[-1] == 486
    assert (await carrier.async_result()).ok
    failed = await evapi_peer.async_wait_for("failed")
    assert failed[0].message["code"] == 486
    assert "to_tag" not in failed[0].message  # no dialog was established
    assert evapi_peer.of_type("answered") == [] and evapi_peer.of_type("ended") == []


async def test_cancel_while_ringing_reports_failed_487(kamailio: Kamailio,
                                                       evapi_peer: EvapiPeer,
                                                       sipp: SippFactory) -> None:
    await sipp.async_register("cabin1")
    carrier = await sipp.carrier("carrier_ring").async_start()
    call = await sipp.cabin("cabin_call_cancel", "cabin1", duration_ms=200).async_run()
    assert call.ok, call.describe()
    carrier_result = await carrier.async_result()
    assert carrier_result.ok, carrier_result.describe()
    assert len(carrier_result.received_requests("CANCEL")) == 1
    failed = await evapi_peer.async_wait_for("failed")
    assert failed[0].message["code"] == 487
    assert [e.type for e in evapi_peer.events] == ["authorize", "started", "ringing", "failed"]


async def test_carrier_hangup_is_reported(kamailio: Kamailio, evapi_peer: EvapiPeer,
                                          sipp: SippFactory) -> None:
    await sipp.async_register("cabin1")
    carrier = await sipp.carrier("carrier_hangup", duration_ms=200).async_start()
    call = await sipp.cabin("cabin_call_until_bye", "cabin1").async_run()
    assert call.ok, call.describe()
    assert (await carrier.async_result()).ok
    ended = await evapi_peer.async_wait_for("ended")
    assert ended[0].message["hangup_by"] == "callee"


async def test_pike_blocks_a_flooding_cabin_address(
        kamailio_factory: Callable[..., Kamailio]) -> None:
    instance = kamailio_factory(pike_density=10)
    listen = instance.settings.listen
    loop = asyncio.get_running_loop()
    answers = 0

    class Counter(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            nonlocal answers
            answers += data.startswith(b"SIP/2.0 200")

    transport, _ = await loop.create_datagram_endpoint(Counter, local_addr=(CABIN_HOST, 0))
    try:
        port = transport.get_extra_info("sockname")[1]
        for n in range(60):
            transport.sendto((
                f"OPTIONS sip:{listen} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {CABIN_HOST}:{port};branch=z9hG4bK-flood{n}-{time.time_ns()}\r\n"
                f"From: <sip:flood@{CABIN_HOST}>;tag=f{n}\r\nTo: <sip:{listen}>\r\n"
                f"Call-ID: flood-{n}-{time.time_ns()}\r\nCSeq: 1 OPTIONS\r\n"
                "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode(),
                (listen.host, listen.port))
        await asyncio.sleep(0.3)
    finally:
        transport.close()
    assert 0 < answers < 60
    assert "pike: flood from" in instance.log()
