"""Schemathesis against the live server: the document and the server agree.

Requests generated from the served document, valid and invalid, go to the
real server of each backend. Valid ones must be accepted (or refused only for
a reason that depends on state: 401/403/404/409/503), invalid ones refused,
and every answer must be the documented one. Seeded and bounded, so a run is
the same every time and takes seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import Config

from tests.conftest import postgres_database
from tests.support.live import TLS, LiveServer, start_live_server
from verda_server.config import sqlite_url
from verda_server.ratelimits.config import MAX_LIMIT

# Statuses a schema-valid request may get for reasons the schema can't know:
# no such id (404), not in this state or over a quota (403, 409), no capacity
# (503), no funds (402). Never 400: that is what the document must rule out.
STATE_DEPENDENT = ["2xx", "401", "402", "403", "404", "409", "503"]

CONFIG: dict[str, Any] = {
    "seed": 20261127,
    # Invalid job-deployment bodies (a nested schema with many required parts) are
    # drawn by rejecting candidates that happen to be valid; in a full run,
    # Hypothesis's health check sometimes counts 50 rejections before 10 draws and
    # fails the operation without sending a request. What is sent is unchanged.
    "suppress-health-check": ["filter_too_much"],
    # No example database: the same cases every run, and nothing written to disk.
    "generation": {"max-examples": 8, "mode": "all", "database": "none"},
    "phases": {
        "examples": {"enabled": False},
        "coverage": {"enabled": True, "unexpected-methods": []},
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},
    },
    # Serverless bodies name what must exist in the project (a secret, file secret,
    # shared volume, registry credentials), a compute resource that must be
    # offered and available, and max >= min replicas: the clients expect 400 for
    # each (BEYOND.md §3.1), and the document says so on those operations.
    "operations": [
        {
            "include-path-regex": "^/v1/(container|job)-deployments",
            "include-method-regex": "^(POST|PATCH)$",
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [*STATE_DEPENDENT, "400"]}
            },
        }
    ],
    "checks": {
        "positive_data_acceptance": {"expected-statuses": STATE_DEPENDENT},
        # 503 is documented where it happens (no capacity, the store down).
        "not_a_server_error": {"expected-statuses": ["2xx", "4xx", "503"]},
        # The live service answers 404, not 405, to a method a path lacks.
        "unsupported_method": {"enabled": False},
        "allow_header_conformance": {"enabled": False},
    },
}


# Two spellings of one parameter (the deprecated camelCase one and the
# documented one) must agree when both are sent, or the answer is 400. The
# description of each says so; a document can't relate two parameters, so
# this one rule is the test's to know.
SPELLINGS = {"isSpot": "is_spot", "locationCode": "location_code"}


def spellings_agree(query: dict[str, Any] | None) -> bool:
    query = query or {}
    return all(
        query[old] == query[new] for old, new in SPELLINGS.items() if old in query and new in query
    )


@pytest.fixture(scope="module")
def live(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with a store of its own: what the generated requests deploy holds
    capacity, shared by every project, that other tests count on."""
    if database_url.startswith("sqlite"):
        with start_live_server(sqlite_url(tmp_path_factory.mktemp("schemathesis"))) as server:
            yield server
    else:
        with postgres_database() as url, start_live_server(url) as server:
            yield server


@pytest.fixture
def api_schema(live, project):
    # Every generated request of the run is one project's, in one frozen window:
    # limits it never reaches, so the headers are still sent (and checked).
    live.set_rate_limits(project.project_id, project=MAX_LIMIT, endpoint=MAX_LIMIT)
    with httpx.Client(verify=TLS, base_url=live.base_url) as client:
        token = project.access_token(client)
        document = client.get("/v1/openapi.json").json()
    config = Config.from_dict(
        {**CONFIG, "base-url": live.base_url, "headers": {"Authorization": f"Bearer {token}"}}
    )
    return schemathesis.openapi.from_dict(document, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_the_server_does_what_the_document_says(case):
    if spellings_agree(case.query):
        case.call_and_validate()
