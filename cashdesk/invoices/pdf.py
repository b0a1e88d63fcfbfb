"""The invoice as a PDF page (reportlab platypus).

A4, one table row per call, the table header repeated on every page. Right-to-left
languages (Arabic, Urdu) get the mirror image of the page: columns in reverse order,
text aligned right, figures aligned left, logo and shop on the right.

Blocking and CPU-bound (tens of milliseconds): the server calls it from its database
writer thread or an executor, never on the event loop.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from cashdesk.invoices import text as itext
from cashdesk.invoices.data import InvoiceData
from cashdesk.invoices.formatting import Formatter
from cashdesk.invoices.labels import labels_for

log = logging.getLogger(__name__)

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 15 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
LOGO_MAX = (45 * mm, 22 * mm)

BODY_SIZE = 9.5
TABLE_SIZE = 8.5
TITLE_SIZE = 20
SHOP_SIZE = 13
GRID = colors.HexColor("#B0B0B0")
SHADE = colors.HexColor("#EFEFEF")
TRAINING_RED = colors.HexColor("#B00020")

# Calls table, in reading order; the destination takes what the others leave.
_COLUMNS = ("col_time", "col_number", "col_destination", "col_duration", "col_rate",
            "col_price")
_FIXED_WIDTHS = {"col_time": 92.0, "col_number": 86.0, "col_duration": 46.0,
                 "col_rate": 62.0, "col_price": 62.0}
_FIGURES = {"col_duration", "col_rate", "col_price"}
_CELL_PADDING = 3.0


# reportlab's TrueType subsetting keeps its state in the shared font objects: two
# documents built at once in two threads can corrupt each other (seen as KeyErrors in
# `makeSubset`). One invoice at a time per process; each takes a few tens of ms.
_RENDER_LOCK = threading.Lock()


def render_invoice_pdf(data: InvoiceData) -> bytes:
    """The invoice described by `data` as PDF bytes (fonts embedded, subset).

    The same data always gives the same bytes. Safe to call from any thread; calls
    are serialised.
    """
    with _RENDER_LOCK:
        itext.register_fonts()
        return _InvoicePage(data).render()


class _InvoicePage:
    def __init__(self, data: InvoiceData) -> None:
        self.data = data
        self.rtl = data.right_to_left
        self.labels: Mapping[str, str] = labels_for(data.language)
        self.fmt = Formatter(data.locale)
        start, end = (TA_RIGHT, TA_LEFT) if self.rtl else (TA_LEFT, TA_RIGHT)
        self.start, self.end = start, end
        base = ParagraphStyle("base", fontName=itext.LATIN, fontSize=BODY_SIZE,
                              leading=BODY_SIZE * 1.35, alignment=start)
        self.styles = {
            "body": base,
            "body_end": ParagraphStyle("body_end", parent=base, alignment=end),
            "shop": ParagraphStyle("shop", parent=base, fontSize=SHOP_SIZE,
                                   leading=SHOP_SIZE * 1.3),
            "title": ParagraphStyle("title", parent=base, fontSize=TITLE_SIZE,
                                    leading=TITLE_SIZE * 1.3, alignment=end),
            "cell": ParagraphStyle("cell", parent=base, fontSize=TABLE_SIZE,
                                   leading=TABLE_SIZE * 1.3),
            "cell_end": ParagraphStyle("cell_end", parent=base, fontSize=TABLE_SIZE,
                                       leading=TABLE_SIZE * 1.3, alignment=end),
            "footer": ParagraphStyle("footer", parent=base, alignment=TA_CENTER,
                                     fontSize=BODY_SIZE - 0.5),
            "training": ParagraphStyle("training", parent=base, alignment=TA_CENTER,
                                       fontSize=12, textColor=TRAINING_RED),
            "page": ParagraphStyle("page", parent=base, alignment=TA_CENTER, fontSize=7.5,
                                   textColor=colors.HexColor("#606060")),
        }

    # text ------------------------------------------------------------------
    def para(self, text: str, style: str = "body", *, bold: bool = False,
             available: float | None = None) -> Paragraph:
        """A paragraph of `text` as typed (logical order), shaped and ordered if needed."""
        paragraph_style = self.styles[style]
        if itext.needs_bidi(text):
            room = (available or CONTENT_WIDTH) - 1.0  # reportlab's own measure may differ
            lines = itext.wrap(text, room, paragraph_style.fontSize,
                               right_to_left=self.rtl, bold=bold)
            body = "<br/>".join(itext.markup(line, paragraph_style.fontSize) for line in lines)
        else:
            body = "<br/>".join(escape(line) for line in text.splitlines())
        if bold:
            body = f"<b>{body}</b>"
        return Paragraph(body, paragraph_style)

    def cell(self, text: str, available: float, *, figure: bool = False,
             bold: bool = False) -> Any:
        """A table cell: a plain string (fast) when it is Latin text that fits."""
        font = itext.LATIN_BOLD if bold else itext.LATIN
        if "\n" not in text:
            # Money and dates of RTL locales carry bidi marks but, once ordered, often
            # need no Arabic glyph: they are drawn as plain strings too.
            line = itext.visual(text, right_to_left=self.rtl) if itext.needs_bidi(text) \
                else text
            if not itext.has_arabic(line) and stringWidth(line, font, TABLE_SIZE) <= available:
                return line
        style = "cell_end" if figure else "cell"
        return self.para(text, style, bold=bold, available=available)

    def row(self, cells: Sequence[Any]) -> list[Any]:
        """Cells given in reading order, placed left to right on the page."""
        return list(reversed(cells)) if self.rtl else list(cells)

    def label(self, key: str, **values: str) -> str:
        return self.labels[key].format(**values)

    # blocks ----------------------------------------------------------------
    def header(self) -> list[Flowable]:
        data = self.data
        half = CONTENT_WIDTH / 2
        shop_block: list[Flowable] = []
        logo = self.logo()
        if logo is not None:
            shop_block += [logo, Spacer(1, 2 * mm)]
        shop_block.append(self.para(data.shop.name, "shop", bold=True, available=half))
        if data.shop.address.strip():
            shop_block.append(self.para(data.shop.address, available=half))
        if data.shop.tax_id.strip():
            shop_block.append(self.para(f"{self.label('tax_id')}: {data.shop.tax_id}",
                                        available=half))

        title = self.label("invoice") if data.number else self.label("receipt")
        meta_rows = []
        if data.number:
            meta_rows.append(("number", data.number))
        meta_rows += [("date", self.fmt.date_time(data.issued_at)),
                      ("operator", data.operator), ("cabin", data.cabin)]
        label_width, value_width = half * 0.42, half * 0.58
        meta = Table(
            [self.row([self.para(self.label(key), "body_end", available=label_width),
                       self.para(value, "body_end", bold=key == "number",
                                 available=value_width)])
             for key, value in meta_rows],
            colWidths=self.row([label_width, value_width]))
        meta.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                  ("LEFTPADDING", (0, 0), (-1, -1), 2),
                                  ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                                  ("TOPPADDING", (0, 0), (-1, -1), 1),
                                  ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
        invoice_block = [self.para(title, "title", bold=True, available=half),
                         Spacer(1, 2 * mm), meta]

        header = Table([self.row([shop_block, invoice_block])], colWidths=[half, half])
        header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                    ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
        return [header]

    def logo(self) -> Image | None:
        if not self.data.shop.logo:
            return None
        try:
            reader = ImageReader(io.BytesIO(self.data.shop.logo))
            width, height = reader.getSize()
        except Exception:  # noqa: BLE001 - a broken logo must not stop a payment's invoice
            log.warning("the shop's invoice logo is not a readable image; printed without it")
            return None
        scale = min(LOGO_MAX[0] / width, LOGO_MAX[1] / height, 1.0)
        image = Image(io.BytesIO(self.data.shop.logo), width=width * scale,
                      height=height * scale)
        image.hAlign = "RIGHT" if self.rtl else "LEFT"
        return image

    def calls_table(self) -> Table:
        widths = dict(_FIXED_WIDTHS)
        widths["col_destination"] = CONTENT_WIDTH - sum(_FIXED_WIDTHS.values())
        room = {key: w - 2 * _CELL_PADDING for key, w in widths.items()}
        header = [self.cell(self.label(key), room[key], figure=key in _FIGURES, bold=True)
                  for key in _COLUMNS]
        rows = [self.row(header)]
        fmt = self.fmt
        for call in self.data.calls:
            values = {
                "col_time": f"{fmt.short_date(call.started_at)} {fmt.time(call.started_at)}",
                "col_number": call.number,
                "col_destination": call.destination,
                "col_duration": fmt.duration(call.duration_seconds),
                "col_rate": fmt.money(call.rate_per_minute),
                "col_price": fmt.money(call.price),
            }
            rows.append(self.row([self.cell(values[key], room[key], figure=key in _FIGURES)
                                  for key in _COLUMNS]))
        ordered = self.row(_COLUMNS)
        table = Table(rows, colWidths=[widths[key] for key in ordered], repeatRows=1)
        style: list[tuple[Any, ...]] = [
            ("FONTNAME", (0, 0), (-1, -1), itext.LATIN),
            ("FONTNAME", (0, 0), (-1, 0), itext.LATIN_BOLD),
            ("FONTSIZE", (0, 0), (-1, -1), TABLE_SIZE),
            ("LEADING", (0, 0), (-1, -1), TABLE_SIZE * 1.3),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LEFTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
            ("RIGHTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ("BACKGROUND", (0, 0), (-1, 0), SHADE),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, GRID),
            ("ALIGN", (0, 0), (-1, -1), "RIGHT" if self.rtl else "LEFT"),
        ]
        for index, key in enumerate(ordered):
            if key in _FIGURES:
                style.append(("ALIGN", (index, 0), (index, -1), "LEFT" if self.rtl else "RIGHT"))
        table.setStyle(TableStyle(style))
        return table

    def totals_table(self) -> Table:
        data, fmt = self.data, self.fmt
        totals = data.totals
        rows: list[tuple[str, str, bool]] = []
        if totals.rate:
            rows.append((self.label("net"), fmt.money(totals.net), False))
            rows.append((self.label("vat", rate=fmt.percent(totals.rate)), fmt.money(totals.vat),
                         False))
        rows.append((self.label("total"), fmt.money(totals.gross), True))
        rows.append((self.label("received"), fmt.money(data.received), False))
        rows.append((self.label("change"), fmt.money(data.change), False))
        label_width, value_width = 62 * mm, 32 * mm
        cells = [self.row([self.para(label, "body", bold=strong, available=label_width),
                           self.para(value, "body_end", bold=strong, available=value_width)])
                 for label, value, strong in rows]
        table = Table(cells, colWidths=self.row([label_width, value_width]),
                      hAlign="LEFT" if self.rtl else "RIGHT")
        total_row = len(rows) - 3
        table.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LINEABOVE", (0, total_row), (-1, total_row), 0.8, colors.black),
            ("LINEBELOW", (0, total_row), (-1, total_row), 0.8, colors.black),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]))
        return table

    def page_decoration(self, canvas: Canvas, document: SimpleDocTemplate) -> None:
        text = self.label("page", page=str(canvas.getPageNumber()))
        if self.data.number:
            text = f"{self.data.number} · {text}"
        paragraph = self.para(text, "page", available=CONTENT_WIDTH)
        _, height = paragraph.wrap(CONTENT_WIDTH, MARGIN)
        paragraph.drawOn(canvas, MARGIN, MARGIN / 2 + height / 2)

    # assembly ----------------------------------------------------------------
    def story(self) -> list[Flowable]:
        story: list[Flowable] = []
        if self.data.training:
            story += [self.para(self.label("training"), "training", bold=True),
                      Spacer(1, 3 * mm)]
        story += self.header()
        story += [Spacer(1, 7 * mm), self.calls_table(), Spacer(1, 5 * mm),
                  self.totals_table()]
        if self.data.footer.strip():
            story += [Spacer(1, 8 * mm), self.para(self.data.footer, "footer")]
        return story

    def render(self) -> bytes:
        buffer = io.BytesIO()
        title = self.data.number or self.label("receipt")
        document = SimpleDocTemplate(
            buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
            bottomMargin=MARGIN + 4 * mm, title=title, author=self.data.shop.name,
            subject=self.label("invoice"), creator="cashdesk", lang=self.data.language,
            invariant=True)
        document.build(self.story(), onFirstPage=self.page_decoration,
                       onLaterPages=self.page_decoration)
        return buffer.getvalue()
