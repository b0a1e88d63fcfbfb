"""The dependency direction DESIGN.md fixes: ui → server_client → (network) → cashdesk.

`cashdesk/` and `server_client/` never import Qt; `ui/` never imports the server or
the database. Checked both by importing every module in a fresh interpreter and by
reading the import statements.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "shiboken6")


def _modules(package: str) -> list[str]:
    names = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts or path.name == "__main__.py":
            continue  # run by Alembic or as a program, not imported
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_core_and_client_import_no_qt_at_runtime():
    modules = _modules("cashdesk") + _modules("server_client")
    assert len(modules) > 10
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {QT!r})\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"Qt modules loaded: {result.stdout}"


def test_core_and_client_sources_name_no_qt():
    for package in ("cashdesk", "server_client"):
        for path in (ROOT / package).rglob("*.py"):
            offending = {name for name in _imports(path) if name.split(".")[0] in QT}
            assert not offending, f"{path.relative_to(ROOT)} imports {offending}"


def test_ui_reaches_the_server_only_through_the_client():
    forbidden = ("cashdesk.server", "cashdesk.store", "sqlalchemy", "aiohttp")
    for path in (ROOT / "ui").rglob("*.py"):
        bad = {name for name in _imports(path) if name.startswith(forbidden)}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_client_does_not_import_the_server():
    for path in (ROOT / "server_client").rglob("*.py"):
        bad = {name for name in _imports(path) if name.startswith("cashdesk.server")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
