"""The invoice settings as they were when an invoice was issued.

An issued invoice must not change when the owner later edits the company name, VAT
rate or footer: `Invoice.settings_snapshot` keeps them as JSON, and anything rebuilt
from an issued invoice (a receipt reprint) reads the snapshot, not today's settings.
The logo is kept as its SHA-256 only (the PDF, stored beside it, has the picture).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from cashdesk.store.models import Callshop, InvoiceSettings

SNAPSHOT_VERSION = 1


@dataclass(frozen=True, slots=True)
class SettingsSnapshot:
    company_name: str
    address: str
    tax_id: str
    vat_rate: Decimal
    prices_include_vat: bool
    footer: str
    number_prefix: str
    number_with_year: bool
    number_padding: int
    language: str
    currency: str
    locale: str
    timezone: str
    logo_sha256: str | None

    @classmethod
    def of(cls, settings: InvoiceSettings, shop: Callshop) -> SettingsSnapshot:
        return cls(
            company_name=settings.company_name or shop.name,
            address=settings.address or "",
            tax_id=settings.tax_id or "",
            vat_rate=Decimal(settings.vat_rate or 0),
            prices_include_vat=bool(settings.prices_include_vat),
            footer=settings.footer or "",
            number_prefix=settings.number_prefix,
            number_with_year=bool(settings.number_with_year),
            number_padding=settings.number_padding,
            language=settings.language or shop.locale.split("_")[0],
            currency=shop.currency,
            locale=shop.locale,
            timezone=shop.timezone,
            logo_sha256=hashlib.sha256(settings.logo).hexdigest() if settings.logo else None,
        )

    def to_json(self) -> str:
        fields: dict[str, Any] = asdict(self)
        fields["vat_rate"] = f"{self.vat_rate:f}"  # exact, never a JSON float
        return json.dumps({"version": SNAPSHOT_VERSION, **fields}, ensure_ascii=False,
                          sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SettingsSnapshot:
        fields = json.loads(text)
        fields.pop("version", None)
        fields["vat_rate"] = Decimal(fields["vat_rate"])
        return cls(**fields)
