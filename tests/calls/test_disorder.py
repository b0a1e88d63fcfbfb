"""Duplicated, reordered and missing PBX events never double-bill or lose a call."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cashdesk.call_state import CallState
from cashdesk.calls.tracker import ORPHAN_TTL_MS
from cashdesk.clock import FakeClock
from cashdesk.pbx.events import (
    CallAnswered,
    CallEnded,
    CallFailed,
    CallRinging,
    CallStarted,
    HangupBy,
    PbxEvent,
)
from cashdesk.prepaid.timeline import epoch_ms
from cashdesk.rating.pricing import RateTerms, charge
from cashdesk.store.database import session_factory
from cashdesk.store.models import AccountEntry, Call
from tests.calls.factories import Desk, make_reseller, make_shop

NUMBERS = ["0044207946000", "0033612345678", "0012025550123", "00212612345678"]

life = st.tuples(
    st.integers(0, 2),                                   # cabin
    st.sampled_from(NUMBERS),
    st.sampled_from(["answered", "answered", "busy", "cancelled"]),
    st.integers(1_000, 30_000),                          # ringing, ms
    st.integers(0, 400_000),                             # talk, ms
)


def lifecycle(call_id: str, cabin: str, number: str, outcome: str, ring_ms: int,
              talk_ms: int, start: datetime) -> list[PbxEvent]:
    def at(ms: int) -> datetime:
        return start + timedelta(milliseconds=ms)
    events: list[PbxEvent] = [CallStarted(call_id, cabin, number, at=at(0)),
                              CallRinging(call_id, at=at(300))]
    if outcome == "answered":
        events += [CallAnswered(call_id, at=at(ring_ms)),
                   CallEnded(call_id, "normal clearing", HangupBy.CALLEE,
                             at=at(ring_ms + talk_ms))]
    elif outcome == "busy":
        events.append(CallFailed(call_id, 486, "busy", at=at(ring_ms)))
    else:
        events.append(CallFailed(call_id, 487, "cancelled", at=at(ring_ms)))
    return events


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(lives=st.lists(life, min_size=1, max_size=4), data=st.data())
def test_any_delivery_order_bills_each_call_once(sqlite_engine, lives: list,
                                                 data: st.DataObject) -> None:
    sessions: sessionmaker[Session] = session_factory(sqlite_engine)
    clock = FakeClock()
    with sessions.begin() as db:
        reseller = make_reseller(db, clock, prepaid=True, balance="500")
        shop = make_shop(db, clock, reseller=reseller, balance="500", cabins=3)
    desk = Desk.open(sessions, clock)
    start = clock.now()
    plans = {}
    events: list[PbxEvent] = []
    for cabin, number, outcome, ring_ms, talk_ms in lives:
        call_id = uuid.uuid4().hex
        plans[call_id] = (outcome, ring_ms, talk_ms)
        events += lifecycle(call_id, shop.cabins[cabin], number, outcome, ring_ms, talk_ms,
                            start)

    # The network's doing: some events lost (never a call's `started`), some twice,
    # all in any order.
    lost = data.draw(st.sets(st.sampled_from(range(len(events)))), label="lost events")
    kept = [e for i, e in enumerate(events) if isinstance(e, CallStarted) or i not in lost]
    doubled = data.draw(st.lists(st.sampled_from(kept), max_size=6), label="duplicates")
    delivery = data.draw(st.permutations(kept + doubled), label="delivery order")

    # Everything arrives after the fact (the PBX's own times are in the events).
    clock.advance(31 + 400)
    for event in delivery:
        desk.tracker.handle(event)
        clock.advance(0.003)
    # Let any answers still awaited time out, then reconcile with a PBX that has
    # nothing up any more: no call may stay open.
    clock.advance(ORPHAN_TTL_MS / 1000 + 1)
    desk.tracker.on_time()
    desk.tracker.reconcile([])
    assert desk.tracker.live_calls() == []

    delivered = {(type(e), e.pbx_call_id) for e in kept}
    with sessions() as db:
        for call_id, (outcome, ring_ms, talk_ms) in plans.items():
            rows = db.scalars(select(Call).where(Call.pbx_call_id == call_id)).all()
            assert len(rows) == 1, "a call is recorded exactly once"
            call = rows[0]
            assert call.state.is_final
            entries = db.scalar(select(func.count()).select_from(AccountEntry)
                                .where(AccountEntry.call_id == call.id))
            answered = (CallAnswered, call_id) in delivered
            ended = (CallEnded, call_id) in delivered
            if outcome == "answered" and answered and ended:
                # Whatever the order: billed exactly as the PBX timed it.
                assert call.state is CallState.ENDED
                terms = RateTerms(call.sell_prefix, call.destination, call.price_per_minute,
                                  call.connection_fee, call.initial_increment,
                                  call.subsequent_increment, call.grace_seconds)
                assert epoch_ms(call.ended_at) - epoch_ms(call.answered_at) == talk_ms
                assert call.price == charge(terms, talk_ms, "EUR").amount.amount
                assert entries == 2                       # the shop and the reseller
            elif call.answered_at is None:
                assert call.price == 0 and entries == 0
            else:
                assert entries == 2                       # charged once, at most
    desk.check_ledger(shop.callshop_id)
    assert desk.balance(shop.account_id) >= Decimal(0)
