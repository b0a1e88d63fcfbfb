"""`cashdesk-server asterisk-config`: write Asterisk's configuration for the cabins.

`pjsip.conf` gets one endpoint per cabin in the database (digest auth by the HA1 the
cash desk stores), `extensions.conf` the authorisation before `Dial()` and the time
limit, `manager.conf` the AMI user the bridge logs in as. Re-run it after adding
cabins or changing a cabin's SIP password, then `asterisk -rx "module reload
res_pjsip.so"`.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from sqlalchemy import select

from cashdesk.cli.common import CliError, add_db_option, open_database
from cashdesk.pbx.asterisk.config import (
    DEFAULT_AGI_PORT,
    DEFAULT_AMI_PORT,
    DEFAULT_AMI_USER,
    DEFAULT_CARRIER,
    DEFAULT_DIAL_TIMEOUT,
    DEFAULT_REALM,
    AsteriskConfigSettings,
    ConfigError,
    cabin_accounts,
    render_configs,
)
from cashdesk.pbx.asterisk.lifecycle import DEFAULT_CABIN_CONTEXT
from cashdesk.store.database import session_factory
from cashdesk.store.models import Cabin, Callshop

SECRET_ENV = "CASHDESK_AMI_SECRET"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "asterisk-config", help="write the Asterisk configuration for the cabins",
        description="Write pjsip.conf (the cabins from the database, digest auth by HA1, "
                    "and the carrier), extensions.conf (every call authorised by the cash "
                    "desk over FastAGI before Dial(), with its time limit) and manager.conf "
                    "(the AMI user of the cash desk). Addresses are IPv4.")
    add_db_option(parser)
    parser.add_argument("--shop", type=int, default=None, metavar="ID",
                        help="only this callshop's cabins (default: all)")
    parser.add_argument("--server-addr", default="127.0.0.1", metavar="IP",
                        help="the cash desk server's address as Asterisk sees it: the "
                             "FastAGI host and the one address allowed on the AMI "
                             "(default 127.0.0.1)")
    parser.add_argument("--agi-port", type=int, default=DEFAULT_AGI_PORT,
                        help=f"the cash desk's FastAGI port (default {DEFAULT_AGI_PORT})")
    parser.add_argument("--ami-bind", default="127.0.0.1", metavar="IP",
                        help="where Asterisk's AMI listens (default 127.0.0.1)")
    parser.add_argument("--ami-port", type=int, default=DEFAULT_AMI_PORT)
    parser.add_argument("--ami-user", default=DEFAULT_AMI_USER)
    parser.add_argument("--ami-secret", default=None,
                        help=f"the AMI secret (default: ${SECRET_ENV}, else a new random "
                             "one, printed once to standard error)")
    parser.add_argument("--sip-bind", default="0.0.0.0:5060", metavar="IP:PORT",
                        help="the cabins' SIP socket (default 0.0.0.0:5060)")
    parser.add_argument("--carrier", default=DEFAULT_CARRIER, metavar="NAME",
                        help="the carrier's endpoint name (default carrier)")
    parser.add_argument("--carrier-host", required=True, metavar="HOST[:PORT]",
                        help="the carrier's SIP address")
    parser.add_argument("--realm", default=DEFAULT_REALM,
                        help="the digest realm of cabins stored without one")
    parser.add_argument("--context", default=DEFAULT_CABIN_CONTEXT,
                        help=f"the cabins' dialplan context (default {DEFAULT_CABIN_CONTEXT})")
    parser.add_argument("--dial-timeout", type=int, default=DEFAULT_DIAL_TIMEOUT,
                        help="seconds a call may ring (default 60)")
    parser.add_argument("-o", "--output-dir", type=Path, default=None, metavar="DIR",
                        help="write the three files there (default: all to standard output)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite files that exist in the output directory")
    parser.set_defaults(handler=run)


def _cabins(args: argparse.Namespace) -> tuple[list[tuple[str, str, str, str]], int]:
    engine = open_database(args)
    try:
        with session_factory(engine)() as session:
            query = (select(Cabin.sip_username, Cabin.sip_realm, Cabin.sip_ha1, Cabin.name,
                            Callshop.name)
                     .join(Callshop, Callshop.id == Cabin.callshop_id)
                     .order_by(Cabin.callshop_id, Cabin.position, Cabin.name))
            if args.shop is not None:
                if session.get(Callshop, args.shop) is None:
                    raise CliError(f"no callshop with id {args.shop}")
                query = query.where(Cabin.callshop_id == args.shop)
            rows = [(user, realm, ha1, f"{cabin}, {shop}")
                    for user, realm, ha1, cabin, shop in session.execute(query)]
            return rows, len(rows)
    finally:
        engine.dispose()


def run(args: argparse.Namespace) -> int:
    secret = args.ami_secret or os.environ.get(SECRET_ENV)
    generated = secret is None
    if secret is None:
        secret = secrets.token_urlsafe(24)
    rows, total = _cabins(args)
    accounts, skipped = cabin_accounts(rows, args.realm)
    try:
        files = render_configs(AsteriskConfigSettings(
            ami_secret=secret, agi_host=args.server_addr, agi_port=args.agi_port,
            ami_bind=args.ami_bind, ami_port=args.ami_port, ami_user=args.ami_user,
            server_addr=args.server_addr, sip_bind=args.sip_bind, carrier=args.carrier,
            carrier_host=args.carrier_host, context=args.context,
            dial_timeout=args.dial_timeout, cabins=tuple(accounts)))
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    if args.output_dir is None:
        for name, text in files.items():
            sys.stdout.write(f";;;;;;;; {name} ;;;;;;;;\n{text}\n")
    else:
        args.output_dir.mkdir(parents=True, exist_ok=True)
        existing = [n for n in files if (args.output_dir / n).exists()]
        if existing and not args.force:
            raise CliError(f"{args.output_dir} already has {', '.join(existing)}; "
                           "pass --force to overwrite")
        for name, text in files.items():
            path = args.output_dir / name
            path.write_text(text, encoding="utf-8")
            if name == "manager.conf":
                path.chmod(0o600)   # it holds the AMI secret
        print(f"Wrote {', '.join(files)} to {args.output_dir} "
              f"({len(accounts)} of {total} cabin(s))", file=sys.stderr)
    if skipped:
        print(f"left out (no SIP password yet): {', '.join(skipped)}", file=sys.stderr)
    if generated:
        print(f"AMI user {args.ami_user!r}, new secret: {secret}\n"
              "Give the cash desk server the same user and secret.", file=sys.stderr)
    return 0
