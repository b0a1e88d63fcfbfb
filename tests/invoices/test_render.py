"""The renderer on its own: same data, same bytes, also from several threads at once
(the server may render in an executor)."""

from __future__ import annotations

import dataclasses
import io
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from cashdesk.invoices import InvoiceData, render_invoice_pdf
from tests.invoices.pdftext import pdf_lines
from tests.invoices.test_data import sample


def with_logo() -> InvoiceData:
    picture = io.BytesIO()
    Image.new("RGB", (240, 90), (200, 40, 40)).save(picture, format="PNG")
    data = sample()
    return dataclasses.replace(data, shop=dataclasses.replace(data.shop,
                                                              logo=picture.getvalue()))


def test_rendering_is_deterministic_and_thread_safe():
    # reportlab's font subsetting is not thread-safe by itself: the renderer serialises.
    documents = [dataclasses.replace(with_logo(), language=language, locale=locale,
                                     number=f"INV-2026-{n:06d}")
                 for n, (language, locale) in enumerate(
                     [("en", "en"), ("ar", "ar_MA"), ("fr", "fr_FR"), ("ur", "ur_PK")] * 2)]
    one_by_one = [render_invoice_pdf(data) for data in documents]
    with ThreadPoolExecutor(8) as pool:
        at_once = list(pool.map(render_invoice_pdf, documents))
    assert at_once == one_by_one
    assert render_invoice_pdf(documents[0]) == one_by_one[0]


def test_a_receipt_without_number_and_a_long_arabic_footer_wraps():
    footer = " ".join(["شكرا لزيارتكم، نتمنى لكم يوما سعيدا"] * 12)
    data = dataclasses.replace(with_logo(), number="", footer=footer)
    lines = pdf_lines(render_invoice_pdf(data))
    assert "INV-" not in "\n".join(lines)
    footer_lines = [line for line in lines if "ﺷﻜﺮﺍ" in line or "ﻟﺰﻳﺎﺭﺗﻜﻢ" in line]
    assert len(footer_lines) >= 2  # wrapped, each line reordered by itself
