"""What the server answers, as frozen values: amounts as `Money`, times aware, states
as enums. Each type reads itself from the server's JSON with `from_json`; amounts
need the currency they are in, which some answers name and others leave to the shop.

The live view of the shop (cabins, sessions, calls as they happen) is in `live`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from cashdesk.auth.roles import Permission, Role
from cashdesk.call_state import CallState
from cashdesk.money import Money
from cashdesk.rating.pricing import RateTerms
from server_client.wire import (
    parse_money,
    parse_optional_money,
    parse_optional_time,
    parse_time,
)

T = TypeVar("T")
Json = dict[str, Any]

#: Named report periods the server knows (in the shop's time zone; weeks from Monday).
PERIODS = ("today", "yesterday", "this_week", "last_week", "this_month", "last_month",
           "custom")
#: How a profit report may be split.
PROFIT_GROUPS = ("day", "cabin", "destination", "operator")
#: Kinds of top-up.
TOPUP_KINDS = ("cash", "bank_transfer", "card", "correction", "refund")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: `total` counts every match over all pages."""

    items: tuple[T, ...]
    total: int
    offset: int
    limit: int

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def page_of(data: Json, item: Any) -> Page[Any]:
    return Page(items=tuple(item(row) for row in data["items"]), total=data["total"],
                offset=data["offset"], limit=data["limit"])


# --- people and logins --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Health:
    status: str
    version: str

    @classmethod
    def from_json(cls, data: Json) -> Health:
        return cls(status=data["status"], version=data["version"])


@dataclass(frozen=True, slots=True)
class UserRef:
    """Who logged in, as the login answer names them."""

    id: int
    username: str
    display_name: str
    role: Role
    callshop_id: int | None

    @classmethod
    def from_json(cls, data: Json) -> UserRef:
        return cls(id=data["id"], username=data["username"],
                   display_name=data["display_name"], role=Role(data["role"]),
                   callshop_id=data["callshop_id"])


@dataclass(frozen=True, slots=True)
class Login:
    token: str
    expires_at: datetime
    user: UserRef
    shift_id: int | None

    @classmethod
    def from_json(cls, data: Json) -> Login:
        return cls(token=data["token"], expires_at=parse_time(data["expires_at"]),
                   user=UserRef.from_json(data["user"]), shift_id=data["shift_id"])


@dataclass(frozen=True, slots=True)
class Logout:
    shift_id: int | None
    shift_closed: bool

    @classmethod
    def from_json(cls, data: Json) -> Logout:
        return cls(shift_id=data["shift_id"], shift_closed=data["shift_closed"])


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    callshop_id: int | None
    active: bool
    language: str
    created_at: datetime

    @classmethod
    def from_json(cls, data: Json) -> User:
        return cls(id=data["id"], username=data["username"],
                   display_name=data["display_name"], role=Role(data["role"]),
                   callshop_id=data["callshop_id"], active=data["active"],
                   language=data["language"], created_at=parse_time(data["created_at"]))


@dataclass(frozen=True, slots=True)
class ShopSummary:
    id: int
    name: str
    currency: str
    locale: str
    timezone: str
    training: bool
    active: bool

    @classmethod
    def from_json(cls, data: Json) -> ShopSummary:
        return cls(id=data["id"], name=data["name"], currency=data["currency"],
                   locale=data["locale"], timezone=data["timezone"],
                   training=data["training"], active=data["active"])


@dataclass(frozen=True, slots=True)
class Me:
    """Who is logged in and what they may do (the server checks it on every request;
    the desk uses it to hide what would be refused)."""

    user: User
    callshop: ShopSummary | None
    reseller_id: int
    shift_id: int | None
    expires_at: datetime
    permissions: frozenset[Permission]

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions

    @classmethod
    def from_json(cls, data: Json) -> Me:
        shop = data["callshop"]
        return cls(user=User.from_json(data["user"]),
                   callshop=ShopSummary.from_json(shop) if shop is not None else None,
                   reseller_id=data["reseller_id"], shift_id=data["shift_id"],
                   expires_at=parse_time(data["expires_at"]),
                   permissions=frozenset(Permission(p) for p in data["permissions"]))


# --- the shop and its cabins --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RatingPlan:
    default_tariff_id: int | None
    international_prefixes: tuple[str, ...]
    tech_prefixes: tuple[str, ...]
    national_prefix: str
    country_code: str

    @classmethod
    def from_json(cls, data: Json) -> RatingPlan:
        return cls(default_tariff_id=data["default_tariff_id"],
                   international_prefixes=tuple(data["international_prefixes"]),
                   tech_prefixes=tuple(data["tech_prefixes"]),
                   national_prefix=data["national_prefix"], country_code=data["country_code"])


@dataclass(frozen=True, slots=True)
class FraudGuard:
    blocked_prefixes: tuple[str, ...]
    max_call_seconds: int | None
    max_session_amount: Money | None

    @classmethod
    def from_json(cls, data: Json, currency: str) -> FraudGuard:
        return cls(blocked_prefixes=tuple(data["blocked_prefixes"]),
                   max_call_seconds=data["max_call_seconds"],
                   max_session_amount=parse_optional_money(data["max_session_amount"],
                                                           currency))


@dataclass(frozen=True, slots=True)
class Shop:
    """The caller's callshop with its settings."""

    id: int
    name: str
    currency: str
    locale: str
    timezone: str
    training: bool
    active: bool
    rating: RatingPlan
    fraud_guard: FraudGuard

    @classmethod
    def from_json(cls, data: Json) -> Shop:
        currency = data["currency"]
        return cls(id=data["id"], name=data["name"], currency=currency,
                   locale=data["locale"], timezone=data["timezone"],
                   training=data["training"], active=data["active"],
                   rating=RatingPlan.from_json(data["rating"]),
                   fraud_guard=FraudGuard.from_json(data["fraud_guard"], currency))


@dataclass(frozen=True, slots=True)
class Cabin:
    """A cabin's settings (the admin's view; the till sees cabins in the live snapshot)."""

    id: int
    name: str
    site: str
    position: int
    sip_username: str
    sip_realm: str
    has_sip_password: bool
    tariff_id: int | None
    enabled: bool
    max_call_seconds: int | None
    max_session_amount: Money | None
    deposit: Money | None

    @classmethod
    def from_json(cls, data: Json, currency: str) -> Cabin:
        return cls(id=data["id"], name=data["name"], site=data["site"],
                   position=data["position"], sip_username=data["sip_username"],
                   sip_realm=data["sip_realm"], has_sip_password=data["has_sip_password"],
                   tariff_id=data["tariff_id"], enabled=data["enabled"],
                   max_call_seconds=data["max_call_seconds"],
                   max_session_amount=parse_optional_money(data["max_session_amount"],
                                                           currency),
                   deposit=parse_optional_money(data["deposit"], currency))


@dataclass(frozen=True, slots=True)
class CabinCredentials:
    """A cabin with its new SIP password: shown this once, the server keeps only HA1."""

    cabin: Cabin
    sip_password: str

    @classmethod
    def from_json(cls, data: Json, currency: str) -> CabinCredentials:
        return cls(cabin=Cabin.from_json(data["cabin"], currency),
                   sip_password=data["sip_password"])


# --- tariffs and rates ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Tariff:
    """A sell tariff (`is_default`) or a reseller's buy tariff (`callshop_count`)."""

    id: int
    name: str
    currency: str
    revision: int
    updated_at: datetime
    rate_count: int
    is_default: bool = False
    callshop_count: int = 0

    @classmethod
    def from_json(cls, data: Json) -> Tariff:
        return cls(id=data["id"], name=data["name"], currency=data["currency"],
                   revision=data["revision"], updated_at=parse_time(data["updated_at"]),
                   rate_count=data["rate_count"], is_default=data.get("is_default", False),
                   callshop_count=data.get("callshop_count", 0))


@dataclass(frozen=True, slots=True)
class Rate:
    id: int
    tariff_id: int | None
    cabin_id: int | None
    prefix: str
    destination: str
    price_per_minute: Money
    connection_fee: Money
    initial_increment: int
    subsequent_increment: int
    grace_seconds: int

    def terms(self) -> RateTerms:
        """The rate as `cashdesk.rating.pricing` prices with it."""
        return RateTerms(self.prefix, self.destination, self.price_per_minute.amount,
                         self.connection_fee.amount, self.initial_increment,
                         self.subsequent_increment, self.grace_seconds)

    @classmethod
    def from_json(cls, data: Json, currency: str) -> Rate:
        return cls(id=data["id"], tariff_id=data["tariff_id"], cabin_id=data["cabin_id"],
                   prefix=data["prefix"], destination=data["destination"],
                   price_per_minute=parse_money(data["price_per_minute"], currency),
                   connection_fee=parse_money(data["connection_fee"], currency),
                   initial_increment=data["initial_increment"],
                   subsequent_increment=data["subsequent_increment"],
                   grace_seconds=data["grace_seconds"])


@dataclass(frozen=True, slots=True)
class DeckImport:
    """A rate deck that was imported: every rate of the tariff (or cabin) replaced."""

    imported: int
    replaced: int
    names_filled: int
    revision: int | None

    @classmethod
    def from_json(cls, data: Json) -> DeckImport:
        return cls(imported=data["imported"], replaced=data["replaced"],
                   names_filled=data["names_filled"], revision=data["revision"])


# --- the reseller's callshops -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Callshop:
    """One of a reseller's callshops."""

    id: int
    name: str
    currency: str
    locale: str
    timezone: str
    training: bool
    active: bool
    buy_tariff_id: int | None
    default_tariff_id: int | None
    balance: Money
    created_at: datetime

    @classmethod
    def from_json(cls, data: Json) -> Callshop:
        currency = data["currency"]
        return cls(id=data["id"], name=data["name"], currency=currency,
                   locale=data["locale"], timezone=data["timezone"],
                   training=data["training"], active=data["active"],
                   buy_tariff_id=data["buy_tariff_id"],
                   default_tariff_id=data["default_tariff_id"],
                   balance=parse_money(data["balance"], currency),
                   created_at=parse_time(data["created_at"]))


@dataclass(frozen=True, slots=True)
class NewCallshop:
    callshop: Callshop
    admin: User

    @classmethod
    def from_json(cls, data: Json) -> NewCallshop:
        return cls(callshop=Callshop.from_json(data["callshop"]),
                   admin=User.from_json(data["admin"]))


# --- payments and history ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Named:
    id: int
    name: str

    @classmethod
    def from_json(cls, data: Json) -> Named:
        return cls(id=data["id"], name=data["name"])


@dataclass(frozen=True, slots=True)
class OperatorRef:
    id: int
    username: str
    display_name: str

    @classmethod
    def from_json(cls, data: Json) -> OperatorRef:
        return cls(id=data["id"], username=data["username"],
                   display_name=data["display_name"])


def _operator(data: Json | None) -> OperatorRef | None:
    return None if data is None else OperatorRef.from_json(data)


@dataclass(frozen=True, slots=True)
class InvoiceRef:
    id: int
    number: str

    @classmethod
    def from_json(cls, data: Json | None) -> InvoiceRef | None:
        return None if data is None else cls(id=data["id"], number=data["number"])


@dataclass(frozen=True, slots=True)
class PaymentResult:
    """What Pay answered: the change to hand back. `replayed` is true when this answers
    a retry with the same idempotency key (nothing new was written)."""

    transaction_id: int
    session_id: int
    cabin_id: int
    amount_due: Money
    received: Money
    change: Money
    created_at: datetime
    operator_id: int
    shift_id: int | None
    training: bool
    invoice: InvoiceRef | None
    replayed: bool

    @classmethod
    def from_json(cls, data: Json) -> PaymentResult:
        currency = data["currency"]
        return cls(transaction_id=data["transaction_id"], session_id=data["session_id"],
                   cabin_id=data["cabin_id"],
                   amount_due=parse_money(data["amount_due"], currency),
                   received=parse_money(data["received"], currency),
                   change=parse_money(data["change"], currency),
                   created_at=parse_time(data["created_at"]),
                   operator_id=data["operator_id"], shift_id=data["shift_id"],
                   training=data["training"], invoice=InvoiceRef.from_json(data["invoice"]),
                   replayed=data["replayed"])


@dataclass(frozen=True, slots=True)
class CallLine:
    """A finished or live call as the till's history shows it (a price, no cost)."""

    id: int
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    dialed_number: str
    number: str
    destination: str
    state: CallState
    duration_seconds: int | None
    billed_seconds: int
    price_per_minute: Money
    price: Money
    hangup_reason: str
    training: bool

    @classmethod
    def fields_from_json(cls, data: Json, currency: str) -> dict[str, Any]:
        return {"id": data["id"], "started_at": parse_time(data["started_at"]),
                "answered_at": parse_optional_time(data["answered_at"]),
                "ended_at": parse_optional_time(data["ended_at"]),
                "dialed_number": data["dialed_number"], "number": data["number"],
                "destination": data["destination"], "state": CallState(data["state"]),
                "duration_seconds": data["duration_seconds"],
                "billed_seconds": data["billed_seconds"],
                "price_per_minute": parse_money(data["price_per_minute"], currency),
                "price": parse_money(data["price"], currency),
                "hangup_reason": data["hangup_reason"], "training": data["training"]}

    @classmethod
    def from_json(cls, data: Json, currency: str) -> CallLine:
        return cls(**cls.fields_from_json(data, currency))


@dataclass(frozen=True, slots=True)
class CallRecord(CallLine):
    """A call (CDR) as the admin and the reseller see it: with its cost to the shop.
    `cabin_name` and `transaction_id` come with the call history list."""

    cabin_id: int
    session_id: int | None
    cost: Money
    cabin_name: str | None
    transaction_id: int | None

    @classmethod
    def from_json(cls, data: Json, currency: str) -> CallRecord:
        return cls(**CallLine.fields_from_json(data, currency), cabin_id=data["cabin_id"],
                   session_id=data["session_id"], cost=parse_money(data["cost"], currency),
                   cabin_name=data.get("cabin_name"),
                   transaction_id=data.get("transaction_id"))


@dataclass(frozen=True, slots=True)
class CallsSummary:
    count: int
    answered: int
    billed_seconds: int
    destinations: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Json) -> CallsSummary:
        return cls(count=data["count"], answered=data["answered"],
                   billed_seconds=data["billed_seconds"],
                   destinations=tuple(data["destinations"]))


@dataclass(frozen=True, slots=True)
class Transaction:
    """A payment taken at the till, with a summary of its calls."""

    id: int
    callshop_id: int
    session_id: int
    created_at: datetime
    cabin: Named
    operator: OperatorRef
    shift_id: int | None
    amount_due: Money
    received: Money
    change: Money
    training: bool
    invoice: InvoiceRef | None
    calls: CallsSummary

    @staticmethod
    def common_from_json(data: Json) -> dict[str, Any]:
        currency = data["currency"]
        return {"id": data["id"], "callshop_id": data["callshop_id"],
                "session_id": data["session_id"], "created_at": parse_time(data["created_at"]),
                "cabin": Named.from_json(data["cabin"]),
                "operator": OperatorRef.from_json(data["operator"]),
                "shift_id": data["shift_id"],
                "amount_due": parse_money(data["amount_due"], currency),
                "received": parse_money(data["received"], currency),
                "change": parse_money(data["change"], currency),
                "training": data["training"], "invoice": InvoiceRef.from_json(data["invoice"])}

    @classmethod
    def from_json(cls, data: Json) -> Transaction:
        return cls(**cls.common_from_json(data), calls=CallsSummary.from_json(data["calls"]))


@dataclass(frozen=True, slots=True)
class TransactionDetail:
    """One payment with all its calls."""

    id: int
    callshop_id: int
    session_id: int
    created_at: datetime
    cabin: Named
    operator: OperatorRef
    shift_id: int | None
    amount_due: Money
    received: Money
    change: Money
    training: bool
    invoice: InvoiceRef | None
    calls: tuple[CallRecord, ...]

    @classmethod
    def from_json(cls, data: Json) -> TransactionDetail:
        currency = data["currency"]
        return cls(**Transaction.common_from_json(data),
                   calls=tuple(CallRecord.from_json(c, currency) for c in data["calls"]))


@dataclass(frozen=True, slots=True)
class PastSession:
    """A cabin's paid session, for the cashier when a customer comes back."""

    id: int
    opened_at: datetime
    closed_at: datetime
    training: bool
    transaction_id: int
    operator: OperatorRef
    amount_due: Money
    received: Money
    change: Money
    invoice: InvoiceRef | None
    calls: tuple[CallLine, ...]

    @classmethod
    def from_json(cls, data: Json, currency: str) -> PastSession:
        return cls(id=data["id"], opened_at=parse_time(data["opened_at"]),
                   closed_at=parse_time(data["closed_at"]), training=data["training"],
                   transaction_id=data["transaction_id"],
                   operator=OperatorRef.from_json(data["operator"]),
                   amount_due=parse_money(data["amount_due"], currency),
                   received=parse_money(data["received"], currency),
                   change=parse_money(data["change"], currency),
                   invoice=InvoiceRef.from_json(data["invoice"]),
                   calls=tuple(CallLine.from_json(c, currency) for c in data["calls"]))


# --- prepaid money ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Topup:
    id: int
    callshop_id: int
    amount: Money
    kind: str
    description: str
    recorded_by: OperatorRef | None
    balance_after: Money
    created_at: datetime

    @staticmethod
    def common_from_json(data: Json) -> dict[str, Any]:
        currency = data["currency"]
        return {"id": data["id"], "callshop_id": data["callshop_id"],
                "amount": parse_money(data["amount"], currency), "kind": data["kind"],
                "description": data["description"],
                "recorded_by": _operator(data["recorded_by"]),
                "balance_after": parse_money(data["balance_after"], currency),
                "created_at": parse_time(data["created_at"])}

    @classmethod
    def from_json(cls, data: Json) -> Topup:
        return cls(**cls.common_from_json(data))


@dataclass(frozen=True, slots=True)
class TopupRecorded(Topup):
    """A recorded top-up, the shop's balance now, and whether this answers a retry."""

    balance: Money
    replayed: bool

    @classmethod
    def from_json(cls, data: Json) -> TopupRecorded:
        return cls(**Topup.common_from_json(data),
                   balance=parse_money(data["balance"], data["currency"]),
                   replayed=data["replayed"])


@dataclass(frozen=True, slots=True)
class BalanceLevel:
    """One prepaid level's stored balance (credit the live calls reserved is not
    deducted; the live snapshot's `available` is)."""

    prepaid: bool
    balance: Money

    @classmethod
    def from_json(cls, data: Json | None) -> BalanceLevel | None:
        if data is None:
            return None
        return cls(prepaid=data["prepaid"], balance=parse_money(data["balance"],
                                                                 data["currency"]))


@dataclass(frozen=True, slots=True)
class Balance:
    """The shop's balance, and its reseller's when that level is prepaid too (or for a
    reseller reading its own account)."""

    callshop_id: int | None
    callshop_name: str | None
    callshop: BalanceLevel | None
    reseller: BalanceLevel | None

    @classmethod
    def from_json(cls, data: Json) -> Balance:
        shop = data["callshop"]
        return cls(callshop_id=shop["id"] if shop else None,
                   callshop_name=shop["name"] if shop else None,
                   callshop=BalanceLevel.from_json(shop),
                   reseller=BalanceLevel.from_json(data["reseller"]))


@dataclass(frozen=True, slots=True)
class Period:
    """The period a report covers, `[since, until)`; an open end is None."""

    name: str
    timezone: str
    since: datetime | None
    until: datetime | None

    @classmethod
    def from_json(cls, data: Json) -> Period:
        return cls(name=data["name"], timezone=data["timezone"],
                   since=parse_optional_time(data["since"]),
                   until=parse_optional_time(data["until"]))


@dataclass(frozen=True, slots=True)
class Movement:
    """A payment taken or a top-up recorded, in the money history."""

    type: str            # "payment" or "topup"
    id: int
    created_at: datetime
    amount: Money
    training: bool
    cabin: Named | None
    operator: OperatorRef | None
    received: Money | None
    change: Money | None
    invoice_number: str | None
    topup_kind: str | None
    description: str

    @classmethod
    def from_json(cls, data: Json, currency: str) -> Movement:
        return cls(type=data["type"], id=data["id"], created_at=parse_time(data["created_at"]),
                   amount=parse_money(data["amount"], currency), training=data["training"],
                   cabin=Named.from_json(data["cabin"]) if data["cabin"] else None,
                   operator=_operator(data["operator"]),
                   received=parse_optional_money(data["received"], currency),
                   change=parse_optional_money(data["change"], currency),
                   invoice_number=data["invoice_number"], topup_kind=data["topup_kind"],
                   description=data["description"])


@dataclass(frozen=True, slots=True)
class MoneyHistory:
    page: Page[Movement]
    period: Period
    payments_total: Money
    topups_total: Money

    @classmethod
    def from_json(cls, data: Json, currency: str) -> MoneyHistory:
        return cls(page=page_of(data, lambda row: Movement.from_json(row, currency)),
                   period=Period.from_json(data["period"]),
                   payments_total=parse_money(data["totals"]["payments"], currency),
                   topups_total=parse_money(data["totals"]["topups"], currency))


# --- reports ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class OnShift:
    shift_id: int
    operator: OperatorRef
    opened_at: datetime
    payments: int
    sales: Money


@dataclass(frozen=True, slots=True)
class Today:
    since: datetime
    until: datetime
    payments: int
    sales: Money
    calls: int
    answered_calls: int
    billed_seconds: int


@dataclass(frozen=True, slots=True)
class TopPayment:
    transaction_id: int
    created_at: datetime
    cabin: Named
    operator: OperatorRef
    amount_due: Money
    invoice_number: str | None


@dataclass(frozen=True, slots=True)
class OperatorSales:
    operator: OperatorRef
    payments: int
    sales: Money


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Operators on shift, today's figures, and the sales of the period asked for."""

    period: Period
    currency: str
    operators_on_shift: tuple[OnShift, ...]
    today: Today
    payments: int
    sales: Money
    top_payments: tuple[TopPayment, ...]
    sales_by_operator: tuple[OperatorSales, ...]

    @classmethod
    def from_json(cls, data: Json) -> Dashboard:
        cur = data["currency"]
        today = data["today"]
        return cls(
            period=Period.from_json(data["period"]), currency=cur,
            operators_on_shift=tuple(
                OnShift(shift_id=row["shift_id"], operator=OperatorRef.from_json(row["operator"]),
                        opened_at=parse_time(row["opened_at"]), payments=row["payments"],
                        sales=parse_money(row["sales"], cur))
                for row in data["operators_on_shift"]),
            today=Today(since=parse_time(today["since"]), until=parse_time(today["until"]),
                        payments=today["payments"], sales=parse_money(today["sales"], cur),
                        calls=today["calls"], answered_calls=today["answered_calls"],
                        billed_seconds=today["billed_seconds"]),
            payments=data["sales"]["payments"],
            sales=parse_money(data["sales"]["amount"], cur),
            top_payments=tuple(
                TopPayment(transaction_id=row["transaction_id"],
                           created_at=parse_time(row["created_at"]),
                           cabin=Named.from_json(row["cabin"]),
                           operator=OperatorRef.from_json(row["operator"]),
                           amount_due=parse_money(row["amount_due"], cur),
                           invoice_number=row["invoice_number"])
                for row in data["top_payments"]),
            sales_by_operator=tuple(
                OperatorSales(operator=OperatorRef.from_json(row["operator"]),
                              payments=row["payments"], sales=parse_money(row["sales"], cur))
                for row in data["sales_by_operator"]))


@dataclass(frozen=True, slots=True)
class ProfitRow:
    """Revenue, cost and profit of one group (a day, cabin, destination, operator) or
    of the whole period (`key` "total")."""

    key: str
    label: str
    revenue: Money
    cost: Money
    profit: Money
    calls: int
    billed_seconds: int
    minutes: Decimal

    @classmethod
    def from_json(cls, data: Json, currency: str, *, key: str = "total",
                  label: str = "total") -> ProfitRow:
        return cls(key=data.get("key", key), label=data.get("label", label),
                   revenue=parse_money(data["revenue"], currency),
                   cost=parse_money(data["cost"], currency),
                   profit=parse_money(data["profit"], currency), calls=data["calls"],
                   billed_seconds=data["billed_seconds"], minutes=Decimal(data["minutes"]))


@dataclass(frozen=True, slots=True)
class ProfitReport:
    period: Period
    group_by: str
    currency: str
    rows: tuple[ProfitRow, ...]
    totals: ProfitRow

    @classmethod
    def from_json(cls, data: Json) -> ProfitReport:
        currency = data["currency"]
        return cls(period=Period.from_json(data["period"]), group_by=data["group_by"],
                   currency=currency,
                   rows=tuple(ProfitRow.from_json(row, currency) for row in data["rows"]),
                   totals=ProfitRow.from_json(data["totals"], currency))
