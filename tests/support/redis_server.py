"""The Redis of the tests: CI's (VERDA_TEST_REDIS_URL), else a throwaway
redis-server on a free port (the Debian package's binary, no persistence).

Without either, Redis tests are skipped, unless VERDA_TEST_REQUIRE_REDIS=1 (as in
CI), which turns the skip into a failure. Every key the server writes names a
project (or a client id) of its own test, so tests can share one Redis.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

from tests.support.live import free_port


@contextmanager
def redis_server(own: bool = False) -> Iterator[str]:
    """A Redis URL; `own`: always a throwaway server (for a test that stops it)."""
    given = os.environ.get("VERDA_TEST_REDIS_URL")
    if given and not own:
        yield given
        return
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("VERDA_TEST_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is not installed but Redis is required")
        pytest.skip("the Redis tests need redis-server or VERDA_TEST_REDIS_URL")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
