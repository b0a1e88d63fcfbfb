"""Roles and the one permission table the server enforces on every request.

Hiding a button is a courtesy; this table is the rule. Every HTTP endpoint and every
WebSocket message names one `Permission`, and `allowed(role, permission)` decides.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    RESELLER = "reseller"
    ADMIN = "admin"
    OPERATOR = "operator"


class Permission(StrEnum):
    # the till: what a cashier does all day
    VIEW_LIVE = "view_live"                    # snapshot, events, cabin tiles
    PAY_CABIN = "pay_cabin"
    VIEW_CABIN_HISTORY = "view_cabin_history"
    VIEW_OWN_SHIFT = "view_own_shift"
    VIEW_BALANCE = "view_balance"
    # the shop's management
    MANAGE_CABINS = "manage_cabins"
    MANAGE_OPERATORS = "manage_operators"
    MANAGE_SELL_RATES = "manage_sell_rates"
    VIEW_SELL_RATES = "view_sell_rates"
    MANAGE_INVOICE_SETTINGS = "manage_invoice_settings"
    VIEW_TRANSACTIONS = "view_transactions"
    VIEW_CALL_HISTORY = "view_call_history"
    VIEW_TOPUPS = "view_topups"
    VIEW_DASHBOARD = "view_dashboard"
    VIEW_PROFIT = "view_profit"
    MANAGE_FRAUD_GUARD = "manage_fraud_guard"
    # the reseller's side
    MANAGE_CALLSHOPS = "manage_callshops"
    MANAGE_BUY_RATES = "manage_buy_rates"
    RECORD_TOPUP = "record_topup"


_OPERATOR = frozenset({
    Permission.VIEW_LIVE,
    Permission.PAY_CABIN,
    Permission.VIEW_CABIN_HISTORY,
    Permission.VIEW_OWN_SHIFT,
    Permission.VIEW_BALANCE,
    Permission.VIEW_SELL_RATES,
})

_ADMIN = _OPERATOR | {
    Permission.MANAGE_CABINS,
    Permission.MANAGE_OPERATORS,
    Permission.MANAGE_SELL_RATES,
    Permission.MANAGE_INVOICE_SETTINGS,
    Permission.VIEW_TRANSACTIONS,
    Permission.VIEW_CALL_HISTORY,
    Permission.VIEW_TOPUPS,
    Permission.VIEW_DASHBOARD,
    Permission.VIEW_PROFIT,
    Permission.MANAGE_FRAUD_GUARD,
}

# A reseller manages the shops it sells to and their money; it does not work their till
# (paying a cabin is a cashier's act, tied to a shift).
_RESELLER = frozenset({
    Permission.MANAGE_CALLSHOPS,
    Permission.MANAGE_BUY_RATES,
    Permission.RECORD_TOPUP,
    Permission.VIEW_TOPUPS,
    Permission.VIEW_BALANCE,
    Permission.VIEW_PROFIT,
    Permission.VIEW_TRANSACTIONS,
    Permission.VIEW_CALL_HISTORY,
    Permission.VIEW_DASHBOARD,
})

#: The permission table: role → what it may do. The only place this is decided.
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: _OPERATOR,
    Role.ADMIN: frozenset(_ADMIN),
    Role.RESELLER: _RESELLER,
}


def allowed(role: Role | str, permission: Permission) -> bool:
    """Whether `role` may do `permission`. Unknown roles may do nothing."""
    try:
        return permission in PERMISSIONS[Role(role)]
    except ValueError:
        return False
