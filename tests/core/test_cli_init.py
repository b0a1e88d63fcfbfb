"""`cashdesk-server init`: a database with a first shop and admin, in one command."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import select

from cashdesk.cli import main
from cashdesk.store.database import open_engine, session_factory
from cashdesk.store.models import Callshop
from cashdesk.users import authenticate


def test_init_creates_shop_and_admin(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    assert main(["init", "--db", url, "--shop", "Chez Ali", "--currency", "EUR",
                 "--locale", "fr_FR", "--timezone", "Europe/Paris", "--admin", "ali",
                 "--admin-password", "s3cret-pass"]) == 0
    assert "Chez Ali" in capsys.readouterr().out
    engine = open_engine(url)
    with session_factory(engine)() as session:
        shop = session.scalars(select(Callshop)).one()
        assert (shop.name, shop.currency, shop.locale) == ("Chez Ali", "EUR", "fr_FR")
        assert authenticate(session, "ali", "s3cret-pass") is not None
    engine.dispose()


def test_init_twice_is_refused_clearly(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    args = ["init", "--db", url, "--admin-password", "s3cret-pass"]
    assert main(args) == 0
    assert main(args) == 2
    assert "already has a callshop" in capsys.readouterr().err


def test_init_refuses_weak_password_and_leaves_no_shop(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    assert main(["init", "--db", url, "--admin-password", "short"]) == 2
    assert "at least 8" in capsys.readouterr().err
    assert not (tmp_path / "shop.sqlite3").exists()  # refused before touching anything


def test_init_uses_the_user_data_directory_by_default(tmp_path):
    # platformdirs follows XDG_DATA_HOME on Linux: point it at a temporary directory.
    env = {"XDG_DATA_HOME": str(tmp_path), "CASHDESK_ADMIN_PASSWORD": "s3cret-pass",
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "cashdesk.cli", "init"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cashdesk" / "cashdesk.sqlite3").exists()


def test_init_without_password_and_no_terminal_says_how(tmp_path):
    result = subprocess.run([sys.executable, "-m", "cashdesk.cli", "init", "--db",
                             f"sqlite:///{tmp_path / 'x.sqlite3'}"],
                            capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, timeout=120)
    assert result.returncode == 2
    assert "--admin-password" in result.stderr
