"""Defects found reviewing issue 8 (control API, rate limits, observability)."""

from __future__ import annotations

import httpx

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
