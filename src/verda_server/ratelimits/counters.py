"""Where the window counters live: this process's memory, or one shared Redis.

Both are the `limits` library's storages, used for what its fixed-window
strategy does (an increment that sets the key's expiry on the first hit),
called directly because the limiter needs the count the increment returns (the
`r` of the RateLimit header) and takes its windows from the server clock, not
from the storage's own expiry (limiter.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from verda_server.api.errors import ApiError

if TYPE_CHECKING:
    from limits.storage import MemoryStorage

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
    """The process's own memory: the synchronous storage, called inline, since
    nothing in it waits (its asyncio twin scans every key on every increment)."""

    def __init__(self) -> None:
        # Made on the first count: importing `limits` (all its storages) was a
        # hundredth of the time to start, and with --rate-limits off nothing
        # loads it at all.
        self._made: MemoryStorage | None = None

    @property
    def _storage(self) -> MemoryStorage:
        if self._made is None:
            from limits.storage import MemoryStorage

            self._made = MemoryStorage()
        return self._made

    async def incr(self, key: str, amount: int = 1) -> int:
        return self._storage.incr(key, RETENTION_SECONDS, amount)

    async def get(self, key: str) -> int:
        return self._storage.get(key)

    async def close(self) -> None:
        if self._made is not None:
            self._made.timer.cancel()


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
