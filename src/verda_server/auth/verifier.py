"""Client-secret checks with bounded cost, so a flood of grants cannot starve the server.

scrypt is memory-hard on purpose (16 MiB, tens of milliseconds a check). The
checks therefore run on one or two dedicated threads (SLOTS at a time); a bounded
number (QUEUE) may wait for a thread, and any more are refused at once with 503
and `Retry-After`. Results are remembered by a digest of (stored hash, secret):
a pair known to be right or wrong answers without a check, and identical checks
arriving together share one. The stored hash is part of the key, so a rotated
secret is checked afresh; the secret itself is never kept.
"""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from verda_server.api.errors import ApiError
from verda_server.auth import memory
from verda_server.auth.secrets import check_secret, digest

# Checks at once: at most two (32 MiB), and one core always left to the event
# loop, which must keep answering everything else during a flood.
SLOTS = min(2, max(1, (os.cpu_count() or 1) - 1))
QUEUE = 8
RETRY_AFTER_SECONDS = 1


def busy() -> ApiError:
    return ApiError(
        "service_unavailable",
        "Too many client credential checks at once, retry shortly",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class _Recent:
    """A bounded set that forgets its least recently used members first."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def __contains__(self, key: str) -> bool:
        if key not in self._items:
            return False
        self._items.move_to_end(key)
        return True

    def add(self, key: str) -> None:
        self._items[key] = None
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)


class SecretVerifier:
    """Used from the event loop only: its bookkeeping needs no locks."""

    def __init__(self, slots: int = SLOTS, queue: int = QUEUE, remember: int = 4096) -> None:
        memory.map_large_blocks()
        self._executor = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="scrypt")
        self._capacity = slots + queue
        self._admitted = 0
        self._right = _Recent(remember)
        self._wrong = _Recent(remember)
        self._running: dict[str, asyncio.Future[bool]] = {}

    async def verify(self, secret: str, stored: str) -> bool:
        key = digest(stored + "\x00" + secret)
        if key in self._right:
            return True
        if key in self._wrong:
            return False
        check = self._running.get(key)
        if check is None:
            if self._admitted >= self._capacity:
                raise busy()
            check = self._start(key, secret, stored)
        # A caller that goes away must not cancel a check others share.
        return await asyncio.shield(check)

    def _start(self, key: str, secret: str, stored: str) -> asyncio.Future[bool]:
        loop = asyncio.get_running_loop()
        check = loop.run_in_executor(self._executor, check_secret, secret, stored)
        self._admitted += 1
        self._running[key] = check

        def settle(done: asyncio.Future[bool]) -> None:
            self._admitted -= 1
            del self._running[key]
            if not done.cancelled() and done.exception() is None:
                (self._right if done.result() else self._wrong).add(key)

        check.add_done_callback(settle)
        return check

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
