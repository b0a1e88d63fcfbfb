"""The translations: every text of ui/ is in every language, complete, with the same
placeholders, accelerators and plural forms as the code.

When one of these fails after a text was added or changed in ui/, run
`python3 bootstrap.py translations` (it collects the texts into
resources/translations/*.ts), translate what it marks unfinished (pyside6-linguist,
or by hand), and run this again.
"""

from __future__ import annotations

import ast
import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gui.conftest import ROOT, TRANSLATIONS, qt_tool

#: The languages a cashier can choose, and how many plural forms Qt gives each
#: (French: 0-1 / more; Spanish: 1 / other; Arabic: 0, 1, 2, 3-10, 11-99, 100-102…).
PLURAL_FORMS = {"fr": 2, "es": 2, "ar": 6}
#: Arabic says 0, 1 and 2 of something with words ("كابينتان": two cabins), so those
#: forms may leave %n out; every other form of every language shows the number.
WORD_FORMS = {"ar": {0, 1, 2}}
HOW_TO_FIX = ("run `python3 bootstrap.py translations`, then translate what it marks "
              "unfinished in resources/translations/cashdesk_<language>.ts")
PLACEHOLDER = re.compile(r"%(?:L?[1-9]|L?n)")
UI = ROOT / "ui"


@dataclass(frozen=True)
class Message:
    context: str
    source: str
    comment: str
    numerus: bool
    kind: str                  # "" (finished), "unfinished", "vanished", "obsolete"
    forms: tuple[str, ...]     # the translation, or its plural forms

    @property
    def key(self) -> tuple[str, str, str]:
        return self.context, self.source, self.comment

    def where(self) -> str:
        return f"[{self.context}] {self.source!r}"


def read_ts(path: Path) -> tuple[str, list[Message]]:
    root = ET.parse(path).getroot()
    messages = []
    for context in root.iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            translation = message.find("translation")
            assert translation is not None, f"{path.name}: a message without <translation>"
            numerus = message.get("numerus") == "yes"
            forms = tuple(form.text or "" for form in translation.iter("numerusform")) \
                if numerus else (translation.text or "",)
            messages.append(Message(name, message.findtext("source") or "",
                                    message.findtext("comment") or "", numerus,
                                    translation.get("type", ""), forms))
    return root.get("language", ""), messages


def placeholders(text: str) -> list[str]:
    return sorted(p for p in PLACEHOLDER.findall(text) if not p.endswith("n"))


def accelerators(text: str) -> int:
    return len(re.findall(r"&(?!&)", text.replace("&&", "")))


@pytest.fixture(scope="module")
def code_texts(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, str], bool]:
    """Every tr()/translate() text of ui/, as Qt's own extractor (pyside6-lupdate) sees
    it: (context, source, comment) → plural."""
    target = tmp_path_factory.mktemp("lupdate") / "code.ts"
    sources = sorted(str(path) for path in UI.rglob("*.py"))
    subprocess.run([qt_tool("pyside6-lupdate"), "-silent", "-locations", "none", *sources,
                    "-ts", str(target)], check=True)
    _, messages = read_ts(target)
    assert len(messages) > 150, "pyside6-lupdate found almost nothing in ui/"
    return {message.key: message.numerus for message in messages}


# --- complete -------------------------------------------------------------------------

@pytest.mark.parametrize("language", sorted(PLURAL_FORMS))
def test_every_message_is_translated(language):
    path = TRANSLATIONS / f"cashdesk_{language}.ts"
    declared, messages = read_ts(path)
    assert declared == language, f"{path.name} says language={declared!r}"
    problems = []
    for message in messages:
        if message.kind:
            problems.append(f"{message.where()} is {message.kind}")
        elif not all(form.strip() for form in message.forms):
            problems.append(f"{message.where()} has an empty translation")
        elif message.numerus and len(message.forms) != PLURAL_FORMS[language]:
            problems.append(f"{message.where()} has {len(message.forms)} plural forms, "
                            f"{language} needs {PLURAL_FORMS[language]}")
    assert not problems, f"{path.name}: " + "; ".join(problems) + f" — {HOW_TO_FIX}"


@pytest.mark.parametrize("language", sorted(PLURAL_FORMS))
def test_placeholders_and_accelerators_match_the_source(language):
    _, messages = read_ts(TRANSLATIONS / f"cashdesk_{language}.ts")
    problems = []
    for message in messages:
        for index, form in enumerate(message.forms):
            if placeholders(form) != placeholders(message.source):
                problems.append(f"{message.where()}: {form!r} has {placeholders(form)}, "
                                f"the source {placeholders(message.source)}")
            if message.numerus and "%n" not in form and "%Ln" not in form and \
                    index not in WORD_FORMS.get(language, set()):
                problems.append(f"{message.where()}: plural form {index} {form!r} lacks %n")
            if not message.numerus and "%n" in form:
                problems.append(f"{message.where()}: {form!r} has %n but is not plural")
            if accelerators(form) != accelerators(message.source):
                problems.append(f"{message.where()}: {form!r} has {accelerators(form)} "
                                f"&-accelerator(s), the source {accelerators(message.source)}")
            if form.count("\n") != message.source.count("\n"):
                problems.append(f"{message.where()}: {form!r} breaks lines differently")
    assert not problems, "\n".join(problems)


def test_english_has_its_plural_forms():
    """English is the source language: its .ts holds only the plural texts, so that
    the header says "1 cabin" and "12 cabins", never "12 cabin(s)"."""
    declared, messages = read_ts(TRANSLATIONS / "cashdesk_en.ts")
    assert declared == "en"
    problems = [f"{m.where()}: {m.forms}" for m in messages
                if m.kind or len(m.forms) != 2 or not all("%n" in f for f in m.forms)]
    assert not problems, "; ".join(problems) + f" — {HOW_TO_FIX}"


# --- in step with the code ------------------------------------------------------------------

@pytest.mark.parametrize("language", [*sorted(PLURAL_FORMS), "en"])
def test_every_text_of_the_code_is_in_the_translations(language, code_texts):
    _, messages = read_ts(TRANSLATIONS / f"cashdesk_{language}.ts")
    have = {message.key: message.numerus for message in messages}
    wanted = {key: plural for key, plural in code_texts.items()
              if language != "en" or plural}
    missing = [f"[{key[0]}] {key[1]!r}" for key in wanted if key not in have]
    assert not missing, (f"cashdesk_{language}.ts lacks {len(missing)} text(s) of ui/: "
                         + "; ".join(sorted(missing)) + f" — {HOW_TO_FIX}")
    plural_differs = [f"[{key[0]}] {key[1]!r}" for key, plural in wanted.items()
                      if have[key] != plural]
    assert not plural_differs, f"plural in the code but not in the .ts: {plural_differs}"


def _text_argument(call: ast.Call) -> ast.expr | None:
    """The argument that holds the source text: tr(text, …), translate(context, text, …)."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    index = {"tr": 0, "translate": 1}.get(name)
    if index is None or len(call.args) <= index:
        return None
    return call.args[index]


def test_texts_are_written_where_lupdate_can_see_them():
    """tr("…") and QCoreApplication.translate("Context", "…") with the text itself:
    a text passed through a variable or a helper (`_tr(text)`) never reaches the
    .ts files, so it is never translated."""
    hidden = []
    for path in sorted(UI.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "translate" and \
                    not (isinstance(func.value, ast.Name) and
                         func.value.id in ("QCoreApplication", "QApplication")):
                continue  # QPainter.translate(x, y) and the like
            text = _text_argument(node)
            if text is not None and not (isinstance(text, ast.Constant)
                                         and isinstance(text.value, str)):
                hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not hidden, ("texts passed to tr()/translate() through a variable, invisible "
                        "to pyside6-lupdate (write the text in the call): " + ", ".join(hidden))
