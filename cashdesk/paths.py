"""Where the cash desk keeps its files on each OS (platformdirs)."""

from __future__ import annotations

from pathlib import Path

from platformdirs import PlatformDirs

APP = PlatformDirs(appname="cashdesk", appauthor="Cashdesk")


def data_dir() -> Path:
    return Path(APP.user_data_dir)


def config_dir() -> Path:
    return Path(APP.user_config_dir)


def log_dir() -> Path:
    return Path(APP.user_log_dir)


def default_database_path() -> Path:
    return data_dir() / "cashdesk.sqlite3"


def default_database_url() -> str:
    return f"sqlite:///{default_database_path()}"
