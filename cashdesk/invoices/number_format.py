"""How an invoice number is printed, apart from how it is taken (`numbering.py`): a
pure function, so the desk's settings form can preview the next number exactly as the
server will print it without loading the database layer."""

from __future__ import annotations


def format_invoice_number(sequence: int, *, prefix: str, with_year: bool, padding: int,
                          year: int) -> str:
    """`INV-2026-000042` from prefix `INV-`, the year, and `sequence` padded to 6 digits."""
    digits = f"{sequence:0{max(0, min(padding, 20))}d}"
    return f"{prefix}{year}-{digits}" if with_year else f"{prefix}{digits}"
