"""The OpenAPI description is the route table, and every failure speaks one JSON shape."""

from __future__ import annotations

import json

from cashdesk.server.api import TABLES
from cashdesk.server.routes import PUBLIC


async def test_openapi_lists_exactly_the_declared_routes(client):
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"] == "3.1.0"
    documented = {(method.upper(), path): operation
                  for path, operations in document["paths"].items()
                  for method, operation in operations.items()}
    declared = {(r.method, r.path): r for table in TABLES for r in table.routes}
    assert documented.keys() == declared.keys()
    for key, operation in documented.items():
        route = declared[key]
        assert operation["summary"] == route.summary
        expected = route.permission.value if route.permission else route.access.value
        assert operation["x-permission"] == expected
        assert ("security" in operation) == (route.access is PUBLIC)
        if route.request is not None:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            assert schema == json.loads(json.dumps(route.request.schema()))
        if route.path_params:
            assert [p["name"] for p in operation["parameters"] if p["in"] == "path"] == \
                route.path_params


async def test_money_is_documented_as_a_string(client):
    document = await (await client.get("/api/v1/openapi.json")).json()
    rate = document["paths"]["/api/v1/rates"]["post"]
    price = rate["requestBody"]["content"]["application/json"]["schema"]["properties"][
        "price_per_minute"]
    assert price["type"] == "string" and price["format"] == "decimal"
    assert "x-permission" in rate and rate["x-permission"] == "manage_sell_rates"


async def test_errors_are_json_with_a_code_and_a_message(client, world, tokens):
    admin = tokens.headers("admin_a")
    cases = [
        (client.get("/api/v1/nowhere"), 404, "not_found"),
        (client.delete("/api/v1/me", headers=admin), 405, "method_not_allowed"),
        (client.post("/api/v1/cabins", headers=admin, data=b"[1, 2]"), 400,
         "validation_error"),
        (client.post("/api/v1/cabins", headers=admin, data=b"x" * (3 * 1024 * 1024)), 413,
         "payload_too_large"),
        (client.get("/api/v1/cabins", headers=admin, params={"page": "2"}), 400,
         "validation_error"),
    ]
    for request, status, code in cases:
        response = await request
        assert response.status == status, code
        assert response.content_type == "application/json"
        error = (await response.json())["error"]
        assert error["code"] == code and error["message"], error
