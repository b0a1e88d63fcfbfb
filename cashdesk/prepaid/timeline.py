"""The guard's time axis: whole milliseconds since the Unix epoch, as plain ints.

Every instant the guard computes (an exhaustion instant, a cut) is an integer number of
milliseconds; the tracker converts PBX timestamps with `epoch_ms` and writes cut
instants back with `from_epoch_ms`, so a duration the guard reserved for and the
duration the call is billed for are computed from the same two integers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def epoch_ms(moment: datetime) -> int:
    """`moment` (timezone-aware) in whole milliseconds, rounded down."""
    if moment.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return (moment - _EPOCH) // _MS


def from_epoch_ms(ms: int) -> datetime:
    """The UTC datetime of an instant on the guard's axis."""
    return _EPOCH + timedelta(milliseconds=ms)


def duration_ms(start: datetime, end: datetime) -> int:
    """Talk time between two instants, in whole milliseconds on the guard's axis
    (never negative: a PBX clock a little ahead must not make a duration negative)."""
    return max(0, epoch_ms(end) - epoch_ms(start))
