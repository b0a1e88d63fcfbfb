"""The typed HTTP client of the sync server's API (`/api/v1`).

One `ServerClient` per desk: a `requests.Session` (kept-alive connections), the base
URL, the bearer token of the login, a timeout on every call and the TLS verification
setting. It is synchronous; the UI calls it from worker threads. Several threads may
share one client: the only state it changes is the token and a small currency cache,
both behind a lock.

Every refusal raises an `errors.ApiError` subclass carrying the server's message and
code; nothing is swallowed. Only GETs are retried, once, after a connection error
(typically a kept-alive connection the server had closed). Commands are never retried
here: Pay carries an idempotency key the caller generates once per cashier action and
sends again when it retries (`new_idempotency_key`).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Self, TypeVar

import requests

from cashdesk.auth.roles import Role
from cashdesk.money import Money
from server_client.errors import (
    ApiError,
    Conflict,
    Forbidden,
    InsufficientCash,
    LineError,
    NotFound,
    ServerUnavailable,
    TooManyAttempts,
    Unauthorized,
    ValidationError,
)
from server_client.live import Snapshot
from server_client.models import (
    Balance,
    Cabin,
    CabinCredentials,
    CallRecord,
    Callshop,
    Dashboard,
    DeckImport,
    Health,
    Login,
    Logout,
    Me,
    MoneyHistory,
    NewCallshop,
    Page,
    PastSession,
    PaymentResult,
    ProfitReport,
    Rate,
    Shop,
    Tariff,
    Topup,
    TopupRecorded,
    Transaction,
    TransactionDetail,
    User,
    page_of,
)
from server_client.wire import ProtocolError, parse_money, to_wire

log = logging.getLogger("server_client")

T = TypeVar("T")
Json = dict[str, Any]
Moment = date | datetime

API_PREFIX = "/api/v1"
#: (connect, read) seconds for ordinary calls.
DEFAULT_TIMEOUT = (3.05, 15.0)
#: Rate decks and PDFs can take a while to build or upload.
LONG_TIMEOUT = (3.05, 120.0)


def new_idempotency_key() -> str:
    """A key for one cashier action (one press of Pay): keep it and send it again on a
    retry, so the server answers the first payment instead of taking a second."""
    return uuid.uuid4().hex


def _each(item: Callable[[Any, str], T]) -> Callable[[Any, str], list[T]]:
    return lambda rows, currency: [item(row, currency) for row in rows]


def _paged(item: Callable[[Any, str], T]) -> Callable[[Any, str], Page[T]]:
    return lambda data, currency: page_of(data, lambda row: item(row, currency))


def _query(**values: Any) -> dict[str, Any]:
    """Query parameters: None left out, values in their wire form."""
    return {name: to_wire(value) for name, value in values.items() if value is not None}


class ServerClient:
    """See the module doc. `base_url` is the server's root (`https://host:8470`); the
    `/api/v1` prefix is added unless the URL already ends with it."""

    def __init__(self, base_url: str, *, token: str | None = None,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 long_timeout: tuple[float, float] = LONG_TIMEOUT,
                 verify: bool | str = True,
                 session: requests.Session | None = None) -> None:
        root = base_url.rstrip("/")
        root = root.removesuffix(API_PREFIX)
        self.base_url = root
        self.api_url = root + API_PREFIX
        self.timeout = timeout
        self.long_timeout = long_timeout
        self.verify = verify
        self._http = session or requests.Session()
        self._http.headers["Accept"] = "application/json"
        self._lock = threading.Lock()
        self._token = token
        self._me: Me | None = None
        self._currencies: dict[tuple[str, int], str] = {}

    # --- plumbing ---------------------------------------------------------------------
    @property
    def token(self) -> str | None:
        return self._token

    @token.setter
    def token(self, token: str | None) -> None:
        with self._lock:
            self._token = token
            self._me = None
            self._currencies.clear()

    @property
    def events_url(self) -> str:
        """The WebSocket URL of the live events (ws:// or wss://)."""
        scheme, rest = self.api_url.split("://", 1)
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/events"

    def close(self) -> None:
        """Close the kept-alive connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, *, json: Any = None,
              params: Mapping[str, Any] | None = None, data: bytes | None = None,
              headers: Mapping[str, str] | None = None, auth: bool = True,
              timeout: tuple[float, float] | None = None) -> requests.Response:
        url = self.api_url + path
        all_headers = dict(headers or {})
        token = self._token
        if auth and token:
            all_headers["Authorization"] = f"Bearer {token}"
        body = to_wire(json) if json is not None else None
        attempts = 2 if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.request(method, url, json=body, params=params,
                                              data=data, headers=all_headers,
                                              timeout=timeout or self.timeout,
                                              verify=self.verify)
            except requests.ConnectionError as exc:
                if attempt < attempts:
                    log.info("%s %s: %s; retrying once", method, path, exc)
                    continue
                raise ServerUnavailable(f"the server at {self.base_url} cannot be reached "
                                        f"({_reason(exc)})", code="unreachable") from exc
            except requests.Timeout as exc:
                raise ServerUnavailable(f"the server at {self.base_url} did not answer in "
                                        "time", code="timeout") from exc
            except requests.RequestException as exc:
                raise ServerUnavailable(f"the request to {self.base_url} failed "
                                        f"({_reason(exc)})", code="request_failed") from exc
            if response.status_code >= 400:
                raise error_from_response(response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, method: str, path: str, **options: Any) -> Any:
        response = self._send(method, path, **options)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ProtocolError(f"{method} {path} answered something that is not JSON "
                                f"({response.headers.get('Content-Type', 'no type')})",
                                status=response.status_code, code="not_json") from None

    def _read(self, parse: Callable[[Any], T], method: str, path: str, **options: Any) -> T:
        data = self._json(method, path, **options)
        try:
            return parse(data)
        except ProtocolError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProtocolError(f"{method} {path}: the answer does not have the expected "
                                f"shape ({type(exc).__name__}: {exc}); are the client and "
                                "server the same version?", code="unexpected_answer") from exc

    def _read_in(self, currency: Callable[[], str], parse: Callable[[Any, str], T],
                 method: str, path: str, **options: Any) -> T:
        """`_read` for answers whose amounts are in a currency they do not name. The
        currency is looked up only once the server has accepted the request, so a
        refusal is the server's own."""
        return self._read(lambda data: parse(data, currency()), method, path, **options)

    def _shop_currency(self, callshop_id: int | None = None) -> str:
        """The currency of the caller's shop (or of `callshop_id`), for answers that do
        not name it. Learnt once per login."""
        me = self._me or self.me()
        if callshop_id is None or (me.callshop is not None and me.callshop.id == callshop_id):
            if me.callshop is None:
                raise ValueError("a reseller has no callshop of its own: name callshop_id")
            return me.callshop.currency
        key = ("shop", callshop_id)
        if key not in self._currencies:
            currency = self.callshop(callshop_id).currency
            with self._lock:
                self._currencies[key] = currency
        return self._currencies[key]

    def _tariff_currency(self, tariff_id: int) -> str:
        key = ("buy", tariff_id)
        if key not in self._currencies:
            self.buy_tariff(tariff_id)
        return self._currencies[key]

    def _remember_tariff(self, tariff: Tariff) -> Tariff:
        with self._lock:
            self._currencies[("buy", tariff.id)] = tariff.currency
        return tariff

    # --- the server ----------------------------------------------------------------------
    def health(self) -> Health:
        return self._read(Health.from_json, "GET", "/health", auth=False)

    def openapi(self) -> Json:
        """The API's OpenAPI 3.1 description."""
        return self._json("GET", "/openapi.json", auth=False)

    # --- logging in and out ---------------------------------------------------------
    def login(self, username: str, password: str) -> Login:
        """Log in; the token is kept for every later call. An operator's login opens
        their shift. 401 for a wrong password, 429 after too many."""
        answer = self._read(Login.from_json, "POST", "/auth/login",
                            json={"username": username, "password": password}, auth=False)
        self.token = answer.token
        return answer

    def logout(self) -> Logout:
        """End this login (an operator's shift closes unless they are logged in
        elsewhere) and forget the token, even if the server refused it."""
        try:
            return self._read(Logout.from_json, "POST", "/auth/logout")
        finally:
            self.token = None

    def me(self) -> Me:
        me = self._read(Me.from_json, "GET", "/me")
        with self._lock:
            self._me = me
        return me

    # --- the shop -------------------------------------------------------------------------
    def shop(self) -> Shop:
        return self._read(Shop.from_json, "GET", "/shop")

    def update_fraud_guard(self, **changes: Any) -> Shop:
        """`blocked_prefixes`, `max_call_seconds`, `max_session_amount` (Money or None)."""
        return self._read(Shop.from_json, "PATCH", "/shop/fraud-guard", json=changes)

    def update_rating(self, **changes: Any) -> Shop:
        """`default_tariff_id`, `international_prefixes`, `tech_prefixes`,
        `national_prefix`, `country_code`."""
        return self._read(Shop.from_json, "PATCH", "/shop/rating", json=changes)

    # --- cabins -------------------------------------------------------------------------
    def cabins(self) -> list[Cabin]:
        return self._read_in(self._shop_currency, _each(Cabin.from_json), "GET", "/cabins")

    def cabin(self, cabin_id: int) -> Cabin:
        return self._read_in(self._shop_currency, Cabin.from_json, "GET", f"/cabins/{cabin_id}")

    def create_cabin(self, name: str, sip_username: str, **fields: Any) -> CabinCredentials:
        """Fields: `site`, `position`, `tariff_id`, `enabled`, `max_call_seconds`,
        `max_session_amount`, `deposit`. The SIP password is in the answer only."""
        body = {"name": name, "sip_username": sip_username, **fields}
        return self._read_in(self._shop_currency, CabinCredentials.from_json, "POST",
                             "/cabins", json=body)

    def update_cabin(self, cabin_id: int, **changes: Any) -> Cabin:
        return self._read_in(self._shop_currency, Cabin.from_json, "PATCH",
                             f"/cabins/{cabin_id}", json=changes)

    def reset_sip_password(self, cabin_id: int) -> CabinCredentials:
        return self._read_in(self._shop_currency, CabinCredentials.from_json, "POST",
                             f"/cabins/{cabin_id}/sip-password")

    def delete_cabin(self, cabin_id: int) -> None:
        """409 if the cabin has history: disable it instead."""
        self._send("DELETE", f"/cabins/{cabin_id}")

    # --- users --------------------------------------------------------------------------
    def users(self) -> list[User]:
        return self._read(lambda rows: [User.from_json(r) for r in rows], "GET", "/users")

    def user(self, user_id: int) -> User:
        return self._read(User.from_json, "GET", f"/users/{user_id}")

    def create_user(self, username: str, password: str, role: Role = Role.OPERATOR,
                    **fields: Any) -> User:
        """Fields: `display_name`, `active`, `language`."""
        return self._read(User.from_json, "POST", "/users",
                          json={"username": username, "password": password, "role": role,
                                **fields})

    def update_user(self, user_id: int, **changes: Any) -> User:
        """Disabling a user or changing their role logs them out."""
        return self._read(User.from_json, "PATCH", f"/users/{user_id}", json=changes)

    def set_user_password(self, user_id: int, password: str) -> User:
        return self._read(User.from_json, "POST", f"/users/{user_id}/password",
                          json={"password": password})

    def delete_user(self, user_id: int) -> None:
        self._send("DELETE", f"/users/{user_id}")

    # --- sell tariffs and rates --------------------------------------------------------------
    def tariffs(self) -> list[Tariff]:
        return self._read(lambda rows: [Tariff.from_json(r) for r in rows], "GET", "/tariffs")

    def tariff(self, tariff_id: int) -> Tariff:
        return self._read(Tariff.from_json, "GET", f"/tariffs/{tariff_id}")

    def create_tariff(self, name: str) -> Tariff:
        return self._read(Tariff.from_json, "POST", "/tariffs", json={"name": name})

    def rename_tariff(self, tariff_id: int, name: str) -> Tariff:
        return self._read(Tariff.from_json, "PATCH", f"/tariffs/{tariff_id}",
                          json={"name": name})

    def delete_tariff(self, tariff_id: int) -> None:
        self._send("DELETE", f"/tariffs/{tariff_id}")

    def rates(self, *, tariff_id: int | None = None, cabin_id: int | None = None,
              prefix: str | None = None, search: str | None = None, offset: int = 0,
              limit: int = 100) -> Page[Rate]:
        """A tariff's rates or a cabin's own (give exactly one), paged by prefix."""
        query = _query(tariff_id=tariff_id, cabin_id=cabin_id, prefix=prefix, search=search,
                       offset=offset, limit=limit)
        return self._read_in(self._shop_currency, _paged(Rate.from_json), "GET", "/rates",
                             params=query)

    def create_rate(self, prefix: str, price_per_minute: Money, *,
                    tariff_id: int | None = None, cabin_id: int | None = None,
                    **fields: Any) -> Rate:
        """Fields: `destination`, `connection_fee`, `initial_increment`,
        `subsequent_increment`, `grace_seconds`."""
        body = {"prefix": prefix, "price_per_minute": price_per_minute, **fields,
                **_query(tariff_id=tariff_id, cabin_id=cabin_id)}
        return self._read_in(self._shop_currency, Rate.from_json, "POST", "/rates", json=body)

    def update_rate(self, rate_id: int, **changes: Any) -> Rate:
        return self._read_in(self._shop_currency, Rate.from_json, "PATCH",
                             f"/rates/{rate_id}", json=changes)

    def delete_rate(self, rate_id: int) -> None:
        self._send("DELETE", f"/rates/{rate_id}")

    def import_tariff_rates(self, tariff_id: int, deck: bytes | str) -> DeckImport:
        """Replace every rate of the tariff with a CSV rate deck. All or nothing: a
        bad deck raises `ValidationError` listing each bad line in `lines`."""
        return self._import(f"/tariffs/{tariff_id}/import", deck)

    def import_cabin_rates(self, cabin_id: int, deck: bytes | str) -> DeckImport:
        return self._import(f"/cabins/{cabin_id}/rates/import", deck)

    def _import(self, path: str, deck: bytes | str) -> DeckImport:
        data = deck.encode("utf-8") if isinstance(deck, str) else deck
        return self._read(DeckImport.from_json, "POST", path, data=data,
                          headers={"Content-Type": "text/csv; charset=utf-8"},
                          timeout=self.long_timeout)

    def export_tariff_rates(self, tariff_id: int) -> str:
        """The tariff's rates as a CSV deck (importing it back gives the same rates)."""
        return self._text(f"/tariffs/{tariff_id}/export")

    def export_cabin_rates(self, cabin_id: int) -> str:
        return self._text(f"/cabins/{cabin_id}/rates/export")

    def _text(self, path: str) -> str:
        response = self._send("GET", path, timeout=self.long_timeout)
        response.encoding = response.encoding or "utf-8"
        return response.text

    # --- buy tariffs (the reseller's) ---------------------------------------------------------
    def buy_tariffs(self) -> list[Tariff]:
        return self._read(lambda rows: [self._remember_tariff(Tariff.from_json(r))
                                        for r in rows], "GET", "/buy-tariffs")

    def buy_tariff(self, tariff_id: int) -> Tariff:
        return self._remember_tariff(self._read(Tariff.from_json, "GET",
                                                f"/buy-tariffs/{tariff_id}"))

    def create_buy_tariff(self, name: str) -> Tariff:
        return self._remember_tariff(self._read(Tariff.from_json, "POST", "/buy-tariffs",
                                                json={"name": name}))

    def rename_buy_tariff(self, tariff_id: int, name: str) -> Tariff:
        return self._remember_tariff(self._read(Tariff.from_json, "PATCH",
                                                f"/buy-tariffs/{tariff_id}",
                                                json={"name": name}))

    def delete_buy_tariff(self, tariff_id: int) -> None:
        self._send("DELETE", f"/buy-tariffs/{tariff_id}")

    def buy_rates(self, tariff_id: int, *, prefix: str | None = None,
                  search: str | None = None, offset: int = 0,
                  limit: int = 100) -> Page[Rate]:
        query = _query(tariff_id=tariff_id, prefix=prefix, search=search, offset=offset,
                       limit=limit)
        return self._read_in(lambda: self._tariff_currency(tariff_id), _paged(Rate.from_json),
                             "GET", "/buy-rates", params=query)

    def create_buy_rate(self, tariff_id: int, prefix: str, price_per_minute: Money,
                        **fields: Any) -> Rate:
        body = {"tariff_id": tariff_id, "prefix": prefix,
                "price_per_minute": price_per_minute, **fields}
        return self._read_in(lambda: self._tariff_currency(tariff_id), Rate.from_json,
                             "POST", "/buy-rates", json=body)

    def update_buy_rate(self, rate_id: int, **changes: Any) -> Rate:
        # The answer names its tariff, whose currency the amounts are in.
        return self._read(lambda d: Rate.from_json(d, self._tariff_currency(d["tariff_id"])),
                          "PATCH", f"/buy-rates/{rate_id}", json=changes)

    def delete_buy_rate(self, rate_id: int) -> None:
        self._send("DELETE", f"/buy-rates/{rate_id}")

    # --- callshops (the reseller's) -------------------------------------------------------
    def callshops(self, *, offset: int = 0, limit: int = 100) -> Page[Callshop]:
        return self._read(lambda d: page_of(d, Callshop.from_json), "GET", "/callshops",
                          params=_query(offset=offset, limit=limit))

    def callshop(self, shop_id: int) -> Callshop:
        return self._read(Callshop.from_json, "GET", f"/callshops/{shop_id}")

    def create_callshop(self, name: str, admin_username: str, admin_password: str,
                        **fields: Any) -> NewCallshop:
        """Fields: `currency`, `locale`, `timezone`, `training`, `buy_tariff_id`,
        `admin_display_name`."""
        return self._read(NewCallshop.from_json, "POST", "/callshops",
                          json={"name": name, "admin_username": admin_username,
                                "admin_password": admin_password, **fields})

    def update_callshop(self, shop_id: int, **changes: Any) -> Callshop:
        """`name`, `locale`, `timezone`, `active` (false locks its users out)."""
        return self._read(Callshop.from_json, "PATCH", f"/callshops/{shop_id}", json=changes)

    def set_buy_tariff(self, shop_id: int, tariff_id: int | None) -> Callshop:
        return self._read(Callshop.from_json, "PUT", f"/callshops/{shop_id}/buy-tariff",
                          json={"tariff_id": tariff_id})

    # --- invoice settings (rare admin screen: plain dicts) --------------------------------
    def invoice_settings(self) -> Json:
        """Company, address, tax id, VAT rate, logo (base64), footer, numbering."""
        return self._json("GET", "/invoice-settings")

    def update_invoice_settings(self, **changes: Any) -> Json:
        """Fields left out keep their value; `logo` takes PNG/JPEG bytes or None."""
        return self._json("PUT", "/invoice-settings", json=changes)

    # --- the till ---------------------------------------------------------------------------
    def live(self) -> Snapshot:
        """The whole shop now, with the event sequence it reflects (see `live`)."""
        return self._read(Snapshot.from_json, "GET", "/live")

    def pay(self, cabin_id: int, received: Money, idempotency_key: str, *,
            invoice: bool = False, session_id: int | None = None) -> PaymentResult:
        """Take `received` for the cabin's open session and free the cabin.

        `idempotency_key` is made once per press of Pay (`new_idempotency_key`): when
        this raises `ServerUnavailable` the payment may or may not have been taken, so
        retry with the same key; the server then answers the first payment
        (`replayed=True`). `session_id` (the session the desk showed) turns a session
        paid meanwhile at another desk into 409 `payment_conflict`.
        Raises `InsufficientCash` (422), `Conflict` with `code` `nothing_to_pay`,
        `call_still_live`, `payment_conflict` or `shift_closed`.
        """
        body = {"received": received, "idempotency_key": idempotency_key, "invoice": invoice,
                **_query(session_id=session_id)}
        try:
            return self._read(PaymentResult.from_json, "POST", f"/cabins/{cabin_id}/pay",
                              json=body)
        except ValidationError as exc:
            if exc.code != "insufficient_cash":
                raise
            due = exc.context.get("amount_due")
            raise InsufficientCash(
                exc.message, amount_due=parse_money(due, received.currency) if due else None,
                received=received, status=exc.status, code=exc.code, field=exc.field,
                context=exc.context) from exc

    def invoice_pdf(self, transaction_id: int) -> bytes:
        """The invoice of a payment, exactly as issued. 404 if it has none."""
        response = self._send("GET", f"/transactions/{transaction_id}/invoice.pdf",
                              headers={"Accept": "application/pdf"},
                              timeout=self.long_timeout)
        return response.content

    def receipt(self, transaction_id: int) -> dict[str, Any]:
        """What a payment's thermal receipt prints, in its wire form (read it with
        `cashdesk.invoices.data.InvoiceData.from_wire`)."""
        return dict(self._send("GET", f"/transactions/{transaction_id}/receipt").json())

    def cabin_sessions(self, cabin_id: int, *, offset: int = 0,
                       limit: int = 50) -> Page[PastSession]:
        """A cabin's paid sessions with their calls, newest first."""
        return self._read_in(self._shop_currency, _paged(PastSession.from_json), "GET",
                             f"/cabins/{cabin_id}/sessions",
                             params=_query(offset=offset, limit=limit))

    def balance(self, callshop_id: int | None = None) -> Balance:
        return self._read(Balance.from_json, "GET", "/balance",
                          params=_query(callshop_id=callshop_id))

    # --- history and reports ---------------------------------------------------------------
    def transactions(self, *, callshop_id: int | None = None, operator_id: int | None = None,
                     cabin_id: int | None = None, since: Moment | None = None,
                     until: Moment | None = None, offset: int = 0,
                     limit: int = 50) -> Page[Transaction]:
        """Payments, newest first. `since`/`until`: a local day (`date`, `until`
        included) or an aware instant."""
        return self._read(lambda d: page_of(d, Transaction.from_json), "GET", "/transactions",
                          params=_query(callshop_id=callshop_id, operator_id=operator_id,
                                        cabin_id=cabin_id, since=since, until=until,
                                        offset=offset, limit=limit))

    def transaction(self, transaction_id: int) -> TransactionDetail:
        return self._read(TransactionDetail.from_json, "GET", f"/transactions/{transaction_id}")

    def calls(self, *, callshop_id: int | None = None, cabin_id: int | None = None,
              number: str | None = None, destination: str | None = None,
              state: str | None = None, since: Moment | None = None,
              until: Moment | None = None, offset: int = 0,
              limit: int = 50) -> Page[CallRecord]:
        """The call history (CDRs), newest first, filtered."""
        query = _query(callshop_id=callshop_id, cabin_id=cabin_id, number=number,
                       destination=destination, state=state, since=since, until=until,
                       offset=offset, limit=limit)
        return self._read_in(lambda: self._shop_currency(callshop_id),
                             _paged(CallRecord.from_json), "GET", "/calls", params=query)

    def record_topup(self, shop_id: int, amount: Money, kind: str, idempotency_key: str, *,
                     description: str = "") -> TopupRecorded:
        """Credit a shop's balance (a reseller's act). Like Pay, retry with the same key."""
        return self._read(TopupRecorded.from_json, "POST", f"/callshops/{shop_id}/topups",
                          json={"amount": amount, "kind": kind, "description": description,
                                "idempotency_key": idempotency_key})

    def topups(self, *, callshop_id: int | None = None, kind: str | None = None,
               since: Moment | None = None, until: Moment | None = None, offset: int = 0,
               limit: int = 50) -> Page[Topup]:
        return self._read(lambda d: page_of(d, Topup.from_json), "GET", "/topups",
                          params=_query(callshop_id=callshop_id, kind=kind, since=since,
                                        until=until, offset=offset, limit=limit))

    def money_history(self, *, callshop_id: int | None = None, since: Moment | None = None,
                      until: Moment | None = None, offset: int = 0,
                      limit: int = 50) -> MoneyHistory:
        """Payments and top-ups merged, newest first, with the totals of each."""
        query = _query(callshop_id=callshop_id, since=since, until=until, offset=offset,
                       limit=limit)
        return self._read_in(lambda: self._shop_currency(callshop_id), MoneyHistory.from_json,
                             "GET", "/history/money", params=query)

    def dashboard(self, *, callshop_id: int | None = None, period: str | None = None,
                  since: Moment | None = None, until: Moment | None = None) -> Dashboard:
        """`period`: one of `models.PERIODS` (default today), in the shop's time zone."""
        return self._read(Dashboard.from_json, "GET", "/dashboard",
                          params=_query(callshop_id=callshop_id, period=period, since=since,
                                        until=until))

    def profit(self, *, callshop_id: int | None = None, since: Moment | None = None,
               until: Moment | None = None, group_by: str = "day") -> ProfitReport:
        """Revenue, cost and profit per day, cabin, destination or operator (default:
        this month)."""
        return self._read(ProfitReport.from_json, "GET", "/profit",
                          params=_query(callshop_id=callshop_id, since=since, until=until,
                                        group_by=group_by))


# --- errors ------------------------------------------------------------------------------

_BY_STATUS: dict[int, type[ApiError]] = {
    400: ValidationError,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: ValidationError,
    422: ValidationError,
}


def error_from_response(response: requests.Response) -> ApiError:
    """The exception for a refusal: the server's code, message, field and context."""
    status = response.status_code
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        pass
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code", "error"))
        message = str(error.get("message") or response.reason or f"HTTP {status}")
        field = error.get("field")
        context = {k: v for k, v in body.items() if k != "error"}
    else:
        code = "http_error"
        message = f"the server answered HTTP {status} {response.reason or ''}".strip()
        field, context = None, {}
    options: dict[str, Any] = {"status": status, "code": code, "field": field,
                               "context": context}
    if status == 429:
        retry = response.headers.get("Retry-After", "")
        return TooManyAttempts(message, retry_after=int(retry) if retry.isdigit() else None,
                               **options)
    if status >= 500:
        return ServerUnavailable(message, **options)
    cls = _BY_STATUS.get(status, ApiError)
    if cls is ValidationError:
        lines = tuple(LineError(line=int(item["line"]), reason=str(item["reason"]))
                      for item in context.get("lines") or ()
                      if isinstance(item, dict) and "line" in item)
        return ValidationError(message, lines=lines, **options)
    return cls(message, **options)


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests error, short (not urllib3's whole repr)."""
    inner: BaseException = exc
    while True:
        nested = inner.__cause__ or inner.__context__
        if nested is None or nested is inner:
            break
        inner = nested
        if isinstance(inner, OSError) and inner.strerror:
            return inner.strerror
    text = str(inner) or type(inner).__name__
    return text if len(text) < 160 else text[:157] + "..."
