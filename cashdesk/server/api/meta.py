"""About the server itself: is it up, and what does its API look like."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from cashdesk.server.errors import ApiError
from cashdesk.server.openapi import openapi
from cashdesk.server.routes import PUBLIC, Ctx, RouteTable, declared_routes
from cashdesk.server.schema import Obj, Str

routes = RouteTable("server")


def server_version() -> str:
    try:
        return version("cashdesk")
    except PackageNotFoundError:
        return "0+unknown"


class DatabaseUnavailable(ApiError):
    status = 503
    code = "database_unavailable"


@routes.get("/health", PUBLIC, "Is the server up and its database reachable",
            response=Obj({"status": Str(choices=("ok",)), "version": Str()}))
async def health(ctx: Ctx) -> dict[str, Any]:
    def ping(session: Session) -> None:
        session.execute(text("SELECT 1"))

    try:
        await ctx.db(ping)
    except Exception as exc:
        raise DatabaseUnavailable(f"the database does not answer: {type(exc).__name__}") \
            from exc
    return {"status": "ok", "version": server_version()}


@routes.get("/openapi.json", PUBLIC, "This API's OpenAPI 3.1 description")
async def openapi_json(ctx: Ctx) -> dict[str, Any]:
    return openapi(declared_routes(ctx.app), version=server_version())
