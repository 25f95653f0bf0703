"""The last N requests of each project, newest first, for debugging a client.

In this process by default; in Redis when the server is given one, so that
every replica behind one address writes and reads the same journal.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from datetime import UTC, datetime
from itertools import islice
from typing import Any, NamedTuple, Protocol, TypedDict

from verda_server.clock import isoformat

logger = logging.getLogger("verda_server.journal")

DEFAULT_SIZE = 200
MAX_SIZE = 100_000
_KEY_PREFIX = "verda:journal:"


class Visit(NamedTuple):
    """A request as recorded on the hot path: its time still a number."""

    timestamp: float
    method: str
    path: str
    route: str | None
    status: int
    duration_ms: float
    request_id: str


class JournalEntry(TypedDict):
    time: str
    method: str
    path: str
    route: str | None
    status: int
    duration_ms: float
    request_id: str


def entry_of(visit: Visit) -> JournalEntry:
    return {
        "time": isoformat(datetime.fromtimestamp(visit.timestamp, UTC)),
        "method": visit.method,
        "path": visit.path,
        "route": visit.route,
        "status": visit.status,
        "duration_ms": visit.duration_ms,
        "request_id": visit.request_id,
    }


class Journal(Protocol):
    size: int

    async def record(self, project_id: str, visit: Visit) -> None: ...

    async def recent(self, project_id: str, limit: int) -> list[JournalEntry]: ...

    async def close(self) -> None: ...


class MemoryJournal:
    """Only ever touched from the event loop, so it needs no lock."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._visits: dict[str, deque[Visit]] = {}

    async def record(self, project_id: str, visit: Visit) -> None:
        visits = self._visits.get(project_id)
        if visits is None:
            visits = self._visits[project_id] = deque(maxlen=self.size)
        visits.appendleft(visit)

    async def recent(self, project_id: str, limit: int) -> list[JournalEntry]:
        return [entry_of(visit) for visit in islice(self._visits.get(project_id, ()), limit)]

    async def close(self) -> None:
        self._visits.clear()


class RedisJournal:
    """One list per project: LPUSH puts the newest first, LTRIM keeps N."""

    def __init__(self, url: str, size: int = DEFAULT_SIZE) -> None:
        from redis.asyncio import Redis

        self.size = size
        self._redis: Any = Redis.from_url(url)

    async def record(self, project_id: str, visit: Visit) -> None:
        from redis.exceptions import RedisError

        key = _KEY_PREFIX + project_id
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                await pipe.lpush(key, json.dumps(visit)).ltrim(key, 0, self.size - 1).execute()
        except RedisError as exc:
            # The journal is for debugging: losing an entry must not fail a request.
            logger.warning("journal entry not kept: %s", exc)

    async def recent(self, project_id: str, limit: int) -> list[JournalEntry]:
        raw = await self._redis.lrange(_KEY_PREFIX + project_id, 0, min(limit, self.size) - 1)
        return [entry_of(Visit(*json.loads(item))) for item in raw]

    async def close(self) -> None:
        await self._redis.aclose()


def make_journal(size: int, redis_url: str | None) -> Journal:
    return RedisJournal(redis_url, size) if redis_url else MemoryJournal(size)
