"""The domain's tables: SQLAlchemy 2 typed models, identical on SQLite and PostgreSQL.

Every row belongs to a callshop (`callshop_id`), except the reseller's own rows
(resellers, their accounts, their buy tariffs, their users), which belong to the
reseller. Money columns are `Amount` (integer 1/10000 units), times are `UTCDateTime`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cashdesk.auth.roles import Role
from cashdesk.call_state import CallState
from cashdesk.ledger.kinds import AccountOwner, EntryKind, TopupKind
from cashdesk.store.types import Amount, UTCDateTime

# Stable constraint names, so Alembic's batch mode on SQLite can find them again.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(cls: type, name: str) -> Enum:
    # Store the values ("operator"), not the Python names ("OPERATOR"); no native
    # PostgreSQL enum type, so adding a value is a plain migration on both databases.
    return Enum(cls, name=name, native_enum=False, length=20,
                values_callable=lambda members: [m.value for m in members],
                validate_strings=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Account(Base):
    """A prepaid (or postpaid) account: a callshop's with its reseller, a reseller's with
    its provider. `parent_id` is the level above, which must also be able to pay."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("NOT prepaid OR balance >= 0", name="prepaid_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[AccountOwner] = mapped_column(_enum(AccountOwner, "account_owner"))
    currency: Mapped[str] = mapped_column(String(3))
    prepaid: Mapped[bool] = mapped_column(Boolean, default=True)
    balance: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    # Optimistic lock: two writers moving the same balance must not both win.
    version: Mapped[int] = mapped_column(Integer, default=0)

    __mapper_args__ = {"version_id_col": version}


class Reseller(Base):
    __tablename__ = "resellers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)
    # What the reseller pays its provider: a tariff the reseller keeps itself.
    provider_tariff_id: Mapped[int | None] = mapped_column(
        ForeignKey("tariffs.id", use_alter=True, name="fk_resellers_provider_tariff"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship(foreign_keys=[account_id])


class Callshop(Base):
    __tablename__ = "callshops"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(20), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Numbering plan (see cashdesk.rating.numbers): comma-separated lists.
    international_prefixes: Mapped[str] = mapped_column(String(60), default="00,011")
    tech_prefixes: Mapped[str] = mapped_column(String(200), default="")
    national_prefix: Mapped[str] = mapped_column(String(4), default="")
    country_code: Mapped[str] = mapped_column(String(4), default="")
    # The reseller's price to this shop (the cost) and the shop's default sell tariff.
    buy_tariff_id: Mapped[int | None] = mapped_column(
        ForeignKey("tariffs.id", use_alter=True, name="fk_callshops_buy_tariff"))
    default_tariff_id: Mapped[int | None] = mapped_column(
        ForeignKey("tariffs.id", use_alter=True, name="fk_callshops_default_tariff"))
    # Fraud guard: refused before a call is routed, each with its own reason.
    blocked_prefixes: Mapped[str] = mapped_column(Text, default="")
    max_call_seconds: Mapped[int | None] = mapped_column(Integer)
    max_session_amount: Mapped[Decimal | None] = mapped_column(Amount)
    training: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship(foreign_keys=[account_id])
    reseller: Mapped[Reseller] = relationship()


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # A reseller's users belong to no shop; everyone else belongs to exactly one.
        CheckConstraint("(role = 'reseller') = (callshop_id IS NULL)", name="role_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id"), index=True)
    callshop_id: Mapped[int | None] = mapped_column(ForeignKey("callshops.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Tariff(Base):
    """A named price list. Sell tariffs belong to a callshop; buy tariffs to a reseller."""

    __tablename__ = "tariffs"
    __table_args__ = (
        UniqueConstraint("reseller_id", "callshop_id", "name", name="uq_tariffs_owner_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id"), index=True)
    callshop_id: Mapped[int | None] = mapped_column(ForeignKey("callshops.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3))
    # Bumped on every change, so the in-memory prefix index knows when to rebuild.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Rate(Base):
    """One prefix's price. Belongs to a tariff, or directly to a cabin (overriding)."""

    __tablename__ = "rates"
    __table_args__ = (
        CheckConstraint("(tariff_id IS NULL) <> (cabin_id IS NULL)", name="one_owner"),
        CheckConstraint("price_per_minute >= 0 AND connection_fee >= 0", name="not_negative"),
        CheckConstraint("initial_increment >= 1 AND subsequent_increment >= 1",
                        name="increments_positive"),
        CheckConstraint("grace_seconds >= 0", name="grace_not_negative"),
        UniqueConstraint("tariff_id", "prefix", name="uq_rates_tariff_prefix"),
        UniqueConstraint("cabin_id", "prefix", name="uq_rates_cabin_prefix"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id", ondelete="CASCADE"))
    cabin_id: Mapped[int | None] = mapped_column(ForeignKey("cabins.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(20))
    destination: Mapped[str] = mapped_column(String(120), default="")
    price_per_minute: Mapped[Decimal] = mapped_column(Amount)
    connection_fee: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    initial_increment: Mapped[int] = mapped_column(Integer, default=60)
    subsequent_increment: Mapped[int] = mapped_column(Integer, default=60)
    grace_seconds: Mapped[int] = mapped_column(Integer, default=0)


class Cabin(Base):
    __tablename__ = "cabins"
    __table_args__ = (
        UniqueConstraint("callshop_id", "name", name="uq_cabins_callshop_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    callshop_id: Mapped[int] = mapped_column(ForeignKey("callshops.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    site: Mapped[str] = mapped_column(String(120), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    # SIP account of the cabin's phone. The password itself is shown once and never
    # stored: the PBX needs only HA1 = md5(user:realm:password).
    sip_username: Mapped[str] = mapped_column(String(64), unique=True)
    sip_realm: Mapped[str] = mapped_column(String(120), default="")
    sip_ha1: Mapped[str] = mapped_column(String(64), default="")
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id"))
    # Bumped whenever the cabin's own rates change, like Tariff.revision.
    rates_revision: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    max_call_seconds: Mapped[int | None] = mapped_column(Integer)
    max_session_amount: Mapped[Decimal | None] = mapped_column(Amount)
    # A customer may leave a deposit; the session is then capped by it.
    deposit: Mapped[Decimal | None] = mapped_column(Amount)


class Shift(Base):
    __tablename__ = "shifts"
    __table_args__ = (
        # One open shift per operator.
        Index("uq_shifts_open", "operator_id", unique=True,
              sqlite_where=text("closed_at IS NULL"),
              postgresql_where=text("closed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    callshop_id: Mapped[int] = mapped_column(ForeignKey("callshops.id"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CabinSession(Base):
    """One customer's unpaid calls in one cabin; Pay turns it into a Transaction."""

    __tablename__ = "cabin_sessions"
    __table_args__ = (
        # At most one open session per cabin, enforced by the database itself.
        Index("uq_cabin_sessions_open", "cabin_id", unique=True,
              sqlite_where=text("closed_at IS NULL"),
              postgresql_where=text("closed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    callshop_id: Mapped[int] = mapped_column(ForeignKey("callshops.id"), index=True)
    cabin_id: Mapped[int] = mapped_column(ForeignKey("cabins.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    training: Mapped[bool] = mapped_column(Boolean, default=False)


class Call(Base):
    """A CDR: one call from a cabin, with the rates it was priced at, frozen."""

    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("callshop_id", "pbx_call_id", name="uq_calls_pbx_call"),
        CheckConstraint("price >= 0 AND cost >= 0 AND provider_cost >= 0",
                        name="amounts_not_negative"),
        Index("ix_calls_callshop_started", "callshop_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    callshop_id: Mapped[int] = mapped_column(ForeignKey("callshops.id"))
    cabin_id: Mapped[int] = mapped_column(ForeignKey("cabins.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("cabin_sessions.id"), index=True)
    pbx_call_id: Mapped[str] = mapped_column(String(255))
    dialed_number: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(32), index=True)  # normalised
    destination: Mapped[str] = mapped_column(String(120), default="")
    state: Mapped[CallState] = mapped_column(_enum(CallState, "call_state"))
    # The sell rate, frozen at authorisation: a later price change never rewrites a call.
    sell_prefix: Mapped[str] = mapped_column(String(20), default="")
    price_per_minute: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    connection_fee: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    initial_increment: Mapped[int] = mapped_column(Integer, default=60)
    subsequent_increment: Mapped[int] = mapped_column(Integer, default=60)
    grace_seconds: Mapped[int] = mapped_column(Integer, default=0)
    # The buy rate, frozen the same way.
    buy_prefix: Mapped[str] = mapped_column(String(20), default="")
    buy_price_per_minute: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    buy_connection_fee: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    buy_initial_increment: Mapped[int] = mapped_column(Integer, default=60)
    buy_subsequent_increment: Mapped[int] = mapped_column(Integer, default=60)
    buy_grace_seconds: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ringing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    billed_seconds: Mapped[int] = mapped_column(Integer, default=0)
    price: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))   # what the customer pays
    cost: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))    # what the shop pays
    # What the reseller pays its provider for this call (its own prepaid level).
    provider_cost: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    hangup_reason: Mapped[str] = mapped_column(String(120), default="")
    sip_code: Mapped[int | None] = mapped_column(Integer)
    training: Mapped[bool] = mapped_column(Boolean, default=False)


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("callshop_id", "sequence", name="uq_invoices_callshop_sequence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    callshop_id: Mapped[int] = mapped_column(ForeignKey("callshops.id"))
    sequence: Mapped[int] = mapped_column(Integer)       # gap-free per callshop
    number: Mapped[str] = mapped_column(String(60))      # as printed: prefix, year, padding
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    settings_snapshot: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Transaction(Base):
    """A paid cabin session: the cash the operator took."""

    __tablename__ = "transactions"
    __table_args__ = (
        UniqueConstraint("callshop_id", "idempotency_key", name="uq_transactions_idempotency"),
        CheckConstraint("received >= amount_due", name="received_covers_due"),
        CheckConstraint("change = received - amount_due", name="change_is_difference"),
        Index("ix_transactions_callshop_created", "callshop_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    callshop_id: Mapped[int] = mapped_column(ForeignKey("callshops.id"))
    cabin_id: Mapped[int] = mapped_column(ForeignKey("cabins.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("cabin_sessions.id"), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"))
    amount_due: Mapped[Decimal] = mapped_column(Amount)
    received: Mapped[Decimal] = mapped_column(Amount)
    change: Mapped[Decimal] = mapped_column(Amount)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    training: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Topup(Base):
    __tablename__ = "topups"
    __table_args__ = (
        UniqueConstraint("account_id", "idempotency_key", name="uq_topups_idempotency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    # Set for a shop's top-up, so the shop's history is one indexed query.
    callshop_id: Mapped[int | None] = mapped_column(ForeignKey("callshops.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Amount)
    kind: Mapped[TopupKind] = mapped_column(_enum(TopupKind, "topup_kind"))
    description: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccountEntry(Base):
    """Every movement of a prepaid balance, with the balance after it: the audit trail
    that lets the invariants prove the balance never went below zero."""

    __tablename__ = "account_entries"
    __table_args__ = (
        CheckConstraint("(topup_id IS NULL) <> (call_id IS NULL)", name="one_source"),
        UniqueConstraint("account_id", "call_id", name="uq_account_entries_call"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[EntryKind] = mapped_column(_enum(EntryKind, "entry_kind"))
    amount: Mapped[Decimal] = mapped_column(Amount)           # signed: + top-up, − call
    balance_after: Mapped[Decimal] = mapped_column(Amount)
    topup_id: Mapped[int | None] = mapped_column(ForeignKey("topups.id"))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InvoiceSettings(Base):
    __tablename__ = "invoice_settings"

    callshop_id: Mapped[int] = mapped_column(ForeignKey("callshops.id"), primary_key=True)
    company_name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    tax_id: Mapped[str] = mapped_column(String(60), default="")
    # VAT in percent with up to 4 decimals (20, 5.5, 7.25), stored exactly like money.
    vat_rate: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    prices_include_vat: Mapped[bool] = mapped_column(Boolean, default=True)
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    footer: Mapped[str] = mapped_column(Text, default="")
    number_prefix: Mapped[str] = mapped_column(String(20), default="INV-")
    number_with_year: Mapped[bool] = mapped_column(Boolean, default=True)
    number_padding: Mapped[int] = mapped_column(Integer, default=6)
    next_number: Mapped[int] = mapped_column(Integer, default=1)
    language: Mapped[str] = mapped_column(String(20), default="en")


class AuthToken(Base):
    """A login. Only the SHA-256 of the bearer token is stored; the token itself is
    shown to the client once. Kept in the database so a restart logs nobody out."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    callshop_id: Mapped[int | None] = mapped_column(ForeignKey("callshops.id"))
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
