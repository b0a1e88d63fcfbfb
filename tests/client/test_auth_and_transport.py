"""Logging in and out through the client against the real server, and what the client
raises when the server refuses, cannot be reached, or does not answer in time."""

from __future__ import annotations

import socket
from datetime import datetime

import pytest
import requests

from cashdesk.auth.roles import Permission, Role
from cashdesk.money import Money
from server_client.client import ServerClient, error_from_response
from server_client.errors import (
    Forbidden,
    ServerUnavailable,
    TooManyAttempts,
    Unauthorized,
    ValidationError,
)
from tests.client.conftest import PASSWORD
from tests.client.harness import HOST, free_port


def test_login_me_and_logout_of_an_operator(connect, world):
    client = connect()
    login = client.login("operator_a", PASSWORD)
    assert client.token == login.token
    assert login.user.role is Role.OPERATOR
    assert login.user.callshop_id == world.shop_a
    assert login.shift_id is not None
    assert login.expires_at.tzinfo is not None

    me = client.me()
    assert me.user.username == "operator_a" and me.user.display_name == "Olga"
    assert me.callshop is not None and me.callshop.currency == "EUR"
    assert me.shift_id == login.shift_id
    assert me.may(Permission.PAY_CABIN) and not me.may(Permission.MANAGE_CABINS)

    logout = client.logout()
    assert logout.shift_id == login.shift_id and logout.shift_closed
    assert client.token is None
    with pytest.raises(Unauthorized) as refused:
        client.me()
    assert refused.value.status == 401
    assert "log in first" in refused.value.message


def test_a_revoked_token_is_unauthorized_with_the_servers_reason(connect):
    client = connect("admin_a")
    token = client.token
    client.logout()
    client.token = token  # a desk that kept the old token
    with pytest.raises(Unauthorized, match=r"this login has ended \(logged out\)") as refused:
        client.shop()
    assert refused.value.code == "unauthorized"


def test_a_wrong_password_is_unauthorized(connect):
    client = connect()
    with pytest.raises(Unauthorized, match="wrong username or password"):
        client.login("operator_a", "not-the-password")
    assert client.token is None


def test_too_many_failed_logins_say_how_long_to_wait(connect):
    client = connect()
    for _ in range(5):
        with pytest.raises(Unauthorized):
            client.login("admin_b", "wrong-password-1")
    with pytest.raises(TooManyAttempts) as slowed:
        client.login("admin_b", "wrong-password-1")
    assert slowed.value.status == 429
    assert slowed.value.retry_after is not None and slowed.value.retry_after >= 1
    assert "too many failed logins" in slowed.value.message


def test_an_empty_username_is_a_validation_error_naming_the_field(connect):
    with pytest.raises(ValidationError) as refused:
        connect().login("", PASSWORD)
    assert refused.value.field == "username"
    assert refused.value.message == "username: cannot be empty"


def test_a_role_without_the_permission_is_forbidden(operator):
    with pytest.raises(Forbidden) as refused:
        operator.users()
    assert refused.value.message == ("your role (operator) may not do this: it needs the "
                                     "permission 'manage_operators'")


def test_health_and_openapi_need_no_login(connect):
    client = connect()
    assert client.health().status == "ok"
    paths = client.openapi()["paths"]
    assert "/api/v1/cabins/{cabin_id}/pay" in paths


def test_the_base_url_may_name_the_api_prefix(server, connect):
    client = connect()
    prefixed = ServerClient(server.url + "/api/v1/")
    try:
        assert prefixed.api_url == client.api_url
        assert prefixed.health().status == "ok"
        assert prefixed.events_url == f"ws://{HOST}:{server.port}/api/v1/events"
    finally:
        prefixed.close()


# --- transport failures ---------------------------------------------------------------

class CountingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    def request(self, *args, **kwargs):
        self.sent += 1
        return super().request(*args, **kwargs)


def test_connection_refused_is_server_unavailable_after_one_retry_of_a_get():
    session = CountingSession()
    client = ServerClient(f"http://{HOST}:{free_port()}", token="t", session=session)
    with client, pytest.raises(ServerUnavailable) as unreachable:
        client.health()
    assert unreachable.value.status is None
    assert unreachable.value.code == "unreachable"
    assert "cannot be reached" in unreachable.value.message
    assert "refused" in unreachable.value.message.lower()
    assert session.sent == 2  # a GET is retried once


def test_a_command_is_never_retried_by_the_client():
    session = CountingSession()
    client = ServerClient(f"http://{HOST}:{free_port()}", token="t", session=session)
    with client, pytest.raises(ServerUnavailable):
        client.pay(1, Money.of("5", "EUR"), "key-1")
    assert session.sent == 1


def test_a_server_that_does_not_answer_in_time_is_server_unavailable():
    # A listening socket nobody accepts from: the connection opens, no answer ever comes.
    with socket.socket() as silent:
        silent.bind((HOST, 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        client = ServerClient(f"http://{HOST}:{port}", timeout=(1.0, 0.3))
        started = datetime.now()
        with client, pytest.raises(ServerUnavailable) as slow:
            client.health()
        assert slow.value.code == "timeout"
        assert (datetime.now() - started).total_seconds() < 3  # no retry after a timeout


def _response(status: int, body: bytes, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers)
    return response


def test_a_5xx_is_server_unavailable_with_the_servers_message():
    # The real server answers 500/503 only when it is broken; the mapping is checked
    # on the answer as the error middleware writes it.
    error = error_from_response(_response(
        503, b'{"error": {"code": "database_unavailable", "message": "the database does '
             b'not answer: OperationalError"}}', **{"Content-Type": "application/json"}))
    assert isinstance(error, ServerUnavailable)
    assert (error.status, error.code) == (503, "database_unavailable")
    assert error.message == "the database does not answer: OperationalError"
    html = error_from_response(_response(502, b"<html>Bad Gateway</html>"))
    assert isinstance(html, ServerUnavailable) and html.message.startswith(
        "the server answered HTTP 502")
