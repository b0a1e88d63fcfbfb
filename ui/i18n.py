"""Languages of the cash desk: Qt Linguist translations, layout direction, and the
locale numbers, money and times are shown in.

Every visible string goes through `tr()` (Qt's own, on each widget); this module only
loads the compiled `.qm` for the chosen language, switches the whole application's
layout direction (Arabic is right-to-left) and keeps the `Formatter` the screens use.
Switching at run time sends Qt's `LanguageChange` event to every widget, which
re-labels itself in `retranslate()`; nothing restarts.

Numbers, money, dates and times are Babel's, for the language's locale, with Western
digits in every language (CLDR's default for `ar`, and what the till's keypad, the
phone numbers and Qt's `%n` show): one set of digits on one screen.

Right-to-left: a value (an amount, a phone number, a name) put into a sentence is
wrapped in a Unicode isolate (`fill()`, `isolate()`, `ltr()`), so the bidi algorithm
orders it as one block: "%1/min" stays "€0.12/min" and never becomes "min/€0.12".
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal, get_decimal_symbol
from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, Qt, QTranslator
from PySide6.QtWidgets import QApplication

from cashdesk.money import Money, MoneyError, minor_unit

log = logging.getLogger(__name__)

TRANSLATIONS = Path(__file__).resolve().parents[1] / "resources" / "translations"

#: Language code → its own name (shown in the language chooser, never translated).
LANGUAGES: dict[str, str] = {
    "en": "English",
    "fr": "Français",
    "es": "Español",
    "ar": "العربية",
}
#: The Babel locale used for money per language (the shop's currency, the cashier's
#: language).
BABEL_LOCALES = {"en": "en", "fr": "fr_FR", "es": "es_ES", "ar": "ar"}
RIGHT_TO_LEFT = frozenset({"ar"})
#: Unicode bidi isolates (UAX #9): LRI…PDI keeps numbers, phone numbers and durations
#: left-to-right inside Arabic text; FSI…PDI makes a value (an amount, a name) one block
#: with its own direction, so it never mixes with the sentence around it.
LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"
_PLACEHOLDER = re.compile(r"%([1-9])")


def ltr(text: str) -> str:
    """Digits and signs that read left to right in every language (a phone number,
    a duration, a time)."""
    return f"{LRI}{text}{PDI}"


def isolate(text: str) -> str:
    """A value with its own direction, set apart from the text around it."""
    return f"{FSI}{text}{PDI}"


def aligned(text: str, direction: Qt.LayoutDirection) -> str:
    """Data (a shop's name) shown alone in a wide label: a label aligns a text by its
    own script, so a Latin name sat at the left of an Arabic screen. A direction mark
    sets it where the layout starts; the name itself stays whole."""
    mark = "\u200f" if direction == Qt.LayoutDirection.RightToLeft else "\u200e"
    return mark + isolate(text)


def fill(template: str, *values: object) -> str:
    """Qt's `QString::arg()` for a translated sentence: `%1`, `%2`… replaced in one
    pass (a value that contains "%2" is left alone), each value isolated."""
    def value(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return isolate(str(values[index])) if index < len(values) else match.group(0)
    return _PLACEHOLDER.sub(value, template)

_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


@functools.lru_cache(maxsize=4096)
def _money_text(money: Money, locale: str) -> str:
    # Babel takes ~40 µs per figure, and the running costs and totals of 64 tiles are
    # new amounts every few seconds: Babel formats one amount per shape (its number of
    # integer and fraction digits, its sign), whose digits are then put in its place.
    # The same text as `Money.format` (a test compares them), in a few µs.
    amount = money.amount
    if not amount:
        return money.format(locale)
    digits = max(_precision(money.currency), _places(amount))
    text = f"{abs(amount).quantize(_STEPS[digits]):f}"
    whole, _, fraction = text.partition(".")
    pieces = _money_shape(locale, money.currency, len(whole), digits, amount < 0)
    if pieces is None:
        return money.format(locale)
    figures = whole + fraction
    return "".join(piece + figure for piece, figure in zip(pieces, figures)) + pieces[-1]


_STEPS = [Decimal(1).scaleb(-places) for places in range(5)]


@functools.lru_cache(maxsize=64)
def _precision(currency: str) -> int:
    return -int(minor_unit(currency).as_tuple().exponent)


def _places(amount: Decimal) -> int:
    """Decimal places that are not trailing zeros (as `Money.format` counts them)."""
    exponent = amount.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


@functools.lru_cache(maxsize=512)
def _money_shape(locale: str, currency: str, whole: int, fraction: int,
                 negative: bool) -> tuple[str, ...] | None:
    """`Money.format` of an amount of this shape written with ones, split around its
    ones; None when its text has other ones (then Babel formats every amount)."""
    sample = "1" * whole + ("." + "1" * fraction if fraction else "")
    text = Money.of(("-" if negative else "") + sample, currency).format(locale)
    pieces = tuple(text.split("1"))
    return pieces if len(pieces) == whole + fraction + 1 else None


@functools.lru_cache(maxsize=1024)
def _rate_text(template: str, per_minute: Money, locale: str) -> str:
    return isolate(fill(template, _money_text(per_minute, locale)))


@dataclass(frozen=True)
class Formatter:
    """Numbers, money, durations and times for one language and shop time zone."""

    language: str = "en"
    timezone: tzinfo = ZoneInfo("UTC")

    @property
    def babel_locale(self) -> str:
        return BABEL_LOCALES.get(self.language, "en")

    @property
    def qlocale(self) -> QLocale:
        return QLocale(self.babel_locale)

    def money(self, amount: Money) -> str:
        return _money_text(amount, self.babel_locale)

    def rate(self, per_minute: Money) -> str:
        """A per-minute price: "€0.12/min", "0,12 €/min", or in Arabic the amount then
        "/دقيقة". Isolated as a whole (it sits beside a destination) and around the
        amount (it sits beside "/min")."""
        return _rate_text(QCoreApplication.translate("Formatter", "%1/min"), per_minute,
                          self.babel_locale)

    def decimal_point(self) -> str:
        return get_decimal_symbol(self.babel_locale)

    def plain_amount(self, amount: Money) -> str:
        """An amount for an input field: no symbol, the locale's decimal separator."""
        digits = max(0, -int(minor_unit(amount.currency).as_tuple().exponent))
        text = f"{amount.rounded().amount:.{digits}f}"
        return text.replace(".", self.decimal_point())

    def duration(self, seconds: int) -> str:
        seconds = max(0, int(seconds))
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        if hours:
            return f"{hours}:{minutes:02d}:{secs:02d}"
        return f"{minutes:02d}:{secs:02d}"

    def time(self, moment: datetime) -> str:
        local = moment.astimezone(self.timezone)
        return local.strftime("%H:%M")

    def date_time(self, moment: datetime) -> str:
        local = moment.astimezone(self.timezone)
        date_text = format_date(local.date(), "short", locale=self.babel_locale)
        return f"{date_text} {local.strftime('%H:%M')}"

    def count(self, value: int) -> str:
        return format_decimal(value, locale=self.babel_locale)


def parse_cash(text: str, currency: str) -> Money:
    """What the cashier typed as cash received. The numeric keypad's `.` and the
    locale's `,` (or Arabic `٫`) are both taken as the decimal separator, Arabic-Indic
    digits as digits; anything else is refused with `MoneyError`."""
    cleaned = (text.strip().translate(_ARABIC_DIGITS)
               .replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
               .replace("٫", ".").replace(",", "."))
    if not cleaned or cleaned.count(".") > 1 or cleaned.startswith("-"):
        raise MoneyError(f"not an amount: {text!r}")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise MoneyError(f"not an amount: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise MoneyError(f"not an amount: {text!r}")
    money = Money.of(value, currency)
    if money.rounded() != money:
        raise MoneyError(f"more digits than the currency has: {text!r}")
    return money


class Languages:
    """The application's current language; `switch()` changes it everywhere at once."""

    def __init__(self, app: QApplication) -> None:
        self.app = app
        self.code = "en"
        self._ours = QTranslator(app)
        self._qt = QTranslator(app)
        self._installed = False

    def switch(self, code: str) -> None:
        """Load `code`'s translations and direction; every open window re-labels
        itself on the `LanguageChange` events this posts. English loads one too: it
        carries the English plural forms ("1 cabin", "2 cabins")."""
        code = code if code in LANGUAGES else "en"
        if self._installed:
            self.app.removeTranslator(self._ours)
            self.app.removeTranslator(self._qt)
            self._installed = False
        self.code = code
        QLocale.setDefault(QLocale(BABEL_LOCALES[code]))
        ours = TRANSLATIONS / f"cashdesk_{code}.qm"
        if not self._ours.load(str(ours)):
            log.warning("no translations loaded from %s (run bootstrap.py to compile them)",
                        ours)
        if code != "en":
            self._qt.load(f"qtbase_{code}",
                          QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath))
            self.app.installTranslator(self._qt)
        self.app.installTranslator(self._ours)
        self._installed = True
        self.app.setLayoutDirection(Qt.LayoutDirection.RightToLeft if code in RIGHT_TO_LEFT
                                    else Qt.LayoutDirection.LeftToRight)

    def formatter(self, timezone: str | None = None) -> Formatter:
        try:
            zone: tzinfo = ZoneInfo(timezone) if timezone else ZoneInfo("UTC")
        except Exception:  # an unknown zone name: show UTC rather than fail
            zone = ZoneInfo("UTC")
        return Formatter(self.code, zone)


def available() -> dict[str, str]:
    return dict(LANGUAGES)
