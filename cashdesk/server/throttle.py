"""Slowing down password guessing: after a few failed logins for one username or from
one address, each further attempt must wait twice as long as the one before.

Kept in memory (one server process per database); a restart forgets, which costs an
attacker a restart of the server, not a shortcut.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from cashdesk.clock import Clock


@dataclass
class _Record:
    failures: int = 0
    last_failure: float = 0.0
    blocked_until: float = 0.0


class LoginThrottle:
    """Counts failures per key ("user:<name>", "addr:<ip>") on the injected clock."""

    def __init__(self, clock: Clock, *, free_failures: int = 5, base_delay: float = 1.0,
                 max_delay: float = 300.0, forget_after: float = 900.0,
                 max_keys: int = 10_000) -> None:
        self._clock = clock
        self.free_failures = free_failures
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.forget_after = forget_after
        self.max_keys = max_keys
        self._records: dict[str, _Record] = {}

    def retry_after(self, keys: Iterable[str]) -> int:
        """Whole seconds to wait before trying again; 0 when an attempt is allowed now."""
        now = self._clock.monotonic()
        wait = 0.0
        for key in keys:
            record = self._records.get(key)
            if record is not None:
                wait = max(wait, record.blocked_until - now)
        return math.ceil(wait) if wait > 0 else 0

    def failures(self, key: str) -> int:
        record = self._records.get(key)
        return record.failures if record else 0

    def failed(self, keys: Iterable[str]) -> None:
        now = self._clock.monotonic()
        for key in keys:
            record = self._records.get(key)
            if record is None or now - record.last_failure > self.forget_after:
                record = self._records[key] = _Record()
            record.failures += 1
            record.last_failure = now
            over = record.failures - self.free_failures
            if over >= 0:
                record.blocked_until = now + min(self.base_delay * 2 ** over, self.max_delay)
        if len(self._records) > self.max_keys:
            self._forget_old(now)

    def succeeded(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._records.pop(key, None)

    def _forget_old(self, now: float) -> None:
        stale = [key for key, record in self._records.items()
                 if now - record.last_failure > self.forget_after and record.blocked_until <= now]
        for key in stale:
            del self._records[key]
        if len(self._records) > self.max_keys:
            # Under a flood of distinct names, keep the most recent offenders.
            newest = sorted(self._records.items(), key=lambda item: item[1].last_failure)
            self._records = dict(newest[-self.max_keys // 2:])
