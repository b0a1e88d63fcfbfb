"""What an `EventStream` told its callbacks, and a way to wait until it has told
enough (no sleeping in tests: a condition variable)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from cashdesk.money import Money
from server_client.events import ConnectionStatus
from server_client.live import Diff, LiveView

WAIT = 10.0


@dataclass
class Recorder:
    """What the stream told, and a way to wait until it has told enough."""

    views: list[tuple[LiveView, Diff]] = field(default_factory=list)
    statuses: list[tuple[ConnectionStatus, str]] = field(default_factory=list)
    auth_lost: list[str] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    sleeping: threading.Event = field(default_factory=threading.Event)

    def on_state(self, view: LiveView, diff: Diff) -> None:
        with self.cond:
            self.views.append((view, diff))
            self.cond.notify_all()

    def on_connection(self, status: ConnectionStatus, reason: str) -> None:
        with self.cond:
            self.statuses.append((status, reason))
            self.cond.notify_all()

    def on_auth_lost(self, reason: str) -> None:
        with self.cond:
            self.auth_lost.append(reason)
            self.cond.notify_all()

    def sleeper(self, delay: float) -> None:
        """The backoff, recorded; the real wait is short so tests stay fast."""
        with self.cond:
            self.delays.append(delay)
            self.cond.notify_all()
        self.sleeping.wait(0.02)

    def wait(self, predicate: Callable[[], bool], what: str) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, WAIT), f"timed out waiting for {what}: " \
                f"statuses {self.statuses}"

    def wait_status(self, status: ConnectionStatus, count: int = 1) -> None:
        self.wait(lambda: sum(s == status for s, _ in self.statuses) >= count,
                  f"{count} × {status}")

    @property
    def last(self) -> LiveView:
        with self.cond:
            return self.views[-1][0]

    def balance(self) -> Money | None:
        view = self.last
        return view.balance.balance if view.balance else None
