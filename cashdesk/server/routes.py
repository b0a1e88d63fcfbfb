"""The route table: every endpoint is declared once, with the permission it needs, its
summary and the shapes of what it takes and returns.

From that one declaration the server registers the aiohttp route, enforces the
permission (`cashdesk.server.auth.auth_middleware`), validates the body and query,
and writes the OpenAPI description. An endpoint cannot be declared without an access
rule: `access` is a required `Permission`; the only exceptions are the few endpoints
listed in `OPEN_ENDPOINTS`, and declaring any other one as open fails at import time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from aiohttp import web

from cashdesk.auth.roles import Permission
from cashdesk.clock import Clock
from cashdesk.server.config import ServerConfig
from cashdesk.server.errors import Forbidden, Invalid
from cashdesk.server.schema import Field, Obj
from cashdesk.server.state import CLOCK, CONFIG, PRINCIPAL, ROUTES, Principal, run_db

API = "/api/v1"
T = TypeVar("T")


class Access(Enum):
    PUBLIC = "public"                 # no token at all
    AUTHENTICATED = "authenticated"   # any valid token, whatever the role


PUBLIC = Access.PUBLIC
AUTHENTICATED = Access.AUTHENTICATED

#: The only endpoints that do not name a Permission, and what they need instead.
OPEN_ENDPOINTS: dict[tuple[str, str], Access] = {
    ("POST", f"{API}/auth/login"): PUBLIC,
    ("GET", f"{API}/health"): PUBLIC,
    ("GET", f"{API}/openapi.json"): PUBLIC,
    ("POST", f"{API}/auth/logout"): AUTHENTICATED,
    ("GET", f"{API}/me"): AUTHENTICATED,
}

_PATH_PARAM = re.compile(r"\{([a-z_]+)\}")
Handler = Callable[["Ctx"], Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str                       # as documented: /api/v1/cabins/{cabin_id}
    handler: Handler
    access: Permission | Access
    summary: str
    tag: str
    request: Obj | None = None
    query: Mapping[str, Field] = field(default_factory=dict)
    response: Field | None = None
    status: int = 200
    description: str = ""
    # Only the WebSocket handshake may carry its token as ?token= (browsers and
    # websocket-client cannot always set headers); elsewhere it would end up in logs.
    token_in_query: bool = False

    @property
    def permission(self) -> Permission | None:
        return self.access if isinstance(self.access, Permission) else None

    @property
    def path_params(self) -> list[str]:
        """Path parameters; all are integer ids (`{cabin_id}`)."""
        return _PATH_PARAM.findall(self.path)

    @property
    def router_path(self) -> str:
        # Digits only, so /cabins/abc is a plain 404 and no id overflows a BIGINT.
        return _PATH_PARAM.sub(r"{\1:\\d{1,18}}", self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class RouteTable:
    """The endpoints of one resource (one module under cashdesk/server/api/)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.routes: list[Route] = []

    def route(self, method: str, path: str, access: Permission | Access, summary: str,
              **options: Any) -> Callable[[Handler], Handler]:
        full_path = API + path
        _check_access(method, full_path, access)
        if not summary:
            raise ValueError(f"{method} {full_path}: every endpoint needs a summary")

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method=method, path=full_path, handler=handler,
                                     access=access, summary=summary, tag=self.tag,
                                     description=options.pop("description", None)
                                     or (handler.__doc__ or "").strip(),
                                     **options))
            return handler

        return register

    def get(self, path: str, access: Permission | Access, summary: str,
            **options: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, access, summary, **options)

    def post(self, path: str, access: Permission | Access, summary: str,
             **options: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, access, summary, **options)

    def put(self, path: str, access: Permission | Access, summary: str,
            **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, access, summary, **options)

    def patch(self, path: str, access: Permission | Access, summary: str,
              **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, access, summary, **options)

    def delete(self, path: str, access: Permission | Access, summary: str,
               **options: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, access, summary, status=204, **options)


def _check_access(method: str, path: str, access: Any) -> None:
    if isinstance(access, Permission):
        return
    if isinstance(access, Access):
        if OPEN_ENDPOINTS.get((method, path)) is access:
            return
        raise ValueError(f"{method} {path} cannot be {access.value}: only the endpoints in "
                         "OPEN_ENDPOINTS may skip naming a Permission")
    raise TypeError(f"{method} {path}: access must be a Permission, not {access!r}")


@dataclass
class Ctx:
    """One call of an endpoint: the parsed body, query and path ids, and who asks."""

    request: web.Request
    route: Route
    body: dict[str, Any]
    query: dict[str, Any]
    params: dict[str, int]

    @property
    def app(self) -> web.Application:
        return self.request.app

    @property
    def config(self) -> ServerConfig:
        return self.app[CONFIG]

    @property
    def clock(self) -> Clock:
        return self.app[CLOCK]

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def principal(self) -> Principal:
        return self.request[PRINCIPAL]

    @property
    def shop_id(self) -> int:
        """The caller's callshop: every shop-scoped query is filtered by it."""
        shop_id = self.principal.callshop_id
        if shop_id is None:  # the permission table keeps resellers out; belt and braces
            raise Forbidden("this endpoint works inside a callshop; a reseller has none")
        return shop_id

    async def db(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work(session, *args)` in one transaction on a database thread.

        GET is safe by HTTP's own rule, so a GET's work runs read-only and never queues
        behind a payment being written; every other method may write.
        """
        return await run_db(self.app, work, *args, read_only=self.route.method == "GET")


def install(app: web.Application, tables: Iterable[RouteTable]) -> None:
    """Register every declared route on the app, remembering each one's declaration."""
    declared = app.get(ROUTES, {})
    for table in tables:
        for route in table.routes:
            registered = app.router.add_route(route.method, route.router_path,
                                              _endpoint(route))
            declared[registered] = route
    app[ROUTES] = declared


def declared_routes(app: web.Application) -> list[Route]:
    return list(app[ROUTES].values())


def check_every_route_declared(app: web.Application) -> None:
    """Refuse to start if anything reached the router without a declaration."""
    declared = app[ROUTES]
    for registered in app.router.routes():
        if registered not in declared:
            raise RuntimeError(f"route {registered.method} {registered.resource} was added "
                               "without declaring its permission; use a RouteTable")


def _endpoint(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        body = await _read_body(request, route.request) if route.request is not None else {}
        query = _read_query(request, route)
        params = {name: int(request.match_info[name]) for name in route.path_params}
        result = await route.handler(Ctx(request, route, body, query, params))
        if route.status == 204:
            return web.Response(status=204)
        if isinstance(result, web.StreamResponse):
            return result
        if request.app[CONFIG].validate_responses and route.response is not None:
            try:
                route.response.parse(result, "response")
            except Invalid as exc:
                raise RuntimeError(f"{route} answered outside its declared schema: "
                                   f"{exc.message}") from None
        return web.json_response(result, status=route.status)

    endpoint.__name__ = route.handler.__name__
    return endpoint


async def _read_body(request: web.Request, schema: Obj) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Invalid(f"the body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise Invalid("the body must be a JSON object")
    return schema.parse(data)


def _read_query(request: web.Request, route: Route) -> dict[str, Any]:
    allowed = set(route.query) | ({"token"} if route.token_in_query else set())
    for name in request.query:
        if name not in allowed:
            known = ", ".join(route.query) or "none"
            raise Invalid(f"{name}: unknown query parameter (known: {known})", field=name)
        if len(request.query.getall(name)) > 1:
            raise Invalid(f"{name}: given more than once", field=name)
    values: dict[str, Any] = {}
    for name, spec in route.query.items():
        if name in request.query:
            values[name] = spec.parse_text(request.query[name], name)
        elif spec.has_default:
            values[name] = spec.default
        elif spec.required:
            raise Invalid(f"{name}: is required", field=name)
    return values
