"""Fixtures: a live server per storage backend, fresh projects, SDK clients.

The suite runs once on SQLite and once on PostgreSQL. PostgreSQL runs when
VERDA_TEST_POSTGRES_URL names a server (a fresh database is created on it for
the session); without it those tests are skipped, unless
VERDA_TEST_REQUIRE_POSTGRES=1 (as in CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from tests.support.live import ADMIN_TOKEN, TLS, Credentials, LiveServer, start_live_server
from verda_server.config import sqlite_url
from verda_server.control import reset as resets
from verda_server.projects.models import Project

POSTGRES_ENV = "VERDA_TEST_POSTGRES_URL"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        if os.environ.get("VERDA_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{POSTGRES_ENV} is not set but PostgreSQL is required")
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV}")
    import psycopg

    name = f"verda_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(admin_url)
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path_factory.mktemp("sqlite"))
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def live(database_url: str) -> Iterator[LiveServer]:
    with start_live_server(database_url) as server:
        yield server


@pytest.fixture
def project(live: LiveServer) -> Credentials:
    """A fresh project of its own for each test, so tests never share state."""
    return live.new_project()


def checked_client(base_url: str, contract: Any, token: str | None = None) -> httpx.Client:
    """A raw client whose every response is checked against the OpenAPI
    document; it carries `token` if given, and never any other."""

    def verify(response: httpx.Response) -> None:
        response.read()
        contract.verify(response)

    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.Client(
        verify=TLS,
        base_url=base_url,
        timeout=10,
        headers=headers,
        event_hooks={"response": [verify]},
    )


@pytest.fixture
def clients(live: LiveServer, contract: Any) -> Iterator[Callable[..., httpx.Client]]:
    """Makes checked clients, anonymous or carrying a token: each its own
    client, so that a token given to one never leaks into another."""
    made: list[httpx.Client] = []

    def make(token: str | None = None) -> httpx.Client:
        made.append(checked_client(live.base_url, contract, token))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
def http(clients: Callable[..., httpx.Client]) -> Iterator[httpx.Client]:
    """An anonymous raw client: it never carries a token (a request may still
    pass one explicitly in its own headers)."""
    client = clients()
    yield client
    assert "authorization" not in client.headers, "the anonymous client was given a token"


@pytest.fixture
def token(http: httpx.Client, project: Credentials) -> str:
    return project.access_token(http)


@pytest.fixture
def authed(clients: Callable[..., httpx.Client], token: str) -> httpx.Client:
    """A raw client of its own carrying the `project`'s bearer token."""
    return clients(token)


@pytest.fixture
def client_of(
    clients: Callable[..., httpx.Client], http: httpx.Client
) -> Callable[[Credentials], httpx.Client]:
    """A raw client carrying a fresh token of the given project's credentials."""
    return lambda creds: clients(creds.access_token(http))


@pytest.fixture
def sdk(live: LiveServer, project: Credentials) -> Any:
    from verda import VerdaClient

    return VerdaClient(project.client_id, project.client_secret, base_url=live.api_url)


@pytest.fixture(scope="session")
def contract(live: LiveServer) -> Any:
    from tests.support.openapi import ContractChecker

    with httpx.Client(verify=TLS, base_url=live.base_url) as client:
        return ContractChecker(client.get("/v1/openapi.json").json())


@pytest.fixture(scope="session")
def admin_contract(live: LiveServer) -> Any:
    from tests.support.openapi import ContractChecker

    with httpx.Client(verify=TLS, base_url=live.base_url) as client:
        return ContractChecker(client.get("/_admin/v1/openapi.json").json())


@pytest.fixture
def admin(live: LiveServer, admin_contract: Any) -> Iterator[httpx.Client]:
    """A raw client of the control API with the admin token, every response
    checked against the control API's own document."""
    with checked_client(live.base_url, admin_contract, ADMIN_TOKEN) as client:
        yield client


@pytest.fixture(scope="session")
def catalog(live: LiveServer) -> Any:
    """The catalog source the server loaded, to compute expectations from."""
    return live.context.catalog.source


@pytest.fixture
def empty_database_url(database_url: str, tmp_path: Any) -> Iterator[str]:
    """A new, empty store on the backend of the running parametrisation."""
    if database_url.startswith("sqlite"):
        yield sqlite_url(tmp_path)
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def gives_back(live: LiveServer) -> Iterator[None]:
    """Capacity is shared by every test of the session's server: what a test
    deployed goes when it ends (a reset takes every project's resources)."""
    with live.context.db.read() as session:
        before = set(session.scalars(select(Project.id)))
    yield
    with live.context.db.write() as session:
        made = set(session.scalars(select(Project.id))) - before
        for project_id in sorted(made):
            resets.reset(session, project_id, drop_projects=False)


@pytest.fixture
def many_meters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every project counts as one of many meters: the meters' sums decide
    (billing/sums.py), not each meter read one by one."""
    from verda_server.billing import sums

    monkeypatch.setattr(sums, "EXACT_UP_TO", 0)
