"""The test world made callable: rates in shop A's and B's sell and buy tariffs, cabins
with SIP usernames, prepaid balances; and the app running it with a scripted PBX."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from cashdesk.clock import FakeClock
from cashdesk.ledger.accounts import record_topup
from cashdesk.ledger.kinds import TopupKind
from cashdesk.money import Money
from cashdesk.rating.deck import import_deck
from cashdesk.rating.pricing import RateTerms
from cashdesk.server.app import create_app
from cashdesk.server.billing import BILLING, HUB, Billing
from cashdesk.server.config import ServerConfig
from cashdesk.server.hub import EventHub
from cashdesk.store.database import session_factory
from cashdesk.store.models import Account, Cabin, Callshop, Tariff
from tests.server.conftest import World
from tests.server.scripted import Pbx, ScriptedBridge

SELL = b"prefix,destination,rate,connection fee,initial,subsequent\n" \
       b"44,United Kingdom,0.20,0,60,60\n33,France,0.15,0.05,30,6\n"
BUY = b"prefix,destination,rate,connection fee,initial,subsequent\n" \
      b"44,United Kingdom,0.10,0,1,1\n33,France,0.08,0.02,30,6\n"
UK = "0044207946000"
FRANCE = "0033140000000"
UK_SELL = RateTerms("44", "United Kingdom", Decimal("0.20"), Decimal(0), 60, 60)


@dataclass
class Cabins:
    """SIP usernames and ids of the cabins of shops A and B."""

    a: list[str]
    b: list[str]
    a_ids: list[int]
    b_ids: list[int]


def furnish(engine: Engine, clock: FakeClock, world: World, *, balance_a: str = "10",
            balance_b: str = "10") -> Cabins:
    with session_factory(engine).begin() as session:
        for tariff_id, deck in ((world.tariff_a, SELL), (world.tariff_b, SELL),
                                (world.buy_tariff1, BUY)):
            import_deck(session, clock, tariff=session.get_one(Tariff, tariff_id), data=deck)
        made: dict[str, list[Cabin]] = {}
        for key, shop_id, count in (("a", world.shop_a, 3), ("b", world.shop_b, 2)):
            made[key] = [Cabin(callshop_id=shop_id, name=f"Cabin {n}", position=count - n,
                               sip_username=f"{key}-{n}") for n in range(1, count + 1)]
            session.add_all(made[key])
        session.flush()
        for shop_id, amount in ((world.shop_a, balance_a), (world.shop_b, balance_b)):
            shop = session.get_one(Callshop, shop_id)
            record_topup(session, clock, session.get_one(Account, shop.account_id),
                         Money.of(amount, "EUR"), TopupKind.CASH)
        return Cabins([c.sip_username for c in made["a"]], [c.sip_username for c in made["b"]],
                      [c.id for c in made["a"]], [c.id for c in made["b"]])


@dataclass
class Live:
    client: Any
    pbx: Pbx
    clock: FakeClock

    @property
    def bridge(self) -> ScriptedBridge:
        return self.pbx.bridge

    @property
    def billing(self) -> Billing:
        return self.client.app[BILLING]

    @property
    def hub(self) -> EventHub:
        return self.client.app[HUB]

    def advance(self, seconds: float) -> None:
        """Move the fake clock and tell the guard's timer to look again."""
        self.clock.advance(seconds)
        self.billing.service.runner.wake()

    async def get(self, path: str, token: str, **params: Any) -> tuple[int, Any]:
        response = await self.client.get(f"/api/v1{path}", params=params,
                                         headers={"Authorization": f"Bearer {token}"})
        return response.status, await response.json()

    async def post(self, path: str, token: str, body: dict[str, Any]) -> tuple[int, Any]:
        response = await self.client.post(f"/api/v1{path}", json=body,
                                          headers={"Authorization": f"Bearer {token}"})
        return response.status, await response.json()


async def start(aiohttp_client: Any, config: ServerConfig, clock: FakeClock,
                **settings: Any) -> Live:
    pbx = Pbx()
    app = create_app(replace(config, **settings), clock=clock, pbx=pbx)
    return Live(await aiohttp_client(app), pbx, clock)


def account_balance(engine: Engine, shop_id: int) -> Decimal:
    with session_factory(engine)() as session:
        shop = session.get_one(Callshop, shop_id)
        return session.scalar(select(Account.balance).where(Account.id == shop.account_id))
