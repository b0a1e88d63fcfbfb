"""The real server for the client's tests: the app from `create_app`, on a loopback
port, in a background thread with its own event loop — the way a desk meets it, over
real sockets. It can be stopped and started again on the same port (a restart)."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from aiohttp import web
from sqlalchemy import Engine

from cashdesk.call_state import CallState
from cashdesk.clock import Clock
from cashdesk.ledger.accounts import charge_call, record_topup
from cashdesk.ledger.kinds import TopupKind
from cashdesk.ledger.sessions import attach_call
from cashdesk.money import Money
from cashdesk.store.database import session_factory
from cashdesk.store.models import Account, Cabin, Call, Callshop

HOST = "127.0.0.1"
START_TIMEOUT = 15.0


class ServerThread:
    """`make_app()` served on 127.0.0.1:`port` (0: a free one, kept across restarts)."""

    def __init__(self, make_app: Callable[[], web.Application], port: int = 0) -> None:
        self.make_app = make_app
        self.port = port
        self.app: web.Application | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> ServerThread:
        assert self._thread is None, "already running"
        ready = threading.Event()
        self._error = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, args=(ready,),
                                        name=f"test-server-{self.port}", daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT):
            raise RuntimeError("the test server did not start in time")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError("the test server failed to start") from self._error
        return self

    def stop(self) -> None:
        """Graceful stop (as on SIGTERM): sockets closed, cleanup run, thread joined."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(START_TIMEOUT)
        assert not self._thread.is_alive(), "the test server did not stop"
        self._thread = None

    def call(self, work: Callable[[], object]) -> object:
        """Run `work()` on the server's event loop (e.g. to publish an event) and wait,
        for its result or, when it is a coroutine, for the coroutine's."""
        assert self._loop is not None

        async def run() -> object:
            result = work()
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(START_TIMEOUT)

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        runner: web.AppRunner | None = None
        try:
            self.app = self.make_app()
            runner = web.AppRunner(self.app, shutdown_timeout=2.0, access_log=None)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, HOST, self.port, reuse_address=True)
            loop.run_until_complete(site.start())
            self.port = int(runner.addresses[0][1])
        except BaseException as exc:  # noqa: BLE001 - handed to start() to raise
            self._error = exc
            if runner is not None:
                loop.run_until_complete(runner.cleanup())
            loop.close()
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


# --- arranging money the way the call tracker leaves it --------------------------------

def top_up(engine: Engine, clock: Clock, shop_id: int, amount: str = "100") -> None:
    with session_factory(engine).begin() as session:
        shop = session.get_one(Callshop, shop_id)
        record_topup(session, clock, session.get_one(Account, shop.account_id),
                     Money.of(amount, shop.currency), TopupKind.CASH)


def add_call(engine: Engine, clock: Clock, cabin_id: int, *, price: str = "1.00",
             cost: str = "0.40", number: str = "33123456789", destination: str = "France",
             seconds: int = 60, state: CallState = CallState.ENDED,
             at: datetime | None = None) -> int:
    """An answered call from the cabin in its open session, ended, priced and charged
    to the shop's balance (top it up first), or left live with `state`."""
    now = at or clock.now()
    with session_factory(engine).begin() as session:
        cabin = session.get_one(Cabin, cabin_id)
        call = Call(callshop_id=cabin.callshop_id, cabin_id=cabin.id,
                    pbx_call_id=uuid.uuid4().hex, dialed_number="00" + number, number=number,
                    destination=destination, state=state, started_at=now, answered_at=now,
                    ended_at=now if state.is_final else None,
                    billed_seconds=seconds if state.is_final else 0,
                    price_per_minute=Decimal(price),
                    price=Decimal(price) if state.is_final else Decimal(0),
                    cost=Decimal(cost) if state.is_final else Decimal(0))
        session.add(call)
        session.flush()
        attach_call(session, clock, call)
        if state.is_final:
            charge_call(session, clock, call)
        return call.id
