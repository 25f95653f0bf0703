"""The in-memory window counters: what `limits`' MemoryStorage did, without it."""

from __future__ import annotations

import asyncio

import pytest

from verda_server.ratelimits import counters
from verda_server.ratelimits.counters import RETENTION_SECONDS, MemoryCounters


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(counters, "time", fake)
    return fake


def test_counts_live_from_their_first_increment_for_the_retention(clock):
    async def scenario() -> None:
        memory = MemoryCounters()
        assert await memory.get("a") == 0
        assert await memory.incr("a") == 1
        clock.now += RETENTION_SECONDS - 1
        assert await memory.incr("a", 2) == 3  # a later increment does not extend it
        assert await memory.get("a") == 3
        clock.now += 1
        assert await memory.get("a") == 0
        assert await memory.incr("a") == 1  # a new lifetime
        clock.now += RETENTION_SECONDS - 1
        assert await memory.get("a") == 1

    asyncio.run(scenario())


def test_a_count_taken_back_to_zero_starts_again_on_the_next_increment(clock):
    async def scenario() -> None:
        memory = MemoryCounters()
        assert await memory.incr("p") == 1
        assert await memory.incr("p", -1) == 0
        clock.now += 10
        assert await memory.incr("p") == 1
        clock.now += RETENTION_SECONDS - 1
        assert await memory.get("p") == 1  # its lifetime started 10 s later
        assert await memory.incr("q", -1) == -1

    asyncio.run(scenario())


def test_expired_keys_are_swept_without_being_read(clock):
    async def scenario() -> None:
        memory = MemoryCounters()
        for n in range(100):
            await memory.incr(f"k{n}")
        clock.now += RETENTION_SECONDS + MemoryCounters.SWEEP_SECONDS
        await memory.incr("other")
        assert set(memory._counts) == {"other"}
        assert set(memory._expires) == {"other"}

    asyncio.run(scenario())
