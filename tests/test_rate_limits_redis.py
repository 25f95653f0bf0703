"""Replicas on one Redis share one rate-limit budget (the Redis of
tests/support/redis_server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
import redis

from tests.support.live import TLS, LiveServer, start_live_server
from tests.support.redis_server import redis_server
from tests.test_rate_limits import assert_refused, limited, policy, state, window_start
from verda_server.clock import Clock


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


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
    with (
        httpx.Client(verify=TLS, base_url=first.base_url) as a,
        httpx.Client(verify=TLS, base_url=second.base_url) as b,
    ):
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
    with (
        httpx.Client(verify=TLS, base_url=first.base_url) as a,
        httpx.Client(verify=TLS, base_url=second.base_url) as b,
    ):
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
        with httpx.Client(verify=TLS, base_url=server.base_url) as client:
            bearer = {"Authorization": f"Bearer {creds.access_token(client)}"}
            assert client.get("/v1/ssh-keys", headers=bearer).status_code == 200
    keys = set(redis.Redis.from_url(redis_url).keys(f"*{creds.project_id}*"))
    # The project's counter and its endpoint's, in this window; and its journal.
    journal = f"verda:journal:{creds.project_id}".encode()
    assert journal in keys
    assert [key.split(b":")[0] for key in keys - {journal}] == [b"verda-ratelimit"] * 2


def test_redis_out_of_reach_is_a_503_not_a_500(empty_database_url, contract):
    with ExitStack() as stack:
        url = stack.enter_context(redis_server(own=True))
        server = stack.enter_context(start_live_server(empty_database_url, redis_url=url))
        creds = server.new_project()
        with httpx.Client(
            verify=TLS,
            base_url=server.base_url,
            event_hooks={"response": [lambda r: (r.read(), contract.verify(r))]},
        ) as client:
            bearer = {"Authorization": f"Bearer {creds.access_token(client)}"}
            assert client.get("/v1/ssh-keys", headers=bearer).status_code == 200
            redis.Redis.from_url(url).shutdown(nosave=True)
            refused = client.get("/v1/ssh-keys", headers=bearer)
            assert refused.status_code == 503
            assert refused.json() == {
                "code": "service_unavailable",
                "message": "The rate-limit store (Redis) cannot be reached; retry shortly",
            }
            assert refused.headers["retry-after"] == "1"
