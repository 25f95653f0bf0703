"""Startup scripts: CRUD, pagination headers, the per-project quota."""

from __future__ import annotations

import pytest
from verda.exceptions import APIException

from tests.test_errors import assert_error

SCRIPT = "#!/bin/bash\n\necho hello world"


def _add(client, name: str = "s", script: str = SCRIPT, live=None) -> str:
    response = client.post("/v1/scripts", json={"name": name, "script": script})
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("text/plain")
    if live is not None:
        live.tick()  # so that the next one is created later
    return response.text


def test_add_get_list_delete(authed, contract):
    script_id = _add(authed, "hello")
    one = contract.check(authed.get(f"/v1/scripts/{script_id}"), "/v1/scripts/{script_id}")
    assert one == [{"id": script_id, "name": "hello", "script": SCRIPT}]
    listed = contract.check(authed.get("/v1/scripts"), "/v1/scripts")
    assert listed == one
    assert "X-Total-Count" not in authed.get("/v1/scripts").headers
    deleted = authed.delete(f"/v1/scripts/{script_id}")
    assert deleted.status_code == 200 and deleted.content == b""
    assert_error(authed.get(f"/v1/scripts/{script_id}"), 404, "not_found")


def test_pagination_keeps_the_array_and_adds_headers(live, authed):
    ids = [_add(authed, f"s{i:02}", live=live) for i in range(23)]
    whole = authed.get("/v1/scripts").json()
    assert [s["id"] for s in whole] == ids
    first = authed.get("/v1/scripts", params={"page": 1})
    assert [s["id"] for s in first.json()] == ids[:10]
    assert (first.headers["X-Page"], first.headers["X-Page-Size"]) == ("1", "10")
    assert first.headers["X-Total-Count"] == "23"
    third = authed.get("/v1/scripts", params={"page": 3, "pageSize": 10})
    assert [s["id"] for s in third.json()] == ids[20:]
    sized = authed.get("/v1/scripts", params={"pageSize": 5})
    assert [s["id"] for s in sized.json()] == ids[:5] and sized.headers["X-Page"] == "1"
    beyond = authed.get("/v1/scripts", params={"page": 9, "pageSize": 100})
    assert beyond.json() == [] and beyond.headers["X-Total-Count"] == "23"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": -1}, "page"),
        ({"page": "x"}, "page"),
        ({"pageSize": 0}, "pageSize"),
        ({"pageSize": 101}, "pageSize"),
        ({"pageSize": "ten"}, "pageSize"),
    ],
)
def test_bad_paging_is_refused(authed, params, field):
    assert field in assert_error(authed.get("/v1/scripts", params=params), 400, "invalid_request")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "script": SCRIPT}, "name"),
        ({"name": "x", "script": "   "}, "script"),
        ({"name": "x"}, "script"),
        ({"script": SCRIPT}, "name"),
        ({"name": "x", "script": "x" * (64 * 1024 + 1)}, "script"),
    ],
)
def test_bad_scripts_are_refused(authed, body, field):
    assert field in assert_error(authed.post("/v1/scripts", json=body), 400, "invalid_request")
    assert authed.get("/v1/scripts").json() == []


def test_the_quota_refuses_the_next_script(live, authed, project):
    live.set_script_quota(project.project_id, 3)
    ids = [_add(authed, live=live) for _ in range(3)]
    message = assert_error(
        authed.post("/v1/scripts", json={"name": "x", "script": SCRIPT}), 403, "forbidden_action"
    )
    assert "quota" in message.lower() and "3" in message
    assert [s["id"] for s in authed.get("/v1/scripts").json()] == ids
    authed.delete(f"/v1/scripts/{ids[0]}")
    _add(authed)


def test_the_default_quota_is_100(live, project):
    from verda_server.projects.models import Project

    with live.context.db.read() as session:
        assert session.get(Project, project.project_id).startup_script_quota == 100


def test_bulk_delete_is_all_or_nothing(authed):
    a, b = _add(authed), _add(authed)
    missing = "00000000-0000-4000-8000-000000000000"
    assert_error(
        authed.request("DELETE", "/v1/scripts", json={"scripts": [a, missing]}), 404, "not_found"
    )
    assert len(authed.get("/v1/scripts").json()) == 2
    assert authed.request("DELETE", "/v1/scripts", json={"scripts": [a, b]}).status_code == 200
    assert authed.get("/v1/scripts").json() == []


def test_sdk_startup_scripts(live, sdk):
    created = sdk.startup_scripts.create("boot", SCRIPT)
    live.tick()
    fetched = sdk.startup_scripts.get_by_id(created.id)
    assert (fetched.id, fetched.name, fetched.script) == (created.id, "boot", SCRIPT)
    other = sdk.startup_scripts.create("other", "echo 2")
    assert [s.id for s in sdk.startup_scripts.get()] == [created.id, other.id]
    sdk.startup_scripts.delete([created.id])
    sdk.startup_scripts.delete_by_id(other.id)
    assert sdk.startup_scripts.get() == []
    with pytest.raises(APIException) as raised:
        sdk.startup_scripts.get_by_id(other.id)
    assert raised.value.code == "not_found"


def test_scripts_are_private_to_their_project(live, http):
    a, b = live.new_project(), live.new_project()
    ha = {"Authorization": f"Bearer {a.access_token(http)}"}
    hb = {"Authorization": f"Bearer {b.access_token(http)}"}
    script_id = http.post("/v1/scripts", json={"name": "a", "script": SCRIPT}, headers=ha).text
    assert http.get("/v1/scripts", headers=hb).json() == []
    assert_error(http.get(f"/v1/scripts/{script_id}", headers=hb), 404, "not_found")
    assert_error(http.delete(f"/v1/scripts/{script_id}", headers=hb), 404, "not_found")
    assert http.get(f"/v1/scripts/{script_id}", headers=ha).status_code == 200
