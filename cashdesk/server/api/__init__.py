"""The HTTP API, one module per resource, each with its own `RouteTable`.

A new resource slots in as a new module here and in `TABLES`.
"""

from __future__ import annotations

from cashdesk.server import auth
from cashdesk.server.api import (
    buy_tariffs,
    cabins,
    call_history,
    dashboard,
    invoice_settings,
    live,
    meta,
    payments,
    profit,
    rate_decks,
    rates,
    shops,
    tariffs,
    topups,
    transactions,
    users,
)
from cashdesk.server.routes import RouteTable

TABLES: tuple[RouteTable, ...] = (
    meta.routes,
    auth.routes,
    shops.routes,
    cabins.routes,
    users.routes,
    tariffs.routes,
    rates.routes,
    buy_tariffs.routes,
    invoice_settings.routes,
    payments.routes,
    transactions.routes,
    call_history.routes,
    topups.routes,
    dashboard.routes,
    profit.routes,
    rate_decks.routes,
    live.routes,
)
