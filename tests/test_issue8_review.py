"""Defects found reviewing issue 8 (control API, rate limits, observability)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import checked_client
from tests.support.live import ADMIN_TOKEN, start_live_server
from tests.test_control_projects import PROJECTS


def test_a_null_balance_is_absent(admin: httpx.Client) -> None:
    # `null` means absent in every request: the default balance, not a 500.
    response = admin.post(PROJECTS, json={"name": "n", "balance": None})
    assert response.status_code == 201, response.text
    assert response.json()["balance"] == "1000"
    project_id = response.json()["id"]
    changed = admin.post(f"{PROJECTS}/{project_id}/balance", json={"amount": None, "top_up": "5"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["amount"] == "1005"
    admin.delete(f"{PROJECTS}/{project_id}")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("faults", {"rules": [{"bogus": 1}]}),
        ("faults", "x"),
        ("lifecycle", {"profile": "fast", "overrides": "x"}),
        ("lifecycle", {"profile": "fast", "overrides": {"boot": float("nan")}}),
    ],
)
def test_an_import_with_unreadable_control_state_changes_nothing(
    empty_database_url: str, admin_contract: Any, name: str, value: Any
) -> None:
    # Checked before the store takes it: not a 500 after the commit, which
    # left a store that no server could start on.
    with (
        start_live_server(empty_database_url) as server,
        checked_client(server.base_url, admin_contract, ADMIN_TOKEN) as admin,
    ):
        snapshot = admin.get("/_admin/v1/snapshot").json()
        snapshot["control"][name] = value
        answer = admin.post(
            "/_admin/v1/snapshot",
            params={"replace": "true"},
            content=json.dumps(snapshot),  # NaN too
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["message"].startswith(f"control.{name}: ")
        assert admin.get("/_admin/v1/faults").status_code == 200
    with start_live_server(empty_database_url) as again:
        assert again.context.faults.rules == ()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_admin/v1/projects/a%00b"),
        ("DELETE", "/_admin/v1/projects/a%00b"),
        ("GET", "/_admin/v1/projects/a%00b/balance"),
        ("GET", "/_admin/v1/projects/a%00b/journal"),
        ("GET", "/_admin/v1/projects/a%00b/rate-limits"),
        ("GET", "/_admin/v1/projects/a%00b/quotas"),
        ("POST", "/_admin/v1/projects/a%00b/credentials"),
        ("DELETE", "/_admin/v1/projects/a%00b/credentials/a%00b"),
    ],
)
def test_an_id_with_a_nul_is_not_found(admin: httpx.Client, method: str, path: str) -> None:
    # PostgreSQL refuses a NUL in text: the lookup was a 500 there.
    response = admin.request(method, path)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"
