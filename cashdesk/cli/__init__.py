"""`cashdesk-server`: the sync server's command line.

Each subcommand lives in its own module with `register(subparsers)`; the module's
handler returns the process exit code. Errors a person can fix print one clear line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cashdesk.cli import asterisk_config, init, kamailio_config, rates, serve
from cashdesk.cli.common import CliError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cashdesk-server",
                                     description="Callshop cash desk sync server")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (init, rates, serve, kamailio_config, asterisk_config):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except CliError as exc:
        print(f"cashdesk-server: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
