"""The event hub: every change a cash desk must see, numbered and fanned out.

Sync protocol (DESIGN.md): each callshop has its own monotonically increasing
sequence; a client loads a snapshot that names the sequence it reflects, then applies
the events after it; a gap means it missed something and must load a new snapshot.
Events carry the whole entity they are about (a call, a session, a balance), so
applying one that the snapshot already reflected is harmless.

Publishing never waits: each subscriber has a bounded queue, and a subscriber that
falls behind is dropped (told to resync) instead of slowing billing or other desks.
The hub runs on the event loop; `publish` must be called from the loop's thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: Events a subscriber may have waiting before it counts as too slow.
DEFAULT_QUEUE_LIMIT = 2000


def dumps(message: dict[str, Any]) -> str:
    # Money travels as decimal strings (Money.to_json) before it reaches here; compact
    # separators keep a busy shop's fan-out small.
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(eq=False)
class Subscriber:
    """One connected cash desk: a bounded queue of serialised events."""

    callshop_id: int
    queue: asyncio.Queue[str]
    overflowed: bool = False
    on_overflow: Callable[[Subscriber], None] | None = field(default=None, repr=False)

    def offer(self, message: str) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            # Free the memory at once; the client will load a fresh snapshot anyway.
            while not self.queue.empty():
                self.queue.get_nowait()
            if self.on_overflow is not None:
                self.on_overflow(self)


class EventHub:
    def __init__(self, *, queue_limit: int = DEFAULT_QUEUE_LIMIT) -> None:
        #: Changes on every start, so a client can tell a restarted server (whose
        #: sequences start again) from one that merely dropped its connection.
        self.instance = uuid.uuid4().hex
        self._queue_limit = queue_limit
        self._sequences: dict[int, int] = {}
        self._subscribers: dict[int, set[Subscriber]] = {}
        self.published = 0
        self.dropped_subscribers = 0

    def sequence(self, callshop_id: int) -> int:
        """The sequence number of the last event published for this callshop."""
        return self._sequences.get(callshop_id, 0)

    def publish(self, callshop_id: int, kind: str, data: dict[str, Any]) -> int:
        """Number the event, serialise it once and hand it to every subscriber."""
        seq = self._sequences.get(callshop_id, 0) + 1
        self._sequences[callshop_id] = seq
        message = dumps({"type": "event", "kind": kind, "seq": seq,
                         "instance": self.instance, "data": data})
        for subscriber in tuple(self._subscribers.get(callshop_id, ())):
            subscriber.offer(message)
        self.published += 1
        return seq

    def subscribe(self, callshop_id: int,
                  on_overflow: Callable[[Subscriber], None] | None = None) -> Subscriber:
        subscriber = Subscriber(callshop_id, asyncio.Queue(self._queue_limit),
                                on_overflow=self._overflowed(on_overflow))
        self._subscribers.setdefault(callshop_id, set()).add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        members = self._subscribers.get(subscriber.callshop_id)
        if members is not None:
            members.discard(subscriber)
            if not members:
                del self._subscribers[subscriber.callshop_id]

    def subscriber_count(self, callshop_id: int | None = None) -> int:
        if callshop_id is not None:
            return len(self._subscribers.get(callshop_id, ()))
        return sum(len(members) for members in self._subscribers.values())

    def _overflowed(self, callback: Callable[[Subscriber], None] | None,
                    ) -> Callable[[Subscriber], None]:
        def handle(subscriber: Subscriber) -> None:
            self.dropped_subscribers += 1
            log.warning("a cash desk of callshop %s fell %d events behind; asking it to "
                        "resync", subscriber.callshop_id, self._queue_limit)
            self.unsubscribe(subscriber)
            if callback is not None:
                callback(subscriber)
        return handle
