"""`cashdesk-server init`: a new database with a first callshop and its admin."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from sqlalchemy import func, select

from cashdesk.auth.passwords import WeakPassword, check_strength
from cashdesk.cli.common import CliError, add_db_option, database_url, open_database
from cashdesk.clock import SystemClock
from cashdesk.shops import ShopError, create_callshop, create_reseller
from cashdesk.store.database import session_factory
from cashdesk.store.models import Callshop
from cashdesk.users import UserError

PASSWORD_ENV = "CASHDESK_ADMIN_PASSWORD"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "init", help="create the database with a first callshop and its admin",
        description="Create (or migrate) the database and add a first callshop with its "
                    "admin. The password is asked for, unless given by --admin-password "
                    f"or ${PASSWORD_ENV} (for scripts).")
    add_db_option(parser)
    parser.add_argument("--shop", default="My callshop", help="the callshop's name")
    parser.add_argument("--currency", default="EUR", help="ISO 4217 code (default EUR)")
    parser.add_argument("--locale", default="en", help="e.g. en, fr_FR, ar_MA")
    parser.add_argument("--timezone", default="UTC", help="e.g. Europe/Paris")
    parser.add_argument("--reseller", default="Own account",
                        help="the reseller the shop buys airtime from")
    parser.add_argument("--admin", default="admin", help="the admin's username")
    parser.add_argument("--admin-password", default=None,
                        help="the admin's password (prefer the prompt or the environment)")
    parser.add_argument("--training", action="store_true",
                        help="a training shop: its calls never touch a real balance")
    parser.set_defaults(handler=run)


def _password(args: argparse.Namespace) -> str:
    password = args.admin_password or os.environ.get(PASSWORD_ENV)
    if password is None:
        if not sys.stdin.isatty():
            raise CliError(f"no admin password: pass --admin-password or set {PASSWORD_ENV}")
        password = getpass.getpass(f"Password for {args.admin}: ")
        if getpass.getpass("Again: ") != password:
            raise CliError("the two passwords differ")
    try:
        check_strength(password)
    except WeakPassword as exc:
        raise CliError(str(exc)) from None
    return password


def run(args: argparse.Namespace) -> int:
    password = _password(args)
    engine = open_database(args)
    clock = SystemClock()
    try:
        with session_factory(engine).begin() as session:
            if session.scalar(select(func.count()).select_from(Callshop)):
                raise CliError(f"{database_url(args)} already has a callshop; "
                               "add more from the reseller's screens")
            reseller = create_reseller(session, clock, name=args.reseller,
                                       currency=args.currency)
            created = create_callshop(session, clock, reseller, name=args.shop,
                                      currency=args.currency, admin_username=args.admin,
                                      admin_password=password, locale=args.locale,
                                      timezone=args.timezone, training=args.training)
            shop_id = created.callshop.id
    except (ShopError, UserError) as exc:
        raise CliError(str(exc)) from None
    finally:
        engine.dispose()
    print(f"Created callshop {args.shop!r} (id {shop_id}) with admin {args.admin!r} "
          f"in {database_url(args)}")
    return 0
