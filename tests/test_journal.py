"""GET /_admin/v1/projects/{project_id}/journal: a project's last requests, newest first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import checked_client
from tests.support.live import ADMIN_TOKEN, TLS, LiveServer, start_live_server
from tests.support.logs import CapturedLog, captured
from tests.support.redis_server import redis_server
from verda_server.clock import isoformat

SIZE = 3
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def small(database_url: str) -> Iterator[LiveServer]:
    """A second server on the session's store, keeping 3 requests per project."""
    with start_live_server(database_url, journal_size=SIZE) as server:
        yield server


@pytest.fixture
def logs() -> Iterator[CapturedLog]:
    with captured() as log:
        yield log


@pytest.fixture
def small_admin(small: LiveServer, admin_contract: Any) -> Iterator[httpx.Client]:
    with checked_client(small.base_url, admin_contract, ADMIN_TOKEN) as client:
        yield client


def _project_client(server: LiveServer, contract: Any) -> tuple[str, httpx.Client]:
    creds = server.new_project()
    with httpx.Client(verify=TLS, base_url=server.base_url) as anonymous:
        token = creds.access_token(anonymous)
    return creds.project_id, checked_client(server.base_url, contract, token)


def _journal(admin: httpx.Client, project_id: str, **params: Any) -> dict[str, Any]:
    response = admin.get(f"/_admin/v1/projects/{project_id}/journal", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _sent(client: httpx.Client, logs: CapturedLog, method: str, path: str, **kw: Any) -> str:
    rid = client.request(method, path, **kw).headers["x-request-id"]
    logs.access(rid)  # written last: the journal holds it now
    return rid


def test_newest_first_with_every_field(live, admin, contract, logs):
    project_id, client = _project_client(live, contract)
    with client:
        first = _sent(client, logs, "GET", "/v1/instances")
        live.tick()
        second = _sent(client, logs, "GET", f"/v1/instances/{MISSING}", params={"x": "1"})
        live.tick()
        third = _sent(client, logs, "POST", "/v1/sshkeys", json={})
    journal = _journal(admin, project_id)
    assert journal["project_id"] == project_id
    assert journal["size"] == 200
    entries = journal["entries"]
    for entry in entries:
        assert isinstance(entry.pop("duration_ms"), float)
    now = live.clock.now()
    assert entries == [
        {
            "time": isoformat(now),
            "method": "POST",
            "path": "/v1/sshkeys",
            "route": "/v1/sshkeys",
            "status": 400,
            "request_id": third,
        },
        {
            "time": isoformat(now - timedelta(milliseconds=1)),
            "method": "GET",
            "path": f"/v1/instances/{MISSING}",
            "route": "/v1/instances/{instance_id}",
            "status": 404,
            "request_id": second,
        },
        {
            "time": isoformat(now - timedelta(milliseconds=2)),
            "method": "GET",
            "path": "/v1/instances",
            "route": "/v1/instances",
            "status": 200,
            "request_id": first,
        },
    ]
    assert [e["request_id"] for e in _journal(admin, project_id, limit=2)["entries"]] == [
        third,
        second,
    ]


def test_only_the_last_n_are_kept(small, small_admin, contract, logs):
    project_id, client = _project_client(small, contract)
    with client:
        sent = [_sent(client, logs, "GET", "/v1/instances") for _ in range(SIZE + 2)]
    journal = _journal(small_admin, project_id)
    assert journal["size"] == SIZE
    assert [e["request_id"] for e in journal["entries"]] == sent[::-1][:SIZE]
    assert [
        e["request_id"] for e in _journal(small_admin, project_id, limit=SIZE + 1)["entries"]
    ] == (sent[::-1][:SIZE])
    assert len(_journal(small_admin, project_id, limit=1)["entries"]) == 1


def test_each_project_sees_only_its_own_requests(live, admin, contract, http, logs):
    one, first_client = _project_client(live, contract)
    two, second_client = _project_client(live, contract)
    with first_client, second_client:
        mine = _sent(first_client, logs, "GET", "/v1/instances")
        theirs = _sent(second_client, logs, "GET", "/v1/sshkeys")
        # Neither anonymous nor refused requests belong to any project.
        _sent(http, logs, "GET", "/v1/instances")
        _sent(http, logs, "GET", "/v1/instances", headers={"Authorization": "Bearer nope"})
    assert [e["request_id"] for e in _journal(admin, one)["entries"]] == [mine]
    assert [e["request_id"] for e in _journal(admin, two)["entries"]] == [theirs]


def test_a_project_without_requests_and_an_unknown_one(live, admin, project):
    assert _journal(admin, project.project_id)["entries"] == []
    missing = admin.get(f"/_admin/v1/projects/{MISSING}/journal")
    assert missing.status_code == 404
    assert missing.json() == {"code": "not_found", "message": f"Project not found: {MISSING}"}
    for limit in ("0", "-1", "x", "100001"):
        bad = admin.get(f"/_admin/v1/projects/{project.project_id}/journal?limit={limit}")
        assert bad.status_code == 400, limit


def test_no_project_token_reads_a_journal(live, project, token, admin_contract):
    path = f"/_admin/v1/projects/{project.project_id}/journal"
    with checked_client(live.base_url, admin_contract, token) as client:
        assert client.get(path).status_code == 401
    with checked_client(live.base_url, admin_contract) as client:
        assert client.get(path).status_code == 401


def test_replicas_on_redis_share_one_journal(database_url, contract, admin_contract, logs):
    with (
        redis_server() as url,
        start_live_server(database_url, redis_url=url, journal_size=SIZE) as one,
        start_live_server(database_url, redis_url=url, journal_size=SIZE) as two,
    ):
        project_id, on_one = _project_client(one, contract)
        with on_one, checked_client(two.base_url, contract) as plain:
            token = on_one.headers["authorization"]
            sent = []
            for index in range(SIZE + 1):
                client = on_one if index % 2 == 0 else plain
                sent.append(
                    _sent(client, logs, "GET", "/v1/instances", headers={"Authorization": token})
                )
        for server in (one, two):
            with checked_client(server.base_url, admin_contract, ADMIN_TOKEN) as admin:
                journal = _journal(admin, project_id)
                assert [e["request_id"] for e in journal["entries"]] == sent[::-1][:SIZE]
