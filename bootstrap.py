#!/usr/bin/env python3
"""Set up and run the cash desk, or its whole test suite, on a fresh machine.

    python3 bootstrap.py start [--demo]    # set up, then start the cash desk
    python3 bootstrap.py test [PYTEST ARGS] # set up everything, then run every test
    python3 bootstrap.py translations       # collect ui/'s tr() texts into the .ts files

On Windows use `py` instead of `python3`. Only the standard library is used here:
this file runs before anything is installed. It creates `.venv/` beside itself,
installs the project into it, installs the system packages the tests need on
Debian/Ubuntu (when run as root, or through sudo), and then runs the real thing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
MIN_PYTHON = (3, 11)

# Debian/Ubuntu packages. Qt's runtime libraries are needed to open any window (and by
# the offscreen tests); the rest are the real components the tests run against.
QT_RUNTIME = ["libgl1", "libegl1", "libxkbcommon0", "libfontconfig1", "libdbus-1-3"]
TEST_SYSTEM_PACKAGES = QT_RUNTIME + [
    "postgresql",                      # storage tests run on PostgreSQL too
    "kamailio", "kamailio-extra-modules", "kamailio-json-modules",
    "kamailio-sqlite-modules",         # the SIP switch, for end-to-end tests
    "sip-tester",                      # SIPp: cabin phones and the carrier
    "poppler-utils",                   # pdftoppm: invoice pages rendered to PNG
]


def say(message: str) -> None:
    print(f"[bootstrap] {message}", flush=True)


def fail(message: str) -> None:
    print(f"[bootstrap] error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def venv_python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


# --- system packages --------------------------------------------------------------

def _is_debian() -> bool:
    return sys.platform.startswith("linux") and shutil.which("apt-get") is not None \
        and shutil.which("dpkg-query") is not None


def _missing_debs(packages: list[str]) -> list[str]:
    missing = []
    for package in packages:
        result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                                capture_output=True, text=True)
        if "install ok installed" not in result.stdout:
            missing.append(package)
    return missing


def _available_debs(packages: list[str]) -> list[str]:
    """The packages this system's archive has (kamailio is not in every Ubuntu)."""
    available = []
    for package in packages:
        result = subprocess.run(["apt-cache", "show", package],
                                capture_output=True, text=True)
        if result.returncode == 0 and result.stdout.strip():
            available.append(package)
    return available


def ensure_debs(packages: list[str], *, why: str) -> None:
    if not _is_debian():
        return
    missing = _missing_debs(packages)
    if not missing:
        return
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    prefix = [] if as_root else ["sudo"]
    if not as_root and shutil.which("sudo") is None:
        say(f"missing {', '.join(missing)} ({why}); install them as root, then run again")
        return
    say(f"installing {', '.join(missing)} ({why})")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(prefix + ["apt-get", "update", "-qq"], check=True, env=env)
    installable = _available_debs(missing)
    if skipped := sorted(set(missing) - set(installable)):
        say(f"not in this system's archive: {', '.join(skipped)}")
    if installable:
        # --no-install-recommends keeps kamailio from starting services we don't need.
        subprocess.run(prefix + ["apt-get", "install", "-y", "-qq",
                                 "--no-install-recommends", *installable],
                       check=True, env=env, stdout=subprocess.DEVNULL)
    _stop_packaged_services()


def _stop_packaged_services() -> None:
    # Debian starts kamailio and postgresql as services on install; the tests run their
    # own instances on their own ports, so the packaged ones only take ports and CPU.
    if shutil.which("systemctl") is None and shutil.which("service") is None:
        return
    for service in ("kamailio",):
        command = (["systemctl", "stop", service] if shutil.which("systemctl")
                   else ["service", service, "stop"])
        subprocess.run(command, capture_output=True)


# --- Python environment -----------------------------------------------------------

def ensure_python() -> None:
    if sys.version_info < MIN_PYTHON:
        fail(f"Python {'.'.join(map(str, MIN_PYTHON))} or newer is needed "
             f"(this is {sys.version.split()[0]})")


def ensure_venv() -> None:
    if venv_python().exists():
        return
    say(f"creating {VENV}")
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    except (subprocess.CalledProcessError, OSError):
        # Debian/Ubuntu ship venv's pip bootstrap separately.
        shutil.rmtree(VENV, ignore_errors=True)
        ensure_debs([f"python{sys.version_info[0]}.{sys.version_info[1]}-venv"],
                    why="to create a virtual environment")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)


def ensure_project(extras: str) -> None:
    """Install the project (editable) with `extras`, once per change of pyproject.toml."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode())
    stamp = VENV / f".installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    say(f"installing the project{f' with [{extras}]' if extras else ''} into .venv")
    python = str(venv_python())
    subprocess.run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    target = f".[{extras}]" if extras else "."
    subprocess.run([python, "-m", "pip", "install", "-q", "-e", target], check=True, cwd=ROOT)
    stamp.write_text(digest.hexdigest())


#: The cash desk's languages; English is the source language, its .ts holds only the
#: English plural forms ("1 cabin", "2 cabins").
TRANSLATED = ("fr", "es", "ar")
TRANSLATIONS = ROOT / "resources" / "translations"


def _venv_tool(name: str) -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / name


def update_translations() -> None:
    """Collect every tr() text of ui/ into resources/translations/cashdesk_*.ts
    (pyside6-lupdate keeps what is translated already; new texts come in unfinished,
    for Qt Linguist; texts gone from the code are dropped)."""
    sources = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "ui").rglob("*.py"))
    lupdate = str(_venv_tool("pyside6-lupdate"))
    common = ["-silent", "-locations", "none", "-no-obsolete", "-source-language", "en"]
    for language in TRANSLATED:
        subprocess.run([lupdate, *common, "-target-language", language, *sources, "-ts",
                        str(TRANSLATIONS / f"cashdesk_{language}.ts")], check=True, cwd=ROOT)
    subprocess.run([lupdate, *common, "-pluralonly", "-target-language", "en", *sources,
                    "-ts", str(TRANSLATIONS / "cashdesk_en.ts")], check=True, cwd=ROOT)


def build_translations() -> None:
    """Compile Qt Linguist sources (.ts) to .qm; they are build outputs, not committed."""
    translations = TRANSLATIONS
    sources = sorted(translations.glob("*.ts")) if translations.is_dir() else []
    if not sources:
        return
    lrelease = _venv_tool("pyside6-lrelease")
    for source in sources:
        target = source.with_suffix(".qm")
        if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
            continue
        subprocess.run([str(lrelease), "-silent", str(source), "-qm", str(target)], check=True)


# --- commands ---------------------------------------------------------------------

def start(args: list[str]) -> int:
    ensure_python()
    ensure_debs(QT_RUNTIME, why="Qt's runtime libraries")
    ensure_venv()
    ensure_project("")
    build_translations()
    return subprocess.call([str(venv_python()), "-m", "ui.app", *args], cwd=ROOT)


def test(args: list[str]) -> int:
    ensure_python()
    ensure_debs(TEST_SYSTEM_PACKAGES, why="the test suite's real components")
    ensure_venv()
    ensure_project("test")
    build_translations()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
    code = subprocess.call([str(venv_python()), "-m", "pytest", *args], cwd=ROOT, env=env)
    if code == 5:  # pytest: no tests collected; a suite that ran nothing has not passed
        say("no test ran")
        return 1
    return code


def translations(args: list[str]) -> int:
    ensure_python()
    ensure_venv()
    ensure_project("")
    update_translations()
    build_translations()
    say("resources/translations updated; translate what is unfinished with "
        "pyside6-linguist, then run the tests (tests/gui/test_translations.py)")
    return 0


COMMANDS = {"start": start, "test": test, "translations": translations}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
