"""Startup scripts: CRUD, pagination headers, the per-project quota."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from verda.exceptions import APIException

from tests.test_errors import assert_error
from tests.test_volumes import RFC3339

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
    assert RFC3339.match(one[0]["created_at"])
    assert one == [
        {"id": script_id, "name": "hello", "script": SCRIPT, "created_at": one[0]["created_at"]}
    ]
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
    # The size asked for, not the 3 items this last page holds.
    assert (third.headers["X-Page"], third.headers["X-Page-Size"]) == ("3", "10")
    assert third.headers["X-Total-Count"] == "23"
    sized = authed.get("/v1/scripts", params={"pageSize": 5})
    assert [s["id"] for s in sized.json()] == ids[:5] and sized.headers["X-Page"] == "1"
    beyond = authed.get("/v1/scripts", params={"page": 9, "pageSize": 100})
    assert beyond.json() == [] and beyond.headers["X-Total-Count"] == "23"


def test_page_size_100_is_the_largest(live, authed, project):
    live.set_script_quota(project.project_id, 101)
    # 101 creations in one frozen window: more than the endpoint limit allows.
    live.set_rate_limits(project.project_id, endpoint=200)
    ids = []
    for i in range(101):
        ids.append(_add(authed, f"s{i:03}"))
        live.tick()
    full = authed.get("/v1/scripts", params={"pageSize": 100})
    assert [s["id"] for s in full.json()] == ids[:100]
    assert (full.headers["X-Page-Size"], full.headers["X-Total-Count"]) == ("100", "101")
    rest = authed.get("/v1/scripts", params={"page": 2, "pageSize": 100})
    assert [s["id"] for s in rest.json()] == ids[100:]
    assert (rest.headers["X-Page"], rest.headers["X-Page-Size"]) == ("2", "100")
    message = assert_error(
        authed.get("/v1/scripts", params={"pageSize": 101}), 400, "invalid_request"
    )
    assert "pageSize" in message


def _named(live, authed, names: list[str]) -> dict[str, str]:
    """Scripts added one second apart by the server's clock, so their order is known."""
    ids = {}
    for name in names:
        ids[name] = _add(authed, name)
        live.clock.advance(1)
    return ids


def _names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["name"] for s in response.json()]


def test_created_at_is_the_server_time_of_the_add(live, authed):
    before = live.clock.advance(120)
    script_id = _add(authed)
    (one,) = authed.get(f"/v1/scripts/{script_id}").json()
    created = datetime.fromisoformat(one["created_at"].replace("Z", "+00:00"))
    # Written to the millisecond: the instant of the add, truncated (the shared
    # clock may stand at any microsecond).
    truncated = before.replace(microsecond=before.microsecond // 1000 * 1000)
    assert timedelta(0) <= created - truncated < timedelta(seconds=5)
    assert authed.get("/v1/scripts").json() == [one]


def test_order_by_creation_time_either_way(live, authed):
    names = ["b-first", "a-second", "c-third", "d-fourth"]
    _named(live, authed, names)
    assert _names(authed.get("/v1/scripts")) == names
    assert _names(authed.get("/v1/scripts", params={"orderBy": "created_at"})) == names
    asc = {"orderBy": "created_at", "orderDirection": "asc"}
    assert _names(authed.get("/v1/scripts", params=asc)) == names
    desc = {"orderBy": "created_at", "orderDirection": "desc"}
    assert _names(authed.get("/v1/scripts", params=desc)) == names[::-1]
    assert _names(authed.get("/v1/scripts", params={"orderDirection": "desc"})) == names[::-1]
    page = authed.get("/v1/scripts", params={**desc, "page": 2, "pageSize": 3})
    assert _names(page) == ["b-first"]
    assert (page.headers["X-Page"], page.headers["X-Page-Size"]) == ("2", "3")


def test_name_matches_any_part_ignoring_case(live, authed, contract):
    ids = _named(live, authed, ["Setup-GPU", "gpu drivers", "cpu only", "warm-up", "GPUs"])
    found = contract.check(authed.get("/v1/scripts", params={"name": "gpu"}), "/v1/scripts")
    assert [s["name"] for s in found] == ["Setup-GPU", "gpu drivers", "GPUs"]
    assert {s["id"] for s in found} == {ids["Setup-GPU"], ids["gpu drivers"], ids["GPUs"]}
    assert _names(authed.get("/v1/scripts", params={"name": "UP-g"})) == ["Setup-GPU"]
    assert _names(authed.get("/v1/scripts", params={"name": "nothing"})) == []
    assert len(_names(authed.get("/v1/scripts", params={"name": ""}))) == 5
    paged = authed.get("/v1/scripts", params={"name": "GPU", "pageSize": 2, "page": 2})
    assert _names(paged) == ["GPUs"]
    assert (paged.headers["X-Page-Size"], paged.headers["X-Total-Count"]) == ("2", "3")
    newest = {"name": "gpu", "orderBy": "created_at", "orderDirection": "desc", "pageSize": 2}
    assert _names(authed.get("/v1/scripts", params=newest)) == ["GPUs", "gpu drivers"]


def test_like_wildcards_in_the_name_match_literally(live, authed):
    _named(live, authed, ["100% done", "1000 done", "a_b", "axb", "back/slash", "a\\b"])
    assert _names(authed.get("/v1/scripts", params={"name": "%"})) == ["100% done"]
    assert _names(authed.get("/v1/scripts", params={"name": "0% d"})) == ["100% done"]
    assert _names(authed.get("/v1/scripts", params={"name": "a_b"})) == ["a_b"]
    assert _names(authed.get("/v1/scripts", params={"name": "_"})) == ["a_b"]
    assert _names(authed.get("/v1/scripts", params={"name": "k/s"})) == ["back/slash"]
    assert _names(authed.get("/v1/scripts", params={"name": "a\\b"})) == ["a\\b"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"orderBy": "name"}, "orderBy"),
        ({"orderBy": "createdAt"}, "orderBy"),
        ({"orderBy": ""}, "orderBy"),
        ({"orderDirection": "up"}, "orderDirection"),
        ({"orderDirection": "DESC"}, "orderDirection"),
        ({"orderBy": "created_at", "orderDirection": ""}, "orderDirection"),
        ({"name": "a\x00b"}, "name"),
    ],
)
def test_bad_listing_parameters_are_refused(authed, params, field):
    _add(authed)
    message = assert_error(authed.get("/v1/scripts", params=params), 400, "invalid_request")
    assert field in message


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
    assert authed.request("DELETE", "/v1/scripts", json={"scripts": [a]}).status_code == 200
    assert [s["id"] for s in authed.get("/v1/scripts").json()] == [b]
    bare = authed.request("DELETE", "/v1/scripts", json={"scripts": b})
    assert bare.status_code == 200 and bare.content == b""
    assert authed.get("/v1/scripts").json() == []
    assert_error(authed.request("DELETE", "/v1/scripts", json={"scripts": b}), 404, "not_found")


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
