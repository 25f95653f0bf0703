"""A deploy's cost in statements: a fixed set, whatever the project or the store holds.

The server runs in this process, so its engine's statements can be watched.
"""

from __future__ import annotations

import pytest

from tests.support.statements import watched

BODY = {
    "instance_type": "CPU.4V.16G",
    "image": "ubuntu-24.04",
    "hostname": "counted",
    "description": "counted",
    "location_code": "FIN-01",
}
# The transaction's own: BEGIN, SQLite's savepoint of the unit in its batch,
# PostgreSQL's writers' lock; and, on PostgreSQL, every request's look at the
# state replicas share (control.FollowSharedState).
_FRAME = ("BEGIN", "SAVEPOINT", "RELEASE SAVEPOINT", "SELECT pg_advisory_xact_lock")
_SHARED = "FROM control_state"


def _deploy_statements(live, client) -> list[str]:
    with watched(live) as seen:
        response = client.post("/v1/instances", json=BODY)
    assert response.status_code == 202, response.text
    return [t for t, _ in seen if not t.startswith(_FRAME) and _SHARED not in t]


def _show(statements: list[str]) -> str:
    return "\n".join(" ".join(text.split())[:120] for text in statements)


@pytest.mark.usefixtures("gives_back")
def test_a_deploy_runs_a_fixed_set_of_statements(live, authed) -> None:
    _deploy_statements(live, authed)  # the project's first deploy
    statements = _deploy_statements(live, authed)
    # The due check; the project with what it holds (both quotas); capacity of
    # the one (location, type, spot); its open meters (a project of few, read
    # meter by meter); the lowest free address; the OS volume, the instance,
    # the attachment, the meters (one statement for both); the open meters
    # again and the next billing instant; the generations (2).
    assert len(statements) == 13, _show(statements)
    assert sum("FROM meters" in text for text in statements) == 2


@pytest.mark.usefixtures("gives_back", "many_meters")
def test_a_deploy_into_a_project_of_many_meters_reads_none_of_them(live, authed) -> None:
    _deploy_statements(live, authed)  # sums the meters once, and remembers them
    statements = _deploy_statements(live, authed)
    assert not [text for text in statements if "FROM meters" in text], _show(statements)
    assert len(statements) == 11, _show(statements)
