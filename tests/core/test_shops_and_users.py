"""Creating resellers, shops and users; logging in."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cashdesk.auth.roles import Role
from cashdesk.shops import ShopError, create_callshop, create_reseller
from cashdesk.store.models import Account, InvoiceSettings, Tariff
from cashdesk.users import UserError, authenticate, create_user


def test_a_new_shop_has_a_prepaid_account_under_its_reseller(session, clock):
    reseller = create_reseller(session, clock, name="R", currency="MAD")
    created = create_callshop(session, clock, reseller, name="Shop", currency="MAD",
                              admin_username="owner", admin_password="password1",
                              locale="ar_MA", timezone="Africa/Casablanca")
    session.commit()
    account = session.get(Account, created.callshop.account_id)
    assert account.prepaid and account.balance == 0
    assert account.parent_id == reseller.account_id
    assert created.callshop.default_tariff_id == created.sell_tariff.id
    assert session.get(InvoiceSettings, created.callshop.id).language == "ar"
    assert created.admin.role is Role.ADMIN
    assert session.scalars(select(Tariff)).one().callshop_id == created.callshop.id


@pytest.mark.parametrize("field, value, message", [
    ("currency", "XXY", "currency"),
    ("locale", "zz_ZZ_bad", "locale"),
    ("timezone", "Mars/Olympus", "time zone"),
])
def test_bad_shop_settings_are_explained(session, clock, field, value, message):
    reseller = create_reseller(session, clock, name="R", currency="EUR")
    kwargs = dict(name="S", currency="EUR", admin_username="owner",
                  admin_password="password1")
    kwargs[field] = value
    with pytest.raises(ShopError, match=message):
        create_callshop(session, clock, reseller, **kwargs)


def test_shop_currency_must_match_its_reseller(session, clock):
    reseller = create_reseller(session, clock, name="R", currency="EUR")
    with pytest.raises(ShopError, match="same currency"):
        create_callshop(session, clock, reseller, name="S", currency="USD",
                        admin_username="owner", admin_password="password1")


def test_users_log_in_only_with_the_right_password_and_while_active(session, clock):
    reseller = create_reseller(session, clock, name="R", currency="EUR")
    shop = create_callshop(session, clock, reseller, name="S", currency="EUR",
                           admin_username="owner", admin_password="password1").callshop
    cashier = create_user(session, clock, username="amina", password="till-pass-1",
                          role=Role.OPERATOR, reseller_id=reseller.id, callshop=shop)
    session.commit()
    assert authenticate(session, "amina", "till-pass-1").id == cashier.id
    assert authenticate(session, "amina", "wrong-pass") is None
    assert authenticate(session, "nobody", "till-pass-1") is None
    cashier.active = False
    assert authenticate(session, "amina", "till-pass-1") is None


def test_user_rules(session, clock):
    reseller = create_reseller(session, clock, name="R", currency="EUR")
    shop = create_callshop(session, clock, reseller, name="S", currency="EUR",
                           admin_username="owner", admin_password="password1").callshop
    with pytest.raises(UserError, match="taken"):
        create_user(session, clock, username="owner", password="password2",
                    role=Role.OPERATOR, reseller_id=reseller.id, callshop=shop)
    with pytest.raises(UserError, match="username"):
        create_user(session, clock, username="bad name!", password="password2",
                    role=Role.OPERATOR, reseller_id=reseller.id, callshop=shop)
    with pytest.raises(UserError, match="no shop"):
        create_user(session, clock, username="rs", password="password2",
                    role=Role.RESELLER, reseller_id=reseller.id, callshop=shop)
