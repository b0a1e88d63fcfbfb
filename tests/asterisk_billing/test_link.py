"""The AMI link dropped during calls and back: the desks' switch goes off and on, the
bridge reconciles with `CoreShowChannels` and hands the live calls to billing; calls
that ended while nobody listened are closed as of when the link was lost, the call
still up goes on, and no call is billed twice — not even when its end is reported
again after the reconnect."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from cashdesk.call_state import CallState
from cashdesk.prepaid.timeline import epoch_ms
from cashdesk.rating.pricing import charge
from tests.asterisk_billing.conftest import (
    NUMBER,
    ShopFactory,
    StartServer,
    eventually,
    now_in,
    states,
)
from tests.asterisk_billing.test_calls import buy_terms, sell_terms, talk_ms

PING_S = 0.2


async def test_a_dropped_ami_link_is_reconciled_and_nothing_is_billed_twice(
        start_server: StartServer, shop_with: ShopFactory) -> None:
    """(e) Three answered calls; the AMI link drops. While it is down the first cabin
    hangs up and the second call's carrier too (their events are lost), and a fourth
    cabin's call is refused at once (503: the server could not see or cut it). The link
    comes back: the bridge logs in again, lists the channels, and billing closes the
    two lost calls at the moment the AMI was last heard from, keeps the third, which
    later ends normally. Each call is charged once; the ledger holds."""
    shop = shop_with(balance="5.00", cabins=4)
    server = await start_server(ping_interval=PING_S)
    asterisk = server.asterisk
    desk = await server.desk(shop.admin_token)
    first, second, third = [await server.dialplan.call(cabin, NUMBER)
                            for cabin in shop.cabins[:3]]
    for call in (first, second, third):
        await desk.until(now_in(call.pbx_call_id, "answered"))
    await asyncio.sleep(0.6)

    dropped_at = time.time()
    asterisk.drop()
    await desk.until(lambda d: d.of("switch")[-1:] == [{"connected": False,
                                                        "kind": "asterisk"}])
    await asyncio.sleep(0.3)
    asterisk.hang_up(first, "cabin")
    asterisk.hang_up(second, "callee")
    assert asterisk.lost == 2                      # nobody was there to hear
    refused = await server.dialplan.call(shop.cabins[3], NUMBER)
    assert (refused.variables["CASHDESK_ALLOWED"], refused.variables["CASHDESK_SIPCODE"],
            refused.variables["CASHDESK_REASON_CODE"]) == ("0", "503", "server_unavailable")
    await asyncio.sleep(0.3)

    asterisk.restore()
    await asterisk.wait_action("CoreShowChannels", count=2)
    await desk.until(lambda d: d.of("switch")[-1:] == [{"connected": True,
                                                        "kind": "asterisk"}])
    lost = await eventually(
        lambda: all(server.call(c.pbx_call_id).state.is_final for c in (first, second))
        and [server.call(c.pbx_call_id) for c in (first, second)], what="the lost calls")
    assert asterisk.logins == 2
    assert server.call(third.pbx_call_id).state is CallState.ANSWERED
    # A late report of an end already reconciled changes nothing.
    asterisk.resend_ending(first)
    await asyncio.sleep(0.6)
    asterisk.hang_up(third, "cabin")
    await eventually(lambda: server.call(third.pbx_call_id).state.is_final,
                     what="the third call's end")
    await desk.until(now_in(third.pbx_call_id, "ended"))

    for call in lost:
        # Closed as of the last bytes the AMI sent before the drop (a Ping's answer at
        # most PING_S earlier): the call was up then; nobody knows how long after.
        assert call.state is CallState.ENDED
        assert call.hangup_reason == "lost: not live at the PBX"
        assert dropped_at - PING_S - 0.1 <= call.ended_at.timestamp() <= dropped_at + 0.01
        assert call.price == charge(sell_terms(call), talk_ms(call), "EUR").amount.amount
    kept = server.call(third.pbx_call_id)
    assert (kept.state, kept.hangup_reason) == (CallState.ENDED, "hung up by cabin")
    assert third.ended_at is not None and third.answered_at is not None
    assert abs(talk_ms(kept) - (third.ended_at - third.answered_at) * 1000) < 100
    assert kept.cost == charge(buy_terms(kept), talk_ms(kept), "EUR").amount.amount

    calls = server.calls()
    assert {c.pbx_call_id for c in calls} == {c.pbx_call_id for c in (first, second, third)}
    account = shop.setup.account_id
    charges = server.charges(account)
    assert sorted(charges) == sorted(c.id for c in calls)
    assert set(charges.values()) == {1}
    assert server.balance(account) == server.topups(account) - sum(c.cost for c in calls)
    assert server.balance(account) < Decimal("5.00")
    assert server.ledger_errors(shop.setup.callshop_id) == []
    for call in (first, second, third):
        assert [s for s in states(desk, call.pbx_call_id) if s == "ended"] == ["ended"]
    assert kept.ended_at is not None and all(c.ended_at is not None for c in lost)
    assert epoch_ms(kept.ended_at) > max(epoch_ms(c.ended_at) for c in lost if c.ended_at)
    await desk.close()
