"""What the application and each request carry, under typed keys, and the one way a
handler reaches the database: in a worker thread, so the event loop never waits on disk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cashdesk.auth.roles import Role
from cashdesk.clock import Clock
from cashdesk.server.config import ServerConfig
from cashdesk.server.throttle import LoginThrottle

if TYPE_CHECKING:
    from aiohttp.web_urldispatcher import AbstractRoute

    from cashdesk.server.routes import Route

T = TypeVar("T")


@dataclass(frozen=True)
class Principal:
    """Who is asking: the user behind a valid bearer token, read afresh per request."""

    user_id: int
    username: str
    role: Role
    reseller_id: int
    callshop_id: int | None   # None for a reseller's users
    token_id: int
    shift_id: int | None      # an operator's open shift
    expires_at: datetime


CONFIG = web.AppKey("config", ServerConfig)
CLOCK = web.AppKey("clock", Clock)
ENGINE = web.AppKey("engine", Engine)
SESSIONS = web.AppKey("sessions", sessionmaker)
#: Sessions that only read: on SQLite they never queue behind a writer.
READERS = web.AppKey("readers", sessionmaker)
EXECUTOR = web.AppKey("executor", ThreadPoolExecutor)
THROTTLE = web.AppKey("throttle", LoginThrottle)
#: aiohttp's registered route → our declaration of it (permission, schemas).
ROUTES: web.AppKey[dict[AbstractRoute, Route]] = web.AppKey("routes", dict)

PRINCIPAL = web.RequestKey("principal", Principal)


async def run_db(app: web.Application, work: Callable[..., T], *args: Any,
                 read_only: bool = False) -> T:
    """Run `work(session, *args)` in one transaction on a database thread.

    Committed when `work` returns, rolled back when it raises (an `ApiError` refusal
    leaves the database exactly as it was). `read_only` work must not write; it then
    never waits for SQLite's write lock.
    """
    sessions: sessionmaker[Session] = app[READERS if read_only else SESSIONS]

    def transaction() -> T:
        with sessions.begin() as session:
            return work(session, *args)

    return await asyncio.get_running_loop().run_in_executor(app[EXECUTOR], transaction)
