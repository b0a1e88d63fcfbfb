"""Money, dates, durations and rates written for the invoice's locale (Babel)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from babel.dates import format_date, format_time
from babel.numbers import format_percent

from cashdesk.money import Money


class Formatter:
    """Formats the invoice's figures for one locale (`fr_FR`, `ar_MA`, `en`…).

    Digits are always the Latin ones (Babel's default numbering system), which every
    thermal printer and both bundled fonts can print.
    """

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def money(self, amount: Money) -> str:
        return amount.format(self.locale)

    def date(self, moment: datetime) -> str:
        return format_date(moment, "medium", locale=self.locale)

    def short_date(self, moment: datetime) -> str:
        return format_date(moment, "short", locale=self.locale)

    def time(self, moment: datetime) -> str:
        # `moment` is already in the shop's zone; Babel keeps it there when tzinfo is None.
        return format_time(moment, "short", locale=self.locale)

    def date_time(self, moment: datetime) -> str:
        return f"{self.date(moment)} {self.time(moment)}"

    def percent(self, rate: Decimal) -> str:
        """`rate` in percent (20, 5.5) as the locale writes it: 20 %, 5,5 %, 20%."""
        return format_percent(rate / 100, locale=self.locale, decimal_quantization=False)

    @staticmethod
    def duration(seconds: int) -> str:
        """m:ss, or h:mm:ss from an hour: the same in every language."""
        hours, rest = divmod(max(0, seconds), 3600)
        minutes, secs = divmod(rest, 60)
        if hours:
            return f"{hours}:{minutes:02d}:{secs:02d}"
        return f"{minutes}:{secs:02d}"
