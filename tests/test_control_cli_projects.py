"""`verda-server admin projects | credentials | quotas | balance` against a live server."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from tests.support.cli import admin_cli
from tests.support.live import Credentials, LiveServer
from tests.support.tokens import bearer


def ok(live: LiveServer, *args: str) -> str:
    result = admin_cli(live, *args)
    assert result.exit_code == 0, result.output
    return result.output


def as_json(live: LiveServer, *args: str) -> Any:
    return json.loads(ok(live, "--json", *args))


def exported(output: str) -> Credentials:
    found = dict(re.findall(r"(VERDA_CLIENT_\w+)=(\S+)", output))
    return Credentials("", found["VERDA_CLIENT_ID"], found["VERDA_CLIENT_SECRET"])


def test_projects_through_the_command_line(live: LiveServer, http: httpx.Client) -> None:
    output = ok(live, "projects", "create", "--name", "cli-team", "--balance", "42.25")
    project_id = re.search(r"^id\s+(\S+)$", output, re.MULTILINE)
    assert project_id is not None, output
    project_id_text = project_id.group(1)
    assert re.search(r"^balance\s+42\.25$", output, re.MULTILINE)
    assert re.search(r"^instances\s+50\s+0\s+10000\s+50$", output, re.MULTILINE)
    pair = exported(output)
    token = Credentials(project_id_text, pair.client_id, pair.client_secret).access_token(http)
    listed = ok(live, "projects", "list")
    assert listed.splitlines()[0].split() == [
        "id",
        "name",
        "balance",
        "currency",
        "is_default",
        "created_at",
    ]
    assert any(line.startswith(project_id_text) for line in listed.splitlines())
    shown = as_json(live, "projects", "show", project_id_text)
    assert shown["name"] == "cli-team" and shown["credentials"][0]["client_id"] == pair.client_id
    assert pair.client_secret not in json.dumps(shown)
    assert ok(live, "projects", "delete", project_id_text).split() == ["deleted", project_id_text]
    assert http.get("/v1/balance", headers=bearer(token)).status_code == 401
    missing = admin_cli(live, "projects", "show", project_id_text)
    assert missing.exit_code == 1
    assert f"not_found: Project {project_id_text} not found" in missing.output


def test_a_project_without_credentials_and_with_quotas(live: LiveServer) -> None:
    created = as_json(
        live, "projects", "create", "--no-credentials", "--instances", "2", "--clusters", "1"
    )
    assert created["credential"] is None and created["credentials"] == []
    assert created["quotas"]["instances"]["quota"] == 2
    assert created["quotas"]["clusters"]["quota"] == 1
    refused = admin_cli(live, "projects", "create", "--volumes", "10001")
    assert refused.exit_code == 1 and "invalid_request: quotas.volumes" in refused.output


def test_credentials_through_the_command_line(
    live: LiveServer, http: httpx.Client, project: Credentials
) -> None:
    pid = project.project_id
    added = exported(ok(live, "credentials", "add", pid))
    known = as_json(
        live, "credentials", "add", pid, "--client-id", f"k-{pid}", "--client-secret", "pw"
    )
    assert known["client_secret"] == "pw"
    listed = ok(live, "credentials", "list", pid)
    for client_id in (project.client_id, added.client_id, f"k-{pid}"):
        assert client_id in listed
    token = project.access_token(http)
    assert ok(live, "credentials", "revoke", pid, project.client_id).split() == [
        "revoked",
        project.client_id,
    ]
    assert http.get("/v1/balance", headers=bearer(token)).status_code == 401
    again = admin_cli(live, "credentials", "revoke", pid, project.client_id)
    assert again.exit_code == 1 and "not_found" in again.output
    half = admin_cli(live, "credentials", "add", pid, "--client-id", "only")
    assert half.exit_code == 2 and "give both" in half.output


def test_quotas_through_the_command_line(live: LiveServer, project: Credentials) -> None:
    pid = project.project_id
    shown = ok(live, "quotas", "show", pid)
    assert shown.splitlines()[0].split() == ["kind", "quota", "used", "hard_max", "default"]
    assert re.search(r"^startup_scripts\s+100\s+0\s+1000\s+100$", shown, re.MULTILINE)
    changed = as_json(live, "quotas", "set", pid, "--volumes", "7", "--startup-scripts", "3")
    assert (changed["volumes"]["quota"], changed["startup_scripts"]["quota"]) == (7, 3)
    assert changed["instances"]["quota"] == 50
    nothing = admin_cli(live, "quotas", "set", pid)
    assert nothing.exit_code == 2 and "give at least one" in nothing.output
    too_many = admin_cli(live, "quotas", "set", pid, "--startup-scripts", "1001")
    assert too_many.exit_code == 1 and "startup_scripts" in too_many.output


def test_money_through_the_command_line(
    live: LiveServer, http: httpx.Client, project: Credentials
) -> None:
    pid = project.project_id
    token = project.access_token(http)
    assert ok(live, "balance", "set", pid, "12.000000000001").splitlines()[0] == (
        "12.000000000001 usd"
    )
    live.tick()
    topped = ok(live, "balance", "top-up", pid, "0.999999999999")
    assert topped.splitlines()[0] == "13 usd"
    assert "top_up" in topped and "adjustment" in topped
    assert http.get("/v1/balance", headers=bearer(token)).json() == {
        "amount": 13,
        "currency": "usd",
    }
    shown = as_json(live, "balance", "show", pid)
    assert shown["amount"] == "13" and shown["entries"][0]["amount"] == "0.999999999999"
    bad = admin_cli(live, "balance", "top-up", pid, "0")
    assert bad.exit_code == 1 and "invalid_request: top_up: must be a number above 0" in bad.output
