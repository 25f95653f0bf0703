"""The error model: every failure is `{code, message}` with the documented status."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.exceptions import HTTPException

from tests.support.live import TLS, free_port, serve_in_thread
from verda_server.app import build
from verda_server.config import Settings, sqlite_url


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message"}, body
    assert body["code"] == code
    return str(body["message"])


def test_unknown_paths_are_not_found(http, authed):
    for client in (http, authed):
        assert_error(client.get("/v1/no-such-thing"), 404, "not_found")
        assert_error(client.get("/nowhere"), 404, "not_found")
        assert_error(client.post("/v1/instance-types/x/y/z", json={}), 404, "not_found")


def test_wrong_methods_are_not_found(http, authed):
    message = assert_error(authed.put("/v1/balance", json={}), 404, "not_found")
    assert "PUT /v1/balance" in message
    assert_error(http.delete("/v1/instance-types"), 404, "not_found")
    assert_error(http.get("/v1/oauth2/token"), 404, "not_found")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/instance-types?currency=gbp", "currency"),
        ("/v1/cluster-types?currency=", "currency"),
        ("/v1/instance-availability?isSpot=maybe", "isSpot"),
        ("/v1/instance-availability?is_spot=2", "is_spot"),
        ("/v1/instance-types/price-history?num_of_months=13", "num_of_months"),
        ("/v1/instance-types/price-history?num_of_months=x", "num_of_months"),
        ("/v1/instance-availability?location_code=MARS-01", "location_code"),
    ],
)
def test_validation_failures_name_the_field(authed, path, field):
    message = assert_error(authed.get(path), 400, "invalid_request")
    assert field in message


def test_unexpected_exceptions_and_unlisted_statuses_map_onto_the_table(tmp_path, caplog):
    server = build(Settings(database_url=sqlite_url(tmp_path)))

    @server.app.get("/v1/explode", include_in_schema=False)
    def explode() -> None:
        raise RuntimeError("secret internal detail")

    @server.app.get("/v1/too-large", include_in_schema=False)
    def too_large() -> None:
        raise HTTPException(413, "Request body too large")

    port = free_port()
    with (
        caplog.at_level(logging.ERROR),
        serve_in_thread(server, port) as base,
        httpx.Client(verify=TLS, base_url=base) as client,
    ):
        response = client.get("/v1/explode")
        other_4xx = client.get("/v1/too-large")
    assert assert_error(other_4xx, 400, "invalid_request") == "Request body too large"
    message = assert_error(response, 500, "server_error")
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text and message
    logged = [
        r for r in caplog.records if r.exc_info and "secret internal detail" in str(r.exc_info[1])
    ]
    assert len(logged) == 1, "logged once, by verda-server, not again by uvicorn"
    assert logged[0].name == "verda_server"
