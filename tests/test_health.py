"""/healthz: 200 while the store answers, 503 once it does not."""

from __future__ import annotations

import os

import httpx
import psycopg
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_ENV
from tests.support.live import TLS, start_live_server
from tests.test_errors import assert_error


def test_healthz_answers_200_without_a_token(http):
    response = http.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_healthz_answers_503_once_the_database_is_gone(fresh_postgres_url):
    url = make_url(fresh_postgres_url)
    admin = make_url(os.environ[POSTGRES_ENV]).set(drivername="postgresql")
    with (
        start_live_server(fresh_postgres_url) as server,
        httpx.Client(verify=TLS, base_url=server.base_url, timeout=10) as client,
    ):
        assert client.get("/healthz").status_code == 200
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{url.database}" WITH (FORCE)')
        for _ in range(2):  # the pooled connections are dead, and no new one can be made
            response = client.get("/healthz")
            assert assert_error(response, 503, "service_unavailable") == "The store is unreachable"
