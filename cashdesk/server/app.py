"""The application factory: one aiohttp app per server (and per test)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web
from sqlalchemy import Engine

from cashdesk.clock import Clock, SystemClock
from cashdesk.server.api import TABLES
from cashdesk.server.api.live import SOCKETS, close_event_sockets
from cashdesk.server.auth import auth_middleware
from cashdesk.server.billing import HUB, PBX_FACTORY, after_commit_middleware, billing_context
from cashdesk.server.bridges import BridgeFactory
from cashdesk.server.config import ServerConfig
from cashdesk.server.errors import error_middleware
from cashdesk.server.hub import EventHub
from cashdesk.server.routes import check_every_route_declared, install
from cashdesk.server.state import CLOCK, CONFIG, ENGINE, EXECUTOR, READERS, SESSIONS, THROTTLE
from cashdesk.server.throttle import LoginThrottle
from cashdesk.store.database import open_engine, reader_factory, session_factory, upgrade

log = logging.getLogger("cashdesk.server")

# Database threads: SQLite takes one writer at a time anyway; a few threads let reads
# and argon2 checks overlap without letting a burst of requests pile up connections.
DB_THREADS = 4
MAX_BODY_BYTES = 2 * 1024 * 1024  # a base64 logo of 512 KiB fits with room to spare


def create_app(config: ServerConfig, *, clock: Clock | None = None,
               pbx: BridgeFactory | None = None) -> web.Application:
    """The sync server's aiohttp application. Opening (and migrating) the database
    happens at startup, in a worker thread, then billing starts (`billing.py`); at
    cleanup billing stops first, then the database closes. `pbx` replaces the bridge
    factory the configuration names (tests, benchmarks)."""
    app = web.Application(middlewares=[error_middleware, auth_middleware,
                                       after_commit_middleware],
                          client_max_size=MAX_BODY_BYTES)
    app[CONFIG] = config
    app[CLOCK] = clock or SystemClock()
    app[THROTTLE] = LoginThrottle(app[CLOCK], free_failures=config.login_free_failures,
                                  max_delay=config.login_max_delay_seconds)
    app[HUB] = EventHub(queue_limit=config.events_queue_limit)
    app[SOCKETS] = set()
    if pbx is not None:
        app[PBX_FACTORY] = pbx
    install(app, TABLES)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(billing_context)
    app.on_startup.append(_check_routes)
    app.on_shutdown.append(close_event_sockets)
    return app


def _open(config: ServerConfig) -> Engine:
    engine = open_engine(config.database_url)
    if config.migrate:
        upgrade(engine)
    return engine


async def _database(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    executor = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="cashdesk-db")
    loop = asyncio.get_running_loop()
    try:
        engine = await loop.run_in_executor(executor, _open, config)
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    app[EXECUTOR] = executor
    app[ENGINE] = engine
    app[SESSIONS] = session_factory(engine)
    app[READERS] = reader_factory(engine)
    log.info("database ready: %s", engine.url.render_as_string(hide_password=True))
    yield
    # Requests have finished by now (aiohttp waits for them before cleanup).
    await loop.run_in_executor(executor, engine.dispose)
    executor.shutdown(wait=True)
    log.info("database closed")


async def _check_routes(app: web.Application) -> None:
    check_every_route_declared(app)
