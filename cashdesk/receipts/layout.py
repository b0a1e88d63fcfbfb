"""A receipt as lines of monospaced text, for a 32- or 48-column thermal printer.

Pure: no printer here, so the layout is tested as text. Only left-to-right languages
are laid out as text; Arabic and Urdu receipts are printed as a picture
(`cashdesk.receipts.printing`).
"""

from __future__ import annotations

import textwrap
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from cashdesk.invoices.data import InvoiceData
from cashdesk.invoices.formatting import Formatter
from cashdesk.invoices.labels import labels_for


@dataclass(frozen=True, slots=True)
class Paper:
    """A roll width: characters per line in font A, and printable dots (203 dpi)."""

    columns: int
    dots: int
    name: str


PAPER_58MM = Paper(columns=32, dots=384, name="58 mm")
PAPER_80MM = Paper(columns=48, dots=576, name="80 mm")


def paper_for(width: Paper | int) -> Paper:
    """`width` as a Paper: 32 or 58 → 58 mm, 48 or 80 → 80 mm."""
    if isinstance(width, Paper):
        return width
    if width in (32, 58):
        return PAPER_58MM
    if width in (48, 80):
        return PAPER_80MM
    raise ValueError(f"receipt width must be 32 or 48 characters (58 or 80 mm), not {width}")


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    align: Align = Align.LEFT
    bold: bool = False
    large: bool = False   # double width and height: half the columns


# Babel's narrow and no-break spaces are not in the printers' code pages.
_SPACES = {0x00A0: " ", 0x202F: " ", 0x2009: " ", 0x200E: None, 0x200F: None, 0x061C: None}


def printable(text: str) -> str:
    """`text` with the spaces and marks a thermal printer's code pages lack replaced."""
    return unicodedata.normalize("NFC", text.translate(_SPACES))


def _fit(text: str, columns: int) -> str:
    return text if len(text) <= columns else text[: max(0, columns - 1)] + "…"


def two_columns(left: str, right: str, columns: int) -> str:
    """`left` and `right` on one line, `left` shortened if both do not fit."""
    right = _fit(right, columns)
    room = columns - len(right) - 1
    left = _fit(left, room) if room > 0 else ""
    return f"{left}{' ' * (columns - len(left) - len(right))}{right}"


def receipt_lines(data: InvoiceData, width: Paper | int) -> list[Line]:
    """The receipt of `data` as printer lines for `width` (32 or 48 columns)."""
    paper = paper_for(width)
    cols = paper.columns
    labels = labels_for(data.language)
    fmt = Formatter(data.locale)
    rule = Line("-" * cols)

    def pair(label: str, value: str, *, bold: bool = False) -> Line:
        return Line(two_columns(printable(label), printable(value), cols), bold=bold)

    lines: list[Line] = []
    if data.training:
        lines.append(Line(printable(labels["training"]), Align.CENTER, bold=True))
    for part in textwrap.wrap(printable(data.shop.name), cols // 2) or [""]:
        lines.append(Line(part, Align.CENTER, bold=True, large=True))
    for address_line in data.shop.address.splitlines():
        for part in textwrap.wrap(printable(address_line), cols):
            lines.append(Line(part, Align.CENTER))
    if data.shop.tax_id:
        lines.append(Line(_fit(printable(f"{labels['tax_id']}: {data.shop.tax_id}"), cols),
                          Align.CENTER))
    lines.append(rule)
    if data.number:
        lines.append(pair(labels["number"], data.number, bold=True))
    else:
        lines.append(Line(printable(labels["receipt"]), Align.CENTER, bold=True))
    lines.append(pair(labels["date"], fmt.date_time(data.issued_at)))
    lines.append(pair(labels["cabin"], data.cabin))
    lines.append(pair(labels["operator"], data.operator))
    lines.append(rule)

    wide = cols >= 48
    for call in data.calls:
        when = fmt.time(call.started_at)
        lines.append(pair(f"{when} {call.number}", fmt.duration(call.duration_seconds)))
        detail = f"  {call.destination}"
        if wide:
            detail = f"{detail}  {fmt.money(call.rate_per_minute)}/min"
        lines.append(pair(detail, fmt.money(call.price)))
    lines.append(rule)

    totals = data.totals
    if totals.rate:
        lines.append(pair(labels["net"], fmt.money(totals.net)))
        lines.append(pair(labels["vat"].format(rate=fmt.percent(totals.rate)),
                          fmt.money(totals.vat)))
    lines.append(pair(labels["total"], fmt.money(totals.gross), bold=True))
    lines.append(pair(labels["received"], fmt.money(data.received)))
    lines.append(pair(labels["change"], fmt.money(data.change)))
    if data.footer.strip():
        lines.append(rule)
        for footer_line in data.footer.splitlines():
            for part in textwrap.wrap(printable(footer_line), cols):
                lines.append(Line(part, Align.CENTER))
    return lines
