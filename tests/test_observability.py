"""Request ids, log lines and Prometheus metrics, through the real HTTP stack."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import checked_client
from tests.support.keys import ed25519_key
from tests.support.live import ADMIN_TOKEN, TLS, LiveServer, start_live_server
from tests.support.logs import CapturedLog, captured
from verda_server.api.errors import ApiError
from verda_server.clock import isoformat
from verda_server.observability.logs import JsonFormatter, TextFormatter
from verda_server.observability.middleware import ObservabilityMiddleware

NEW_ID = re.compile(r"[0-9a-f]{32}")
DEPLOY = {
    "instance_type": "CPU.4V.16G",
    "image": "ubuntu-24.04",
    "hostname": "h",
    "description": "",
    "location_code": "FIN-01",
}


@pytest.fixture(scope="module")
def observed(database_url: str) -> Iterator[LiveServer]:
    """A second server on the session's store, its metrics open to all."""
    with start_live_server(database_url, metrics_public=True) as server:
        yield server


@pytest.fixture
def logs() -> Iterator[CapturedLog]:
    with captured() as log:
        yield log


@pytest.fixture
def observed_http(observed: LiveServer, contract: Any) -> Iterator[httpx.Client]:
    with checked_client(observed.base_url, contract) as client:
        yield client


def _rid(response: httpx.Response) -> str:
    return response.headers["x-request-id"]


def test_every_response_carries_a_new_request_id(live, http, authed, admin_contract):
    responses = [
        http.get("/healthz"),
        http.get("/v1/balance"),  # 401
        http.get("/v1/nowhere"),  # 404 of no route
        http.post("/v1/instances", content=b"{", headers={"Content-Type": "application/json"}),
        authed.get("/v1/instances"),
        http.get("/v1/openapi.json"),
        http.get("/metrics"),  # 401 here: not opened
    ]
    with checked_client(live.base_url, admin_contract) as control:
        responses.append(control.get("/_admin/v1/clock"))
    assert [r.status_code for r in responses] == [200, 401, 404, 400, 200, 200, 401, 401]
    ids = [_rid(r) for r in responses]
    assert all(NEW_ID.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("sent", ["a", "req-1.2_3:4+5/6=", "0" * 128, "6f1c8f55-2a5e-4c3b"])
def test_a_usable_client_id_comes_back_as_sent(http, sent):
    assert _rid(http.get("/healthz", headers={"X-Request-Id": sent})) == sent


@pytest.mark.parametrize(
    "sent", ["0" * 129, "", "a b", 'a"b', "a\\b", "a,b", "<a>", "é".encode(), "a\tb"]
)
def test_an_unusable_client_id_is_replaced(http, sent):
    rid = _rid(http.get("/healthz", headers={"X-Request-Id": sent}))
    assert NEW_ID.fullmatch(rid)


def test_the_first_of_two_ids_counts(http):
    response = http.get("/healthz", headers=[("X-Request-Id", "one"), ("X-Request-Id", "two")])
    assert _rid(response) == "one"


def test_one_json_line_per_request_with_the_route_template_and_the_project(
    live, authed, project, logs
):
    missing = "00000000-0000-4000-8000-000000000000"
    response = authed.get(f"/v1/instances/{missing}", headers={"X-Request-Id": "trace-1"})
    assert response.status_code == 404
    line = logs.access("trace-1")
    duration = line.pop("duration_ms")
    assert isinstance(duration, float) and duration >= 0
    assert line == {
        "time": isoformat(live.clock.now()),
        "level": "info",
        "logger": "verda_server.access",
        "request_id": "trace-1",
        "project_id": project.project_id,
        "method": "GET",
        "route": "/v1/instances/{instance_id}",
        "status": 404,
    }
    assert sum(1 for r in logs.records if r.get("request_id") == "trace-1") == 1


def test_a_line_without_a_project_or_a_route(http, logs):
    anonymous = http.get("/v1/instances", headers={"X-Request-Id": "anon"})
    nowhere = http.delete("/v1/nowhere/1", headers={"X-Request-Id": "nowhere"})
    refused = http.post(
        "/v1/instances",
        content=b"{",
        headers={"X-Request-Id": "edge", "Content-Type": "application/json"},
    )
    assert (anonymous.status_code, nowhere.status_code, refused.status_code) == (401, 404, 400)
    assert logs.access("anon")["project_id"] is None
    assert logs.access("anon")["route"] == "/v1/instances"
    assert logs.access("nowhere")["route"] is None
    # Refused before routing (a malformed body), it still names its route.
    assert logs.access("edge")["route"] == "/v1/instances"
    assert logs.access("edge")["project_id"] is None


def test_text_lines_name_what_json_lines_do():
    access = {
        "time": "2025-06-01T12:00:00.000Z",
        "request_id": "r-1",
        "project_id": None,
        "method": "GET",
        "route": None,
        "status": 404,
        "duration_ms": 1.25,
    }
    record = logging.makeLogRecord({"name": "verda_server.access", "levelname": "INFO"})
    record.access = access
    assert TextFormatter().format(record) == (
        "2025-06-01T12:00:00.000Z INFO    GET - 404 1.2 ms project=- id=r-1"
    )
    other = logging.makeLogRecord(
        {"name": "verda_server", "levelname": "WARNING", "msg": "x %s", "args": (1,), "created": 0}
    )
    assert TextFormatter().format(other) == "1970-01-01T00:00:00.000Z WARNING verda_server: x 1"
    assert json.loads(JsonFormatter().format(other)) == {
        "time": "1970-01-01T00:00:00.000Z",
        "level": "warning",
        "logger": "verda_server",
        "message": "x 1",
    }


def test_a_500_names_its_request_id_in_body_header_and_log(live, http, logs, monkeypatch):
    def boom(*_args: Any) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(live.context.catalog, "rendered", boom)
    response = http.get("/v1/instance-types", headers={"X-Request-Id": "bad-day"})
    fresh = http.get("/v1/container-types")
    assert response.status_code == fresh.status_code == 500
    assert response.json() == {
        "code": "server_error",
        "message": "Internal server error (request id bad-day)",
    }
    assert _rid(response) == "bad-day"
    assert fresh.json()["message"] == f"Internal server error (request id {_rid(fresh)})"
    line = logs.access("bad-day")
    assert (line["status"], line["route"]) == (500, "/v1/instance-types")
    (error,) = [r for r in logs.records if r["level"] == "error" and "bad-day" in str(r)]
    assert error["request_id"] == "bad-day"
    assert "kaboom" in error["exception"]


def test_a_failure_outside_the_app_is_a_json_500_with_the_id(live, logs):
    app = live.server.app
    (layer,) = [m for m in app.user_middleware if m.cls is ObservabilityMiddleware]

    async def failing(scope, receive, send):
        raise RuntimeError("outside")

    outer = ObservabilityMiddleware(failing, **layer.kwargs)
    transport = httpx.ASGITransport(app=outer)

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            return await client.get("/healthz", headers={"X-Request-Id": "outer"})

    response = asyncio.run(call())
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "outer"
    assert response.json() == {
        "code": "server_error",
        "message": "Internal server error (request id outer)",
    }
    assert logs.access("outer")["status"] == 500


def test_an_http_500_names_its_request_id(live, http, monkeypatch):
    from starlette.exceptions import HTTPException

    def fail(*_args: Any) -> None:
        raise HTTPException(500, "internal detail")

    monkeypatch.setattr(live.context.catalog, "rendered", fail)
    response = http.get("/v1/instance-types", headers={"X-Request-Id": "h500"})
    assert response.json()["message"] == "Internal server error (request id h500)"


# --- metrics -----------------------------------------------------------------------------


def scrape(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def delta(before: dict, after: dict, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    changed = {}
    for (metric, labels), value in after.items():
        if metric == name and value != before.get((metric, labels), 0):
            changed[labels] = value - before.get((metric, labels), 0)
    for (metric, labels), value in before.items():
        if metric == name and (metric, labels) not in after:
            changed[labels] = -value
    return changed


def _client(observed: LiveServer, http: httpx.Client, contract: Any) -> httpx.Client:
    creds = observed.new_project()
    return checked_client(observed.base_url, contract, creds.access_token(http))


def test_requests_are_counted_by_route_method_and_status(observed, observed_http, contract, logs):
    with _client(observed, observed_http, contract) as client:
        before = scrape(observed_http)
        sent = [
            client.get("/v1/instances"),
            client.get("/v1/instances"),
            client.get("/v1/instances/00000000-0000-4000-8000-000000000000"),
            client.post("/v1/instances", json={}),
            observed_http.get("/v1/no/such/thing"),
        ]
        for response in sent:
            logs.access(_rid(response))
        after = scrape(observed_http)
    assert delta(before, after, "verda_http_requests_total") == {
        (("method", "GET"), ("route", "/v1/instances"), ("status", "200")): 2,
        (("method", "GET"), ("route", "/v1/instances/{instance_id}"), ("status", "404")): 1,
        (("method", "POST"), ("route", "/v1/instances"), ("status", "400")): 1,
        (("method", "GET"), ("route", "unmatched"), ("status", "404")): 1,
        # The first scrape.
        (("method", "GET"), ("route", "/metrics"), ("status", "200")): 1,
    }
    counts = delta(before, after, "verda_http_request_duration_seconds_count")
    assert counts == {
        (("route", "/v1/instances"),): 3,
        (("route", "/v1/instances/{instance_id}"),): 1,
        (("route", "unmatched"),): 1,
        (("route", "/metrics"),): 1,
    }
    inf = delta(before, after, "verda_http_request_duration_seconds_bucket")
    assert inf[(("le", "+Inf"), ("route", "/v1/instances"))] == 3


def test_refusals_and_injected_faults_are_counted(observed, observed_http, logs, monkeypatch):
    def refuse(*_args: Any) -> None:
        raise ApiError("rate_limit_exceeded", "Too many requests")

    before = scrape(observed_http)
    monkeypatch.setattr(observed.context.catalog, "rendered", refuse)
    # Raw: no 429 is documented until the rate limits answer it.
    with httpx.Client(verify=TLS, base_url=observed.base_url) as raw:
        refused = raw.get("/v1/instance-types")
    assert refused.status_code == 429
    logs.access(_rid(refused))
    observed.context.metrics.fault_injected("rule-7")
    observed.context.metrics.fault_injected("rule-7")
    observed.context.metrics.fault_injected("rule-8")
    after = scrape(observed_http)
    assert delta(before, after, "verda_rate_limit_refusals_total") == {
        (("route", "/v1/instance-types"),): 1
    }
    assert delta(before, after, "verda_faults_injected_total") == {
        (("rule", "rule-7"),): 2,
        (("rule", "rule-8"),): 1,
    }


def _statuses(client: httpx.Client) -> dict[tuple[tuple[str, str], ...], int]:
    """What one project holds, by kind and status, as its own API lists it."""
    counted: dict[tuple[tuple[str, str], ...], int] = {}

    def add(kind: str, status: str) -> None:
        key = (("kind", kind), ("status", status))
        counted[key] = counted.get(key, 0) + 1

    for item in client.get("/v1/instances").json():
        add("instance", item["status"])
    for item in client.get("/v1/volumes").json():
        add("volume", item["status"])
    for item in client.get("/v1/volumes/trash").json():
        add("volume", item["status"])
    for _ in client.get("/v1/sshkeys").json():
        add("ssh_key", "active")
    for _ in client.get("/v1/scripts").json():
        add("startup_script", "active")
    for item in client.get("/v1/secrets").json():
        add("secret" if item["secret_type"] == "generic" else "file_secret", "active")
    for _ in client.get("/v1/container-registry-credentials").json():
        add("registry_credential", "active")
    return counted


def test_resources_by_kind_and_status_are_counted_at_each_scrape(observed, observed_http, contract):
    with _client(observed, observed_http, contract) as client:
        before = scrape(observed_http)
        client.post("/v1/sshkeys", json={"name": "k", "key": ed25519_key()})
        client.post("/v1/scripts", json={"name": "s", "script": "echo"})
        client.post("/v1/secrets", json={"name": "s", "value": "v"})
        files = [{"file_name": "a", "base64_content": ""}]
        client.post("/v1/file-secrets", json={"name": "f", "files": files})
        client.post("/v1/container-registry-credentials", json={"name": "c", "type": "verda"})
        deployed = client.post("/v1/instances", json=DEPLOY)
        assert deployed.status_code == 202
        volume = client.post(
            "/v1/volumes", json={"type": "NVMe", "name": "v", "size": 10, "location_code": "FIN-01"}
        ).text
        trashed = client.post(
            "/v1/volumes", json={"type": "NVMe", "name": "w", "size": 10, "location_code": "FIN-01"}
        ).text
        assert client.delete(f"/v1/volumes/{trashed}").status_code in (200, 202, 204)
        provisioning = _statuses(client)
        assert provisioning[(("kind", "instance"), ("status", "provisioning"))] == 1
        assert delta(before, scrape(observed_http), "verda_resources") == provisioning
        observed.clock.advance(60)
        running = _statuses(client)  # reading settles what fell due
        assert running[(("kind", "instance"), ("status", "running"))] == 1
        assert delta(before, scrape(observed_http), "verda_resources") == running
        # Its capacity goes back to the store the other tests share.
        gone = client.put("/v1/instances", json={"action": "delete", "id": deployed.text})
        assert gone.status_code == 202, gone.text
        assert delta(before, scrape(observed_http), "verda_resources") == _statuses(client) | {
            (("kind", "instance"), ("status", "discontinued")): 1
        }
        assert volume


def test_metrics_open_to_the_admin_token_and_never_to_a_project_token(live, http, authed, contract):
    assert http.get("/metrics").json()["message"] == "Missing admin token"
    assert authed.get("/metrics").json() == {
        "code": "unauthorized_request",
        "message": "Invalid admin token",
    }
    with checked_client(live.base_url, contract, ADMIN_TOKEN) as admin:
        families = {
            family.name for family in text_string_to_metric_families(admin.get("/metrics").text)
        }
    assert {
        "verda_http_requests",
        "verda_http_request_duration_seconds",
        "verda_rate_limit_refusals",
        "verda_faults_injected",
        "verda_resources",
    } <= families
