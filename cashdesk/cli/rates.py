"""`cashdesk-server import-rates` and `export-rates`: rate decks in and out of a tariff.

    cashdesk-server import-rates deck.csv --tariff Standard
    cashdesk-server import-rates cost.csv --tariff "Reseller A" --buy --shop 2
    cashdesk-server export-rates --tariff Standard -o standard.csv

A rejected deck prints every bad line (`line N: reason`) and changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cashdesk.cli.common import CliError, add_db_option, open_database
from cashdesk.clock import SystemClock
from cashdesk.rating.deck import DeckRejected, export_deck, import_deck
from cashdesk.shops import create_buy_tariff
from cashdesk.store.database import session_factory
from cashdesk.store.models import Cabin, Callshop, Reseller, Tariff

#: Exit status for a rejected deck (2 is argparse's and CliError's).
EXIT_REJECTED = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import-rates", help="replace a tariff's rates with a CSV rate deck",
        description="Replace all rates of a tariff (created if missing) or of one cabin "
                    "with a CSV deck. Any bad line rejects the whole deck; nothing "
                    "changes then.")
    parser.add_argument("file", type=Path, metavar="FILE", help="the CSV deck")
    _add_target_options(parser)
    parser.set_defaults(handler=run_import)

    parser = subparsers.add_parser(
        "export-rates", help="write a tariff's rates as a CSV deck",
        description="Write the rates of a tariff (or of one cabin) as CSV that "
                    "import-rates reads back unchanged.")
    parser.add_argument("-o", "--output", type=Path, default=None, metavar="FILE",
                        help="where to write (default: standard output)")
    _add_target_options(parser)
    parser.set_defaults(handler=run_export)


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    add_db_option(parser)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--tariff", metavar="NAME", help="the tariff's name")
    target.add_argument("--cabin", metavar="NAME", help="a cabin's own rates (overrides)")
    parser.add_argument("--shop", metavar="NAME_OR_ID", default=None,
                        help="the callshop (optional when the database has one)")
    parser.add_argument("--buy", action="store_true",
                        help="the tariff is the reseller's buy tariff (the shop's cost), "
                             "not one of the shop's sell tariffs")


def _find_shop(session: Session, wanted: str | None) -> Callshop:
    if wanted is None:
        shops = session.scalars(select(Callshop).limit(2)).all()
        if not shops:
            raise CliError("the database has no callshop yet; run `cashdesk-server init`")
        if len(shops) > 1:
            raise CliError("the database has several callshops: pass --shop NAME_OR_ID")
        return shops[0]
    query = select(Callshop).where(Callshop.name == wanted)
    if wanted.isdigit():
        query = select(Callshop).where(Callshop.id == int(wanted))
    found = session.scalars(query.limit(2)).all()
    if len(found) != 1:
        raise CliError(f"no callshop {wanted!r}" if not found
                       else f"several callshops are named {wanted!r}: pass its id")
    return found[0]


def _find_tariff(session: Session, shop: Callshop, name: str, *, buy: bool,
                 create: bool) -> tuple[Tariff, bool]:
    owner = Tariff.callshop_id.is_(None) if buy else Tariff.callshop_id == shop.id
    tariff = session.scalar(select(Tariff).where(
        Tariff.reseller_id == shop.reseller_id, owner, Tariff.name == name))
    if tariff is not None:
        return tariff, False
    kind = "buy tariff" if buy else "tariff"
    if not create:
        raise CliError(f"no {kind} named {name!r} for {shop.name!r}")
    clock = SystemClock()
    if buy:
        tariff = create_buy_tariff(session, clock,
                                   session.get_one(Reseller, shop.reseller_id), name)
    else:
        tariff = Tariff(reseller_id=shop.reseller_id, callshop_id=shop.id, name=name,
                        currency=shop.currency, updated_at=clock.now())
        session.add(tariff)
        session.flush()
    return tariff, True


def _find_cabin(session: Session, shop: Callshop, name: str) -> Cabin:
    cabin = session.scalar(select(Cabin).where(Cabin.callshop_id == shop.id,
                                               Cabin.name == name))
    if cabin is None:
        raise CliError(f"no cabin named {name!r} in {shop.name!r}")
    return cabin


def run_import(args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    engine = open_database(args)
    try:
        with session_factory(engine).begin() as session:
            shop = _find_shop(session, args.shop)
            notes = []
            if args.cabin is not None:
                cabin = _find_cabin(session, shop, args.cabin)
                report = import_deck(session, SystemClock(), cabin=cabin, data=data,
                                     locale=shop.locale)
                target = f"cabin {cabin.name!r}"
            else:
                tariff, created = _find_tariff(session, shop, args.tariff, buy=args.buy,
                                               create=True)
                report = import_deck(session, SystemClock(), tariff=tariff, data=data,
                                     locale=shop.locale)
                target = f"{'buy tariff' if args.buy else 'tariff'} {tariff.name!r}"
                if created:
                    notes.append("new tariff")
                if args.buy and shop.buy_tariff_id is None:
                    shop.buy_tariff_id = tariff.id
                    notes.append("set as the shop's buy tariff")
                notes.append(f"revision {report.revision}")
            shop_name = shop.name
    except DeckRejected as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"cashdesk-server: {args.file}: rejected, {len(exc.errors)} bad "
              f"line{'s' if len(exc.errors) != 1 else ''}; the rates are unchanged",
              file=sys.stderr)
        return EXIT_REJECTED
    finally:
        engine.dispose()
    if report.names_filled:
        notes.append(f"{report.names_filled} destination names filled in")
    details = "; ".join([f"replacing {report.replaced}", *notes])
    print(f"Imported {report.imported} rates into {target} of {shop_name!r} ({details})")
    return 0


def run_export(args: argparse.Namespace) -> int:
    engine = open_database(args)
    try:
        with session_factory(engine)() as session:
            shop = _find_shop(session, args.shop)
            if args.cabin is not None:
                text = export_deck(session, cabin=_find_cabin(session, shop, args.cabin))
            else:
                tariff, _ = _find_tariff(session, shop, args.tariff, buy=args.buy,
                                         create=False)
                text = export_deck(session, tariff=tariff)
    finally:
        engine.dispose()
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            args.output.write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        rows = text.count("\n") - 1
        print(f"Exported {rows} rates to {args.output}")
    return 0
