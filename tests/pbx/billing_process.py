"""The billing half of the sync server as a process of its own, for the tests that
SIGKILL it: CallService + KamailioBridge + the call tracker on a database URL.

    python tests/pbx/billing_process.py --db sqlite:///… --evapi 127.0.0.1:PORT

Prints `ready` on stdout once the bridge is connected and the start-up
reconciliation (`dlg.list`) is done; logs to stderr; stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cashdesk.calls.service import CallService
from cashdesk.calls.tracker import CallTracker
from cashdesk.clock import SystemClock
from cashdesk.pbx.kamailio.bridge import KamailioBridge, KamailioBridgeSettings
from cashdesk.rating.rater import Rater
from cashdesk.store.database import open_engine, session_factory


async def run(args: argparse.Namespace) -> None:
    engine = open_engine(args.db)
    sessions = session_factory(engine)
    rater = Rater()
    with sessions() as db:
        rater.load(db)
    clock = SystemClock()
    host, _, port = args.evapi.rpartition(":")
    bridge = KamailioBridge(KamailioBridgeSettings(host, int(port),
                                                   authorise_timeout=args.authorise_timeout),
                            clock=clock)
    service = CallService(CallTracker(sessions, clock, rater), [bridge])
    bridge.on_reconnected = lambda live, lost_at: service.bridge_reconnected(
        bridge, live, lost_at)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await service.async_start()
    report = logging.getLogger("billing_process")
    report.info("started: %d live call(s)", len(service.tracker.live_calls()))
    print("ready", flush=True)
    await stop.wait()
    await service.async_stop()
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--evapi", required=True, help="HOST:PORT")
    parser.add_argument("--authorise-timeout", type=float, default=0.8)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
