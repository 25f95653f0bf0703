"""The window counters in one Redis shared by every replica (counters.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

import redis
import redis.asyncio
from limits.aio.storage import RedisStorage
from redis.exceptions import RedisError

from verda_server.ratelimits.counters import (
    KEY_PREFIX,
    RETENTION_SECONDS,
    RedisUnavailable,
    unreachable,
)

SCHEMES = ("redis", "rediss")


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
