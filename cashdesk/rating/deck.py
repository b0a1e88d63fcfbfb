"""Rate decks: the CSV files carriers and resellers send, read into a tariff (or a
cabin's own rates) and written back out.

A deck is all or nothing. Every bad line is reported with its line number (1-based,
the header counts) and the reason, and if there is any, nothing is imported: a
half-imported price list would bill some destinations at last month's price.

Accepted: a header naming the columns in common ways (`prefix`/`code`/`dialcode`,
`rate`/`price`/`price per minute`, …) or no header, in the order prefix, destination,
rate, connection fee, initial increment, subsequent increment, grace seconds (all after
the rate optional; the destination may be left out entirely). `,`, `;` or tab
separated; a decimal comma (`0,125`) is accepted; a UTF-8 BOM and blank lines are
ignored. Amounts have at most 4 decimals (the stored precision).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Integer, String, column, delete, func, select, table
from sqlalchemy.orm import Session

from cashdesk.clock import Clock
from cashdesk.money import SUB_UNITS
from cashdesk.rating.bulk import gc_paused
from cashdesk.rating.destinations import destination_name
from cashdesk.store.models import Cabin, Rate, Tariff

#: Longest prefix a rate can have (the `rates.prefix` column).
MAX_PREFIX_DIGITS = 20
#: Longest destination name (the `rates.destination` column).
MAX_DESTINATION = 120
#: An increment longer than a day is a typo, not a tariff.
MAX_INCREMENT = 86_400
_DECIMALS = len(str(SUB_UNITS)) - 1
_UTF8_BOM = b"\xef\xbb\xbf"

# Column keys, in the order of a deck without a header.
PREFIX = "prefix"
DESTINATION = "destination"
RATE = "rate"
CONNECTION_FEE = "connection_fee"
INITIAL = "initial"
SUBSEQUENT = "subsequent"
GRACE = "grace"
_POSITIONAL = (PREFIX, DESTINATION, RATE, CONNECTION_FEE, INITIAL, SUBSEQUENT, GRACE)
_POSITIONAL_NO_DESTINATION = (PREFIX, RATE, CONNECTION_FEE, INITIAL, SUBSEQUENT, GRACE)
_REQUIRED = (PREFIX, RATE)

_COLUMN_LABELS = {
    PREFIX: "prefix", DESTINATION: "destination", RATE: "rate per minute",
    CONNECTION_FEE: "connection fee", INITIAL: "initial increment",
    SUBSEQUENT: "subsequent increment", GRACE: "grace seconds",
}

# Header names as decks write them, after `_header_key()` (lower case, words joined by
# "_", anything in parentheses such as a currency dropped).
_SYNONYMS: dict[str, str] = {}
for _key, _names in {
    PREFIX: ("prefix", "code", "dialcode", "dial_code", "dialing_code", "dialling_code",
             "destination_code", "dial_prefix"),
    DESTINATION: ("destination", "name", "country", "description", "dest",
                  "destination_name", "area"),
    RATE: ("rate", "price", "rate_per_minute", "price_per_minute", "per_minute",
           "rate_per_min", "price_per_min", "rate_min", "price_min", "cost",
           "cost_per_minute", "ppm"),
    CONNECTION_FEE: ("connection_fee", "fee", "connection", "connect", "connect_fee",
                     "setup", "setup_fee", "connection_charge", "setup_charge"),
    INITIAL: ("initial", "initial_increment", "min", "minimum", "first",
              "first_increment", "min_duration", "initial_seconds"),
    SUBSEQUENT: ("subsequent", "subsequent_increment", "increment", "step", "next",
                 "next_increment", "billing_increment", "subsequent_seconds"),
    GRACE: ("grace", "grace_seconds", "grace_period", "free_seconds"),
}.items():
    for _name in _names:
        _SYNONYMS[_name] = _key

_NUMBER_LIKE = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)")
_AMOUNT = re.compile(r"(-?)(\d*)(?:[.,](\d*))?")
_PARENTHESISED = re.compile(r"\(.*?\)|\[.*?\]")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True, slots=True)
class DeckError:
    """One bad line: its 1-based line number in the file and why it is rejected."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class DeckRow(NamedTuple):
    """One good line of a deck. Amounts are integer sub-units (1/10000), as stored."""

    line: int
    prefix: str
    destination: str
    rate_sub_units: int
    fee_sub_units: int = 0
    initial_increment: int = 60
    subsequent_increment: int = 60
    grace_seconds: int = 0

    @property
    def price_per_minute(self) -> Decimal:
        return Decimal(self.rate_sub_units).scaleb(-_DECIMALS)

    @property
    def connection_fee(self) -> Decimal:
        return Decimal(self.fee_sub_units).scaleb(-_DECIMALS)


@dataclass(frozen=True)
class ParsedDeck:
    """A parsed deck: the good rows, and the bad lines (if any, the deck is rejected)."""

    rows: list[DeckRow]
    errors: list[DeckError]
    delimiter: str = ","
    has_header: bool = False
    ignored_columns: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


class DeckRejected(ValueError):
    """A deck with bad lines; nothing was imported. `errors` lists every one."""

    def __init__(self, errors: list[DeckError]) -> None:
        self.errors = errors
        shown = "; ".join(str(error) for error in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"rate deck rejected, {len(errors)} bad "
                         f"line{'s' if len(errors) != 1 else ''}: {shown}{more}")


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    imported: int
    replaced: int
    names_filled: int
    tariff_id: int | None = None
    cabin_id: int | None = None
    revision: int | None = None


# --- parsing -----------------------------------------------------------------------

class _BadValue(Exception):
    pass


def _decode(data: bytes, errors: list[DeckError]) -> str:
    data = data.removeprefix(_UTF8_BOM)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Report each undecodable line, and blank it so the other lines are still checked.
    lines = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            errors.append(DeckError(number, f"not UTF-8 text (byte 0x{raw[exc.start]:02X} "
                                            f"at column {exc.start + 1}); save the deck "
                                            "as UTF-8"))
            lines.append("")
    return "\n".join(lines)


def _sniff_delimiter(lines: list[str]) -> str:
    for line in lines:
        if line.strip():
            counts = {delimiter: line.count(delimiter) for delimiter in (";", "\t", ",")}
            best = max(counts, key=lambda delimiter: counts[delimiter])
            # On a tie (none of them, or a decimal comma next to semicolons), prefer
            # ";" then tab over ",", the order of `counts`.
            return best if counts[best] else ","
    return ","


def _header_key(cell: str) -> str:
    text = _PARENTHESISED.sub(" ", cell.strip().lower())
    return _NOT_WORD.sub("_", text).strip("_")


def _looks_numeric(cell: str) -> bool:
    return _NUMBER_LIKE.fullmatch(cell.strip()) is not None


def _map_header(cells: list[str], line: int,
                errors: list[DeckError]) -> tuple[dict[str, int], tuple[str, ...]]:
    columns: dict[str, int] = {}
    ignored = []
    for index, cell in enumerate(cells):
        key = _SYNONYMS.get(_header_key(cell))
        if key is None:
            if cell.strip():
                ignored.append(cell.strip())
            continue
        if key in columns:
            errors.append(DeckError(line, f"columns {columns[key] + 1} and {index + 1} both "
                                          f"give the {_COLUMN_LABELS[key]}"))
            continue
        columns[key] = index
    for key in _REQUIRED:
        if key not in columns:
            errors.append(DeckError(line, f"missing column: {_COLUMN_LABELS[key]} (the "
                                          f"header has {', '.join(c.strip() for c in cells)})"))
    return columns, tuple(ignored)


class _Layout(NamedTuple):
    """Where each column is in a row. A column the deck lacks points at a padding cell
    past the row's end, which is always empty (so it takes its default)."""

    prefix: int
    destination: int
    rate: int
    connection_fee: int
    initial: int
    subsequent: int
    grace: int
    width: int  # the most cells a row may have
    size: int   # cells a row is padded to


def _layout(columns: dict[str, int], width: int) -> _Layout:
    width = max(width, max(columns.values(), default=-1) + 1)
    prefix, destination, rate, fee, initial, subsequent, grace = (
        columns.get(key, width) for key in _POSITIONAL)
    return _Layout(prefix, destination, rate, fee, initial, subsequent, grace, width,
                   width + 1)


def _prefix(text: str) -> str:
    prefix = text.strip()
    if not prefix:
        raise _BadValue("the prefix is empty")
    if not (prefix.isascii() and prefix.isdigit()):
        hint = f" (write {prefix[1:]}, not {prefix})" if prefix[:1] == "+" else ""
        raise _BadValue(f"prefix {prefix!r} must be digits only{hint}")
    if len(prefix) > MAX_PREFIX_DIGITS:
        raise _BadValue(f"prefix {prefix} is longer than {MAX_PREFIX_DIGITS} digits")
    return prefix


def _amount(text: str, label: str, *, required: bool) -> int:
    """Sub-units of an amount written with a decimal point or comma, parsed exactly."""
    value = text.strip()
    if not value:
        if required:
            raise _BadValue(f"the {label} is empty")
        return 0
    whole, point, fraction = value.partition(".")
    if (value.isascii() and whole.isdigit() and (fraction.isdigit() or not point)
            and len(fraction) <= _DECIMALS):
        # The common "0.0125": no sign, no comma, no trailing zeros to trim.
        return int(whole) * SUB_UNITS + int(fraction.ljust(_DECIMALS, "0"))
    match = _AMOUNT.fullmatch(value)
    if match is None or not (match[2] or match[3]):
        raise _BadValue(f"{label} {value!r} is not a number")
    sign, whole, fraction = match[1], match[2] or "0", (match[3] or "").rstrip("0")
    if len(fraction) > _DECIMALS:
        raise _BadValue(f"{label} {value} has more than {_DECIMALS} decimal places")
    units = int(whole) * SUB_UNITS + int(fraction.ljust(_DECIMALS, "0"))
    if sign and units:
        raise _BadValue(f"{label} {value} is negative")
    return units


def _whole_seconds(text: str, label: str, default: int, minimum: int) -> int:
    if text.isdigit() and text.isascii():
        seconds = int(text)
        if minimum <= seconds <= MAX_INCREMENT:
            return seconds
    value = text.strip()
    if not value:
        return default
    if not (value.isascii() and value.isdigit()):
        raise _BadValue(f"{label} {value!r} is not a whole number of seconds")
    seconds = int(value)
    if seconds < minimum:
        raise _BadValue(f"{label} {seconds} must be at least {minimum}")
    if seconds > MAX_INCREMENT:
        raise _BadValue(f"{label} {seconds} is more than a day")
    return seconds


def _records(text: str, delimiter: str,
             errors: list[DeckError]) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) per record; a record the csv module refuses is an error."""
    reader = csv.reader(text.split("\n"), delimiter=delimiter)
    line = 1
    while True:
        try:
            for cells in reader:
                yield line, cells
                line = reader.line_num + 1
            return
        except csv.Error as exc:
            # The reader goes on with the next line after an error.
            errors.append(DeckError(line, f"not CSV: {exc}"))
            line = reader.line_num + 1


def parse_deck(data: bytes) -> ParsedDeck:
    """Read a CSV rate deck. Never raises for bad content: see `ParsedDeck.errors`."""
    errors: list[DeckError] = []
    text = _decode(data, errors)
    lines = text.split("\n", 50)
    delimiter = _sniff_delimiter(lines[:50])
    rows: list[DeckRow] = []
    first_line: dict[str, int] = {}
    layout: _Layout | None = None
    has_header = False
    ignored: tuple[str, ...] = ()
    for line, cells in _records(text, delimiter, errors):
        if not "".join(cells).strip():
            continue  # blank lines, and lines of only separators
        if layout is None:
            if not any(_looks_numeric(cell) for cell in cells):
                has_header = True
                columns, ignored = _map_header(cells, line, errors)
                if any(error.line == line for error in errors):
                    return ParsedDeck([], errors, delimiter, has_header, ignored)
                layout = _layout(columns, len(cells))
                continue
            # No header: is the second column a destination or already the rate?
            order = (_POSITIONAL_NO_DESTINATION if len(cells) > 1 and _looks_numeric(cells[1])
                     else _POSITIONAL)
            layout = _layout({key: index for index, key in enumerate(order)}, len(order))
        try:
            row = _row(line, cells, layout)
        except _BadValue as exc:
            errors.append(DeckError(line, str(exc)))
            continue
        earlier = first_line.setdefault(row.prefix, line)
        if earlier != line:
            errors.append(DeckError(line, f"prefix {row.prefix} is already on line {earlier}"))
            continue
        rows.append(row)
    if not rows and not errors:
        errors.append(DeckError(1, "the deck has no rates"))
    errors.sort(key=lambda error: error.line)  # undecodable lines were found first
    return ParsedDeck(rows, errors, delimiter, has_header, ignored)


def _row(line: int, cells: list[str], layout: _Layout) -> DeckRow:
    count = len(cells)
    while count and not cells[count - 1].strip():
        count -= 1  # trailing empty cells are padding, not columns
    if count > layout.width:
        raise _BadValue(f"{count} columns, expected at most {layout.width} (a destination "
                        "with a separator in it must be in quotes)")
    if layout.prefix >= count:
        raise _BadValue("missing column: prefix")
    if layout.rate >= count:
        raise _BadValue("missing column: rate per minute")
    if len(cells) < layout.size:
        cells = cells + [""] * (layout.size - len(cells))
    destination = cells[layout.destination].strip()
    if len(destination) > MAX_DESTINATION:
        raise _BadValue(f"destination is longer than {MAX_DESTINATION} characters")
    return DeckRow(
        line,
        _prefix(cells[layout.prefix]),
        destination,
        _amount(cells[layout.rate], "rate", required=True),
        _amount(cells[layout.connection_fee], "connection fee", required=False),
        _whole_seconds(cells[layout.initial], "initial increment", 60, 1),
        _whole_seconds(cells[layout.subsequent], "subsequent increment", 60, 1),
        _whole_seconds(cells[layout.grace], "grace seconds", 0, 0),
    )


# --- writing -----------------------------------------------------------------------

EXPORT_HEADER = ("prefix", "destination", "rate_per_minute", "connection_fee",
                 "initial_increment", "subsequent_increment", "grace_seconds")


def _plain(units: int) -> str:
    # "0.125", "12", never "1.2E+1": what a spreadsheet and parse_deck both read.
    return f"{Decimal(units).scaleb(-_DECIMALS).normalize():f}"


def format_deck(rows: Iterable[tuple[str, str, int, int, int, int, int]]) -> str:
    """CSV text with `EXPORT_HEADER` for rows of (prefix, destination, rate sub-units,
    fee sub-units, initial, subsequent, grace); `parse_deck` reads it back identically."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_HEADER)
    for prefix, destination, rate, fee, initial, subsequent, grace in rows:
        writer.writerow((prefix, destination, _plain(rate), _plain(fee), initial,
                         subsequent, grace))
    return out.getvalue()


# --- the database ------------------------------------------------------------------

# The rates table with its money columns as the raw integers they are stored as, so
# 200,000 rows go in and out without a Decimal round trip per amount (the values are
# already exact sub-units, checked by parse_deck).
_RATES = table(
    Rate.__tablename__,
    column("id", Integer),
    column("tariff_id", Integer),
    column("cabin_id", Integer),
    column("prefix", String),
    column("destination", String),
    column("price_per_minute", BigInteger),
    column("connection_fee", BigInteger),
    column("initial_increment", Integer),
    column("subsequent_increment", Integer),
    column("grace_seconds", Integer),
)


def _owner(tariff: Tariff | None, cabin: Cabin | None) -> Any:
    if (tariff is None) == (cabin is None):
        raise ValueError("give exactly one of tariff or cabin")
    if tariff is not None:
        return _RATES.c.tariff_id == tariff.id
    assert cabin is not None
    return _RATES.c.cabin_id == cabin.id


def import_deck(session: Session, clock: Clock, *, tariff: Tariff | None = None,
                cabin: Cabin | None = None, data: bytes, locale: str = "en") -> ImportReport:
    """Replace the rates of `tariff` (or of `cabin`) with the deck in `data`.

    All or nothing: any bad line raises `DeckRejected` with every error, and the rates
    are left as they were. Missing destination names are filled from the numbering
    plan in `locale`. A tariff's revision is bumped, so the rating index reloads it.
    Runs in the caller's transaction; the caller commits.
    """
    owner = _owner(tariff, cabin)
    with gc_paused():
        parsed = parse_deck(data)
    if parsed.errors:
        raise DeckRejected(parsed.errors)
    revision = None
    if tariff is not None:
        # Bump first: on PostgreSQL this locks the tariff's row, so two imports of the
        # same tariff queue instead of interleaving their deletes and inserts.
        tariff.revision = Tariff.revision + 1
        tariff.updated_at = clock.now()
        session.flush()
        revision = tariff.revision
    else:
        assert cabin is not None
        cabin.rates_revision = Cabin.rates_revision + 1
        session.flush()
    replaced = session.execute(select(func.count()).select_from(_RATES).where(owner)).scalar_one()
    session.execute(delete(_RATES).where(owner))
    tariff_id = tariff.id if tariff is not None else None
    cabin_id = cabin.id if cabin is not None else None
    names_filled = 0
    with gc_paused():
        values = []
        for row in parsed.rows:
            name = row.destination
            if not name:
                name = destination_name(row.prefix, locale)
                names_filled += bool(name)
            values.append((tariff_id, cabin_id, row.prefix, name, row.rate_sub_units,
                           row.fee_sub_units, row.initial_increment,
                           row.subsequent_increment, row.grace_seconds))
        _insert(session, values)
    return ImportReport(imported=len(values), replaced=int(replaced), names_filled=names_filled,
                        tariff_id=tariff_id, cabin_id=cabin_id, revision=revision)


_INSERT_COLUMNS = ("tariff_id", "cabin_id", "prefix", "destination", "price_per_minute",
                   "connection_fee", "initial_increment", "subsequent_increment",
                   "grace_seconds")
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _insert(session: Session, values: list[tuple[Any, ...]]) -> None:
    connection = session.connection()
    placeholder = _PLACEHOLDERS.get(connection.dialect.paramstyle)
    if placeholder is None:  # a driver we do not know: the portable, slower way
        session.execute(_RATES.insert(), [dict(zip(_INSERT_COLUMNS, row)) for row in values])
        return
    # Straight to the driver's executemany: SQLAlchemy's per-row parameter handling
    # would cost more than the database's own work for a 200,000-row deck.
    connection.exec_driver_sql(
        f"INSERT INTO {Rate.__tablename__} ({', '.join(_INSERT_COLUMNS)}) "
        f"VALUES ({', '.join([placeholder] * len(_INSERT_COLUMNS))})", values)


def export_deck(session: Session, *, tariff: Tariff | None = None,
                cabin: Cabin | None = None) -> str:
    """The rates of `tariff` (or `cabin`) as CSV, sorted by prefix, with a header."""
    owner = _owner(tariff, cabin)
    c = _RATES.c
    result = session.execute(
        select(c.prefix, c.destination, c.price_per_minute, c.connection_fee,
               c.initial_increment, c.subsequent_increment, c.grace_seconds)
        .where(owner).order_by(c.prefix))
    return format_deck(tuple(row) for row in result)
