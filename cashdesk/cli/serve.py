"""`cashdesk-server serve`: run the sync server until SIGTERM or Ctrl+C."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from cashdesk.cli.common import CliError
from cashdesk.server.config import (
    CONFIG_ENV,
    DEFAULT_HOST,
    DEFAULT_PORT,
    ENVIRONMENT,
    LOG_LEVELS,
    ConfigError,
    default_config_path,
    load_config,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    variables = ", ".join(sorted(ENVIRONMENT))
    parser = subparsers.add_parser(
        "serve", help="run the sync server",
        description="Run the sync server. Settings come from the config file, then the "
                    f"environment ({variables}), then these options, each overriding "
                    "the one before.")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help=f"TOML config file (default: ${CONFIG_ENV}, else "
                             f"{default_config_path()} if it exists)")
    parser.add_argument("--host", default=None,
                        help=f"address to listen on (default {DEFAULT_HOST}: this computer "
                             "only)")
    parser.add_argument("--port", type=int, default=None,
                        help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--db", default=None, metavar="URL",
                        help="database URL (default: SQLite in the user's data directory)")
    parser.add_argument("--tls-cert", type=Path, default=None, metavar="FILE",
                        help="TLS certificate chain (PEM); with --tls-key, serve HTTPS")
    parser.add_argument("--tls-key", type=Path, default=None, metavar="FILE",
                        help="the certificate's private key (PEM)")
    parser.add_argument("--allow-plain-http", action="store_true", default=None,
                        help="allow listening beyond this computer without TLS")
    parser.add_argument("--log-file", type=Path, default=None, metavar="FILE",
                        help="log file (rotated; default in the user's log directory)")
    parser.add_argument("--log-level", default=None, choices=LOG_LEVELS, type=str.upper)
    parser.add_argument("--pbx", default=None, metavar="KIND",
                        help="the PBX to bridge: none (default), training, kamailio, "
                             "asterisk; its settings are the file's [pbx.KIND] table")
    parser.add_argument("--demo", action="store_true", default=None,
                        help="training mode: a training shop (made if missing) where "
                             "simulated customers call; its logins are printed")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so `cashdesk-server init` does not load aiohttp.
    from cashdesk.server.process import serve

    try:
        config = load_config(path=args.config, overrides={
            "host": args.host, "port": args.port, "database_url": args.db,
            "tls_cert": args.tls_cert, "tls_key": args.tls_key,
            "allow_plain_http": args.allow_plain_http, "log_file": args.log_file,
            "log_level": args.log_level, "pbx": args.pbx, "demo": args.demo,
        })
        serve(config)
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot serve: {exc}") from None
    except SQLAlchemyError as exc:
        raise CliError(f"cannot open the database: {exc.__class__.__name__}: "
                       f"{str(exc).splitlines()[0]}") from None
    return 0
