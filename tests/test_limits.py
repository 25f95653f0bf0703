"""The numbers the README gives, at their exact boundaries: id lists of 1000
ids (1001 refused), num_of_months 1..12."""

from __future__ import annotations

import uuid

import pytest

from tests.support.keys import ed25519_key
from tests.test_errors import assert_error
from tests.test_instances import BOOT, deploy, get

LIMIT = 1000


def _missing(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


def test_a_bulk_ssh_key_delete_takes_1000_ids_and_refuses_1001(live, authed, project):
    from verda_server.ssh_keys.service import add_key

    key = ed25519_key()
    with live.context.db.write() as session:
        ids = [
            add_key(session, live.clock, project.project_id, f"k{n}", key).id for n in range(LIMIT)
        ]
    over = authed.request("DELETE", "/v1/sshkeys", json={"keys": [*ids, str(uuid.uuid4())]})
    assert "keys" in assert_error(over, 400, "invalid_request")
    assert len(authed.get("/v1/sshkeys").json()) == LIMIT  # nothing deleted
    response = authed.request("DELETE", "/v1/sshkeys", json={"keys": ids})
    assert response.status_code == 200, response.text
    assert authed.get("/v1/sshkeys").json() == []


def test_an_instance_action_takes_1000_ids_and_refuses_1001(live, authed):
    instance_id = deploy(authed)
    live.clock.advance(BOOT)
    over = authed.put(
        "/v1/instances", json={"action": "shutdown", "id": [instance_id, *_missing(LIMIT)]}
    )
    assert "id" in assert_error(over, 400, "invalid_request")
    assert get(authed, instance_id)["status"] == "running"
    ids = [instance_id, *_missing(LIMIT - 1)]
    response = authed.put("/v1/instances", json={"action": "shutdown", "id": ids})
    assert response.status_code == 207, response.text
    results = response.json()
    assert len(results) == LIMIT and results[0]["status"] == "success"
    assert {r["statusCode"] for r in results[1:]} == {404}
    assert get(authed, instance_id)["status"] == "offline"


@pytest.mark.parametrize(
    ("method", "path", "field", "extra"),
    [
        ("DELETE", "/v1/scripts", "scripts", {}),
        ("PUT", "/v1/volumes", "id", {"action": "detach"}),
    ],
)
def test_other_id_lists_take_1000_ids_and_refuse_1001(authed, method, path, field, extra):
    # 1000 unknown ids get as far as being looked up; 1001 are refused before.
    within = authed.request(method, path, json={**extra, field: _missing(LIMIT)})
    assert_error(within, 404, "not_found")
    over = authed.request(method, path, json={**extra, field: _missing(LIMIT + 1)})
    assert field in assert_error(over, 400, "invalid_request")


@pytest.mark.parametrize(("months", "status"), [(0, 400), (1, 200), (12, 200), (13, 400)])
def test_price_history_takes_1_to_12_months(authed, months, status):
    response = authed.get("/v1/instance-types/price-history", params={"num_of_months": months})
    if status == 200:
        assert response.status_code == 200 and response.json() == {}
    else:
        assert "num_of_months" in assert_error(response, 400, "invalid_request")
