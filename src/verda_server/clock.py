"""The one source of time for the whole server.

Every timestamp, expiry and due transition reads `Clock.now()`. Tests and
operators move time forward with `advance()`; nothing else calls
`datetime.now()`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time plus an adjustable offset (never runs backwards).

    `Clock.frozen()` is a clock that stands still until `advance()` moves it:
    what a test sees then depends only on how far it moved the clock, never
    on how long the machine took.
    """

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset
        self._frozen_at: datetime | None = None
        self._lock = threading.Lock()

    @classmethod
    def frozen(cls, at: datetime | None = None) -> Clock:
        """A clock stopped at `at` (default: the wall clock's current whole second,
        so that whole-second expiries such as a token's fall exactly on it)."""
        clock = cls()
        clock._frozen_at = at or datetime.fromtimestamp(int(time.time()), UTC)
        return clock

    def now(self) -> datetime:
        if self._frozen_at is not None:
            # Exact datetime arithmetic: a deadline `advance`d to is met exactly.
            return self._frozen_at + self._offset
        return datetime.fromtimestamp(time.time(), UTC) + self._offset

    def timestamp(self) -> float:
        if self._frozen_at is not None:
            return self.now().timestamp()
        return time.time() + self._offset.total_seconds()

    @property
    def offset(self) -> timedelta:
        return self._offset

    @property
    def is_frozen(self) -> bool:
        return self._frozen_at is not None

    def advance(self, delta: timedelta | float) -> datetime:
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += delta
        return self.now()

    def freeze(self) -> datetime:
        """Stop the clock at its current instant (a no-op when already stopped)."""
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = datetime.fromtimestamp(time.time(), UTC)
        return self.now()

    def unfreeze(self) -> datetime:
        """Let a stopped clock run again from the instant it stood at."""
        with self._lock:
            if self._frozen_at is not None:
                stood_at = self._frozen_at + self._offset
                self._frozen_at = None
                self._offset = stood_at - datetime.fromtimestamp(time.time(), UTC)
        return self.now()

    def state(self) -> ClockState:
        with self._lock:
            return ClockState(self._offset, self._frozen_at)

    def restore(self, state: ClockState) -> None:
        """Take on the state kept in the store, which every replica shares.

        Not checked against this clock's own now: a freeze made on another
        replica a moment ago stands where that replica froze it."""
        with self._lock:
            self._offset, self._frozen_at = state.offset, state.frozen_at


@dataclass(frozen=True)
class ClockState:
    """What defines a clock's time: an offset from the wall clock, or from the
    wall-clock instant it was frozen at."""

    offset: timedelta
    frozen_at: datetime | None

    def now(self) -> datetime:
        base = self.frozen_at or datetime.fromtimestamp(time.time(), UTC)
        return base + self.offset


def isoformat(moment: datetime) -> str:
    """RFC 3339 with millisecond precision and a `Z`, as the real service writes it."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
