"""Replicas on one Redis share one rate-limit budget.

The Redis is VERDA_TEST_REDIS_URL when set (CI's), else a `redis-server` of its
own on a free port (no persistence). Without either these tests are skipped,
unless VERDA_TEST_REQUIRE_REDIS=1 (as in CI), which turns the skip into a
failure. Every key names a fresh project, so a shared Redis is safe to use.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
import redis

from tests.support.live import LiveServer, free_port, start_live_server
from tests.test_rate_limits import assert_refused, limited, policy, state, window_start
from verda_server.clock import Clock
from verda_server.ratelimits.counters import KEY_PREFIX


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    given = os.environ.get("VERDA_TEST_REDIS_URL")
    if given:
        yield given
        return
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("VERDA_TEST_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is not installed but Redis is required")
        pytest.skip("the Redis tests need redis-server")
    port = free_port()
    server = subprocess.Popen(
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
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture
def replicas(empty_database_url: str, redis_url: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two servers on one store, one Redis and one clock."""
    clock = Clock.frozen()
    with ExitStack() as stack:
        first, second = (
            stack.enter_context(start_live_server(empty_database_url, clock, redis_url=redis_url))
            for _ in range(2)
        )
        yield first, second


def test_two_replicas_share_one_budget(replicas, contract):
    first, second = replicas
    window_start(first)
    creds = first.new_project()
    with httpx.Client(base_url=first.base_url) as a, httpx.Client(base_url=second.base_url) as b:
        bearer = {"Authorization": f"Bearer {creds.access_token(a)}"}
        for n in range(60):
            response = (a, b)[n % 2].get("/v1/ssh-keys", headers=bearer)
            contract.verify(response)
            assert response.status_code == 200
            assert limited(response) == (policy(), state(499 - n, 59 - n, 60))
        for client in (a, b):
            refused = client.get("/v1/ssh-keys", headers=bearer)
            contract.verify(refused)
            assert_refused(refused, 60)
            assert limited(refused) == (policy(), state(440, 0, 60))
        # Token requests are counted across replicas too (one so far, on `a`).
        grant = {
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        }
        assert limited(b.post("/v1/oauth2/token", json=grant))[1] == state(498, 58, 60)
        first.clock.advance(60)
        again = b.get("/v1/ssh-keys", headers=bearer)
        assert again.status_code == 200
        assert limited(again) == (policy(), state(499, 59, 60))


def test_the_project_budget_is_shared_across_paths_and_replicas(replicas):
    first, second = replicas
    window_start(first)
    creds = first.new_project()
    first.set_rate_limits(creds.project_id, project=4)
    with httpx.Client(base_url=first.base_url) as a, httpx.Client(base_url=second.base_url) as b:
        bearer = {"Authorization": f"Bearer {creds.access_token(a)}"}
        paths = ("/v1/ssh-keys", "/v1/scripts", "/v1/volumes", "/v1/instances")
        for n, path in enumerate(paths):
            assert limited((a, b)[n % 2].get(path, headers=bearer))[1].startswith(
                f'"project";r={3 - n};'
            )
        for client in (a, b):
            assert_refused(client.get("/v1/balance", headers=bearer), 60)


def test_the_redis_url_variable_puts_the_counters_in_redis(redis_url, monkeypatch, tmp_path):
    from tests.support import cli

    with cli.serve(
        monkeypatch, "--data-dir", str(tmp_path), env={"VERDA_SERVER_REDIS_URL": redis_url}
    ) as server:
        creds = server.new_project()
        with httpx.Client(base_url=server.base_url) as client:
            bearer = {"Authorization": f"Bearer {creds.access_token(client)}"}
            assert client.get("/v1/ssh-keys", headers=bearer).status_code == 200
    keys = redis.Redis.from_url(redis_url).keys(f"{KEY_PREFIX}:*{creds.project_id}*")
    # The project's counter and its endpoint's, in this window.
    assert len(keys) == 2
