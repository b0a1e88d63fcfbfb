"""What the subcommands share: the database option and opening it."""

from __future__ import annotations

import argparse
import os

from sqlalchemy import Engine

from cashdesk.paths import default_database_url
from cashdesk.store.database import open_engine, upgrade

DB_ENV = "CASHDESK_DB"


class CliError(Exception):
    """A problem the user can fix; printed as one line, without a traceback."""


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", default=None,
                        help=f"database URL (default: ${DB_ENV}, else SQLite in the "
                             f"user's data directory: {default_database_url()})")


def database_url(args: argparse.Namespace) -> str:
    return args.db or os.environ.get(DB_ENV) or default_database_url()


def open_database(args: argparse.Namespace) -> Engine:
    """Open and migrate the database named by the arguments."""
    engine = open_engine(database_url(args))
    upgrade(engine)
    return engine
