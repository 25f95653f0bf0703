"""The token endpoint under load: bounded secret checks, 503 for the excess, no lock held.

Each test runs its own server and holds the scrypt checks at a gate, so that
"saturated" is a state the test sets up, not a race it hopes to win.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.support.live import TLS, LiveServer, start_live_server
from tests.support.openapi import ContractChecker
from tests.test_errors import assert_error
from verda_server.auth import verifier as verifier_module
from verda_server.auth.secrets import check_secret
from verda_server.projects import service as projects

TOKEN = "/v1/oauth2/token"


class Gate:
    """Stands in for the scrypt check: counts calls and holds each until opened."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, secret: str, stored: str) -> bool:
        with self._lock:
            self.calls += 1
        self.opened.wait(timeout=30)
        return check_secret(secret, stored)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.005)


def grant(client_id: str, secret: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}


@contextmanager
def gated_server(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    gate = Gate()
    monkeypatch.setattr(verifier_module, "check_secret", gate)
    try:
        with start_live_server(database_url) as live:
            document = httpx.get(live.base_url + "/v1/openapi.json", verify=TLS).json()
            contract = ContractChecker(document)

            def verify(response: httpx.Response) -> None:
                response.read()
                contract.verify(response)

            with (
                httpx.Client(
                    verify=TLS,
                    base_url=live.base_url,
                    timeout=30,
                    event_hooks={"response": [verify]},
                ) as http,
                ThreadPoolExecutor(max_workers=32) as pool,
            ):
                try:
                    yield live, gate, http, pool
                finally:
                    gate.opened.set()  # before the pool waits for what is held
    finally:
        gate.opened.set()


def post_async(pool: ThreadPoolExecutor, live: LiveServer, body: dict) -> Future[httpx.Response]:
    return pool.submit(httpx.post, live.base_url + TOKEN, json=body, timeout=30)


def count_verifications(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many grants have reached the secret check, in a one-item list."""
    verifier = live.context.tokens._verifier
    original = verifier.verify
    arrived = [0]

    async def counted(secret: str, stored: str) -> bool:
        arrived[0] += 1
        return await original(secret, stored)

    monkeypatch.setattr(verifier, "verify", counted)
    return arrived


def test_the_excess_over_the_bounded_checks_gets_503_and_a_known_pair_still_200(
    empty_database_url, monkeypatch
):
    with gated_server(empty_database_url, monkeypatch) as (live, gate, http, pool):
        creds = live.new_project()
        gate.opened.set()
        assert http.post(TOKEN, json=grant(creds.client_id, creds.client_secret)).status_code == 200
        gate.opened.clear()
        before = gate.calls
        verifier = live.context.tokens._verifier
        capacity = verifier_module.SLOTS + verifier_module.QUEUE
        waiting = [
            post_async(pool, live, grant(creds.client_id, f"wrong-{n}")) for n in range(capacity)
        ]
        wait_until(lambda: verifier._admitted == capacity, "every slot and queue place is taken")
        wait_until(lambda: gate.calls - before == verifier_module.SLOTS, "the slots are busy")

        refused = http.post(TOKEN, json=grant(creds.client_id, "one-too-many"))
        message = assert_error(refused, 503, "service_unavailable")
        assert message == "Too many client credential checks at once, retry shortly"
        assert refused.headers["Retry-After"] == "1"
        # A pair already checked needs no check; an unknown client none either.
        assert http.post(TOKEN, json=grant(creds.client_id, creds.client_secret)).status_code == 200
        unknown = http.post(TOKEN, json=grant("nobody", "x"))
        assert_error(unknown, 401, "unauthorized_request")

        gate.opened.set()
        assert [future.result().status_code for future in waiting] == [401] * capacity
        assert gate.calls - before == capacity  # each admitted grant checked once
        # A wrong secret already checked is refused without another check.
        for _ in range(3):
            again = http.post(TOKEN, json=grant(creds.client_id, "wrong-0"))
            assert_error(again, 401, "unauthorized_request")
        assert gate.calls - before == capacity


def test_the_same_wrong_secret_sent_many_times_at_once_costs_one_check(
    empty_database_url, monkeypatch
):
    with gated_server(empty_database_url, monkeypatch) as (live, gate, _http, pool):
        creds = live.new_project()
        arrived = count_verifications(live, monkeypatch)
        many = 3 * (verifier_module.SLOTS + verifier_module.QUEUE)
        futures = [
            post_async(pool, live, grant(creds.client_id, "the-same-wrong-one"))
            for _ in range(many)
        ]
        wait_until(lambda: arrived[0] == many, "every grant waits on the check")
        gate.opened.set()
        assert [future.result().status_code for future in futures] == [401] * many
        assert gate.calls == 1


def test_a_secret_check_holds_no_lock_on_the_store(empty_database_url, monkeypatch):
    with gated_server(empty_database_url, monkeypatch) as (live, gate, http, pool):
        creds, other = live.new_project(), live.new_project()
        gate.opened.set()
        token = other.access_token(http)
        gate.opened.clear()
        pending = post_async(pool, live, grant(creds.client_id, creds.client_secret))
        wait_until(lambda: gate.calls == 2, "the check has started")
        created = http.post(
            "/v1/scripts",
            json={"name": "during", "script": "echo"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201
        gate.opened.set()
        assert pending.result().status_code == 200


def test_a_secret_rotated_while_it_is_checked_gets_no_token(empty_database_url, monkeypatch):
    with gated_server(empty_database_url, monkeypatch) as (live, gate, _http, pool):
        creds = live.new_project()
        pending = post_async(pool, live, grant(creds.client_id, creds.client_secret))
        wait_until(lambda: gate.calls == 1, "the check has started")
        with live.context.db.write() as session:
            projects.bootstrap(
                session,
                live.context.clock,
                balance=Decimal(0),
                currency="usd",
                client_id=creds.client_id,
                client_secret="rotated-meanwhile",
            )
        gate.opened.set()
        message = assert_error(pending.result(), 401, "unauthorized_request")
        assert message == "Invalid client credentials"
