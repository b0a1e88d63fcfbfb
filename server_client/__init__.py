"""The desktop's client of the sync server: typed HTTP calls and the event stream.

Plain Python (requests, websocket-client): no Qt here, so it can be tested and reused
without a screen. The UI wraps it in worker threads.

- `client.ServerClient`: every endpoint of `/api/v1`, answering frozen values
  (`models`, `live.Snapshot`) and raising `errors.ApiError` subclasses;
- `live.LiveState`: the shop kept in sync from a snapshot and events, pure;
- `events.EventStream`: the WebSocket kept connected, feeding a `LiveState`.
"""

from server_client.client import ServerClient, new_idempotency_key
from server_client.errors import (
    ApiError,
    Conflict,
    Forbidden,
    InsufficientCash,
    NotFound,
    ServerUnavailable,
    TooManyAttempts,
    Unauthorized,
    ValidationError,
)
from server_client.events import ConnectionStatus, EventStream
from server_client.live import Diff, LiveState, LiveView
from server_client.wire import ProtocolError

__all__ = [
    "ApiError",
    "Conflict",
    "ConnectionStatus",
    "Diff",
    "EventStream",
    "Forbidden",
    "InsufficientCash",
    "LiveState",
    "LiveView",
    "NotFound",
    "ProtocolError",
    "ServerClient",
    "ServerUnavailable",
    "TooManyAttempts",
    "Unauthorized",
    "ValidationError",
    "new_idempotency_key",
]
