"""Invoice settings: read and change, the logo as base64, the numbering guard."""

from __future__ import annotations

import base64

from cashdesk.store.models import Invoice, InvoiceSettings
from tests.server.conftest import db

URL = "/api/v1/invoice-settings"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_read_and_change(client, world, tokens, sqlite_engine):
    admin = tokens.headers("admin_a")
    settings = await (await client.get(URL, headers=admin)).json()
    assert settings["company_name"] == "Shop A" and settings["logo"] is None
    assert settings["vat_rate"] == "0" and settings["next_number"] == 1
    logo = base64.b64encode(PNG).decode()
    response = await client.put(URL, headers=admin, json={
        "company_name": "Call & Co", "vat_rate": "20", "logo": logo, "tax_id": "FR123",
        "number_prefix": "F-", "next_number": 500})
    assert response.status == 200, await response.text()
    changed = await response.json()
    assert changed["vat_rate"] == "20" and changed["logo"] == logo
    assert changed["footer"] == settings["footer"]            # left out: kept
    with db(sqlite_engine) as session:
        assert session.get_one(InvoiceSettings, world.shop_a).logo == PNG
    removed = await client.put(URL, headers=admin, json={"logo": None})
    assert (await removed.json())["logo"] is None


async def test_refusals(client, world, tokens, sqlite_engine, clock):
    admin = tokens.headers("admin_a")
    cases = [
        ({"logo": "not base64!"}, "not valid base64"),
        ({"logo": base64.b64encode(b"GIF89a....").decode()}, "PNG or JPEG"),
        ({"logo": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 600_000).decode()},
         "larger than 512 KiB"),
        ({"vat_rate": "120"}, "at most 100"),
        ({"vat_rate": 20}, "decimal string"),
    ]
    for body, text in cases:
        response = await client.put(URL, headers=admin, json=body)
        assert response.status == 400, body
        assert text in (await response.json())["error"]["message"]
    with db(sqlite_engine) as session, session.begin():
        session.add(Invoice(callshop_id=world.shop_a, sequence=1, number="INV-1",
                            created_at=clock.now()))
    gap = await client.put(URL, headers=admin, json={"next_number": 7})
    assert gap.status == 409


async def test_each_shop_sees_its_own(client, world, tokens):
    await client.put(URL, headers=tokens.headers("admin_a"), json={"footer": "Shop A only"})
    other = await (await client.get(URL, headers=tokens.headers("admin_b"))).json()
    assert other["footer"] == ""
