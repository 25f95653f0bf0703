"""The control API's clock, and what it takes to reach the control API at all."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import checked_client
from tests.support.cli import admin_cli, invoke
from tests.support.live import ADMIN_TOKEN, TLS, LiveServer, free_port, start_live_server
from verda_server.clock import Clock, isoformat


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_clock_reads_the_server_now(live: LiveServer, admin: httpx.Client) -> None:
    body = admin.get("/_admin/v1/clock").json()
    assert body["now"] == isoformat(live.clock.now())
    assert body["frozen"] is True


def test_advance_by_seconds_moves_every_timer(
    live: LiveServer, admin: httpx.Client, authed: httpx.Client
) -> None:
    live.clock.advance(0.000401)  # a clock between milliseconds, as other tests leave it
    before = live.clock.now()
    body = admin.post("/_admin/v1/clock/advance", json={"seconds": 90.5}).json()
    # Exactly, though the answer shows milliseconds only (the clock may hold more).
    assert live.clock.now() == before + timedelta(seconds=90.5)
    assert body["now"] == isoformat(live.clock.now())
    # The project's token (an hour's life) dies when the clock passes its expiry.
    assert authed.get("/v1/balance").status_code == 200
    admin.post("/_admin/v1/clock/advance", json={"seconds": 3600})
    response = authed.get("/v1/balance")
    assert (response.status_code, response.json()["message"]) == (401, "Access token expired")


def test_advance_to_an_instant(live: LiveServer, admin: httpx.Client) -> None:
    live.clock.advance(0.000401)
    # An instant as clients write it: milliseconds at most.
    target = parse(isoformat(live.clock.now() + timedelta(days=3, milliseconds=250)))
    body = admin.post("/_admin/v1/clock/advance", json={"to": isoformat(target)}).json()
    assert body["now"] == isoformat(target)
    assert live.clock.now() == target
    # To the very instant it stands at: allowed, and nothing moves.
    assert admin.post("/_admin/v1/clock/advance", json={"to": isoformat(target)}).json() == body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"seconds": -1}, "seconds"),
        ({}, "give exactly one of seconds and to"),
        ({"seconds": 1, "to": "2030-01-01T00:00:00Z"}, "give exactly one of seconds and to"),
        ({"to": "2030-01-01T00:00:00"}, "time zone"),
        ({"to": "yesterday"}, "to"),
        ({"seconds": 10**12}, "seconds"),
    ],
)
def test_bad_moves_are_refused_and_move_nothing(
    live: LiveServer, admin: httpx.Client, body: dict[str, Any], message: str
) -> None:
    before = live.clock.now()
    response = admin.post("/_admin/v1/clock/advance", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert message in response.json()["message"]
    assert live.clock.now() == before


def test_time_never_moves_backwards(live: LiveServer, admin: httpx.Client) -> None:
    past = live.clock.now() - timedelta(microseconds=1)
    response = admin.post("/_admin/v1/clock/advance", json={"to": past.isoformat()})
    assert response.status_code == 400
    assert "is before the server's now" in response.json()["message"]


@pytest.fixture
def running(empty_database_url: str) -> Any:
    """A server of its own, on a store of its own (servers on one store share one
    clock), whose clock runs."""
    with start_live_server(empty_database_url, clock=Clock()) as server:
        yield server


def test_freeze_and_unfreeze(running: LiveServer, admin_contract: Any) -> None:
    with checked_client(running.base_url, admin_contract, ADMIN_TOKEN) as admin:
        frozen = admin.post("/_admin/v1/clock/freeze").json()
        assert frozen["frozen"] is True
        assert running.clock.is_frozen
        # Standing still: every read gives the same instant.
        assert admin.get("/_admin/v1/clock").json()["now"] == frozen["now"]
        again = admin.post("/_admin/v1/clock/freeze").json()
        assert again["now"] == frozen["now"]
        thawed = admin.post("/_admin/v1/clock/unfreeze").json()
        assert thawed["frozen"] is False
        # Running on from where it stood, never behind it.
        assert parse(thawed["now"]) >= parse(frozen["now"])
        assert parse(admin.get("/_admin/v1/clock").json()["now"]) >= parse(thawed["now"])


def test_the_moved_clock_survives_a_restart(empty_database_url: str) -> None:
    with (
        start_live_server(empty_database_url, clock=Clock()) as first,
        httpx.Client(verify=TLS, base_url=first.base_url, headers=_bearer(ADMIN_TOKEN)) as admin,
    ):
        moved = admin.post("/_admin/v1/clock/advance", json={"seconds": 86400}).json()
        admin.post("/_admin/v1/clock/freeze")
        frozen_at = admin.get("/_admin/v1/clock").json()["now"]
    assert parse(moved["now"]) <= parse(frozen_at)
    # A new process on the same store: the same, frozen, time.
    with start_live_server(empty_database_url, clock=Clock()) as second:
        assert second.clock.is_frozen
        assert isoformat(second.clock.now()) == frozen_at


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "headers",
    [{}, _bearer("wrong"), {"Authorization": "Basic abc"}, _bearer(ADMIN_TOKEN + "x")],
)
def test_the_control_api_needs_the_admin_token(
    live: LiveServer, admin_contract: Any, headers: dict[str, str]
) -> None:
    with checked_client(live.base_url, admin_contract) as client:
        for method, path in [("GET", "/_admin/v1/clock"), ("POST", "/_admin/v1/clock/advance")]:
            response = client.request(method, path, headers=headers, json={"seconds": 5})
            assert response.status_code == 401
            assert response.json()["code"] == "unauthorized_request"


def test_a_project_token_never_opens_the_control_api(
    live: LiveServer, token: str, admin_contract: Any
) -> None:
    before = live.clock.now()
    with checked_client(live.base_url, admin_contract, token) as client:
        response = client.post("/_admin/v1/clock/advance", json={"seconds": 5})
    assert (response.status_code, response.json()["message"]) == (401, "Invalid admin token")
    assert live.clock.now() == before


def test_the_admin_token_never_opens_a_project(
    clients: Callable[..., httpx.Client],
) -> None:
    response = clients(ADMIN_TOKEN).get("/v1/instances")
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized_request")


def test_unknown_control_paths_are_json_404(admin: httpx.Client) -> None:
    response = admin.get("/_admin/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_control_document_is_its_own(http: httpx.Client) -> None:
    control = http.get("/_admin/v1/openapi.json").json()
    public = http.get("/v1/openapi.json").json()
    assert control["info"]["title"] == "verda-server control API"
    assert "/_admin/v1/clock/advance" in control["paths"]
    assert not [path for path in public["paths"] if path.startswith("/_admin")]
    assert "/v1/instances" not in control["paths"]
    schemes = control["components"]["securitySchemes"]
    assert schemes == {
        "adminToken": {
            "type": "http",
            "scheme": "bearer",
            "description": schemes["adminToken"]["description"],
        }
    }


def test_replicas_on_one_store_share_one_clock(fresh_postgres_url: str) -> None:
    with (
        start_live_server(fresh_postgres_url, clock=Clock()) as one,
        start_live_server(fresh_postgres_url, clock=Clock()) as other,
        httpx.Client(verify=TLS, base_url=one.base_url, headers=_bearer(ADMIN_TOKEN)) as first,
        httpx.Client(verify=TLS, base_url=other.base_url, headers=_bearer(ADMIN_TOKEN)) as second,
    ):
        first.post("/_admin/v1/clock/advance", json={"seconds": 3600})
        # The very next request to the other replica sees the move.
        assert second.get("/_admin/v1/clock").json()["offset_seconds"] == 3600
        # Moves on both count: writers take turns, each from the latest state.
        second.post("/_admin/v1/clock/advance", json={"seconds": 60})
        assert first.get("/_admin/v1/clock").json()["offset_seconds"] == 3660
        frozen = second.post("/_admin/v1/clock/freeze").json()
        assert first.get("/_admin/v1/clock").json() == frozen
        assert one.clock.now() == other.clock.now()


def test_admin_cli_reads_and_moves_the_clock(live: LiveServer) -> None:
    shown = admin_cli(live, "clock")
    assert shown.exit_code == 0, shown.output
    assert f"now             {isoformat(live.clock.now())}" in shown.output
    assert "frozen          yes" in shown.output
    before = live.clock.now()
    moved = admin_cli(live, "--json", "clock", "advance", "60")
    assert moved.exit_code == 0, moved.output
    assert json.loads(moved.output)["now"] == isoformat(before + timedelta(seconds=60))
    target = before + timedelta(days=1)
    to = admin_cli(live, "--json", "clock", "advance", "--to", isoformat(target))
    assert json.loads(to.output)["now"] == isoformat(target)


def test_admin_cli_says_what_went_wrong(live: LiveServer) -> None:
    neither = admin_cli(live, "clock", "advance")
    assert (neither.exit_code, neither.output) == (2, "error: give SECONDS or --to, one of them\n")
    refused = admin_cli(live, "clock", "advance", "--to", "2000-01-01T00:00:00+00:00")
    assert refused.exit_code == 1
    assert refused.output.startswith(
        "error: invalid_request: to: 2000-01-01T00:00:00.000Z is before"
    )
    wrong = invoke(
        "admin",
        "--url",
        live.base_url,
        "--admin-token",
        "nope",
        "clock",
    )
    assert (wrong.exit_code, wrong.output) == (
        1,
        "error: unauthorized_request: Invalid admin token\n",
    )
    missing = invoke("admin", "--url", live.base_url, "clock")
    assert missing.exit_code == 2
    assert "give the admin token with --admin-token or VERDA_SERVER_ADMIN_TOKEN" in missing.output
    unreachable = invoke(
        "admin", "--url", f"http://127.0.0.1:{free_port()}", "--admin-token", "x", "clock"
    )
    assert unreachable.exit_code == 2
    assert unreachable.output.startswith("error: cannot reach http://127.0.0.1:")
