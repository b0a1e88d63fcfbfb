"""Rate decks over the API: import (CSV body or multipart upload, all or nothing),
export (CSV that imports back to the same rates), for tariffs and cabins, parsed on a
database thread."""

from __future__ import annotations

import threading

import aiohttp
import pytest
from sqlalchemy import select

from cashdesk.server.api import rate_decks
from cashdesk.store.models import Rate, Tariff
from tests.server.conftest import db
from tests.server.ledger_rows import add_cabin

API = "/api/v1"
DECK = ("prefix;destination;rate;connection fee;initial;subsequent\n"
        "33;France;0,0200;0;60;60\n"
        "44;United Kingdom;0.03;0.10;30;6\n"
        "212;;0.15\n")


def rates_of(engine, **owner):
    column = Rate.tariff_id if "tariff_id" in owner else Rate.cabin_id
    with db(engine) as session:
        return [(r.prefix, r.destination, str(r.price_per_minute), str(r.connection_fee),
                 r.initial_increment, r.subsequent_increment)
                for r in session.scalars(select(Rate).where(column == next(iter(
                    owner.values())))
                    .order_by(Rate.prefix))]


def revision(engine, tariff_id):
    with db(engine) as session:
        return session.get_one(Tariff, tariff_id).revision


async def send_csv(client, tokens, path, text, user="admin_a", content_type="text/csv"):
    response = await client.post(f"{API}{path}", data=text.encode(),
                                 headers={**tokens.headers(user),
                                          "Content-Type": content_type})
    return response.status, await response.json()


async def test_import_a_csv_body_into_a_tariff(client, world, tokens, sqlite_engine):
    before = revision(sqlite_engine, world.tariff_a)
    status, body = await send_csv(client, tokens, f"/tariffs/{world.tariff_a}/import", DECK)
    assert status == 200, body
    assert body == {"imported": 3, "replaced": 0, "names_filled": 1, "revision": before + 1}
    assert rates_of(sqlite_engine, tariff_id=world.tariff_a) == [
        ("212", "Morocco", "0.1500", "0.0000", 60, 60),
        ("33", "France", "0.0200", "0.0000", 60, 60),
        ("44", "United Kingdom", "0.0300", "0.1000", 30, 6)]
    assert revision(sqlite_engine, world.tariff_a) == before + 1


async def test_import_a_multipart_upload(client, world, tokens, sqlite_engine):
    form = aiohttp.FormData()
    form.add_field("file", DECK.encode(), filename="deck.csv", content_type="text/csv")
    response = await client.post(f"{API}/tariffs/{world.tariff_a}/import", data=form,
                                 headers=tokens.headers("admin_a"))
    assert response.status == 200, await response.text()
    assert (await response.json())["imported"] == 3
    empty_form = aiohttp.FormData(default_to_multipart=True)
    empty_form.add_field("note", "no file here")
    response = await client.post(f"{API}/tariffs/{world.tariff_a}/import", data=empty_form,
                                 headers=tokens.headers("admin_a"))
    assert response.status == 400
    assert "form field 'file'" in (await response.json())["error"]["message"]


async def test_a_bad_deck_lists_every_bad_line_and_changes_nothing(client, world, tokens,
                                                                   sqlite_engine):
    await send_csv(client, tokens, f"/tariffs/{world.tariff_a}/import", DECK)
    kept = rates_of(sqlite_engine, tariff_id=world.tariff_a)
    kept_revision = revision(sqlite_engine, world.tariff_a)
    bad = "prefix,destination,rate\n33,France,0.02\n+44,UK,0.03\n49,Germany,cheap\n33,Dup,1\n"
    status, body = await send_csv(client, tokens, f"/tariffs/{world.tariff_a}/import", bad)
    assert status == 422
    assert body["error"]["code"] == "deck_rejected"
    assert "3 bad lines" in body["error"]["message"]
    assert "nothing was imported" in body["error"]["message"]
    assert [line["line"] for line in body["lines"]] == [3, 4, 5]
    assert "digits only" in body["lines"][0]["reason"]
    assert "is already on line 2" in body["lines"][2]["reason"]
    assert rates_of(sqlite_engine, tariff_id=world.tariff_a) == kept
    assert revision(sqlite_engine, world.tariff_a) == kept_revision


@pytest.mark.parametrize("text, content_type, message", [
    ("", "text/csv", "the deck is empty"),
    ('{"rates": []}', "application/json", "send the deck as text/csv"),
])
async def test_what_is_not_a_deck_is_400(client, world, tokens, text, content_type, message):
    status, body = await send_csv(client, tokens, f"/tariffs/{world.tariff_a}/import", text,
                                  content_type=content_type)
    assert status == 400 and message in body["error"]["message"]


async def test_too_large_a_deck_is_413(client, world, tokens, monkeypatch):
    monkeypatch.setattr(rate_decks, "MAX_DECK_BYTES", 1000)
    status, body = await send_csv(client, tokens, f"/tariffs/{world.tariff_a}/import",
                                  "33,France,0.02\n" * 100)
    assert status == 413 and body["error"]["code"] == "payload_too_large"


async def test_export_reads_back_to_the_same_rates(client, world, tokens, sqlite_engine):
    await send_csv(client, tokens, f"/tariffs/{world.tariff_a}/import", DECK)
    response = await client.get(f"{API}/tariffs/{world.tariff_a}/export",
                                headers=tokens.headers("operator_a"))
    assert response.status == 200
    assert response.content_type == "text/csv" and response.charset == "utf-8"
    assert 'filename="Standard.csv"' in response.headers["Content-Disposition"]
    text = await response.text()
    assert text.splitlines()[0].startswith("prefix,destination,rate_per_minute")
    status, body = await send_csv(client, tokens, f"/tariffs/{world.tariff_b}/import", text,
                                  user="admin_b")
    assert status == 200 and body["imported"] == 3
    assert rates_of(sqlite_engine, tariff_id=world.tariff_b) == \
        rates_of(sqlite_engine, tariff_id=world.tariff_a)


async def test_a_cabin_own_rates_and_its_tariff_revision(client, world, tokens,
                                                         sqlite_engine):
    cabin = add_cabin(sqlite_engine, world.shop_a, "Cabin 9")
    before = revision(sqlite_engine, world.tariff_a)  # the shop's default tariff
    status, body = await send_csv(client, tokens, f"/cabins/{cabin}/rates/import",
                                  "33,France,0.05\n")
    assert status == 200 and body["imported"] == 1 and body["revision"] == before + 1
    assert rates_of(sqlite_engine, cabin_id=cabin) == [
        ("33", "France", "0.0500", "0.0000", 60, 60)]
    assert rates_of(sqlite_engine, tariff_id=world.tariff_a) == []
    response = await client.get(f"{API}/cabins/{cabin}/rates/export",
                                headers=tokens.headers("admin_a"))
    assert "33,France,0.05,0,60,60" in await response.text()
    assert 'filename="cabin-Cabin_9.csv"' in response.headers["Content-Disposition"]


async def test_other_shops_and_roles(client, world, tokens, sqlite_engine):
    status, _ = await send_csv(client, tokens, f"/tariffs/{world.tariff_b}/import", DECK)
    assert status == 404
    status, _ = await send_csv(client, tokens, f"/tariffs/{world.tariff_a}/import", DECK,
                               user="operator_a")
    assert status == 403
    assert rates_of(sqlite_engine, tariff_id=world.tariff_b) == []


async def test_the_deck_is_parsed_on_a_database_thread(client, world, tokens, monkeypatch):
    threads = []
    real = rate_decks.import_deck

    def spy(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(rate_decks, "import_deck", spy)
    deck = "".join(f"{prefix},Somewhere,0.01\n" for prefix in range(1000, 21000))
    status, body = await send_csv(client, tokens, f"/tariffs/{world.tariff_a}/import", deck)
    assert status == 200 and body["imported"] == 20000
    assert threads and all(name.startswith("cashdesk-db") for name in threads)
