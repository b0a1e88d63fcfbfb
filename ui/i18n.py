"""Languages of the cash desk: Qt Linguist translations, layout direction, and the
locale numbers, money and times are shown in.

Every visible string goes through `tr()` (Qt's own, on each widget); this module only
loads the compiled `.qm` for the chosen language, switches the whole application's
layout direction (Arabic is right-to-left) and keeps the `Formatter` the screens use.
Switching at run time sends Qt's `LanguageChange` event to every widget, which
re-labels itself in `retranslate()`; nothing restarts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, Qt, QTranslator
from PySide6.QtWidgets import QApplication

from cashdesk.money import Money, MoneyError, minor_unit

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
#: Isolates that keep numbers left-to-right inside Arabic text.
LRI, PDI = "\u2066", "\u2069"

_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


@functools.lru_cache(maxsize=4096)
def _money_text(money: Money, locale: str) -> str:
    # Babel takes ~40 µs per figure; a busy shop shows the same few hundred amounts
    # again and again (costs move by whole increments), so they are remembered.
    return money.format(locale)


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
        return QCoreApplication.translate("Formatter", "%1/min").replace(
            "%1", self.money(per_minute))

    def decimal_point(self) -> str:
        return self.qlocale.decimalPoint()

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
        locale = self.qlocale
        date_text = locale.toString(local.date(), QLocale.FormatType.ShortFormat)
        return f"{date_text} {local.strftime('%H:%M')}"

    def count(self, value: int) -> str:
        return self.qlocale.toString(value)


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
        code = code if code in LANGUAGES else "en"
        if self._installed:
            self.app.removeTranslator(self._ours)
            self.app.removeTranslator(self._qt)
            self._installed = False
        self.code = code
        QLocale.setDefault(QLocale(BABEL_LOCALES[code]))
        if code != "en":
            self._ours.load(str(TRANSLATIONS / f"cashdesk_{code}.qm"))
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
