"""What an invoice or a receipt says, as plain values.

`InvoiceData` is everything printed on the page, already in the shop's time zone and
currency, with no database behind it: the PDF renderer and the ESC/POS receipt both
read it, and it travels to the desktop as JSON (`to_wire` / `from_wire`) when the
receipt printer hangs off the cashier's PC.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError

from cashdesk.invoices.vat import VatBreakdown
from cashdesk.money import Money


@dataclass(frozen=True, slots=True)
class ShopDetails:
    name: str
    address: str = ""          # several lines, separated by "\n"
    tax_id: str = ""
    logo: bytes | None = None  # PNG or JPEG


@dataclass(frozen=True, slots=True)
class CallLine:
    started_at: datetime       # aware, in the shop's time zone
    number: str                # as the customer dialed it
    destination: str
    duration_seconds: int      # the billed duration, which the price is computed from
    rate_per_minute: Money
    price: Money


@dataclass(frozen=True, slots=True)
class InvoiceData:
    shop: ShopDetails
    number: str                # "" for a receipt without an invoice
    issued_at: datetime        # aware, in the shop's time zone
    operator: str
    cabin: str
    calls: tuple[CallLine, ...]
    totals: VatBreakdown
    received: Money
    change: Money
    footer: str = ""
    language: str = "en"       # of the labels: en, fr, es, ar, ur
    locale: str = "en"         # for money and dates: the language, with the shop's territory
    training: bool = False     # a practice payment: printed as "not a valid invoice"

    @property
    def currency(self) -> str:
        return self.totals.gross.currency

    @property
    def right_to_left(self) -> bool:
        return is_right_to_left(self.language)

    # wire form --------------------------------------------------------------
    def to_wire(self) -> dict[str, Any]:
        """A JSON-safe dict: money as decimal strings, times as ISO 8601 with offset."""
        return {
            "shop": {"name": self.shop.name, "address": self.shop.address,
                     "tax_id": self.shop.tax_id,
                     "logo": base64.b64encode(self.shop.logo).decode() if self.shop.logo
                     else None},
            "number": self.number,
            "issued_at": self.issued_at.isoformat(),
            "timezone": _zone_name(self.issued_at),
            "operator": self.operator,
            "cabin": self.cabin,
            "currency": self.currency,
            "calls": [{"started_at": c.started_at.isoformat(), "number": c.number,
                       "destination": c.destination, "duration_seconds": c.duration_seconds,
                       "rate_per_minute": c.rate_per_minute.to_json(),
                       "price": c.price.to_json()} for c in self.calls],
            "totals": {"net": self.totals.net.to_json(), "vat": self.totals.vat.to_json(),
                       "gross": self.totals.gross.to_json(),
                       "rate": f"{self.totals.rate:f}",
                       "prices_include_vat": self.totals.prices_include_vat},
            "received": self.received.to_json(),
            "change": self.change.to_json(),
            "footer": self.footer,
            "language": self.language,
            "locale": self.locale,
            "training": self.training,
        }

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> InvoiceData:
        currency = wire["currency"]
        zone = ZoneInfo(wire["timezone"]) if wire.get("timezone") else None

        def when(text: str) -> datetime:
            moment = datetime.fromisoformat(text)
            return moment.astimezone(zone) if zone is not None else moment

        def money(text: str) -> Money:
            return Money.of(text, currency)

        shop = wire["shop"]
        totals = wire["totals"]
        return cls(
            shop=ShopDetails(name=shop["name"], address=shop["address"], tax_id=shop["tax_id"],
                             logo=base64.b64decode(shop["logo"]) if shop.get("logo") else None),
            number=wire["number"],
            issued_at=when(wire["issued_at"]),
            operator=wire["operator"],
            cabin=wire["cabin"],
            calls=tuple(CallLine(started_at=when(c["started_at"]), number=c["number"],
                                 destination=c["destination"],
                                 duration_seconds=int(c["duration_seconds"]),
                                 rate_per_minute=money(c["rate_per_minute"]),
                                 price=money(c["price"])) for c in wire["calls"]),
            totals=VatBreakdown(net=money(totals["net"]), vat=money(totals["vat"]),
                                gross=money(totals["gross"]), rate=Decimal(totals["rate"]),
                                prices_include_vat=bool(totals["prices_include_vat"])),
            received=money(wire["received"]),
            change=money(wire["change"]),
            footer=wire.get("footer", ""),
            language=wire.get("language", "en"),
            locale=wire.get("locale", "en"),
            training=bool(wire.get("training", False)),
        )


def _zone_name(moment: datetime) -> str | None:
    zone = moment.tzinfo
    return zone.key if isinstance(zone, ZoneInfo) else None


def is_right_to_left(language: str) -> bool:
    """Whether `language` (en, ar, ur_PK…) is written right to left, from CLDR."""
    try:
        return Locale.parse(language.replace("-", "_")).character_order == "right-to-left"
    except (UnknownLocaleError, ValueError):
        return False


def invoice_locale(language: str, shop_locale: str) -> str:
    """The locale that formats money and dates for an invoice in `language`.

    The shop's territory is kept when it makes a known locale with the language
    (a shop in `fr_MA` printing in `ar` formats as `ar_MA`: Moroccan digits and
    separators), otherwise the bare language.
    """
    language = (language or "en").replace("-", "_").split("_")[0]
    shop = Locale.parse(shop_locale.replace("-", "_")) if shop_locale else None
    if shop is not None and shop.territory:
        try:
            return str(Locale(language, shop.territory))
        except (UnknownLocaleError, ValueError):
            pass
    try:
        return str(Locale.parse(language))
    except (UnknownLocaleError, ValueError):
        return "en"
