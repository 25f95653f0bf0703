"""The read model at its edges: what the routes answer without it, it answers too."""

from __future__ import annotations

import pytest

from tests.test_instances import deploy
from verda_server.readmodel.middleware import ReadModel

pytestmark = pytest.mark.usefixtures("gives_back")


def test_a_get_of_a_path_that_has_no_get_is_neither_counted_nor_limited(live, client_of):
    """GET of a path whose only routes write (POST .../tags) is refused (404
    "Cannot GET") by the routes before authentication: never counted, never limited, however
    often it is asked."""
    creds = live.new_project()
    live.set_rate_limits(creds.project_id, endpoint=2)
    client = client_of(creds)
    instance_id = deploy(client)
    path = f"/v1/instances/{instance_id}/tags"
    for _ in range(4):
        response = client.get(path)
        assert response.status_code == 404, response.text
        assert response.json()["message"] == f"Cannot GET {path}"
        assert "ratelimit" not in response.headers


def _read_model(live) -> ReadModel:
    node = live.server.app.middleware_stack
    while not isinstance(node, ReadModel):
        node = node.app
    return node


def test_paths_learnt_hold_little_however_long_the_paths_asked(live, http):
    """Anyone may ask for any path: what the read model learns from them must
    not grow with their length (16 384 paths of kilobytes each would be GBs)."""
    learnt = _read_model(live)._paths
    before = sum(map(len, learnt))
    for index in range(40):
        response = http.get(f"/v1/instances/{index:04d}{'x' * 4000}")
        assert response.status_code in (400, 401, 404)
    assert sum(map(len, learnt)) - before < 40 * 300
