"""Reading a paid transaction from the database into `InvoiceData`."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cashdesk.invoices.data import CallLine, InvoiceData, ShopDetails, invoice_locale
from cashdesk.invoices.errors import NoInvoiceSettings, TotalMismatch
from cashdesk.invoices.snapshot import SettingsSnapshot
from cashdesk.invoices.vat import vat_breakdown
from cashdesk.money import Money, money_sum
from cashdesk.store.models import (
    Cabin,
    Call,
    Callshop,
    Invoice,
    InvoiceSettings,
    Transaction,
    User,
)


def invoice_data_for(session: Session, transaction: Transaction, *,
                     number: str | None = None,
                     issued_at: datetime | None = None) -> InvoiceData:
    """Everything the invoice (or receipt) of `transaction` prints, read from the database.

    The transaction's invoice, once issued, gives the number, the date and the
    settings as they were then (its snapshot); before that, `number` ("" for a plain
    receipt) and `issued_at` (default: the payment's time) are used with the shop's
    current settings. Calls are the session's answered ones, oldest first: a call
    never answered costs nothing and is not listed.

    Raises `TotalMismatch` when the calls, with VAT as the settings say, do not add
    up to the amount the payment took as due.
    """
    shop = session.get_one(Callshop, transaction.callshop_id)
    current = session.get(InvoiceSettings, shop.id)
    if current is None:
        raise NoInvoiceSettings(f"shop {shop.name!r} has no invoice settings")
    settings = SettingsSnapshot.of(current, shop)
    if transaction.invoice_id is not None:
        invoice = session.get_one(Invoice, transaction.invoice_id)
        number = invoice.number if number is None else number
        issued_at = invoice.created_at if issued_at is None else issued_at
        if invoice.settings_snapshot and invoice.settings_snapshot != "{}":
            settings = SettingsSnapshot.from_json(invoice.settings_snapshot)
    zone = ZoneInfo(settings.timezone or "UTC")
    currency = shop.currency

    calls = session.scalars(select(Call)
                            .where(Call.session_id == transaction.session_id,
                                   Call.answered_at.is_not(None))
                            .order_by(Call.started_at, Call.id)).all()
    lines = tuple(CallLine(started_at=call.started_at.astimezone(zone),
                           number=call.dialed_number, destination=call.destination,
                           duration_seconds=call.billed_seconds,
                           rate_per_minute=Money(call.price_per_minute, currency),
                           price=Money(call.price, currency))
                  for call in calls)
    totals = vat_breakdown(money_sum([line.price for line in lines], currency),
                           settings.vat_rate, prices_include_vat=settings.prices_include_vat)
    due = Money(transaction.amount_due, currency)
    if totals.gross != due:
        how = "with" if settings.prices_include_vat else "plus"
        raise TotalMismatch(
            f"the calls {how} VAT come to {totals.gross.format(shop.locale)} but the payment "
            f"took {due.format(shop.locale)} as due; an invoice cannot differ from the cash "
            f"taken")

    cabin = session.get_one(Cabin, transaction.cabin_id)
    operator = session.get_one(User, transaction.operator_id)
    # An issued invoice keeps the logo it had: today's only if it is the same picture.
    logo = current.logo if SettingsSnapshot.of(current, shop).logo_sha256 == \
        settings.logo_sha256 else None
    return InvoiceData(
        shop=ShopDetails(name=settings.company_name, address=settings.address,
                         tax_id=settings.tax_id, logo=logo),
        number=number or "",
        issued_at=(issued_at or transaction.created_at).astimezone(zone),
        operator=operator.display_name or operator.username,
        cabin=cabin.name,
        calls=lines,
        totals=totals,
        received=Money(transaction.received, currency),
        change=Money(transaction.change, currency),
        footer=settings.footer,
        language=settings.language,
        locale=invoice_locale(settings.language, settings.locale),
        training=transaction.training,
    )
