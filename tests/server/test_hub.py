"""The event hub: per-shop sequences, one serialisation, slow desks dropped not waited on."""

from __future__ import annotations

import json

from cashdesk.server.hub import EventHub


async def test_sequences_are_per_callshop_and_gap_free():
    hub = EventHub()
    shop_a = hub.subscribe(1)
    shop_b = hub.subscribe(2)
    assert [hub.publish(1, "call", {"n": i}) for i in range(3)] == [1, 2, 3]
    assert hub.publish(2, "call", {}) == 1
    seen_a = [json.loads(shop_a.queue.get_nowait()) for _ in range(3)]
    assert [m["seq"] for m in seen_a] == [1, 2, 3]
    assert {m["instance"] for m in seen_a} == {hub.instance}
    assert shop_a.queue.empty()
    assert json.loads(shop_b.queue.get_nowait())["seq"] == 1
    assert hub.sequence(1) == 3 and hub.sequence(9) == 0


async def test_a_shop_never_sees_another_shops_events():
    hub = EventHub()
    mine = hub.subscribe(1)
    hub.publish(2, "call", {"secret": True})
    assert mine.queue.empty()


async def test_a_slow_desk_is_dropped_and_told_while_others_keep_up():
    hub = EventHub(queue_limit=10)
    dropped = []
    slow = hub.subscribe(1, on_overflow=dropped.append)
    fast = hub.subscribe(1)
    for i in range(25):
        hub.publish(1, "call", {"n": i})
        while not fast.queue.empty():  # the fast desk drains as events come
            fast.queue.get_nowait()
    assert dropped == [slow] and slow.overflowed and slow.queue.empty()
    assert hub.subscriber_count(1) == 1 and hub.dropped_subscribers == 1
    assert not fast.overflowed


async def test_unsubscribe_and_restart_identity():
    hub = EventHub()
    subscriber = hub.subscribe(1)
    hub.unsubscribe(subscriber)
    hub.unsubscribe(subscriber)  # twice is harmless
    hub.publish(1, "call", {})
    assert subscriber.queue.empty() and hub.subscriber_count() == 0
    assert EventHub().instance != hub.instance
