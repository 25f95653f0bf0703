"""Where the window counters live: this process's memory, or one shared Redis.

Both are the `limits` library's storages, used for what its fixed-window
strategy does (an increment that sets the key's expiry on the first hit),
called directly because the limiter needs the count the increment returns (the
`r` of the RateLimit header) and takes its windows from the server clock, not
from the storage's own expiry (limiter.py).
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit

import redis
import redis.asyncio
from limits.aio.storage import RedisStorage
from limits.storage import MemoryStorage
from redis.exceptions import RedisError

from verda_server.api.errors import ApiError

# Real seconds a window's counters are kept. The window itself is part of each
# key and follows the server clock; a frozen clock can hold one window open for
# any length of real time, so the counters must outlive a real minute
# comfortably: ten minutes of one frozen window before its counts are forgotten,
# without keeping every past window's keys around for long.
RETENTION_SECONDS = 600
KEY_PREFIX = "verda-ratelimit"
SCHEMES = ("redis", "rediss")


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
        self._storage = MemoryStorage()

    async def incr(self, key: str, amount: int = 1) -> int:
        return self._storage.incr(key, RETENTION_SECONDS, amount)

    async def get(self, key: str) -> int:
        return self._storage.get(key)

    async def close(self) -> None:
        self._storage.timer.cancel()


class RedisUnavailable(Exception):
    """The Redis URL is malformed or its server does not answer."""


class RedisCounters:
    """One Redis for every replica, so they share one budget. Each increment is
    one round trip (the storage's INCRBY + EXPIRE script)."""

    def __init__(self, url: str) -> None:
        self._pool = redis.asyncio.ConnectionPool.from_url(url)
        self._storage = RedisStorage(
            f"async+{url}",
            implementation="redispy",
            key_prefix=KEY_PREFIX,
            connection_pool=self._pool,  # type: ignore[arg-type]  # passed on to the client
        )

    async def incr(self, key: str, amount: int = 1) -> int:
        try:
            return await self._storage.incr(key, RETENTION_SECONDS, amount)
        except RedisError as exc:
            raise unreachable() from exc

    async def get(self, key: str) -> int:
        try:
            return await self._storage.get(key)
        except RedisError as exc:
            raise unreachable() from exc

    async def close(self) -> None:
        await self._pool.disconnect()


def unreachable() -> ApiError:
    # Refused, not let through uncounted: the budget replicas share cannot be
    # kept without its store, and a 503 says to retry, where a 500 says a bug.
    return ApiError(
        "service_unavailable",
        "The rate-limit store (Redis) cannot be reached; retry shortly",
        headers={"Retry-After": "1"},
    )


def check_redis(url: str) -> None:
    """Fail at start-up, not on the first request, when Redis cannot be used."""
    if urlsplit(url).scheme not in SCHEMES:
        raise RedisUnavailable(f"--redis-url must be a redis:// or rediss:// URL, not {url!r}")
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, ValueError) as exc:
        raise RedisUnavailable(f"cannot reach Redis at {_safe(url)}: {exc}") from exc


def _safe(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


def open_counters(redis_url: str | None) -> Counters:
    if redis_url is None:
        return MemoryCounters()
    check_redis(redis_url)
    return RedisCounters(redis_url)
