"""Startup script paging and limits at their exact edges: the empty list, the last
full page, the page just past it, the script size in bytes, the quota."""

from __future__ import annotations

import pytest

from tests.test_errors import assert_error
from verda_server.api.errors import ApiError

MAX_SCRIPT_CHARS = 64 * 1024


def _add(client, name: str = "s", script: str = "echo hi") -> str:
    response = client.post("/v1/scripts", json={"name": name, "script": script})
    assert response.status_code == 201, response.text
    return response.text


def _add_in_order(live, client, names: list[str]) -> list[str]:
    """Scripts a millisecond apart: on the frozen clock, things created at one
    instant have no order between them."""
    ids = []
    for name in names:
        ids.append(_add(client, name))
        live.tick()
    return ids


def _page(client, **params) -> tuple[list[str], tuple[str, str, str]]:
    response = client.get("/v1/scripts", params=params)
    assert response.status_code == 200, response.text
    headers = response.headers
    return [s["id"] for s in response.json()], (
        headers["X-Page"],
        headers["X-Page-Size"],
        headers["X-Total-Count"],
    )


def test_paging_an_empty_list(authed):
    assert _page(authed, page=1) == ([], ("1", "10", "0"))
    assert _page(authed, pageSize=1) == ([], ("1", "1", "0"))
    assert _page(authed, name="nothing", page=2, pageSize=3) == ([], ("2", "3", "0"))


def test_the_last_full_page_and_the_one_after_it(live, authed):
    ids = _add_in_order(live, authed, [f"s{i:02}" for i in range(20)])
    assert _page(authed, page=2) == (ids[10:], ("2", "10", "20"))
    assert _page(authed, page=3) == ([], ("3", "10", "20"))
    assert _page(authed, page=2, pageSize=19) == (ids[19:], ("2", "19", "20"))
    assert _page(authed, page=1, pageSize=20) == (ids, ("1", "20", "20"))
    assert _page(authed, page=2, pageSize=20) == ([], ("2", "20", "20"))
    assert _page(authed, page=7, pageSize=3) == (ids[18:], ("7", "3", "20"))
    newest = list(reversed(ids))
    assert _page(authed, page=2, pageSize=3, orderDirection="desc") == (
        newest[3:6],
        ("2", "3", "20"),
    )
    assert _page(authed, page=1, pageSize=1, orderDirection="asc") == (ids[:1], ("1", "1", "20"))


def test_a_name_filter_counts_only_what_it_keeps(live, authed):
    *keep, cpu = _add_in_order(live, authed, ["gpu-0", "gpu-1", "gpu-2", "cpu"])
    assert _page(authed, name="GPU", page=1, pageSize=2) == (keep[:2], ("1", "2", "3"))
    assert _page(authed, name="GPU", page=2, pageSize=2) == (keep[2:], ("2", "2", "3"))
    # An empty name keeps everything.
    assert _page(authed, name="", page=1) == ([*keep, cpu], ("1", "10", "4"))
    whole = authed.get("/v1/scripts", params={"name": ""})
    assert len(whole.json()) == 4 and "X-Page" not in whole.headers


def test_without_paging_there_are_no_paging_headers(authed):
    _add(authed)
    for params in ({}, {"name": "s"}, {"orderDirection": "desc"}, {"orderBy": "created_at"}):
        headers = authed.get("/v1/scripts", params=params).headers
        assert {"X-Page", "X-Page-Size", "X-Total-Count"}.isdisjoint(headers), params


@pytest.mark.parametrize(("char", "count"), [("x", MAX_SCRIPT_CHARS), ("é", MAX_SCRIPT_CHARS)])
def test_a_script_of_64_ki_characters_is_the_largest(authed, char, count):
    """The limit is in characters, as the document's maxLength counts them."""
    script_id = _add(authed, script=char * count)
    assert authed.get(f"/v1/scripts/{script_id}").json()[0]["script"] == char * count
    response = authed.post("/v1/scripts", json={"name": "s", "script": char * (count + 1)})
    assert assert_error(response, 400, "invalid_request") == "script: at most 65536 characters"


def test_a_script_of_whitespace_only_is_refused(authed):
    for script in (" ", "\n\t ", "\u2003"):
        response = authed.post("/v1/scripts", json={"name": "s", "script": script})
        assert assert_error(response, 400, "invalid_request") == "script: must not be empty"
    _add(authed, script=" x ")


def test_the_quota_message_and_a_quota_of_zero(live, authed, project):
    live.set_script_quota(project.project_id, 2)
    _add(authed)
    _add(authed)
    refused = authed.post("/v1/scripts", json={"name": "x", "script": "echo"})
    assert assert_error(refused, 403, "forbidden_action") == (
        "Startup script quota exceeded: the project already has 2 of its 2 allowed scripts"
    )
    live.set_script_quota(project.project_id, 0)
    refused = authed.post("/v1/scripts", json={"name": "x", "script": "echo"})
    assert assert_error(refused, 403, "forbidden_action") == (
        "Startup script quota exceeded: the project already has 2 of its 0 allowed scripts"
    )


def test_the_quota_is_set_between_0_and_1000(live, authed, project):
    """What `verda-server projects set-quota` relies on (the CLI's own test needs a
    subprocess per call, so the bounds are checked here)."""
    live.set_script_quota(project.project_id, 1000)
    live.set_script_quota(project.project_id, 0)
    for quota in (-1, 1001):
        with pytest.raises(ApiError) as raised:
            live.set_script_quota(project.project_id, quota)
        assert (raised.value.code, raised.value.message) == (
            "invalid_request",
            "startup_scripts: must be an integer from 0 to 1000",
        )
    with pytest.raises(ApiError) as raised:
        live.set_script_quota("00000000-0000-4000-8000-000000000000", 5)
    assert (raised.value.code, raised.value.message) == (
        "not_found",
        "Project 00000000-0000-4000-8000-000000000000 not found",
    )
    refused = authed.post("/v1/scripts", json={"name": "x", "script": "echo"})
    assert "0 allowed scripts" in assert_error(refused, 403, "forbidden_action")


def test_deleting_an_unknown_script_names_it(authed):
    kept = _add(authed)
    missing = "00000000-0000-4000-8000-000000000000"
    for response in (
        authed.request("DELETE", "/v1/scripts", json={"scripts": [kept, missing]}),
        authed.delete(f"/v1/scripts/{missing}"),
    ):
        message = assert_error(response, 404, "not_found")
        assert message == f"Startup script {missing} not found"
    message = assert_error(authed.get(f"/v1/scripts/{missing}"), 404, "not_found")
    assert message == "Startup script not found"
    assert [s["id"] for s in authed.get("/v1/scripts").json()] == [kept]


def test_a_quota_of_one_takes_exactly_one_script(live, authed, project):
    live.set_script_quota(project.project_id, 1)
    _add(authed)
    refused = authed.post("/v1/scripts", json={"name": "x", "script": "echo"})
    assert assert_error(refused, 403, "forbidden_action") == (
        "Startup script quota exceeded: the project already has 1 of its 1 allowed scripts"
    )
