"""Periods of reports, in the shop's own time zone.

"Today" at a shop in Karachi starts at midnight in Karachi, not in UTC: every named
period is computed from the injected clock in `Callshop.timezone`. Weeks start on
Monday (ISO 8601). Every period is half-open, `since <= t < until`, so adjacent periods
add up exactly (as in `cashdesk.ledger.profit`).

In a query, `since` and `until` are either a day (`2026-01-05`, the shop's local
day) or an instant with its offset (`2026-01-05T09:00:00+01:00`, `…Z`). A day given
as `until` is included: `since=2026-01-01&until=2026-01-31` is the whole of January.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cashdesk.server.errors import Invalid
from cashdesk.server.schema import Field, Int, Str
from cashdesk.store.models import Callshop

TODAY = "today"
YESTERDAY = "yesterday"
THIS_WEEK = "this_week"
LAST_WEEK = "last_week"
THIS_MONTH = "this_month"
LAST_MONTH = "last_month"
CUSTOM = "custom"
NAMED_PERIODS = (TODAY, YESTERDAY, THIS_WEEK, LAST_WEEK, THIS_MONTH, LAST_MONTH)
PERIODS = (*NAMED_PERIODS, CUSTOM)

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# A "+" in a query string arrives as a space unless the client encoded it as %2B.
_SPACE_BEFORE_OFFSET = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


class Moment(Field):
    """A query's `since`/`until`: a local day (`date`) or an instant (`datetime`)."""

    type_name = "day or timestamp"

    def _parse(self, value: Any, path: str) -> date | datetime:
        text = value.strip() if isinstance(value, str) else ""
        if _DAY.fullmatch(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise Invalid(f"{path}: {text!r} is not a real day", field=path) from None
        text = _SPACE_BEFORE_OFFSET.sub(r"\1+\2", text)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise Invalid(f"{path}: {value!r} is neither a day such as 2026-01-05 nor a time "
                          "with its offset such as 2026-01-05T09:00:00+01:00 (or …Z)",
                          field=path)
        return moment

    def _schema(self) -> dict[str, Any]:
        return {"type": "string", "examples": ["2026-01-05", "2026-01-05T09:00:00+01:00"],
                "x-format": "a day (in the shop's time zone) or an ISO 8601 time with "
                            "its offset"}


SINCE = Moment("from this day or instant on (included)", required=False)
UNTIL = Moment("up to this instant (excluded) or to the end of this day", required=False)
RANGE = {"since": SINCE, "until": UNTIL}
PERIOD = Str("a named period in the shop's time zone (weeks start on Monday), or custom "
             "with since and until", choices=PERIODS, required=False)

#: A shop-scoped read: shop users read their own shop; a reseller names one of its own.
CALLSHOP = {"callshop_id": Int("the callshop to read: required for a reseller; a shop's "
                               "users may only name their own", minimum=1, required=False)}

#: Paging of the history lists: newest first, at most 500 rows a page.
MAX_LIMIT = 500
PAGE = {
    "offset": Int("how many matching rows to skip", minimum=0, default=0),
    "limit": Int(f"at most this many rows (up to {MAX_LIMIT})", minimum=1, maximum=MAX_LIMIT,
                 default=50),
}


@dataclass(frozen=True)
class Period:
    """`[since, until)` in UTC (an open end is None), and how it was asked for."""

    name: str
    since: datetime | None
    until: datetime | None
    timezone: str

    def contains(self, moment: datetime) -> bool:
        return ((self.since is None or moment >= self.since)
                and (self.until is None or moment < self.until))

    def json(self) -> dict[str, Any]:
        return {"name": self.name, "timezone": self.timezone,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None}


def shop_zone(shop: Callshop) -> tzinfo:
    try:
        return ZoneInfo(shop.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC  # shops.check_timezone refuses unknown zones; an old row stays usable


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The instant (UTC) that `day` starts in `zone`."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def local_day(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


def named_period(name: str, now: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """`[since, until)` of a named period around `now`, in `zone`."""
    today = local_day(now, zone)
    if name == TODAY:
        first, after = today, today + timedelta(days=1)
    elif name == YESTERDAY:
        first, after = today - timedelta(days=1), today
    elif name in (THIS_WEEK, LAST_WEEK):
        monday = today - timedelta(days=today.weekday())
        if name == LAST_WEEK:
            monday -= timedelta(days=7)
        first, after = monday, monday + timedelta(days=7)
    elif name in (THIS_MONTH, LAST_MONTH):
        first = today.replace(day=1)
        if name == LAST_MONTH:
            first = (first - timedelta(days=1)).replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"unknown period {name!r}")
    return local_midnight(first, zone), local_midnight(after, zone)


def _start(value: date | datetime, zone: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return local_midnight(value, zone)


def _end(value: date | datetime, zone: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return local_midnight(value + timedelta(days=1), zone)  # a day given as until is included


def custom_period(since: date | datetime | None, until: date | datetime | None,
                  zone: tzinfo, *, name: str = CUSTOM) -> Period:
    start = _start(since, zone) if since is not None else None
    end = _end(until, zone) if until is not None else None
    if start is not None and end is not None and start >= end:
        raise Invalid(f"since ({start.isoformat()}) must be before until "
                      f"({end.isoformat()})", field="since")
    return Period(name=name, since=start, until=end, timezone=str(zone))


def query_period(shop: Callshop, query: dict[str, Any], now: datetime, *,
                 default: str | None = None) -> Period:
    """The period a query asks for: a named `period`, or `period=custom` with both
    since and until, or since and/or until alone; with none of them, `default` (a
    name, or None for no bounds at all)."""
    zone = shop_zone(shop)
    name, since, until = query.get("period"), query.get("since"), query.get("until")
    if name is None:
        if since is not None or until is not None:
            return custom_period(since, until, zone)
        if default is None:
            return Period(name="all", since=None, until=None, timezone=str(zone))
        name = default
    if name == CUSTOM:
        if since is None or until is None:
            raise Invalid("period=custom needs both since and until", field="period")
        return custom_period(since, until, zone)
    if since is not None or until is not None:
        raise Invalid(f"since and until go with period=custom, not with period={name}",
                      field="period")
    start, end = named_period(name, now, zone)
    return Period(name=name, since=start, until=end, timezone=str(zone))
