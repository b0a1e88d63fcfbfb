"""Text for reportlab: bundled fonts, Arabic shaping, bidi order, font runs.

reportlab draws the characters it is given, left to right, one glyph per character:
Arabic comes out unjoined and backwards. So Arabic-script text is first shaped
(`arabic_reshaper` picks each letter's joined form) and then put into visual order
(`bidi.get_display`, the Unicode bidi algorithm), one printed line at a time, since
the order of a wrapped paragraph depends on where its lines break. The bidi control
marks Babel puts into Arabic numbers and dates are consumed by the algorithm and then
dropped, as the fonts have no glyph for some of them.

Noto Naskh Arabic has no Latin letters and Noto Sans no Arabic ones, so a line is cut
into runs, each in the font that has its characters.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import arabic_reshaper
from bidi import get_display
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

LATIN = "CashdeskSans"
LATIN_BOLD = "CashdeskSans-Bold"
ARABIC = "CashdeskNaskh"
ARABIC_BOLD = "CashdeskNaskh-Bold"

_FONT_FILES = {
    LATIN: "NotoSans-Regular.ttf",
    LATIN_BOLD: "NotoSans-Bold.ttf",
    ARABIC: "NotoNaskhArabic-Regular.ttf",
    ARABIC_BOLD: "NotoNaskhArabic-Bold.ttf",
}

# Arabic, Arabic Supplement, Arabic Extended-A, Presentation Forms A and B.
_ARABIC_RANGES = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF),
                  (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
# Hebrew too, for the bidi decision (it is drawn in the Latin font's fallback: none).
_RTL_RANGES = ((0x0590, 0x05FF), *_ARABIC_RANGES)
# Naskh's letters are small beside Noto Sans at the same point size.
ARABIC_SCALE = 1.15
_BIDI_MARKS = "\u200e\u200f\u061c"
_BIDI_CONTROLS = _BIDI_MARKS + "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_DROP_CONTROLS = {ord(c): None for c in _BIDI_CONTROLS}


def fonts_dir() -> Path:
    """`resources/fonts` of the source tree, or of the PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    root = Path(bundle) if bundle else Path(__file__).resolve().parents[2]
    return root / "resources" / "fonts"


@lru_cache(maxsize=1)
def register_fonts() -> None:
    """Load the bundled TTFs into reportlab once per process (parsing takes ~50 ms)."""
    directory = fonts_dir()
    for name, filename in _FONT_FILES.items():
        path = directory / filename
        if not path.is_file():
            raise FileNotFoundError(f"invoice font missing: {path}")
        pdfmetrics.registerFont(TTFont(name, str(path)))
    # So <b> inside a paragraph picks the bold face of either family.
    for regular, bold in ((LATIN, LATIN_BOLD), (ARABIC, ARABIC_BOLD)):
        addMapping(regular, 0, 0, regular)
        addMapping(regular, 1, 0, bold)
        addMapping(regular, 0, 1, regular)
        addMapping(regular, 1, 1, bold)


def _in(ranges: tuple[tuple[int, int], ...], char: str) -> bool:
    code = ord(char)
    return any(start <= code <= end for start, end in ranges)


def is_arabic(char: str) -> bool:
    return _in(_ARABIC_RANGES, char)


def has_arabic(text: str) -> bool:
    return any(_in(_ARABIC_RANGES, c) for c in text)


def needs_bidi(text: str) -> bool:
    """Whether `text` has right-to-left letters or marks that change its order."""
    return any(_in(_RTL_RANGES, c) or c in _BIDI_MARKS for c in text)


@lru_cache(maxsize=4096)
def visual(line: str, *, right_to_left: bool) -> str:
    """One printed line, shaped and in the order the glyphs are drawn, left to right.

    `right_to_left` is the paragraph's direction (the document's), which decides
    where neutral characters and mixed runs go.
    """
    if not needs_bidi(line):
        return line.translate(_DROP_CONTROLS)
    shaped = arabic_reshaper.reshape(line)
    ordered = get_display(shaped, base_dir="R" if right_to_left else "L")
    return ordered.translate(_DROP_CONTROLS)


def runs(line: str) -> list[tuple[bool, str]]:
    """`line` cut into (is_arabic, text) runs; spaces and digits join the current run."""
    result: list[tuple[bool, str]] = []
    for char in line:
        arabic = is_arabic(char)
        if result and (arabic == result[-1][0] or char == " "):
            result[-1] = (result[-1][0], result[-1][1] + char)
        else:
            result.append((arabic, char))
    return result


def markup(line: str, size: float) -> str:
    """A visual-order line as reportlab paragraph markup, Arabic runs in the Naskh font
    (`size` is the paragraph's; Arabic runs are made a little larger)."""
    parts = []
    for arabic, text in runs(line):
        if arabic:
            parts.append(f'<font face="{ARABIC}" size="{size * ARABIC_SCALE:.2f}">'
                         f'{escape(text)}</font>')
        else:
            parts.append(escape(text))
    return "".join(parts)


def width(line: str, size: float, *, bold: bool = False) -> float:
    """Printed width in points of a visual-order line."""
    latin, arabic = (LATIN_BOLD, ARABIC_BOLD) if bold else (LATIN, ARABIC)
    return sum(pdfmetrics.stringWidth(text, arabic, size * ARABIC_SCALE) if is_ar
               else pdfmetrics.stringWidth(text, latin, size)
               for is_ar, text in runs(line))


def wrap(text: str, available: float, size: float, *, right_to_left: bool,
         bold: bool = False) -> list[str]:
    """`text` broken into printed lines that fit `available` points, each in visual order.

    Lines break between words in logical (typed) order, then each line is reordered
    by itself, which is how a reader of Arabic expects a wrapped paragraph to read.
    A word longer than a line stays whole (it overflows rather than splitting a word).
    """
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        whole = visual(paragraph, right_to_left=right_to_left)
        if width(whole, size, bold=bold) <= available:
            lines.append(whole)
            continue
        words = paragraph.split()
        current: list[str] = []
        for word in words:
            candidate = " ".join([*current, word])
            if current and width(visual(candidate, right_to_left=right_to_left), size,
                                 bold=bold) > available:
                lines.append(visual(" ".join(current), right_to_left=right_to_left))
                current = [word]
            else:
                current.append(word)
        lines.append(visual(" ".join(current), right_to_left=right_to_left))
    return lines
