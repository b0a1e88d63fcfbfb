"""The login slow-down on its own: per key, doubling, capped, forgotten after a while."""

from __future__ import annotations

from cashdesk.clock import FakeClock
from cashdesk.server.throttle import LoginThrottle


def test_each_key_counts_on_its_own_and_the_delay_doubles_up_to_a_cap():
    clock = FakeClock()
    throttle = LoginThrottle(clock, free_failures=3, max_delay=10)
    for _ in range(3):
        assert throttle.retry_after(["user:a"]) == 0
        throttle.failed(["user:a"])
    assert throttle.retry_after(["user:a"]) == 1
    assert throttle.retry_after(["user:b"]) == 0         # another name is not blocked
    assert throttle.retry_after(["user:b", "user:a"]) == 1
    waits = []
    for _ in range(6):
        clock.advance(throttle.retry_after(["user:a"]))
        throttle.failed(["user:a"])
        waits.append(throttle.retry_after(["user:a"]))
    assert waits == [2, 4, 8, 10, 10, 10]


def test_failures_are_forgotten_after_a_quiet_while_and_on_success():
    clock = FakeClock()
    throttle = LoginThrottle(clock, free_failures=2, forget_after=900)
    throttle.failed(["k"])
    clock.advance(901)
    throttle.failed(["k"])
    assert throttle.failures("k") == 1 and throttle.retry_after(["k"]) == 0
    throttle.failed(["k"])
    assert throttle.retry_after(["k"]) == 1
    throttle.succeeded(["k"])
    assert throttle.failures("k") == 0 and throttle.retry_after(["k"]) == 0


def test_memory_stays_bounded_under_a_flood_of_names():
    clock = FakeClock()
    throttle = LoginThrottle(clock, max_keys=100)
    for n in range(1000):
        throttle.failed([f"user:{n}"])
        clock.advance(1)
    assert len(throttle._records) <= 100
    assert throttle.failures("user:999") == 1
