"""`cashdesk-server kamailio-config`: render Kamailio's configuration for the cabins.

It also creates the subscriber database the config points at (Kamailio's auth_db
refuses to start without its tables); the cabins' credentials are written there by
the server when cabins are provisioned.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cashdesk.cli.common import CliError
from cashdesk.pbx.kamailio.config import (
    DEFAULT_AUTH_TIMEOUT_MS,
    DEFAULT_MAX_SECONDS,
    DEFAULT_PIKE_DENSITY,
    DEFAULT_REALM,
    ConfigError,
    HostPort,
    KamailioSettings,
    render_config,
)
from cashdesk.pbx.kamailio.subscribers import SubscriberTable


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "kamailio-config", help="render the Kamailio configuration for the cabins",
        description="Write a Kamailio 5.6 configuration: cabins register and call with "
                    "digest auth, every call is authorised by the sync server over evapi "
                    "(503 when it is away), call events go back to it, and it can cut "
                    "calls. Addresses are IPv4:PORT.")
    parser.add_argument("--listen", required=True, metavar="IP:PORT",
                        help="the cabins' SIP socket (UDP)")
    parser.add_argument("--carrier", required=True, metavar="IP:PORT",
                        help="the SIP trunk allowed calls go to")
    parser.add_argument("--evapi", default="127.0.0.1:8448", metavar="IP:PORT",
                        help="where the sync server connects (default 127.0.0.1:8448)")
    parser.add_argument("--subscriber-db", required=True, type=Path, metavar="PATH",
                        help="SQLite file with the cabins' credentials (created if missing)")
    parser.add_argument("--run-dir", required=True, type=Path, metavar="DIR",
                        help="Kamailio's runtime directory (pid file, control sockets)")
    parser.add_argument("--realm", default=DEFAULT_REALM, help="digest realm")
    parser.add_argument("--auth-timeout-ms", type=int, default=DEFAULT_AUTH_TIMEOUT_MS,
                        help="how long a call waits for the server's authorisation")
    parser.add_argument("--default-max-seconds", type=int, default=DEFAULT_MAX_SECONDS,
                        help="a call's backstop when the server gives none")
    parser.add_argument("--pike-density", type=int, default=DEFAULT_PIKE_DENSITY,
                        help="requests per 2 s from one address before it is blocked")
    parser.add_argument("--children", type=int, default=4, help="SIP worker processes")
    parser.add_argument("--async-workers", type=int, default=2,
                        help="processes that resume INVITEs with the server's answers")
    parser.add_argument("--log-level", type=int, default=2,
                        help="Kamailio debug level (1 notice, 2 info, 3 debug)")
    parser.add_argument("-o", "--output", default="-", metavar="FILE",
                        help="where to write the config (default: standard output)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = KamailioSettings(
            listen=HostPort.parse(args.listen, what="--listen"),
            carrier=HostPort.parse(args.carrier, what="--carrier"),
            evapi=HostPort.parse(args.evapi, what="--evapi"),
            subscriber_db=args.subscriber_db.resolve(),
            run_dir=args.run_dir.resolve(),
            realm=args.realm,
            auth_timeout_ms=args.auth_timeout_ms,
            default_max_seconds=args.default_max_seconds,
            pike_density=args.pike_density,
            children=args.children,
            async_workers=args.async_workers,
            log_level=args.log_level)
        text = render_config(settings)
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    SubscriberTable(settings.subscriber_db, realm=settings.realm).create()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Wrote {args.output} (SIP {settings.listen}, carrier {settings.carrier}, "
              f"evapi {settings.evapi})", file=sys.stderr)
    return 0
