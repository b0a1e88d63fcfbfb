"""The life of a call, as the cash desk and the billing see it."""

from __future__ import annotations

from enum import StrEnum


class CallState(StrEnum):
    DIALING = "dialing"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"      # answered, then hung up by either side
    FAILED = "failed"    # never answered: busy, no answer, cancelled, refused
    CUT = "cut"          # ended by the cash desk: credit exhausted, limit reached, fraud guard

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def is_live(self) -> bool:
        return self in LIVE_STATES

    @property
    def rank(self) -> int:
        """How far a call has got: it only moves forward, so news of a call in a lower
        rank than what is known of it is older news."""
        return _RANK[self]


LIVE_STATES = frozenset({CallState.DIALING, CallState.RINGING, CallState.ANSWERED})
FINAL_STATES = frozenset({CallState.ENDED, CallState.FAILED, CallState.CUT})
_RANK = {CallState.DIALING: 0, CallState.RINGING: 1, CallState.ANSWERED: 2,
         CallState.ENDED: 3, CallState.FAILED: 3, CallState.CUT: 3}

#: Forward moves only. Events arrive duplicated and out of order; anything not listed
#: here is ignored by the tracker rather than moving a call backwards.
TRANSITIONS: dict[CallState, frozenset[CallState]] = {
    CallState.DIALING: frozenset({CallState.RINGING, CallState.ANSWERED, CallState.FAILED,
                                  CallState.CUT}),
    CallState.RINGING: frozenset({CallState.ANSWERED, CallState.FAILED, CallState.CUT}),
    CallState.ANSWERED: frozenset({CallState.ENDED, CallState.CUT}),
    CallState.ENDED: frozenset(),
    CallState.FAILED: frozenset(),
    CallState.CUT: frozenset(),
}


def can_move(current: CallState, new: CallState) -> bool:
    return new in TRANSITIONS[current]
