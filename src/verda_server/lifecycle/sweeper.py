"""Background housekeeping while the app serves: each job on its own period."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from starlette.concurrency import run_in_threadpool

logger = logging.getLogger("verda_server.sweeper")

Job = tuple[float, Callable[[], object]]


@contextlib.asynccontextmanager
async def periodic(*jobs: Job) -> AsyncIterator[None]:
    async def loop(interval: float, job: Callable[[], object]) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await run_in_threadpool(job)
            except Exception:
                # A failed round is logged and retried next period, never fatal.
                logger.exception("background job %s failed", getattr(job, "__name__", job))

    tasks = [asyncio.create_task(loop(interval, job)) for interval, job in jobs]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
