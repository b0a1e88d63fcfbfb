"""`LiveState`, pure: a snapshot then events by docs/sync-protocol.md's rules (drop
what the snapshot reflects, gaps, duplicates, another instance, heartbeats ahead),
and the running cost of answered calls equal to `pricing.charge` at every instant."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from cashdesk.call_state import CallState
from cashdesk.money import Money
from cashdesk.rating.pricing import RateTerms, charge
from server_client.live import (
    EVERYTHING,
    NOTHING,
    CabinState,
    Diff,
    Event,
    Heartbeat,
    Hello,
    LiveCabin,
    LiveState,
    Pong,
    ServerError,
    Snapshot,
    SyncLost,
    parse_message,
)
from server_client.wire import ProtocolError
from tests.client import protocol as p

EUR = "EUR"


def eur(text: str) -> Money:
    return Money.of(text, EUR)


def ended(call_id: int, price: str, seconds: int, **options: object) -> dict[str, object]:
    return p.call(call_id, state="ended", ended_at=p.later(seconds), price=price,
                  billed_seconds=seconds, **options)  # type: ignore[arg-type]


def shop_json(seq: int = 5, **options: object) -> dict[str, object]:
    """Cabin 1 in use (an ended call of 0.50 and one answered at T0), cabin 2 free,
    and "Bar" placed first on screen."""
    in_use = p.session(10, [ended(99, "0.5000", 30, started_at=p.later(-120),
                                  answered_at=p.later(-110)),
                            p.call(100)], total="0.5000")
    return p.snapshot([p.cabin(2), p.cabin(1, state="in_use", session_=in_use),
                       p.cabin(3, name="Bar", position=0)], seq=seq, **options)  # type: ignore[arg-type]


def loaded(seq: int = 5, *, received_at: datetime = p.T0) -> LiveState:
    state = LiveState()
    assert state.load(Snapshot.from_json(shop_json(seq)), received_at) == EVERYTHING
    return state


def ev(kind: str, seq: int, data: dict[str, object], **options: str) -> Event:
    message = parse_message(p.event(kind, seq, data, **options))
    assert isinstance(message, Event)
    return message


# --- loading ------------------------------------------------------------------------

def test_a_new_state_is_stale_until_a_snapshot_is_loaded():
    state = LiveState()
    assert state.stale and not state.loaded and state.view().cabins == ()
    with pytest.raises(SyncLost, match="not loaded"):
        state.apply(ev("balance", 1, p.balance()))


def test_a_snapshot_gives_the_shop_in_screen_order():
    view = loaded().view()
    assert not view.stale and view.loaded and view.seq == 5 and view.instance == p.INSTANCE
    assert [c.name for c in view.cabins] == ["Bar", "Cabin 1", "Cabin 2"]
    assert view.shop is not None and view.shop.currency == EUR
    assert view.balance is not None and view.balance.available == eur("118.20")
    assert view.switch is not None and view.switch.connected
    cabin = view.cabin(1)
    assert cabin is not None and cabin.state is CabinState.IN_USE
    assert cabin.session is not None and cabin.session.total == eur("0.50")
    assert [c.id for c in cabin.calls] == [99, 100]  # oldest first
    assert [c.id for c in cabin.session.live_calls] == [100]
    live = cabin.calls[1]
    assert live.state is CallState.ANSWERED and live.answered_at == p.T0
    assert live.rate == RateTerms("33", "France", Decimal("0.12"), Decimal("0.05"), 30, 6)


# --- events -------------------------------------------------------------------------

def test_events_the_snapshot_reflects_are_dropped():
    state = loaded(seq=5)
    before = state.view()
    for seq in (3, 4, 5):
        assert state.apply(ev("cabin", seq, p.cabin(2, name="Old name"))) == NOTHING
    assert state.view() == before


def test_the_next_events_apply_in_order():
    state = loaded(seq=5)
    assert state.apply(ev("balance", 6, p.balance("119.0000", "119.0000"))) == \
        Diff(balance=True)
    assert state.apply(ev("switch", 7, {"connected": False, "kind": "kamailio"})) == \
        Diff(switch=True)
    renamed = state.apply(ev("cabin", 8, p.cabin(2, name="Cabin 2b", position=9)))
    assert renamed == Diff(cabins=frozenset({2}))
    view = state.view()
    assert view.seq == 8
    assert view.balance is not None and view.balance.balance == eur("119")
    assert view.switch is not None and not view.switch.connected
    assert [c.name for c in view.cabins] == ["Bar", "Cabin 1", "Cabin 2b"]


def test_an_event_applied_twice_changes_nothing_more():
    state = loaded(seq=5)
    hung_up = ev("call", 6, ended(100, "0.1100", 30))
    state.apply(hung_up)
    once = state.view()
    assert state.apply(hung_up) == NOTHING  # the same seq again: a duplicate
    assert state.view() == once
    cabin = once.cabin(1)
    assert cabin is not None and cabin.state is CabinState.AWAITING_PAYMENT
    assert [c.price for c in cabin.calls] == [eur("0.50"), eur("0.11")]


def test_a_cabin_event_keeps_the_objects_of_the_calls_that_did_not_change():
    """The screen tells what changed by identity: a cabin event repeats the whole
    session, and only the calls that changed are new objects."""
    state = loaded(seq=5)
    before = state.view().cabin(1)
    assert before is not None and before.session is not None
    finished, running = before.session.calls
    hung_up = p.session(10, [ended(99, "0.5000", 30, started_at=p.later(-120),
                                   answered_at=p.later(-110)),
                             ended(100, "0.1100", 30)], total="0.6100")
    state.apply(ev("cabin", 6, p.cabin(1, state="awaiting_payment", session_=hung_up)))
    after = state.view().cabin(1)
    assert after is not None and after.session is not None
    kept, ended_now = after.session.calls
    assert kept is finished
    assert ended_now is not running and ended_now.state is CallState.ENDED
    assert after.session.total == eur("0.61")
    # the same cabin again: everything kept, the session too
    state.apply(ev("cabin", 7, p.cabin(1, state="awaiting_payment", session_=hung_up)))
    again = state.view().cabin(1)
    assert again is not None and again.session is after.session
    assert again == after


def test_a_gap_marks_the_state_stale_and_keeps_what_was_known():
    state = loaded(seq=5)
    with pytest.raises(SyncLost, match=r"events 6\.\.6 were missed") as lost:
        state.apply(ev("balance", 7, p.balance("1.0000", "1.0000")))
    view = state.view()
    assert view.stale and view.stale_reason == lost.value.reason
    assert view.balance is not None and view.balance.balance == eur("120")  # not applied
    assert len(view.cabins) == 3  # still shown, greyed
    with pytest.raises(SyncLost):  # nothing applies until a new snapshot
        state.apply(ev("balance", 6, p.balance()))
    assert state.mark_stale("again") == NOTHING
    # A new snapshot brings it back.
    assert state.load(Snapshot.from_json(shop_json(seq=9)), p.T0) == EVERYTHING
    assert not state.stale and state.view().stale_reason == ""
    assert state.apply(ev("balance", 10, p.balance())) == Diff(balance=True)


def test_another_instance_means_the_server_restarted():
    state = loaded(seq=5)
    with pytest.raises(SyncLost, match="the server restarted"):
        state.apply(ev("balance", 6, p.balance(), instance="other" * 6))
    assert state.stale


def test_a_heartbeat_ahead_means_events_were_lost():
    state = loaded(seq=5)
    assert state.heartbeat(Heartbeat(5, p.T0), p.T0) == NOTHING
    with pytest.raises(SyncLost, match="the server is at event 6, this desk at 5"):
        state.heartbeat(Heartbeat(6, p.T0), p.T0)
    assert state.stale


def test_an_unreadable_event_loses_sync_rather_than_guessing():
    state = loaded(seq=5)
    with pytest.raises(SyncLost, match="unreadable cabin event"):
        state.apply(ev("cabin", 6, {"id": 2}))
    assert state.stale


def test_an_event_of_an_unknown_kind_is_counted_and_ignored():
    state = loaded(seq=5)
    assert state.apply(ev("shift", 6, {"operator": "x"})) == NOTHING
    assert state.apply(ev("balance", 7, p.balance())) == Diff(balance=True)


def test_after_pay_the_cabin_is_free_and_a_late_call_of_that_session_stays_away():
    state = loaded(seq=5)
    state.apply(ev("call", 6, ended(100, "0.1100", 30)))
    state.apply(ev("cabin", 7, p.cabin(1, state="free")))
    cabin = state.view().cabin(1)
    assert cabin is not None and cabin.state is CabinState.FREE and cabin.session is None
    # A repeated event of the paid session must not bring it back on the tile.
    assert state.apply(ev("call", 8, ended(100, "0.1100", 30))) == NOTHING
    assert state.view().cabin(1).session is None  # type: ignore[union-attr]


def test_a_call_of_a_new_session_shows_before_its_cabin_event():
    state = loaded(seq=5)
    diff = state.apply(ev("call", 6, p.call(200, cabin_id=2, session_id=11,
                                            answered_at=p.later(60), started_at=p.later(50))))
    assert diff == Diff(cabins=frozenset({2}))
    cabin = state.view().cabin(2)
    assert cabin is not None and cabin.state is CabinState.IN_USE
    assert cabin.session is not None and cabin.session.id == 11
    assert [c.id for c in cabin.calls] == [200]
    # The cabin event that follows is the server's word on the session.
    full = p.cabin(2, state="in_use", session_=p.session(11, [p.call(200, cabin_id=2,
                                                                     session_id=11)]))
    state.apply(ev("cabin", 7, full))
    assert state.view().cabin(2).session.id == 11  # type: ignore[union-attr]


def test_a_call_not_answered_yet_is_pending_on_its_tile_until_it_joins_a_session():
    state = loaded(seq=5)
    dialing = p.call(300, cabin_id=2, session_id=None, state="ringing", answered_at=None,
                     started_at=p.later(5))
    assert state.apply(ev("call", 6, dialing)) == Diff(cabins=frozenset({2}))
    cabin = state.view().cabin(2)
    assert cabin is not None and cabin.state is CabinState.IN_USE and cabin.session is None
    assert [c.id for c in cabin.pending] == [300] and [c.id for c in cabin.calls] == [300]
    # Answered: it joins the session the server opened for it.
    state.apply(ev("call", 7, p.call(300, cabin_id=2, session_id=12, started_at=p.later(5),
                                     answered_at=p.later(9))))
    cabin = state.view().cabin(2)
    assert cabin is not None and cabin.pending == () and cabin.session is not None
    assert [c.id for c in cabin.calls] == [300] and cabin.state is CabinState.IN_USE


def test_a_call_that_fails_unanswered_leaves_the_tile():
    ringing = p.call(301, cabin_id=2, session_id=None, state="ringing", answered_at=None)
    snapshot = shop_json()
    snapshot["cabins"][0] = p.cabin(2, state="in_use", pending=[ringing])  # type: ignore[index]
    state = LiveState()
    state.load(Snapshot.from_json(snapshot), p.T0)
    assert [c.id for c in state.view().cabin(2).calls] == [301]  # type: ignore[union-attr]
    busy = p.call(301, cabin_id=2, session_id=None, state="failed", answered_at=None,
                  ended_at=p.later(3))
    state.apply(ev("call", 6, busy))
    cabin = state.view().cabin(2)
    assert cabin is not None and cabin.calls == () and cabin.state is CabinState.FREE


# --- calls shown before the server stored them ("id": null) ---------------------------

def moves(cabin: LiveCabin | None) -> list[tuple[str, int | None, CallState, int | None]]:
    """What the tile lists of `cabin`: each call's PBX id, row id, state and session."""
    assert cabin is not None
    return [(c.pbx_call_id, c.id, c.state, c.session_id) for c in cabin.calls]


def test_a_call_shown_before_it_was_stored_is_one_call_when_it_comes_with_its_id():
    state = loaded(seq=5)
    dialing = p.call(None, pbx_call_id="pbx-400", cabin_id=2, session_id=None,
                     state="dialing", answered_at=None, started_at=p.later(5))
    assert state.apply(ev("call", 6, dialing)) == Diff(cabins=frozenset({2}))
    cabin = state.view().cabin(2)
    assert cabin is not None and cabin.state is CabinState.IN_USE
    assert moves(cabin) == [("pbx-400", None, CallState.DIALING, None)]
    # Stored, and ringing by then: the same call, not a second one.
    ringing = p.call(400, cabin_id=2, session_id=None, state="ringing", answered_at=None,
                     started_at=p.later(5))
    assert state.apply(ev("call", 7, ringing)) == Diff(cabins=frozenset({2}))
    cabin = state.view().cabin(2)
    assert cabin is not None and cabin.pending == cabin.calls
    assert moves(cabin) == [("pbx-400", 400, CallState.RINGING, None)]


def test_an_answer_shown_before_its_session_joins_the_session_once():
    state = loaded(seq=5)
    answered = p.call(None, pbx_call_id="pbx-401", cabin_id=2, session_id=None,
                      started_at=p.later(5), answered_at=p.later(9))
    state.apply(ev("call", 6, answered))
    cabin = state.view().cabin(2)
    assert cabin is not None and cabin.session is None
    assert [c.pbx_call_id for c in cabin.pending] == ["pbx-401"]
    state.apply(ev("call", 7, p.call(401, cabin_id=2, session_id=12, started_at=p.later(5),
                                     answered_at=p.later(9))))
    cabin = state.view().cabin(2)
    assert cabin is not None and cabin.pending == () and cabin.session is not None
    assert moves(cabin) == [("pbx-401", 401, CallState.ANSWERED, 12)]
    assert cabin.session.calls == cabin.calls and cabin.state is CabinState.IN_USE


def test_older_news_of_a_call_changes_nothing_but_the_id_it_brings():
    """The server may publish a move before the stored version of an earlier one: the
    call keeps its later state (and its session), and learns its id."""
    state = loaded(seq=5)
    ringing = p.call(None, pbx_call_id="pbx-402", cabin_id=2, session_id=None,
                     state="ringing", answered_at=None, started_at=p.later(5))
    state.apply(ev("call", 6, ringing))
    dialing = p.call(402, cabin_id=2, session_id=None, state="dialing", answered_at=None,
                     started_at=p.later(5))
    assert state.apply(ev("call", 7, dialing)) == Diff(cabins=frozenset({2}))
    assert moves(state.view().cabin(2)) == [("pbx-402", 402, CallState.RINGING, None)]
    assert state.apply(ev("call", 8, dialing)) == NOTHING
    # Answered in session 12, then the answer without its session again: still once.
    state.apply(ev("call", 9, p.call(402, cabin_id=2, session_id=12, started_at=p.later(5),
                                     answered_at=p.later(9))))
    before = state.view()
    late = p.call(None, pbx_call_id="pbx-402", cabin_id=2, session_id=None,
                  started_at=p.later(5), answered_at=p.later(9))
    assert state.apply(ev("call", 10, late)) == NOTHING
    assert state.view().cabin(2) == before.cabin(2)
    assert moves(before.cabin(2)) == [("pbx-402", 402, CallState.ANSWERED, 12)]


def test_a_later_move_published_before_it_was_stored_keeps_the_known_id():
    state = loaded(seq=5)
    state.apply(ev("call", 6, p.call(405, cabin_id=2, session_id=None, state="ringing",
                                     answered_at=None, started_at=p.later(5))))
    answered = p.call(None, pbx_call_id="pbx-405", cabin_id=2, session_id=None,
                      started_at=p.later(5), answered_at=p.later(9))
    state.apply(ev("call", 7, answered))
    assert moves(state.view().cabin(2)) == [("pbx-405", 405, CallState.ANSWERED, None)]


def test_a_snapshot_lists_a_call_in_its_session_and_not_also_pending():
    answered = p.call(403, cabin_id=2, session_id=12, started_at=p.later(5),
                      answered_at=p.later(9))
    caught = p.call(None, pbx_call_id="pbx-403", cabin_id=2, session_id=None,
                    started_at=p.later(5), answered_at=p.later(9))
    snapshot = shop_json()
    snapshot["cabins"][0] = p.cabin(2, state="in_use", session_=p.session(12, [answered]),  # type: ignore[index]
                                    pending=[caught])
    state = LiveState()
    state.load(Snapshot.from_json(snapshot), p.T0)
    cabin = state.view().cabin(2)
    assert cabin is not None and cabin.pending == ()
    assert moves(cabin) == [("pbx-403", 403, CallState.ANSWERED, 12)]


def test_calls_started_at_the_same_instant_sort_with_or_without_an_id():
    state = loaded(seq=5)
    first = p.call(None, pbx_call_id="pbx-a", cabin_id=2, session_id=None, state="dialing",
                   answered_at=None, started_at=p.later(5))
    second = p.call(404, pbx_call_id="pbx-b", cabin_id=2, session_id=None, state="ringing",
                    answered_at=None, started_at=p.later(5))
    state.apply(ev("call", 6, second))
    state.apply(ev("call", 7, first))
    assert [c.pbx_call_id for c in state.view().cabin(2).calls] == ["pbx-a", "pbx-b"]  # type: ignore[union-attr]


def test_a_deleted_cabin_leaves_the_screen():
    state = loaded(seq=5)
    gone = {**p.cabin(2, state="disabled", enabled=False), "deleted": True}
    assert state.apply(ev("cabin", 6, gone)) == Diff(cabins=frozenset({2}))
    assert [c.id for c in state.view().cabins] == [3, 1]


# --- running cost -------------------------------------------------------------------

TERMS = RateTerms("33", "France", Decimal("0.12"), Decimal("0.05"), 30, 6)


@pytest.mark.parametrize("elapsed_ms", [0, 1, 999, 1000, 29_999, 30_000, 30_001, 36_000,
                                        36_001, 61_500, 3_600_000])
def test_the_running_cost_is_pricing_charge_on_the_calls_rate(elapsed_ms):
    # The desk's clock is 90 s behind the server's: the snapshot's server_time says so.
    desk_at_snapshot = p.T0 - timedelta(seconds=90)
    state = loaded(received_at=desk_at_snapshot)
    view = state.view()
    assert view.clock_offset == timedelta(seconds=90)
    cabin = view.cabin(1)
    assert cabin is not None
    live = cabin.calls[1]
    desk_now = desk_at_snapshot + timedelta(milliseconds=elapsed_ms)
    expected = charge(TERMS, elapsed_ms, EUR)
    assert view.call_charge(live, desk_now) == expected
    assert view.talk_seconds(live, desk_now) == elapsed_ms // 1000
    # What the customer owes: the finished call's price plus the running cost.
    assert view.due(cabin, desk_now) == eur("0.50") + expected.amount


def test_a_heartbeat_corrects_the_clock_offset():
    state = loaded(received_at=p.T0)
    state.heartbeat(Heartbeat(5, p.later(100)), p.later(40))  # the desk ran 60 s slow
    view = state.view()
    assert view.clock_offset == timedelta(seconds=60)
    live = view.cabin(1).calls[1]  # type: ignore[union-attr]
    assert view.call_charge(live, p.later(40)) == charge(TERMS, 100_000, EUR)


def test_finished_and_unanswered_calls_cost_their_billed_price_or_nothing():
    state = loaded()
    view = state.view()
    done = view.cabin(1).calls[0]  # type: ignore[union-attr]
    assert view.call_charge(done, p.later(10_000)) == (30, eur("0.50"))
    # Another call (call 100 is answered: a ringing of it would be older news).
    state.apply(ev("call", 6, p.call(101, state="ringing", answered_at=None,
                                     started_at=p.later(1))))
    ringing = state.view().cabin(1).calls[2]  # type: ignore[union-attr]
    assert ringing.pbx_call_id == "pbx-101" and ringing.state is CallState.RINGING
    assert state.view().call_charge(ringing, p.later(500)) == (0, eur("0"))
    assert state.view().due(state.view().cabin(2), p.T0) is None  # type: ignore[arg-type]


# --- messages -----------------------------------------------------------------------

def test_every_message_of_the_protocol_parses():
    assert parse_message(p.hello(7, heartbeat_s=5)) == Hello(p.INSTANCE, 7, 5.0)
    assert parse_message(p.heartbeat(7, p.T0)) == Heartbeat(7, p.T0)
    assert parse_message(json.dumps({"type": "error", "message": "no"})) == ServerError("no")
    assert parse_message(b'{"type": "pong"}') == Pong()
    event = parse_message(p.event("balance", 3, p.balance()))
    assert isinstance(event, Event) and (event.kind, event.seq) == ("balance", 3)


@pytest.mark.parametrize("text", [
    '{"type": "gossip"}', "not json", '{"type": "hello"}',
    '{"type": "event", "kind": "x", "seq": 1, "instance": "i", "data": []}',
    '{"type": "heartbeat", "seq": 1, "server_time": "2026-01-05T09:00:00"}',
])
def test_an_unreadable_message_is_a_protocol_error(text):
    with pytest.raises(ProtocolError):
        parse_message(text)


def test_an_amount_sent_as_a_json_number_is_refused():
    data = shop_json()
    data["balance"] = {"balance": 120.0, "available": "1.0000", "currency": EUR}
    with pytest.raises(ProtocolError, match="decimal string"):
        Snapshot.from_json(data)
