"""What the shop's invoices say about the shop: company, tax id, VAT, logo, footer and
how invoice numbers look."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cashdesk.auth.roles import Permission
from cashdesk.server.errors import Conflict, Invalid
from cashdesk.server.routes import Ctx, RouteTable
from cashdesk.server.schema import Base64, Bool, Int, MoneyText, Obj, Str
from cashdesk.store.models import Invoice, InvoiceSettings

routes = RouteTable("invoice settings")

MAX_LOGO_BYTES = 512 * 1024
# reportlab draws these; anything else would fail only when the first invoice prints.
_IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}

FIELDS = Obj({
    "company_name": Str(max_len=200),
    "address": Str(max_len=2000),
    "tax_id": Str(max_len=60),
    "vat_rate": MoneyText("VAT in percent, e.g. \"20\" or \"5.5\"", maximum=Decimal(100)),
    "prices_include_vat": Bool(),
    "logo": Base64("a PNG or JPEG image; null for none", max_bytes=MAX_LOGO_BYTES,
                   nullable=True),
    "footer": Str(max_len=2000),
    "number_prefix": Str("printed before the number, e.g. INV-", max_len=20),
    "number_with_year": Bool("print the year in the number: INV-2026-000042"),
    "number_padding": Int("zero-padded to this many digits", minimum=0, maximum=12),
    "next_number": Int("the next invoice's number; can only change before the first "
                       "invoice", minimum=1, maximum=10**12),
    "language": Str("the invoice's language, e.g. en, fr, ar", min_len=2, max_len=20),
})


def settings_json(row: InvoiceSettings) -> dict[str, Any]:
    return {
        "company_name": row.company_name,
        "address": row.address,
        "tax_id": row.tax_id,
        "vat_rate": f"{row.vat_rate.normalize():f}",
        "prices_include_vat": row.prices_include_vat,
        "logo": base64.b64encode(row.logo).decode("ascii") if row.logo else None,
        "footer": row.footer,
        "number_prefix": row.number_prefix,
        "number_with_year": row.number_with_year,
        "number_padding": row.number_padding,
        "next_number": row.next_number,
        "language": row.language,
    }


def _settings(session: Session, shop_id: int) -> InvoiceSettings:
    row = session.get(InvoiceSettings, shop_id)
    if row is None:  # every shop gets a row at creation; an older one may lack it
        row = InvoiceSettings(callshop_id=shop_id)
        session.add(row)
        session.flush()
    return row


@routes.get("/invoice-settings", Permission.MANAGE_INVOICE_SETTINGS,
            "The shop's invoice settings", response=FIELDS)
async def get_invoice_settings(ctx: Ctx) -> dict[str, Any]:
    def work(session: Session, shop_id: int) -> dict[str, Any]:
        return settings_json(_settings(session, shop_id))

    return await ctx.db(work, ctx.shop_id)


@routes.put("/invoice-settings", Permission.MANAGE_INVOICE_SETTINGS,
            "Change the shop's invoice settings", request=FIELDS.partial(), response=FIELDS)
async def put_invoice_settings(ctx: Ctx) -> dict[str, Any]:
    """Fields left out keep their value; `logo: null` removes the logo. Invoices
    already issued keep the settings they were printed with."""
    logo = ctx.body.get("logo")
    if logo is not None and not any(logo.startswith(magic) for magic in _IMAGE_MAGIC):
        raise Invalid("logo: must be a PNG or JPEG image", field="logo")

    def work(session: Session, shop_id: int, body: dict[str, Any]) -> dict[str, Any]:
        row = _settings(session, shop_id)
        if "next_number" in body and body["next_number"] != row.next_number:
            issued = session.scalar(select(func.count()).select_from(Invoice)
                                    .where(Invoice.callshop_id == shop_id))
            if issued:
                raise Conflict(f"{issued} invoices are issued; their numbers must stay "
                               "without gaps, so the next number cannot change",
                               field="next_number")
        for name, value in body.items():
            setattr(row, name, value)
        session.flush()
        return settings_json(row)

    return await ctx.db(work, ctx.shop_id, ctx.body)
