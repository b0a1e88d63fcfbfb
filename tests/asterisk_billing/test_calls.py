"""Calls through the real server with `pbx = "asterisk"`: FastAGI authorisation before
`Dial()`, AMI events to the tracker, the CDR billed and shown on a desk; refusals
answered with their reason and SIP code in the dialplan's variables.

The same scenarios as the Kamailio end-to-end tests (tests/pbx/test_billing_e2e.py),
on the same rates: the customer pays 6/6 at 1.20 a minute plus 0.05, the shop buys
1/1 at 0.60 plus 0.02.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from cashdesk.call_state import CallState
from cashdesk.prepaid.timeline import epoch_ms
from cashdesk.rating.pricing import RateTerms, charge
from cashdesk.store.models import Call
from tests.asterisk_billing.conftest import (
    NO_RATE_NUMBER,
    NUMBER,
    ShopFactory,
    StartServer,
    eventually,
    now_in,
    states,
)


def sell_terms(call: Call) -> RateTerms:
    return RateTerms(call.sell_prefix, call.destination, call.price_per_minute,
                     call.connection_fee, call.initial_increment, call.subsequent_increment,
                     call.grace_seconds)


def buy_terms(call: Call) -> RateTerms:
    return RateTerms(call.buy_prefix, call.destination, call.buy_price_per_minute,
                     call.buy_connection_fee, call.buy_initial_increment,
                     call.buy_subsequent_increment, call.buy_grace_seconds)


def talk_ms(call: Call) -> int:
    assert call.answered_at is not None and call.ended_at is not None
    return epoch_ms(call.ended_at) - epoch_ms(call.answered_at)


async def test_a_call_is_authorised_answered_billed_and_seen_on_the_desk(
        start_server: StartServer, shop_with: ShopFactory) -> None:
    """(a) A cabin calls a rated number twice. The dialplan gets its limit from
    FastAGI; the desk is told dialing → ringing → answered → ended; each CDR is billed
    by the rate's increments and connection fee over the AMI's answer and hangup; the
    cabin's session total is the sum of its calls; the balance is top-ups minus costs."""
    shop = shop_with(balance="5.00")
    server = await start_server()
    desk = await server.desk(shop.admin_token)
    cabin = shop.cabins[0]
    made = []
    for talk in (1.5, 0.7):
        call = await server.dialplan.call(cabin, NUMBER)
        assert call.allowed and not call.agi_failed
        await desk.until(now_in(call.pbx_call_id, "answered"))
        await asyncio.sleep(talk)
        server.asterisk.hang_up(call, "cabin")
        made.append(call)
    # The first increment is 0.03 of 5.00: 498 s at 0.01 a second after the fee, and
    # L() comes half a second after the server's own cut would.
    assert made[0].variables["CASHDESK_LIMIT_MS"] == "498500"
    assert made[0].caller.app_data == f"PJSIP/{NUMBER}@carrier,60,L(498500)"

    calls = await eventually(lambda: server.final(2), what="two ended calls")
    assert [c.pbx_call_id for c in calls] == [c.pbx_call_id for c in made]
    for call, talked in zip(calls, (1.5, 0.7), strict=True):
        await desk.until(now_in(call.pbx_call_id, "ended"))
        assert states(desk, call.pbx_call_id) == ["dialing", "ringing", "answered", "ended"]
        assert call.state is CallState.ENDED and call.hangup_reason == "hung up by cabin"
        duration = talk_ms(call)
        assert talked * 1000 - 50 <= duration <= talked * 1000 + 250, duration
        # 6/6 at 1.20 a minute plus 0.05: either talk is billed as 6 s.
        assert call.billed_seconds == 6 and call.price == Decimal("0.17")
        assert call.price == charge(sell_terms(call), duration, "EUR").amount.amount
        assert call.cost == charge(buy_terms(call), duration, "EUR").amount.amount
    assert [c.cost for c in calls] == [Decimal("0.04"), Decimal("0.03")]

    total, session_calls = server.open_session(shop.setup.cabin_ids[0])
    assert sorted(c.id for c in session_calls) == sorted(c.id for c in calls)
    assert total.amount == sum((c.price for c in calls), Decimal(0)) == Decimal("0.34")
    tile = desk.of("cabin")[-1]
    assert tile["id"] == shop.setup.cabin_ids[0] and tile["session"]["total"] == "0.3400"
    account = shop.setup.account_id
    assert server.balance(account) == server.topups(account) - sum(c.cost for c in calls) \
        == Decimal("4.93")
    assert desk.of("balance")[-1]["balance"] == "4.9300"
    assert server.ledger_errors(shop.setup.callshop_id) == []
    # Nothing was cut: the server sent the PBX backstops, never a Hangup.
    assert server.asterisk.actions_named("Hangup") == []
    await desk.close()


@pytest.mark.parametrize(("number", "balance", "code", "sip", "cause"), [
    (NO_RATE_NUMBER, "5.00", "no_rate", "404", "1"),
    # The first increment costs 0.02 + 1 s at 0.60 a minute = 0.03.
    (NUMBER, "0.02", "no_credit", "402", "21"),
], ids=["no-rate", "too-little-credit"])
async def test_a_refused_call_gets_its_reason_and_costs_nothing(
        start_server: StartServer, shop_with: ShopFactory, number: str, balance: str,
        code: str, sip: str, cause: str) -> None:
    """(b) No rate: refused 404; too little credit for the first increment: 402. The
    dialplan reads the refusal from the FastAGI variables (and never dials), nothing is
    charged, the desk sees the refused call."""
    shop = shop_with(balance=balance)
    server = await start_server()
    desk = await server.desk(shop.admin_token)
    call = await server.dialplan.call(shop.cabins[0], number)
    assert not call.allowed and call.dest is None
    assert {k: v for k, v in call.variables.items() if k != "CASHDESK_REASON"} == {
        "CASHDESK_ALLOWED": "0", "CASHDESK_LIMIT_MS": "", "CASHDESK_REASON_CODE": code,
        "CASHDESK_SIPCODE": sip, "CASHDESK_CAUSE": cause}
    assert call.variables["CASHDESK_REASON"]      # a sentence for the log
    (cdr,) = await eventually(lambda: server.final(1), what="the refused call")
    assert (cdr.state, cdr.sip_code, cdr.hangup_reason) == (CallState.FAILED, int(sip), code)
    assert cdr.pbx_call_id == call.pbx_call_id
    assert cdr.price == cdr.cost == 0 and cdr.session_id is None
    assert server.balance(shop.setup.account_id) == Decimal(balance)
    await desk.until(lambda d: states(d, call.pbx_call_id) == ["failed"])
    # The refused channel's own hangup events change nothing.
    await asyncio.sleep(0.1)
    assert len(server.calls()) == 1 and server.call(call.pbx_call_id).state is CallState.FAILED
    assert server.asterisk.actions_named("Hangup") == []
    assert server.ledger_errors(shop.setup.callshop_id) == []
    await desk.close()
