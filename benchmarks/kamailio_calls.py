"""Kamailio benchmark: authorisation latency, event latency, and cutting calls.

    python benchmarks/kamailio_calls.py [--calls N]

Runs a real Kamailio (the rendered config) with SIPp cabins and a SIPp carrier on
loopback, and the tests' Python evapi peer as the sync server (tests/pbx/harness.py).
Needs `kamailio`, `kamcmd` and `sipp` (Debian: kamailio, kamailio-extra-modules,
kamailio-json-modules, kamailio-sqlite-modules, sip-tester).

1. N calls, each cut by the peer over evapi 30 ms after its answer with the config's
   `{"type":"cut"}` (route CUT): how many legs missed their BYE, and how long from
   the cut to the BYE at both legs.
2. The same N calls cut with Kamailio's own JSON-RPC `dlg.end_dlg` (dlg_bye_all):
   how many carrier legs 5.6.3 leaves up (the BYE race), and how many calls end
   without a dialog:end event.
3. From the same calls: cabin's authenticated INVITE → INVITE at the carrier (the
   authorisation round trip through evapi included), and Kamailio's event stamp →
   the event in Python.

Figures (DESIGN.md format), after the human-readable output:
    METRIC kamailio_setup_ms <ms> ms          median, INVITE in → INVITE out, authorised
    METRIC kamailio_event_ms <ms> ms          median, event stamped → received in Python
    METRIC kamailio_cut_bye_ms <ms> ms        median, cut sent → BYE at both legs
    METRIC kamailio_cut_missing_bye <n> legs  out of 2N, with the config's cut
    METRIC kamailio_end_dlg_missing_bye <n> legs   out of 2N, with dlg.end_dlg
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.pbx.harness import (
    CABIN_HOST,
    CARRIER_HOST,
    EvapiPeer,
    Kamailio,
    ReceivedEvent,
    Sipp,
    SippResult,
)

PASSWORD = "bench-secret"


@dataclass
class Run:
    answered: int
    missing_cabin: int
    missing_carrier: int
    no_ended_event: int
    setup_ms: list[float]
    event_ms: list[float]
    cut_ms: list[float]


def call_ids(result: SippResult, method: str) -> dict[str, float]:
    found = {}
    for message in result.received_requests(method):
        match = re.search(r"^Call-ID:\s*(\S+)", message.text, re.MULTILINE | re.IGNORECASE)
        if match:
            found[match.group(1)] = message.at
    return found


async def run(directory: Path, calls: int, how: str) -> Run:
    kamailio = Kamailio.prepare(directory / how)
    kamailio.subscribers.set("bench", PASSWORD)
    kamailio.start()
    peer = EvapiPeer(kamailio.settings.evapi.host, kamailio.settings.evapi.port)
    try:
        await peer.async_start()
        sipp_dir = directory / how / "sipp"
        register = Sipp.build(sipp_dir, "cabin_register", local_host=CABIN_HOST,
                              remote=kamailio.settings.listen, cabin="bench",
                              password=PASSWORD, name="register")
        assert (await register.async_run()).ok
        cut_sent: dict[str, float] = {}
        loop = asyncio.get_running_loop()
        tasks: list[asyncio.Task[None]] = []

        async def cut(event: ReceivedEvent) -> None:
            await asyncio.sleep(0.03)
            call_id = event.message["call_id"]
            cut_sent[call_id] = time.time()
            if how == "cut":
                await peer.async_send({"type": "cut", "call_id": call_id})
            else:
                assert peer.client is not None
                await peer.client.async_call("dlg.end_dlg",
                                             [event.message["h_entry"], event.message["h_id"]])

        peer.on_event = lambda event: (
            tasks.append(loop.create_task(cut(event))) if event.type == "answered" else None)
        # Calls overlap (-l) so a call whose BYE never comes does not hold up the rest.
        timeout = 3 + calls // 10
        carrier = await Sipp.build(sipp_dir, "carrier_answer", local_host=CARRIER_HOST,
                                   remote=None, port=kamailio.settings.carrier.port,
                                   calls=calls, timeout_s=timeout, name="carrier",
                                   extra=["-recv_timeout", "2000"]).async_start()
        cabin = Sipp.build(sipp_dir, "cabin_call_until_bye", local_host=CABIN_HOST,
                           remote=kamailio.settings.listen, cabin="bench", password=PASSWORD,
                           calls=calls, timeout_s=timeout, name="cabin",
                           extra=["-l", "20", "-r", "20", "-recv_timeout", "2000"])
        cabin_result = await cabin.async_run()
        carrier_result = await carrier.async_result()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0.2)
    finally:
        await peer.async_stop()
        kamailio.stop()

    to_cabin, to_carrier = call_ids(cabin_result, "BYE"), call_ids(carrier_result, "BYE")
    invites_out = call_ids(carrier_result, "INVITE")
    setup = []
    for message in cabin_result.sent():
        if message.method == "INVITE" and "Proxy-Authorization" in message.text:
            call_id = re.search(r"^Call-ID:\s*(\S+)", message.text, re.MULTILINE)
            if call_id and call_id.group(1) in invites_out:
                setup.append(invites_out[call_id.group(1)] - message.at)
    stamped = [e.received_at - e.message["ts"] for e in peer.events if "ts" in e.message]
    both = [max(to_cabin[c], to_carrier[c]) - sent for c, sent in cut_sent.items()
            if c in to_cabin and c in to_carrier]
    ended = {e.message["call_id"] for e in peer.of_type("ended")}
    return Run(answered=len(peer.of_type("answered")),
               missing_cabin=sum(1 for c in cut_sent if c not in to_cabin),
               missing_carrier=sum(1 for c in cut_sent if c not in to_carrier),
               no_ended_event=sum(1 for c in cut_sent if c not in ended),
               setup_ms=[s * 1000 for s in setup], event_ms=[s * 1000 for s in stamped],
               cut_ms=[s * 1000 for s in both])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cashdesk-kamailio-bench-") as tmp:
        results = {how: asyncio.run(run(Path(tmp), args.calls, how))
                   for how in ("cut", "end_dlg")}
    for how, result in results.items():
        print(f"{how}: {result.answered} calls answered and cut; BYE missing at the cabin "
              f"{result.missing_cabin}, at the carrier {result.missing_carrier}; "
              f"no 'ended' event {result.no_ended_event}")
    setup = results["cut"].setup_ms + results["end_dlg"].setup_ms
    events = results["cut"].event_ms + results["end_dlg"].event_ms
    cut_ms = results["cut"].cut_ms
    for label, values in (("setup (INVITE in → out, authorised)", setup),
                          ("event (stamped → in Python)", events),
                          ("cut → BYE at both legs", cut_ms)):
        print(f"{label} ms: median {statistics.median(values):.2f}, max {max(values):.2f}")
    print(f"METRIC kamailio_setup_ms {statistics.median(setup):.2f} ms")
    print(f"METRIC kamailio_event_ms {statistics.median(events):.2f} ms")
    print(f"METRIC kamailio_cut_bye_ms {statistics.median(cut_ms):.2f} ms")
    for how, name in (("cut", "kamailio_cut_missing_bye"),
                      ("end_dlg", "kamailio_end_dlg_missing_bye")):
        print(f"METRIC {name} {results[how].missing_cabin + results[how].missing_carrier} legs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
