"""Training mode (`cashdesk-server serve --demo`, or `demo = true`): a training shop with
cabins, realistic sell and buy rates and two logins, where simulated customers
(`cashdesk.pbx.training`) make calls, so a new cashier practises on live tiles.

The shop is made once (found again by name on later starts); its two logins get new
passwords at every start, printed on the console, since only their hashes are kept.
A training shop's calls draw on no balance and its payments count for nothing
(`ledger` refuses to mix them with real ones); every figure it shows is labelled
training.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cashdesk.auth.passwords import hash_password
from cashdesk.auth.roles import Role
from cashdesk.clock import Clock
from cashdesk.ledger.accounts import record_topup
from cashdesk.ledger.kinds import TopupKind
from cashdesk.money import Money
from cashdesk.rating.deck import import_deck
from cashdesk.shops import create_buy_tariff, create_callshop, create_reseller
from cashdesk.store.models import Account, Cabin, Callshop, Reseller, Tariff, User
from cashdesk.users import create_user

SHOP_NAME = "Training shop"
RESELLER_NAME = "Training"
CURRENCY = "EUR"
CABINS = 10
ADMIN = "training.admin"
CASHIER = "training.cashier"
TOPUP = "200.00"

# What the customers pay (per minute, connection fee, increments): a shop's usual
# prices for the destinations its customers call most.
SELL_DECK = """prefix,destination,rate,connection fee,initial,subsequent
1,United States and Canada,0.05,0,60,60
20,Egypt,0.35,0,60,60
212,Morocco,0.45,0.05,60,60
2126,Morocco mobile,0.75,0.05,30,30
2127,Morocco mobile,0.75,0.05,30,30
213,Algeria,0.40,0.05,60,60
2135,Algeria mobile,0.90,0.05,30,30
2136,Algeria mobile,0.95,0.05,30,30
2137,Algeria mobile,0.95,0.05,30,30
216,Tunisia,0.55,0.05,60,60
221,Senegal,0.60,0,60,60
223,Mali,0.80,0,60,60
225,Cote d'Ivoire,0.70,0,60,60
233,Ghana,0.45,0,60,60
234,Nigeria,0.30,0,60,60
237,Cameroon,0.65,0,60,60
243,DR Congo,0.85,0,60,60
31,Netherlands,0.10,0,60,60
32,Belgium,0.10,0,60,60
33,France,0.05,0,60,60
336,France mobile,0.10,0,60,60
337,France mobile,0.10,0,60,60
34,Spain,0.06,0,60,60
346,Spain mobile,0.10,0,60,60
351,Portugal,0.08,0,60,60
39,Italy,0.06,0,60,60
393,Italy mobile,0.12,0,60,60
40,Romania,0.12,0,60,60
41,Switzerland,0.15,0,60,60
44,United Kingdom,0.05,0,60,60
447,United Kingdom mobile,0.10,0,60,60
48,Poland,0.08,0,60,60
49,Germany,0.05,0,60,60
4915,Germany mobile,0.12,0,60,60
4916,Germany mobile,0.12,0,60,60
4917,Germany mobile,0.12,0,60,60
51,Peru,0.15,0,60,60
55,Brazil,0.12,0,60,60
57,Colombia,0.12,0,60,60
63,Philippines,0.25,0,60,60
84,Vietnam,0.18,0,60,60
86,China,0.08,0,60,60
880,Bangladesh,0.20,0,60,60
90,Turkey,0.15,0,60,60
905,Turkey mobile,0.25,0,60,60
91,India,0.10,0,60,60
92,Pakistan,0.20,0,60,60
94,Sri Lanka,0.22,0,60,60
"""

# What the shop pays its reseller: the same destinations, cheaper, by the second.
BUY_DECK = """prefix,destination,rate,connection fee,initial,subsequent
1,United States and Canada,0.010,0,1,1
20,Egypt,0.180,0,1,1
212,Morocco,0.220,0,1,1
2126,Morocco mobile,0.420,0,1,1
2127,Morocco mobile,0.420,0,1,1
213,Algeria,0.200,0,1,1
2135,Algeria mobile,0.550,0,1,1
2136,Algeria mobile,0.600,0,1,1
2137,Algeria mobile,0.600,0,1,1
216,Tunisia,0.300,0,1,1
221,Senegal,0.340,0,1,1
223,Mali,0.480,0,1,1
225,Cote d'Ivoire,0.410,0,1,1
233,Ghana,0.240,0,1,1
234,Nigeria,0.150,0,1,1
237,Cameroon,0.380,0,1,1
243,DR Congo,0.520,0,1,1
31,Netherlands,0.020,0,1,1
32,Belgium,0.020,0,1,1
33,France,0.008,0,1,1
336,France mobile,0.030,0,1,1
337,France mobile,0.030,0,1,1
34,Spain,0.010,0,1,1
346,Spain mobile,0.030,0,1,1
351,Portugal,0.020,0,1,1
39,Italy,0.010,0,1,1
393,Italy mobile,0.040,0,1,1
40,Romania,0.040,0,1,1
41,Switzerland,0.050,0,1,1
44,United Kingdom,0.008,0,1,1
447,United Kingdom mobile,0.030,0,1,1
48,Poland,0.020,0,1,1
49,Germany,0.008,0,1,1
4915,Germany mobile,0.040,0,1,1
4916,Germany mobile,0.040,0,1,1
4917,Germany mobile,0.040,0,1,1
51,Peru,0.060,0,1,1
55,Brazil,0.040,0,1,1
57,Colombia,0.040,0,1,1
63,Philippines,0.120,0,1,1
84,Vietnam,0.080,0,1,1
86,China,0.020,0,1,1
880,Bangladesh,0.090,0,1,1
90,Turkey,0.060,0,1,1
905,Turkey mobile,0.120,0,1,1
91,India,0.030,0,1,1
92,Pakistan,0.090,0,1,1
94,Sri Lanka,0.100,0,1,1
"""


@dataclass(frozen=True)
class TrainingShop:
    callshop_id: int
    created: bool
    cabins: int
    #: username → the password set at this start (printed once, never stored).
    logins: dict[str, str]

    def banner(self, base_url: str) -> str:
        made = "created" if self.created else "ready"
        lines = [(f"Training shop {made} (callshop {self.callshop_id}, {self.cabins} "
                  "cabins): simulated customers call; nothing touches a real balance."),
                 f"  Log in at {base_url} with:"]
        lines += [f"    {username:<18} {password}" for username, password in self.logins.items()]
        lines.append("  (new passwords at every start)")
        return "\n".join(lines)


def _password() -> str:
    return secrets.token_urlsafe(9)


def ensure_training_shop(session: Session, clock: Clock) -> TrainingShop:
    """The training shop, made if missing, with fresh passwords for its two logins."""
    shop = session.scalar(select(Callshop).where(Callshop.name == SHOP_NAME,
                                                 Callshop.training.is_(True)))
    created = shop is None
    logins = {ADMIN: _password(), CASHIER: _password()}
    if shop is None:
        shop = _create(session, clock, logins)
    else:
        for username, password in logins.items():
            user = session.scalar(select(User).where(User.username == username,
                                                     User.callshop_id == shop.id))
            if user is None:
                _login(session, clock, shop, username, password)
            else:
                user.password_hash = hash_password(password)
                user.active = True
    cabins = session.scalars(select(Cabin.id).where(Cabin.callshop_id == shop.id,
                                                    Cabin.enabled.is_(True))).all()
    return TrainingShop(shop.id, created, len(cabins), logins)


def _create(session: Session, clock: Clock, logins: dict[str, str]) -> Callshop:
    reseller = session.scalar(select(Reseller).where(Reseller.name == RESELLER_NAME))
    if reseller is None:
        reseller = create_reseller(session, clock, name=RESELLER_NAME, currency=CURRENCY)
    currency = session.get_one(Account, reseller.account_id).currency
    buy = create_buy_tariff(session, clock, reseller, "Training wholesale")
    import_deck(session, clock, tariff=buy, data=BUY_DECK.encode())
    made = create_callshop(session, clock, reseller, name=SHOP_NAME, currency=currency,
                           admin_username=ADMIN, admin_password=logins[ADMIN],
                           training=True, buy_tariff=buy)
    shop = made.callshop
    sell = session.get_one(Tariff, made.sell_tariff.id)
    import_deck(session, clock, tariff=sell, data=SELL_DECK.encode())
    _login(session, clock, shop, CASHIER, logins[CASHIER])
    for number in range(1, CABINS + 1):
        # No SIP password: nobody dials from a training cabin but the simulation.
        session.add(Cabin(callshop_id=shop.id, name=f"Cabin {number}", position=number,
                          sip_username=f"training-{shop.id}-{number}"))
    session.flush()
    record_topup(session, clock, shop.account, Money.of(TOPUP, currency), TopupKind.CASH,
                 description="training credit")
    return shop


def _login(session: Session, clock: Clock, shop: Callshop, username: str,
           password: str) -> None:
    role = Role.ADMIN if username == ADMIN else Role.OPERATOR
    create_user(session, clock, username=username, password=password, role=role,
                reseller_id=shop.reseller_id, callshop=shop,
                display_name="Training admin" if role is Role.ADMIN else "Trainee cashier")
