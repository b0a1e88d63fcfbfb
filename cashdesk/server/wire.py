"""How domain values look on the wire, shared by the endpoints: money as decimal
strings, times as ISO 8601 with their offset, and the common shapes (user, shop)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from cashdesk.auth.roles import Role
from cashdesk.money import Money
from cashdesk.server.schema import Bool, Int, MoneyText, Obj, Str, Timestamp
from cashdesk.store.models import Callshop, User


def money(amount: Decimal, currency: str) -> str:
    """An amount as its wire string (`Money.to_json`), never a JSON number."""
    return Money(amount, currency).to_json()


def optional_money(amount: Decimal | None, currency: str) -> str | None:
    return None if amount is None else money(amount, currency)


def timestamp(moment: datetime) -> str:
    return moment.isoformat()


def optional_timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


ROLE_NAMES = tuple(role.value for role in Role)

USER = Obj({
    "id": Int(),
    "username": Str(),
    "display_name": Str(),
    "role": Str(choices=ROLE_NAMES),
    "callshop_id": Int(nullable=True),
    "active": Bool(),
    "language": Str(),
    "created_at": Timestamp(),
})


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "callshop_id": user.callshop_id,
        "active": user.active,
        "language": user.language,
        "created_at": timestamp(user.created_at),
    }


SHOP_SUMMARY = Obj({
    "id": Int(),
    "name": Str(),
    "currency": Str(),
    "locale": Str(),
    "timezone": Str(),
    "training": Bool(),
    "active": Bool(),
})


def shop_summary_json(shop: Callshop) -> dict[str, Any]:
    return {"id": shop.id, "name": shop.name, "currency": shop.currency,
            "locale": shop.locale, "timezone": shop.timezone, "training": shop.training,
            "active": shop.active}


def comma_list(text: str) -> list[str]:
    """A comma-separated column (prefix lists) as a list."""
    return [item.strip() for item in text.split(",") if item.strip()]


def comma_text(items: list[str]) -> str:
    # Keep the order the person gave, drop repeats.
    return ",".join(dict.fromkeys(items))


MONEY_OR_NULL = MoneyText(nullable=True)
