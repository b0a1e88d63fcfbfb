"""The OpenAPI 3.1 description, written from the route table itself: the same
declarations that register, guard and validate each endpoint, so it cannot drift."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cashdesk.server.routes import PUBLIC, Access, Route

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "stable, for programs"},
            "message": {"type": "string", "description": "a sentence for a person"},
            "field": {"type": "string", "description": "the offending field, if one"},
        },
    }},
}

_ERRORS = {
    "400": "the body or query is invalid (the message says which field and why)",
    "401": "no valid bearer token: missing, expired or logged out",
    "403": "the user's role lacks the permission this endpoint needs",
    "404": "no such object in the caller's callshop (or reseller account)",
    "409": "conflicts with existing data (the message says which)",
}


def _access_text(route: Route) -> str:
    if route.access is PUBLIC:
        return "public: no token needed"
    if isinstance(route.access, Access):
        return "any logged-in user"
    return f"needs the permission `{route.access.value}`"


def _operation(route: Route) -> dict[str, Any]:
    description = f"Access: {_access_text(route)}."
    if route.description:
        description = f"{route.description}\n\n{description}"
    operation: dict[str, Any] = {
        "operationId": route.handler.__name__,
        "summary": route.summary,
        "description": description,
        "tags": [route.tag],
        "x-permission": route.permission.value if route.permission else route.access.value,
    }
    if route.access is PUBLIC:
        operation["security"] = []
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "integer", "minimum": 1}}
                  for name in route.path_params]
    parameters += [{"name": name, "in": "query", "required": spec.required,
                    "schema": spec.schema(),
                    **({"description": spec.description} if spec.description else {})}
                   for name, spec in route.query.items()]
    if parameters:
        operation["parameters"] = parameters
    if route.request is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": route.request.schema()}}}
    responses: dict[str, Any] = {}
    if route.status == 204:
        responses["204"] = {"description": "done"}
    else:
        success: dict[str, Any] = {"description": "success"}
        if route.response is not None:
            success["content"] = {"application/json": {"schema": route.response.schema()}}
        responses[str(route.status)] = success
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for status, text in _ERRORS.items():
        if status in ("401", "403") and route.access is PUBLIC:
            continue
        if status == "403" and not route.permission:
            continue
        responses[status] = {"description": text, **error}
    if route.path.endswith("/auth/login"):
        responses["429"] = {"description": "too many failed logins; see Retry-After", **error}
    operation["responses"] = responses
    return operation


def openapi(routes: Iterable[Route], *, version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(routes, key=lambda r: (r.path, r.method)):
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Callshop cash desk sync server",
            "version": version,
            "description": "Commands and queries of the cash desk. Money is always a "
                           "decimal string, never a JSON number. Every endpoint names "
                           "the permission it needs (x-permission).",
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": _ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "the token from /auth/login"}},
        },
        "security": [{"bearer": []}],
    }
