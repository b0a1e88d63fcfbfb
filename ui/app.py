"""`cashdesk`: the desktop cash desk's entry point.

The cashier's screens come with the UI work (issue 5); until then this entry point
says so, rather than pretending, and tells how to prepare the shop's database.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    print("The cash desk's screens are not built yet.\n"
          "Prepare a shop's database with:  cashdesk-server init\n"
          "Import a rate deck with:         cashdesk-server import-rates FILE --tariff NAME")
    return 0


if __name__ == "__main__":
    sys.exit(main())
