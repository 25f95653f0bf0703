"""Where the window counters live: this process's memory, or one shared Redis.

Both do what the `limits` library's fixed-window storages do (an increment that
sets the key's expiry on the first hit), called directly because the limiter
needs the count the increment returns (the `r` of the RateLimit header) and
takes its windows from the server clock, not from the storage's own expiry
(limiter.py). Redis is `limits`' own storage; memory is a dict here, which
spares serving the import of `limits` (and its dependencies) and a sweeping
thread woken after every burst of increments.
"""

from __future__ import annotations

import time
from typing import Protocol

from verda_server.api.errors import ApiError

# Real seconds a window's counters are kept. The window itself is part of each
# key and follows the server clock; a frozen clock can hold one window open for
# any length of real time, so the counters must outlive a real minute
# comfortably: ten minutes of one frozen window before its counts are forgotten,
# without keeping every past window's keys around for long.
RETENTION_SECONDS = 600
KEY_PREFIX = "verda-ratelimit"


class Counters(Protocol):
    async def incr(self, key: str, amount: int = 1) -> int:
        """The key's count after adding `amount` (which may be negative)."""
        ...

    async def get(self, key: str) -> int: ...

    async def close(self) -> None: ...


class MemoryCounters:
    """The process's own memory, used from the event loop only (no lock).

    A key's count lives RETENTION_SECONDS of real time from the increment that
    made it non-zero, as in `limits`' MemoryStorage; expired keys are dropped
    when read and, every SWEEP_SECONDS, all at once."""

    SWEEP_SECONDS = 60.0

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._expires: dict[str, float] = {}
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS

    def _current(self, key: str, now: float) -> int:
        if self._expires.get(key, 0.0) <= now:
            self._counts.pop(key, None)
            self._expires.pop(key, None)
            return 0
        return self._counts[key]

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self.SWEEP_SECONDS
        for key in [key for key, at in self._expires.items() if at <= now]:
            del self._expires[key]
            self._counts.pop(key, None)

    async def incr(self, key: str, amount: int = 1) -> int:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._sweep(now)
        count = self._current(key, now) + amount
        self._counts[key] = count
        if count == amount:  # the first count (or back from zero): its lifetime starts
            self._expires[key] = now + RETENTION_SECONDS
        return count

    async def get(self, key: str) -> int:
        return self._current(key, time.monotonic())

    async def close(self) -> None:
        self._counts.clear()
        self._expires.clear()


class RedisUnavailable(Exception):
    """The Redis URL is malformed or its server does not answer."""


def unreachable() -> ApiError:
    # Refused, not let through uncounted: the budget replicas share cannot be
    # kept without its store, and a 503 says to retry, where a 500 says a bug.
    return ApiError(
        "service_unavailable",
        "The rate-limit store (Redis) cannot be reached; retry shortly",
        headers={"Retry-After": "1"},
    )


def open_counters(redis_url: str | None) -> Counters:
    if redis_url is None:
        return MemoryCounters()
    # Only a shared budget needs the Redis client: imported here, not at start.
    from verda_server.ratelimits.redis_counters import RedisCounters, check_redis

    check_redis(redis_url)
    return RedisCounters(redis_url)
