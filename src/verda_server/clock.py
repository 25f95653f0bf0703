"""The one source of time for the whole server.

Every timestamp, expiry and due transition reads `Clock.now()`. Tests and
operators move time forward with `advance()`; nothing else calls
`datetime.now()`.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time plus an adjustable offset (never runs backwards)."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time(), UTC) + self._offset

    def timestamp(self) -> float:
        return time.time() + self._offset.total_seconds()

    @property
    def offset(self) -> timedelta:
        return self._offset

    def advance(self, delta: timedelta | float) -> datetime:
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += delta
        return self.now()


def isoformat(moment: datetime) -> str:
    """RFC 3339 with millisecond precision and a `Z`, as the real service writes it."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
