"""Rate decks over the API: a tariff's (or a cabin's own) rates replaced from a CSV
file, and written back out as one.

Parsing and importing are `cashdesk.rating.deck`'s (`import_deck`, `export_deck`),
run on a database thread inside the request's transaction: a deck of a hundred
thousand lines never blocks the event loop, and a rejected deck changes nothing.

The deck is the request body as it is (`text/csv`, `text/plain`,
`application/octet-stream`) or the file of a `multipart/form-data` upload. A rejected
deck answers 422 with every bad line beside the error:
`{"error": {...}, "lines": [{"line": 3, "reason": "..."}, ...]}`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import BodyPartReader, StreamReader, web
from sqlalchemy.orm import Session

from cashdesk.auth.roles import Permission
from cashdesk.clock import Clock
from cashdesk.rating.deck import DeckRejected, ImportReport, export_deck, import_deck
from cashdesk.server import scope
from cashdesk.server.api.tariffs import bump
from cashdesk.server.errors import ApiError, Invalid, Unprocessable
from cashdesk.server.routes import Ctx, RouteTable
from cashdesk.server.schema import Int, Obj
from cashdesk.store.models import Cabin, Callshop, Tariff

log = logging.getLogger("cashdesk.server.rate_decks")
routes = RouteTable("rates")

#: Largest deck accepted. Carriers' full decks run to a few MB; this leaves room.
MAX_DECK_BYTES = 32 * 1024 * 1024
#: Most bad lines listed in a refusal (the message says how many there are in all).
MAX_LINES_SHOWN = 1000
_CHUNK = 256 * 1024
_TEXT_TYPES = ("text/csv", "text/plain", "application/csv", "application/vnd.ms-excel",
               "application/octet-stream")


class DeckTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


IMPORTED = Obj({
    "imported": Int("rates in the tariff (or cabin) now"),
    "replaced": Int("rates it had before, all replaced"),
    "names_filled": Int("destinations named from the numbering plan"),
    "revision": Int("the tariff's new revision (the cabin's tariff for a cabin)",
                    nullable=True),
})


async def _read_limited(read_chunk: Any) -> bytes:
    data = bytearray()
    while chunk := await read_chunk(_CHUNK):
        data += chunk
        if len(data) > MAX_DECK_BYTES:
            raise DeckTooLarge(f"the deck is larger than {MAX_DECK_BYTES // (1024 * 1024)} "
                               "MiB; split it")
    return bytes(data)


async def read_deck(request: web.Request) -> bytes:
    """The CSV bytes of the request: its body, or the file of a multipart upload."""
    content_type = request.content_type
    if content_type.startswith("multipart/"):
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and (part.filename or part.name in
                                                     ("file", "deck")):
                data = await _read_limited(part.read_chunk)
                break
        else:
            raise Invalid("the upload has no file: send the deck as the form field 'file'")
    elif content_type in _TEXT_TYPES or not request.headers.get("Content-Type"):
        stream: StreamReader = request.content
        data = await _read_limited(stream.read)
    else:
        raise Invalid(f"send the deck as text/csv (the file itself as the body) or as a "
                      f"multipart/form-data upload, not as {content_type}")
    if not data.strip():
        raise Invalid("the deck is empty; nothing was changed")
    return data


def _rejected(exc: DeckRejected) -> Unprocessable:
    lines = [{"line": error.line, "reason": error.reason}
             for error in exc.errors[:MAX_LINES_SHOWN]]
    return Unprocessable(f"{exc}; nothing was imported", code="deck_rejected", lines=lines)


def _report(report: ImportReport, revision: int | None) -> dict[str, Any]:
    return {"imported": report.imported, "replaced": report.replaced,
            "names_filled": report.names_filled, "revision": revision}


def _filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "rates"


def _csv(text: str, name: str) -> web.Response:
    return web.Response(text=text, content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="{_filename(name)}.csv"'})


def _cabin_tariff(session: Session, cabin: Cabin) -> Tariff | None:
    """The tariff a cabin is rated with: its index rebuilds when the cabin's own rates
    change (there is no per-cabin revision; see the server README)."""
    tariff_id = cabin.tariff_id or session.get_one(Callshop, cabin.callshop_id).default_tariff_id
    return session.get(Tariff, tariff_id) if tariff_id is not None else None


def import_tariff(session: Session, clock: Clock, shop_id: int, tariff_id: int,
                  data: bytes) -> dict[str, Any]:
    tariff = scope.sell_tariff(session, shop_id, tariff_id)
    locale = session.get_one(Callshop, shop_id).locale
    try:
        report = import_deck(session, clock, tariff=tariff, data=data, locale=locale)
    except DeckRejected as exc:
        raise _rejected(exc) from None
    return _report(report, report.revision)


def import_cabin(session: Session, clock: Clock, shop_id: int, cabin_id: int,
                 data: bytes) -> dict[str, Any]:
    cabin = scope.cabin(session, shop_id, cabin_id)
    locale = session.get_one(Callshop, shop_id).locale
    try:
        report = import_deck(session, clock, cabin=cabin, data=data, locale=locale)
    except DeckRejected as exc:
        raise _rejected(exc) from None
    tariff = _cabin_tariff(session, cabin)
    if tariff is not None:
        bump(tariff, clock.now())
        session.flush()
    return _report(report, tariff.revision if tariff is not None else None)


@routes.post("/tariffs/{tariff_id}/import", Permission.MANAGE_SELL_RATES,
             "Replace a tariff's rates with a CSV rate deck", response=IMPORTED)
async def import_tariff_deck(ctx: Ctx) -> dict[str, Any]:
    """The body is the CSV (text/csv) or a multipart upload with the file. All or
    nothing: any bad line is a 422 listing every bad line, and no rate changes."""
    data = await read_deck(ctx.request)
    answer = await ctx.db(import_tariff, ctx.clock, ctx.shop_id, ctx.params["tariff_id"], data)
    log.info("%s imported %d rates into tariff %d", ctx.principal.username,
             answer["imported"], ctx.params["tariff_id"])
    return answer


@routes.get("/tariffs/{tariff_id}/export", Permission.VIEW_SELL_RATES,
            "A tariff's rates as a CSV rate deck (text/csv)")
async def export_tariff_deck(ctx: Ctx) -> web.Response:
    """Sorted by prefix, with a header; importing it back gives the same rates."""
    def work(session: Session, shop_id: int, tariff_id: int) -> tuple[str, str]:
        tariff = scope.sell_tariff(session, shop_id, tariff_id)
        return export_deck(session, tariff=tariff), tariff.name

    text, name = await ctx.db(work, ctx.shop_id, ctx.params["tariff_id"])
    return _csv(text, name)


@routes.post("/cabins/{cabin_id}/rates/import", Permission.MANAGE_SELL_RATES,
             "Replace a cabin's own rates with a CSV rate deck", response=IMPORTED)
async def import_cabin_deck(ctx: Ctx) -> dict[str, Any]:
    """Like a tariff's import; the cabin's own rates override its tariff's."""
    data = await read_deck(ctx.request)
    answer = await ctx.db(import_cabin, ctx.clock, ctx.shop_id, ctx.params["cabin_id"], data)
    log.info("%s imported %d rates into cabin %d", ctx.principal.username,
             answer["imported"], ctx.params["cabin_id"])
    return answer


@routes.get("/cabins/{cabin_id}/rates/export", Permission.VIEW_SELL_RATES,
            "A cabin's own rates as a CSV rate deck (text/csv)")
async def export_cabin_deck(ctx: Ctx) -> web.Response:
    def work(session: Session, shop_id: int, cabin_id: int) -> tuple[str, str]:
        cabin = scope.cabin(session, shop_id, cabin_id)
        return export_deck(session, cabin=cabin), f"cabin-{cabin.name}"

    text, name = await ctx.db(work, ctx.shop_id, ctx.params["cabin_id"])
    return _csv(text, name)
