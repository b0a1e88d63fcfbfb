"""The permission matrix: every registered endpoint, tried by every role, without a
token, with an expired and a revoked token, and from another callshop (or reseller).

The expected answer comes from `cashdesk.auth.roles.PERMISSIONS` and nowhere else, and
a refused request must leave the database byte for byte as it was. Each endpoint gets
fresh objects to act on, so an allowed DELETE cannot spoil the next identity's try.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import WSMsgType, WSServerHandshakeError, web
from sqlalchemy import Engine, text

from cashdesk.auth.roles import Permission, Role, allowed
from cashdesk.call_state import CallState
from cashdesk.ledger.payments import pay_cabin
from cashdesk.ledger.sessions import attach_call
from cashdesk.money import Money
from cashdesk.server.api import TABLES
from cashdesk.server.api.live import SOCKET_MESSAGES
from cashdesk.server.app import create_app
from cashdesk.server.billing import HUB
from cashdesk.server.routes import (
    AUTHENTICATED,
    OPEN_ENDPOINTS,
    PUBLIC,
    Route,
    RouteTable,
)
from cashdesk.shops import create_buy_tariff, create_callshop
from cashdesk.store.database import session_factory
from cashdesk.store.models import (
    Base,
    Cabin,
    Call,
    Callshop,
    Invoice,
    Rate,
    Reseller,
    Tariff,
    User,
)
from cashdesk.users import create_user
from tests.server.conftest import PASSWORD, Tokens, World, bearer

ROUTES = [route for table in TABLES for route in table.routes]
_unique = itertools.count(1)


class Targets:
    """Fresh objects in shop A / of reseller r1 (the 'home' of every sample request)."""

    def __init__(self, engine: Engine, clock: Any, world: World) -> None:
        self.engine, self.clock, self.world = engine, clock, world

    def _add(self, make: Callable[[Any], Any]) -> int:
        with session_factory(self.engine).begin() as session:
            row = make(session)
            session.flush()
            return row.id

    def _put(self, session: Any, row: Any) -> Any:
        session.add(row)
        return row

    def cabin(self) -> int:
        n = next(_unique)
        return self._add(lambda s: self._put(s, Cabin(callshop_id=self.world.shop_a,
                                                      name=f"Cabin {n}",
                                                      sip_username=f"target{n}")))

    def user(self) -> int:
        n = next(_unique)

        def make(session: Any) -> User:
            shop = session.get_one(Callshop, self.world.shop_a)
            return create_user(session, self.clock, username=f"target{n}", password=PASSWORD,
                               role=Role.OPERATOR, reseller_id=shop.reseller_id,
                               callshop=shop)
        return self._add(make)

    def tariff(self) -> int:
        n = next(_unique)
        return self._add(lambda s: self._put(s, Tariff(
            reseller_id=self.world.reseller1, callshop_id=self.world.shop_a,
            name=f"Tariff {n}", currency="EUR", updated_at=self.clock.now())))

    def rate(self) -> int:
        tariff_id = self.tariff()
        return self._add(lambda s: self._put(s, Rate(tariff_id=tariff_id, prefix="44",
                                                     price_per_minute=Decimal("0.1"))))

    def buy_tariff(self) -> int:
        n = next(_unique)
        return self._add(lambda s: create_buy_tariff(
            s, self.clock, s.get_one(Reseller, self.world.reseller1), f"Buy {n}"))

    def buy_rate(self) -> int:
        tariff_id = self.buy_tariff()
        return self._add(lambda s: self._put(s, Rate(tariff_id=tariff_id, prefix="44",
                                                     price_per_minute=Decimal("0.05"))))

    def shop(self) -> int:
        n = next(_unique)
        return self._add(lambda s: create_callshop(
            s, self.clock, s.get_one(Reseller, self.world.reseller1), name=f"Shop {n}",
            currency="EUR", admin_username=f"shopadmin{n}", admin_password=PASSWORD
        ).callshop)

    def payable_cabin(self) -> int:
        """A cabin whose open session has one ended call of 1.20 EUR."""
        cabin_id = self.cabin()

        def make(session: Any) -> Call:
            now = self.clock.now()
            call = Call(callshop_id=self.world.shop_a, cabin_id=cabin_id,
                        pbx_call_id=uuid.uuid4().hex, dialed_number="0033123",
                        number="33123", destination="France", state=CallState.ENDED,
                        started_at=now, answered_at=now, ended_at=now, billed_seconds=60,
                        price=Decimal("1.20"), cost=Decimal("0.40"))
            session.add(call)
            session.flush()
            attach_call(session, self.clock, call)
            return call
        self._add(make)
        return cabin_id

    def transaction(self) -> int:
        """A payment (by admin_a) of a payable cabin, with a stored invoice PDF."""
        cabin_id = self.payable_cabin()

        def make(session: Any) -> Any:
            payment = pay_cabin(session, self.clock, cabin=session.get_one(Cabin, cabin_id),
                                operator=session.get_one(User, self.world.users["admin_a"]),
                                shift=None, received=Money.of("2", "EUR"),
                                idempotency_key=uuid.uuid4().hex)
            invoice = Invoice(callshop_id=self.world.shop_a, sequence=next(_unique),
                              number=f"T-{next(_unique)}", pdf=b"%PDF-1.4 sample",
                              created_at=self.clock.now())
            session.add(invoice)
            session.flush()
            payment.transaction.invoice_id = invoice.id
            return payment.transaction
        return self._add(make)


@dataclass
class Sample:
    params: dict[str, int] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    csv: str | None = None     # sent as the text/csv body instead of JSON
    # Refers to home objects (by path or by body/query): from elsewhere, a 404.
    refers_home: bool = False

    def __post_init__(self) -> None:
        self.refers_home = self.refers_home or bool(self.params)


def _price() -> dict[str, Any]:
    return {"prefix": "33", "price_per_minute": "0.0200"}


DECK = "prefix,destination,rate\n33,France,0.02\n44,United Kingdom,0.03\n"


def _in_shop_a(t: Targets) -> Sample:
    """A read of shop A's figures, naming it (a reseller must)."""
    return Sample(query={"callshop_id": str(t.world.shop_a)}, refers_home=True)


# One sample request per endpoint. A new endpoint without a sample fails
# test_every_route_has_a_sample: add it here.
SAMPLES: dict[tuple[str, str], Callable[[Targets], Sample]] = {
    ("POST", "/auth/logout"): lambda t: Sample(),
    ("GET", "/me"): lambda t: Sample(),
    ("GET", "/shop"): lambda t: Sample(),
    ("PATCH", "/shop/fraud-guard"): lambda t: Sample(body={"max_call_seconds": 3600}),
    ("PATCH", "/shop/rating"): lambda t: Sample(body={"country_code": "33"}),
    ("GET", "/callshops"): lambda t: Sample(),
    ("POST", "/callshops"): lambda t: Sample(body={
        "name": "New shop", "admin_username": f"newadmin{next(_unique)}",
        "admin_password": PASSWORD}),
    ("GET", "/callshops/{shop_id}"): lambda t: Sample(params={"shop_id": t.shop()}),
    ("PATCH", "/callshops/{shop_id}"): lambda t: Sample(params={"shop_id": t.shop()},
                                                        body={"name": "Renamed"}),
    ("PUT", "/callshops/{shop_id}/buy-tariff"): lambda t: Sample(
        params={"shop_id": t.shop()}, body={"tariff_id": t.buy_tariff()}),
    ("GET", "/cabins"): lambda t: Sample(),
    ("POST", "/cabins"): lambda t: Sample(body={"name": f"New {next(_unique)}",
                                                "sip_username": f"new{next(_unique)}"}),
    ("GET", "/cabins/{cabin_id}"): lambda t: Sample(params={"cabin_id": t.cabin()}),
    ("PATCH", "/cabins/{cabin_id}"): lambda t: Sample(params={"cabin_id": t.cabin()},
                                                      body={"enabled": False}),
    ("POST", "/cabins/{cabin_id}/sip-password"): lambda t: Sample(
        params={"cabin_id": t.cabin()}),
    ("DELETE", "/cabins/{cabin_id}"): lambda t: Sample(params={"cabin_id": t.cabin()}),
    ("GET", "/users"): lambda t: Sample(),
    ("POST", "/users"): lambda t: Sample(body={"username": f"new{next(_unique)}",
                                               "password": PASSWORD}),
    ("GET", "/users/{user_id}"): lambda t: Sample(params={"user_id": t.user()}),
    ("PATCH", "/users/{user_id}"): lambda t: Sample(params={"user_id": t.user()},
                                                    body={"display_name": "Sam"}),
    ("POST", "/users/{user_id}/password"): lambda t: Sample(params={"user_id": t.user()},
                                                            body={"password": PASSWORD}),
    ("DELETE", "/users/{user_id}"): lambda t: Sample(params={"user_id": t.user()}),
    ("GET", "/tariffs"): lambda t: Sample(),
    ("POST", "/tariffs"): lambda t: Sample(body={"name": f"New {next(_unique)}"}),
    ("GET", "/tariffs/{tariff_id}"): lambda t: Sample(params={"tariff_id": t.tariff()}),
    ("PATCH", "/tariffs/{tariff_id}"): lambda t: Sample(params={"tariff_id": t.tariff()},
                                                        body={"name": f"R {next(_unique)}"}),
    ("DELETE", "/tariffs/{tariff_id}"): lambda t: Sample(params={"tariff_id": t.tariff()}),
    ("GET", "/rates"): lambda t: Sample(query={"tariff_id": str(t.tariff())},
                                        refers_home=True),
    ("POST", "/rates"): lambda t: Sample(body={"tariff_id": t.tariff(), **_price()},
                                         refers_home=True),
    ("PATCH", "/rates/{rate_id}"): lambda t: Sample(params={"rate_id": t.rate()},
                                                    body={"destination": "UK"}),
    ("DELETE", "/rates/{rate_id}"): lambda t: Sample(params={"rate_id": t.rate()}),
    ("GET", "/buy-tariffs"): lambda t: Sample(),
    ("POST", "/buy-tariffs"): lambda t: Sample(body={"name": f"New {next(_unique)}"}),
    ("GET", "/buy-tariffs/{tariff_id}"): lambda t: Sample(
        params={"tariff_id": t.buy_tariff()}),
    ("PATCH", "/buy-tariffs/{tariff_id}"): lambda t: Sample(
        params={"tariff_id": t.buy_tariff()}, body={"name": f"R {next(_unique)}"}),
    ("DELETE", "/buy-tariffs/{tariff_id}"): lambda t: Sample(
        params={"tariff_id": t.buy_tariff()}),
    ("GET", "/buy-rates"): lambda t: Sample(query={"tariff_id": str(t.buy_tariff())},
                                            refers_home=True),
    ("POST", "/buy-rates"): lambda t: Sample(body={"tariff_id": t.buy_tariff(), **_price()},
                                             refers_home=True),
    ("PATCH", "/buy-rates/{rate_id}"): lambda t: Sample(params={"rate_id": t.buy_rate()},
                                                        body={"destination": "UK"}),
    ("DELETE", "/buy-rates/{rate_id}"): lambda t: Sample(params={"rate_id": t.buy_rate()}),
    ("GET", "/invoice-settings"): lambda t: Sample(),
    ("PUT", "/invoice-settings"): lambda t: Sample(body={"footer": "Thank you"}),
    ("POST", "/cabins/{cabin_id}/pay"): lambda t: Sample(
        params={"cabin_id": t.payable_cabin()},
        body={"received": "5.00", "idempotency_key": uuid.uuid4().hex}),
    ("GET", "/transactions/{transaction_id}/invoice.pdf"): lambda t: Sample(
        params={"transaction_id": t.transaction()}),
    ("GET", "/transactions/{transaction_id}/receipt"): lambda t: Sample(
        params={"transaction_id": t.transaction()}),
    ("GET", "/transactions"): _in_shop_a,
    ("GET", "/transactions/{transaction_id}"): lambda t: Sample(
        params={"transaction_id": t.transaction()}),
    ("GET", "/cabins/{cabin_id}/sessions"): lambda t: Sample(
        params={"cabin_id": t.cabin()}),
    ("GET", "/calls"): _in_shop_a,
    ("POST", "/callshops/{shop_id}/topups"): lambda t: Sample(
        params={"shop_id": t.shop()},
        body={"amount": "50.00", "kind": "cash", "idempotency_key": uuid.uuid4().hex}),
    ("GET", "/topups"): _in_shop_a,
    ("GET", "/callshops/{shop_id}/topups"): lambda t: Sample(
        params={"shop_id": t.world.shop_a}),
    ("GET", "/balance"): _in_shop_a,
    ("GET", "/history/money"): _in_shop_a,
    ("GET", "/dashboard"): _in_shop_a,
    ("GET", "/profit"): _in_shop_a,
    ("POST", "/tariffs/{tariff_id}/import"): lambda t: Sample(
        params={"tariff_id": t.tariff()}, csv=DECK),
    ("GET", "/tariffs/{tariff_id}/export"): lambda t: Sample(params={"tariff_id": t.tariff()}),
    ("POST", "/cabins/{cabin_id}/rates/import"): lambda t: Sample(
        params={"cabin_id": t.cabin()}, csv=DECK),
    ("GET", "/cabins/{cabin_id}/rates/export"): lambda t: Sample(
        params={"cabin_id": t.cabin()}),
    # The caller's own shop: another shop's users see theirs (the socket test below
    # checks that they never see shop A's events).
    ("GET", "/live"): lambda t: Sample(),
    ("GET", "/events"): lambda t: Sample(),
}


# Who may do what, endpoint by endpoint: a change here is a security decision and
# must show up in review, so the declared access is pinned, not just enforced.
ACCESS: dict[tuple[str, str], Any] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("POST", "/auth/login"): PUBLIC,
    ("POST", "/auth/logout"): AUTHENTICATED,
    ("GET", "/me"): AUTHENTICATED,
    ("GET", "/shop"): Permission.VIEW_LIVE,
    ("PATCH", "/shop/fraud-guard"): Permission.MANAGE_FRAUD_GUARD,
    ("PATCH", "/shop/rating"): Permission.MANAGE_SELL_RATES,
    ("GET", "/callshops"): Permission.MANAGE_CALLSHOPS,
    ("POST", "/callshops"): Permission.MANAGE_CALLSHOPS,
    ("GET", "/callshops/{shop_id}"): Permission.MANAGE_CALLSHOPS,
    ("PATCH", "/callshops/{shop_id}"): Permission.MANAGE_CALLSHOPS,
    ("PUT", "/callshops/{shop_id}/buy-tariff"): Permission.MANAGE_BUY_RATES,
    ("GET", "/cabins"): Permission.MANAGE_CABINS,
    ("POST", "/cabins"): Permission.MANAGE_CABINS,
    ("GET", "/cabins/{cabin_id}"): Permission.MANAGE_CABINS,
    ("PATCH", "/cabins/{cabin_id}"): Permission.MANAGE_CABINS,
    ("POST", "/cabins/{cabin_id}/sip-password"): Permission.MANAGE_CABINS,
    ("DELETE", "/cabins/{cabin_id}"): Permission.MANAGE_CABINS,
    ("GET", "/users"): Permission.MANAGE_OPERATORS,
    ("POST", "/users"): Permission.MANAGE_OPERATORS,
    ("GET", "/users/{user_id}"): Permission.MANAGE_OPERATORS,
    ("PATCH", "/users/{user_id}"): Permission.MANAGE_OPERATORS,
    ("POST", "/users/{user_id}/password"): Permission.MANAGE_OPERATORS,
    ("DELETE", "/users/{user_id}"): Permission.MANAGE_OPERATORS,
    ("GET", "/tariffs"): Permission.VIEW_SELL_RATES,
    ("POST", "/tariffs"): Permission.MANAGE_SELL_RATES,
    ("GET", "/tariffs/{tariff_id}"): Permission.VIEW_SELL_RATES,
    ("PATCH", "/tariffs/{tariff_id}"): Permission.MANAGE_SELL_RATES,
    ("DELETE", "/tariffs/{tariff_id}"): Permission.MANAGE_SELL_RATES,
    ("GET", "/rates"): Permission.VIEW_SELL_RATES,
    ("POST", "/rates"): Permission.MANAGE_SELL_RATES,
    ("PATCH", "/rates/{rate_id}"): Permission.MANAGE_SELL_RATES,
    ("DELETE", "/rates/{rate_id}"): Permission.MANAGE_SELL_RATES,
    ("GET", "/buy-tariffs"): Permission.MANAGE_BUY_RATES,
    ("POST", "/buy-tariffs"): Permission.MANAGE_BUY_RATES,
    ("GET", "/buy-tariffs/{tariff_id}"): Permission.MANAGE_BUY_RATES,
    ("PATCH", "/buy-tariffs/{tariff_id}"): Permission.MANAGE_BUY_RATES,
    ("DELETE", "/buy-tariffs/{tariff_id}"): Permission.MANAGE_BUY_RATES,
    ("GET", "/buy-rates"): Permission.MANAGE_BUY_RATES,
    ("POST", "/buy-rates"): Permission.MANAGE_BUY_RATES,
    ("PATCH", "/buy-rates/{rate_id}"): Permission.MANAGE_BUY_RATES,
    ("DELETE", "/buy-rates/{rate_id}"): Permission.MANAGE_BUY_RATES,
    ("GET", "/invoice-settings"): Permission.MANAGE_INVOICE_SETTINGS,
    ("PUT", "/invoice-settings"): Permission.MANAGE_INVOICE_SETTINGS,
    ("POST", "/cabins/{cabin_id}/pay"): Permission.PAY_CABIN,
    # The till prints or reprints a payment's invoice: the cashier's permission.
    ("GET", "/transactions/{transaction_id}/invoice.pdf"): Permission.VIEW_CABIN_HISTORY,
    ("GET", "/transactions/{transaction_id}/receipt"): Permission.VIEW_CABIN_HISTORY,
    ("GET", "/transactions"): Permission.VIEW_TRANSACTIONS,
    ("GET", "/transactions/{transaction_id}"): Permission.VIEW_TRANSACTIONS,
    ("GET", "/cabins/{cabin_id}/sessions"): Permission.VIEW_CABIN_HISTORY,
    ("GET", "/calls"): Permission.VIEW_CALL_HISTORY,
    ("POST", "/callshops/{shop_id}/topups"): Permission.RECORD_TOPUP,
    ("GET", "/topups"): Permission.VIEW_TOPUPS,
    ("GET", "/callshops/{shop_id}/topups"): Permission.VIEW_TOPUPS,
    ("GET", "/balance"): Permission.VIEW_BALANCE,
    ("GET", "/history/money"): Permission.VIEW_TRANSACTIONS,
    ("GET", "/dashboard"): Permission.VIEW_DASHBOARD,
    ("GET", "/profit"): Permission.VIEW_PROFIT,
    ("POST", "/tariffs/{tariff_id}/import"): Permission.MANAGE_SELL_RATES,
    ("GET", "/tariffs/{tariff_id}/export"): Permission.VIEW_SELL_RATES,
    ("POST", "/cabins/{cabin_id}/rates/import"): Permission.MANAGE_SELL_RATES,
    ("GET", "/cabins/{cabin_id}/rates/export"): Permission.VIEW_SELL_RATES,
    ("GET", "/live"): Permission.VIEW_LIVE,
    ("GET", "/events"): Permission.VIEW_LIVE,
}

# What a desk may send on the events socket: pinned like the endpoints.
SOCKET_ACCESS = {"ping": Permission.VIEW_LIVE}


@dataclass(frozen=True)
class Identity:
    name: str
    username: str | None       # None: no token at all
    home: bool = True          # acts in shop A / for reseller r1
    token: str = "valid"       # valid | expired | revoked


IDENTITIES = [
    Identity("no token", None),
    Identity("expired admin", "admin_a", token="expired"),
    Identity("revoked admin", "admin_a", token="revoked"),
    Identity("expired reseller", "reseller_r1", token="expired"),
    Identity("revoked reseller", "reseller_r1", token="revoked"),
    Identity("operator", "operator_a"),
    Identity("admin", "admin_a"),
    Identity("reseller", "reseller_r1"),
    Identity("operator of another shop", "operator_b", home=False),
    Identity("admin of another shop", "admin_b", home=False),
    Identity("admin of another reseller's shop", "admin_c", home=False),
    Identity("another reseller", "reseller_r2", home=False),
]

ROLES = {"operator": Role.OPERATOR, "admin": Role.ADMIN, "reseller": Role.RESELLER}


def _role(username: str) -> Role:
    return ROLES[username.split("_")[0]]


def expected_status(route: Route, identity: Identity, sample: Sample) -> int:
    if identity.username is None or identity.token != "valid":
        return 401
    permission = route.permission
    if permission is not None and not allowed(_role(identity.username), permission):
        return 403
    if not identity.home and sample.refers_home:
        return 404
    return route.status


def fingerprint(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: a refused request must not change any of it."""
    with engine.connect() as connection:
        return {table.name: [tuple(row) for row in connection.execute(
                    text(f"SELECT * FROM {table.name} ORDER BY 1"))]
                for table in Base.metadata.sorted_tables}


def _token(tokens: Tokens, identity: Identity) -> str | None:
    if identity.username is None:
        return None
    if identity.token == "expired":
        return tokens.mint(identity.username, age=timedelta(hours=13))
    return tokens.mint(identity.username, revoked=identity.token == "revoked")


def _short(path: str) -> str:
    return path.removeprefix("/api/v1")


def test_every_route_has_a_sample():
    guarded = {(r.method, _short(r.path)) for r in ROUTES if r.access is not PUBLIC}
    assert guarded - SAMPLES.keys() == set(), "add a sample request for these endpoints"
    assert SAMPLES.keys() - guarded == set(), "these samples match no endpoint"


def test_declared_access_is_as_agreed():
    assert {(r.method, _short(r.path)): r.access for r in ROUTES} == ACCESS


def test_only_the_listed_endpoints_skip_a_permission():
    for route in ROUTES:
        if not isinstance(route.access, Permission):
            assert OPEN_ENDPOINTS[(route.method, route.path)] is route.access
    assert {(r.method, r.path) for r in ROUTES if r.access is PUBLIC} == {
        ("POST", "/api/v1/auth/login"), ("GET", "/api/v1/health"),
        ("GET", "/api/v1/openapi.json")}


def test_socket_messages_are_as_agreed():
    assert SOCKET_MESSAGES == SOCKET_ACCESS


async def _socket_try(client: Any, world: World, path: str, identity: Identity,
                      token: str | None, expected: int) -> list[str]:
    """The events socket for one identity: the handshake answers `expected` (101:
    accepted); then every socket message is answered as the permission table says,
    an unknown one is refused (error, then close 1008), and the desk sees its own
    shop's events only."""
    # Half the identities put the token in the query, as browsers must.
    in_query = identity.username is not None and len(identity.name) % 2 == 0
    headers = bearer(token) if token and not in_query else {}
    params = {"token": token} if token and in_query else {}
    try:
        ws = await client.ws_connect(path, headers=headers, params=params)
    except WSServerHandshakeError as exc:
        return [] if exc.status == expected else \
            [f"{identity.name}: handshake {exc.status} (expected {expected})"]
    wrong = []
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(ws.close)
        if expected != 101:
            return [f"{identity.name}: socket accepted (expected {expected})"]
        hello = await ws.receive_json(timeout=5)
        assert hello["type"] == "hello"
        role = _role(identity.username or "")
        for name, permission in SOCKET_MESSAGES.items():
            await ws.send_json({"type": name})
            answer = await ws.receive_json(timeout=5)
            want = "pong" if allowed(role, permission) else "error"
            if answer["type"] != want:
                wrong.append(f"{identity.name}: {name} answered {answer} (expected {want})")
        hub = client.app[HUB]
        own = {"a": world.shop_a, "b": world.shop_b, "c": world.shop_c}[
            (identity.username or "").rsplit("_", 1)[1]]
        hub.publish(world.shop_a, "call", {"secret": "shop A"})
        hub.publish(own, "call", {"mine": True})
        seen = [(await ws.receive_json(timeout=5))["data"]
                for _ in range(2 if identity.home else 1)]
        wanted = [{"secret": "shop A"}, {"mine": True}] if identity.home else [{"mine": True}]
        if seen != wanted:
            wrong.append(f"{identity.name}: saw {seen} (expected {wanted})")
        await ws.send_json({"type": "subscribe", "callshop_id": world.shop_b})
        refused = await ws.receive_json(timeout=5)
        closed = await ws.receive(timeout=5)
        if refused["type"] != "error" or closed.type is not WSMsgType.CLOSE \
                or closed.data != 1008:
            wrong.append(f"{identity.name}: an unknown message got {refused}, {closed}")
    return wrong


@pytest.mark.parametrize("route", [r for r in ROUTES if r.access is not PUBLIC], ids=str)
async def test_permission_matrix(route, client, sqlite_engine, clock, world, tokens):
    targets = Targets(sqlite_engine, clock, world)
    sample_for = SAMPLES[(route.method, _short(route.path))]
    wrong = []
    for identity in IDENTITIES:
        sample = sample_for(targets)
        token = _token(tokens, identity)
        path = route.path.format(**sample.params)
        before = fingerprint(sqlite_engine)
        headers = bearer(token) if token else {}
        if route.status == 101:
            expected = expected_status(route, identity, sample)
            wrong += await _socket_try(client, world, path, identity, token, expected)
            if fingerprint(sqlite_engine) != before and expected != 101:
                wrong.append(f"{identity.name}: refused but changed the database")
            continue
        if sample.csv is not None:
            response = await client.request(route.method, path, params=sample.query,
                                             data=sample.csv.encode(),
                                             headers={**headers, "Content-Type": "text/csv"})
        else:
            response = await client.request(route.method, path, params=sample.query,
                                             json=sample.body, headers=headers)
        expected = expected_status(route, identity, sample)
        if response.status != expected:
            wrong.append(f"{identity.name}: {response.status} (expected {expected}) "
                         f"{await response.text()}")
            continue
        if expected >= 400:
            body = await response.json()
            assert set(body["error"]) >= {"code", "message"}
            if fingerprint(sqlite_engine) != before:
                wrong.append(f"{identity.name}: refused with {expected} but changed the "
                             "database")
    assert not wrong, f"{route}:\n" + "\n".join(wrong)


async def test_public_endpoints_answer_everyone(client, tokens):
    for headers in ({}, tokens.headers("operator_a"), bearer("not-a-token")):
        assert (await client.get("/api/v1/health", headers=headers)).status == 200
        assert (await client.get("/api/v1/openapi.json", headers=headers)).status == 200


def test_declaring_an_open_endpoint_outside_the_list_fails():
    table = RouteTable("test")
    with pytest.raises(ValueError, match="OPEN_ENDPOINTS"):
        table.get("/cabins/export", PUBLIC, "Export cabins")
    with pytest.raises(ValueError, match="OPEN_ENDPOINTS"):
        table.get("/secrets", AUTHENTICATED, "Anything for anyone")
    with pytest.raises(TypeError, match="must be a Permission"):
        table.get("/cabins", None, "List cabins")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        table.get("/cabins", summary="List cabins")  # type: ignore[call-arg]


async def test_a_route_added_behind_the_tables_back_is_refused(aiohttp_client, config, clock,
                                                                world, tokens):
    app = create_app(config, clock=clock)

    async def sneaky(request: web.Request) -> web.Response:
        return web.json_response({"leaked": True})

    app.router.add_get("/api/v1/sneaky", sneaky)
    with pytest.raises(RuntimeError, match="without declaring its permission"):
        await aiohttp_client(app)


async def test_an_undeclared_route_is_denied_even_if_startup_were_skipped(
        aiohttp_client, config, clock, world, tokens):
    app = create_app(config, clock=clock)

    async def sneaky(request: web.Request) -> web.Response:
        return web.json_response({"leaked": True})

    app.router.add_get("/api/v1/sneaky", sneaky)
    app.on_startup.clear()  # the startup check and the database both gone…
    app.cleanup_ctx.clear()
    client = await aiohttp_client(app)
    response = await client.get("/api/v1/sneaky", headers=tokens.headers("admin_a"))
    assert response.status == 500  # …and the middleware still refuses
    assert (await response.json())["error"]["code"] == "undeclared_route"
