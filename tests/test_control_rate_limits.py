"""The control API's rate-limit operations, and `verda-server admin rate-limits`."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.support.cli import admin_cli
from tests.support.live import TLS, LiveServer
from tests.test_rate_limits import limited, policy, state, window_start

DEFAULTS = {
    "enabled": True,
    "project": None,
    "endpoint": None,
    "window_seconds": 60,
    "server_enabled": True,
}


def test_a_new_project_has_the_servers_limits(admin: httpx.Client, project) -> None:
    response = admin.get(f"/_admin/v1/projects/{project.project_id}/rate-limits")
    assert response.status_code == 200
    assert response.json() == DEFAULTS


def test_set_limits_apply_from_the_next_request(
    live: LiveServer, admin: httpx.Client, authed: httpx.Client, project
) -> None:
    window_start(live)
    path = f"/_admin/v1/projects/{project.project_id}/rate-limits"
    body = admin.put(path, json={"project": 3, "endpoint": 2}).json()
    assert body == {**DEFAULTS, "project": 3, "endpoint": 2}
    assert admin.get(path).json() == body
    assert limited(authed.get("/v1/instances")) == (policy(3, 2), state(2, 1, 60))
    off = admin.put(path, json={"enabled": False}).json()
    assert off == {**DEFAULTS, "enabled": False}
    for _ in range(3):
        assert limited(authed.get("/v1/instances")) == (None, None)
    # An empty body is the defaults again; null is absent.
    assert admin.put(path, json={"project": None}).json() == DEFAULTS
    assert limited(authed.get("/v1/instances")) == (policy(500, 120), state(498, 118, 60))


@pytest.mark.parametrize(
    "body", [{"project": 0}, {"endpoint": 1_000_001}, {"enabled": "maybe"}, {"project": 1.5}]
)
def test_bad_limits_are_refused(admin: httpx.Client, project, body) -> None:
    path = f"/_admin/v1/projects/{project.project_id}/rate-limits"
    response = admin.put(path, json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert admin.get(path).json() == DEFAULTS


def test_an_unknown_project_is_404(admin: httpx.Client) -> None:
    path = f"/_admin/v1/projects/{uuid.uuid4()}/rate-limits"
    for response in (admin.get(path), admin.put(path, json={})):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_a_project_token_never_sets_limits(
    live: LiveServer, admin_contract, token: str, project
) -> None:
    path = f"/_admin/v1/projects/{project.project_id}/rate-limits"
    bearer = {"Authorization": f"Bearer {token}"}
    with httpx.Client(verify=TLS, base_url=live.base_url, headers=bearer) as http:
        response = http.put(path, json={"enabled": False})
    admin_contract.verify(response)
    assert response.status_code == 401


def test_the_admin_command_reads_and_sets_limits(live: LiveServer, project) -> None:
    result = admin_cli(live, "rate-limits", "set", project.project_id, "--project", "9")
    assert result.exit_code == 0, result.output
    assert "project" in result.output and "9" in result.output
    shown = admin_cli(live, "--json", "rate-limits", "show", project.project_id)
    assert json.loads(shown.output) == {**DEFAULTS, "project": 9}
    off = admin_cli(live, "--json", "rate-limits", "set", project.project_id, "--off")
    assert json.loads(off.output)["enabled"] is False
    missing = admin_cli(live, "rate-limits", "show", str(uuid.uuid4()))
    assert missing.exit_code == 1 and "not_found" in missing.output
