"""Reading back what an invoice PDF says, with pypdf, and rendering it to PNG."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})


def pdf_lines(pdf: bytes) -> list[str]:
    """Every text line of every page, stripped, with Babel's special spaces made plain."""
    reader = PdfReader(io.BytesIO(pdf))
    lines = []
    for page in reader.pages:
        for line in page.extract_text().translate(_SPACES).splitlines():
            if line.strip():
                lines.append(" ".join(line.split()))
    return lines


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def find_run(lines: list[str], run: list[str], start: int = 0) -> int:
    """Index where `run` appears as consecutive lines at or after `start`, or -1."""
    for index in range(start, len(lines) - len(run) + 1):
        if lines[index:index + len(run)] == run:
            return index
    return -1


def screenshot(pdf: bytes, name: str, *, page: int = 1, dpi: int = 110) -> Path:
    """Page `page` of `pdf` as artifacts/screenshots/<name>.png, with poppler's pdftoppm.

    Skips when pdftoppm is missing (Debian: poppler-utils), except in CI where a
    missing tool is a failure."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("pdftoppm (poppler-utils) is required in CI to render invoices")
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / name
    subprocess.run([tool, "-png", "-r", str(dpi), "-f", str(page), "-l", str(page),
                    "-singlefile", "-", str(target)], input=pdf, check=True, timeout=60)
    return target.with_suffix(".png")
