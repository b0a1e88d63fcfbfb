"""The admin's and the reseller's screens through the client: shop settings, cabins,
users, tariffs and rates (rate decks too), buy tariffs, callshops, invoice settings.
Each happy path returns typed values; each main refusal is the right exception with
the server's own sentence."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cashdesk.auth.roles import Role
from cashdesk.money import Money
from cashdesk.rating.pricing import RateTerms
from server_client.client import new_idempotency_key
from server_client.errors import Conflict, Forbidden, NotFound, ValidationError
from server_client.models import Cabin, Callshop, Rate, Tariff, User

EUR = "EUR"


def eur(text: str) -> Money:
    return Money.of(text, EUR)


# --- the shop -----------------------------------------------------------------------

def test_shop_settings_and_their_refusals(admin, world):
    shop = admin.shop()
    assert (shop.id, shop.currency, shop.timezone) == (world.shop_a, EUR, "Europe/Paris")
    assert shop.rating.default_tariff_id == world.tariff_a

    guarded = admin.update_fraud_guard(blocked_prefixes=["900", "979"],
                                       max_session_amount=eur("25.50"))
    assert guarded.fraud_guard.blocked_prefixes == ("900", "979")
    assert guarded.fraud_guard.max_session_amount == eur("25.50")

    rated = admin.update_rating(tech_prefixes=["*31#"], country_code="33")
    assert rated.rating.tech_prefixes == ("*31#",) and rated.rating.country_code == "33"

    with pytest.raises(ValidationError) as typo:
        admin.update_fraud_guard(blocked_prefix=["1"])
    assert typo.value.field == "blocked_prefix"
    assert "unknown field" in typo.value.message
    with pytest.raises(NotFound):
        admin.update_rating(default_tariff_id=999_999)


# --- cabins -------------------------------------------------------------------------

def test_cabins_from_creation_to_deletion(admin):
    made = admin.create_cabin("Cabin 1", "cab-one", position=1, max_call_seconds=600,
                              deposit=eur("10"))
    cabin = made.cabin
    assert isinstance(cabin, Cabin) and cabin.deposit == eur("10")
    assert len(made.sip_password) == 16 and cabin.has_sip_password
    admin.create_cabin("Cabin 2", "cab-two", position=2)
    assert [c.name for c in admin.cabins()] == ["Cabin 1", "Cabin 2"]

    changed = admin.update_cabin(cabin.id, max_session_amount=eur("30"), deposit=None)
    assert changed.max_session_amount == eur("30") and changed.deposit is None
    assert admin.cabin(cabin.id) == changed
    reset = admin.reset_sip_password(cabin.id)
    assert reset.sip_password != made.sip_password

    admin.delete_cabin(cabin.id)
    with pytest.raises(NotFound) as gone:
        admin.cabin(cabin.id)
    assert gone.value.status == 404


def test_cabin_refusals(admin, operator):
    admin.create_cabin("Cabin 1", "cab-one")
    with pytest.raises(Conflict) as taken:
        admin.create_cabin("Cabin 1", "cab-other")
    assert taken.value.message == "there is already a cabin named 'Cabin 1'"
    assert taken.value.field == "name"
    with pytest.raises(ValidationError) as bad:
        admin.create_cabin("Cabin 9", "no spaces allowed")
    assert bad.value.field == "sip_username"
    with pytest.raises(Forbidden, match="manage_cabins"):
        operator.cabins()


# --- users --------------------------------------------------------------------------

def test_users_of_the_shop(admin, world):
    user = admin.create_user("cashier2", "a-good-password", display_name="Sam")
    assert isinstance(user, User) and user.role is Role.OPERATOR and user.active
    assert {u.username for u in admin.users()} == {"admin_a", "operator_a", "cashier2"}
    assert admin.user(user.id) == user
    renamed = admin.update_user(user.id, display_name="Samira", role=Role.ADMIN)
    assert renamed.display_name == "Samira" and renamed.role is Role.ADMIN
    assert admin.set_user_password(user.id, "another-good-one").id == user.id
    admin.delete_user(user.id)
    with pytest.raises(NotFound):
        admin.user(user.id)


def test_user_refusals(admin, world):
    with pytest.raises(ValidationError) as weak:
        admin.create_user("cashier3", "short")
    assert weak.value.field == "password"
    assert weak.value.message.startswith("password: ")
    with pytest.raises(Conflict, match="the username 'operator_a' is taken"):
        admin.create_user("operator_a", "a-good-password")
    with pytest.raises(Forbidden, match="you cannot disable your own account"):
        admin.update_user(world.users["admin_a"], active=False)
    with pytest.raises(NotFound):  # another shop's user looks like no user at all
        admin.user(world.users["admin_b"])


# --- sell tariffs and rates ---------------------------------------------------------

def test_tariffs_and_rates(admin, world):
    tariff = admin.create_tariff("Night")
    assert isinstance(tariff, Tariff) and tariff.currency == EUR and not tariff.is_default
    assert {t.name: t.is_default for t in admin.tariffs()} == {"Standard": True,
                                                              "Night": False}
    assert admin.rename_tariff(tariff.id, "Late").name == "Late"

    rate = admin.create_rate("33", eur("0.1250"), tariff_id=tariff.id, destination="France",
                             connection_fee=eur("0.05"), initial_increment=30,
                             subsequent_increment=6)
    assert isinstance(rate, Rate) and rate.price_per_minute == eur("0.125")
    assert rate.terms() == RateTerms("33", "France", Decimal("0.125"), Decimal("0.05"), 30, 6)
    admin.create_rate("44", eur("0.2"), tariff_id=tariff.id)
    page = admin.rates(tariff_id=tariff.id)
    assert page.total == 2 and [r.prefix for r in page] == ["33", "44"]
    assert [r.prefix for r in admin.rates(tariff_id=tariff.id, prefix="4")] == ["44"]
    changed = admin.update_rate(rate.id, price_per_minute=eur("0.13"))
    assert changed.price_per_minute == eur("0.13")
    assert admin.tariff(tariff.id).revision > tariff.revision

    cabin = admin.create_cabin("Cabin 1", "cab-one").cabin
    own = admin.create_rate("1", eur("0.02"), cabin_id=cabin.id)
    assert own.cabin_id == cabin.id and own.tariff_id is None
    assert [r.id for r in admin.rates(cabin_id=cabin.id)] == [own.id]

    admin.delete_rate(rate.id)
    assert admin.rates(tariff_id=tariff.id).total == 1
    admin.delete_tariff(tariff.id)
    with pytest.raises(NotFound):
        admin.tariff(tariff.id)


def test_tariff_and_rate_refusals(admin, operator, world):
    with pytest.raises(Conflict, match="is the shop's default tariff"):
        admin.delete_tariff(world.tariff_a)
    admin.create_rate("33", eur("0.1"), tariff_id=world.tariff_a)
    with pytest.raises(Conflict) as twice:
        admin.create_rate("33", eur("0.2"), tariff_id=world.tariff_a)
    assert twice.value.field == "prefix"
    with pytest.raises(ValidationError, match="exactly one"):
        admin.rates()
    with pytest.raises(TypeError, match="never floats"):
        admin.create_rate("34", 0.1, tariff_id=world.tariff_a)
    # The till may read the rates but not change them.
    assert operator.rates(tariff_id=world.tariff_a).total == 1
    with pytest.raises(Forbidden, match="manage_sell_rates"):
        operator.create_rate("35", eur("0.1"), tariff_id=world.tariff_a)


def test_rate_decks_in_and_out(admin, world):
    deck = "prefix,destination,rate\n33,France,0.12\n44,United Kingdom,0.09\n"
    report = admin.import_tariff_rates(world.tariff_a, deck)
    assert (report.imported, report.replaced) == (2, 0)
    assert report.revision == admin.tariff(world.tariff_a).revision
    exported = admin.export_tariff_rates(world.tariff_a)
    assert exported.splitlines()[0].startswith("prefix,destination,rate_per_minute")
    assert "44,United Kingdom,0.09" in exported

    cabin = admin.create_cabin("Cabin 1", "cab-one").cabin
    assert admin.import_cabin_rates(cabin.id, b"1,USA,0.02\n").imported == 1
    assert "1,USA,0.02" in admin.export_cabin_rates(cabin.id)


def test_a_rejected_deck_lists_every_bad_line_and_imports_nothing(admin, world):
    admin.import_tariff_rates(world.tariff_a, "33,France,0.12\n")
    with pytest.raises(ValidationError) as rejected:
        admin.import_tariff_rates(world.tariff_a,
                                  "prefix,destination,rate\n33,France,abc\n4x,UK,0.1\n49,DE,1\n")
    error = rejected.value
    assert (error.status, error.code) == (422, "deck_rejected")
    assert "nothing was imported" in error.message
    assert [line.line for line in error.lines] == [2, 3]
    assert all(line.reason for line in error.lines)
    assert [r.prefix for r in admin.rates(tariff_id=world.tariff_a)] == ["33"]


# --- the reseller's side --------------------------------------------------------------

def test_buy_tariffs_and_rates(reseller, world):
    tariff = reseller.create_buy_tariff("Premium routes")
    assert tariff.currency == EUR and tariff.callshop_count == 0
    assert {t.name: t.callshop_count for t in reseller.buy_tariffs()} == {
        "Wholesale": 2, "Premium routes": 0}
    assert reseller.rename_buy_tariff(tariff.id, "Premium").name == "Premium"
    rate = reseller.create_buy_rate(tariff.id, "33", eur("0.04"), destination="France")
    assert rate.price_per_minute == eur("0.04") and rate.tariff_id == tariff.id
    assert [r.prefix for r in reseller.buy_rates(tariff.id)] == ["33"]
    assert reseller.update_buy_rate(rate.id, connection_fee=eur("0.01")).connection_fee == \
        eur("0.01")
    reseller.delete_buy_rate(rate.id)
    assert reseller.buy_rates(tariff.id).total == 0
    assert reseller.buy_tariff(tariff.id).revision >= 3
    reseller.delete_buy_tariff(tariff.id)
    with pytest.raises(NotFound):
        reseller.buy_tariff(tariff.id)


def test_buy_tariff_refusals(reseller, admin, world):
    with pytest.raises(Conflict, match="callshops buy at 'Wholesale'"):
        reseller.delete_buy_tariff(world.buy_tariff)
    with pytest.raises(Forbidden, match="manage_buy_rates"):
        admin.buy_tariffs()


def test_callshops_topups_and_balance(reseller, world, connect):
    made = reseller.create_callshop("Shop C", "admin_c", "a-good-password",
                                    timezone="Africa/Casablanca", locale="fr_MA",
                                    buy_tariff_id=world.buy_tariff)
    shop = made.callshop
    assert isinstance(shop, Callshop) and shop.balance == eur("0")
    assert made.admin.role is Role.ADMIN and made.admin.callshop_id == shop.id
    assert [s.name for s in reseller.callshops()] == ["Shop A", "Shop B", "Shop C"]
    assert reseller.update_callshop(shop.id, name="Shop C+").name == "Shop C+"
    assert reseller.set_buy_tariff(shop.id, None).buy_tariff_id is None
    assert reseller.callshop(shop.id).buy_tariff_id is None

    key = new_idempotency_key()
    first = reseller.record_topup(shop.id, eur("50"), "cash", key, description="opening")
    assert first.amount == eur("50") and first.balance == eur("50") and not first.replayed
    again = reseller.record_topup(shop.id, eur("50"), "cash", key, description="opening")
    assert again.replayed and again.id == first.id and again.balance == eur("50")
    assert reseller.callshop(shop.id).balance == eur("50")

    listed = reseller.topups(callshop_id=shop.id)
    assert listed.total == 1 and listed.items[0].recorded_by is not None
    balance = reseller.balance(callshop_id=shop.id)
    assert balance.callshop_id == shop.id
    assert balance.callshop is not None and balance.callshop.balance == eur("50")
    shop_admin = connect()
    shop_admin.login("admin_c", "a-good-password")
    own = shop_admin.balance()
    assert own.callshop is not None and own.callshop.balance == eur("50")
    assert own.reseller is None  # the reseller's level is postpaid: not shown to the shop


def test_callshop_and_topup_refusals(reseller, admin, world):
    with pytest.raises(Conflict, match="the username 'admin_a' is taken"):
        reseller.create_callshop("Shop D", "admin_a", "a-good-password")
    with pytest.raises(NotFound):
        reseller.callshop(999_999)
    with pytest.raises(ValidationError) as unknown_zone:
        reseller.update_callshop(world.shop_b, timezone="Mars/Olympus")
    assert "unknown time zone" in unknown_zone.value.message
    with pytest.raises(Conflict) as reused:
        key = new_idempotency_key()
        reseller.record_topup(world.shop_b, eur("10"), "cash", key)
        reseller.record_topup(world.shop_b, eur("20"), "cash", key)
    assert reused.value.field == "idempotency_key"
    with pytest.raises(Forbidden, match="record_topup"):
        admin.record_topup(world.shop_a, eur("10"), "cash", new_idempotency_key())


# --- invoice settings (plain dicts) ------------------------------------------------------

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
       b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05"
       b"\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def test_invoice_settings(admin):
    settings = admin.invoice_settings()
    assert settings["company_name"] == "Shop A"
    changed = admin.update_invoice_settings(vat_rate=Decimal(20), number_prefix="INV-",
                                            logo=PNG)
    assert changed["vat_rate"] == "20" and changed["number_prefix"] == "INV-"
    assert changed["logo"] is not None
    assert admin.update_invoice_settings(logo=None)["logo"] is None
    with pytest.raises(ValidationError) as not_an_image:
        admin.update_invoice_settings(logo=b"GIF89a")
    assert not_an_image.value.field == "logo"
    assert not_an_image.value.message == "logo: must be a PNG or JPEG image"
