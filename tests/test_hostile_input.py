"""Inputs no store can hold or no client should send: always a clear 4xx, never a 500."""

from __future__ import annotations

import pytest

from tests.test_errors import assert_error

SURROGATE = '"\\ud800"'  # a lone surrogate, as JSON text
NUL = '"a\\u0000b"'


def _raw(client, method: str, path: str, text: str, content_type: str = "application/json"):
    return client.request(
        method, path, content=text.encode(), headers={"Content-Type": content_type}
    )


@pytest.mark.parametrize("bad", [SURROGATE, NUL])
@pytest.mark.parametrize(
    "template",
    [
        '{"grant_type":"client_credentials","client_id":%s,"client_secret":"x"}',
        '{"grant_type":"refresh_token","refresh_token":%s}',
    ],
)
def test_the_token_endpoint_refuses_unstorable_text(http, bad, template):
    for content_type in ("application/json", "text/plain"):
        response = _raw(http, "POST", "/v1/oauth2/token", template % bad, content_type)
        assert_error(response, 400, "invalid_request")


def test_form_bodies_with_nul_are_refused(http):
    response = http.post(
        "/v1/oauth2/token",
        content=b"grant_type=client_credentials&client_id=a%00b&client_secret=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, 400, "invalid_request")


def test_deeply_nested_json_is_refused(http, authed):
    deep = "[" * 100_000 + "]" * 100_000
    assert_error(_raw(http, "POST", "/v1/oauth2/token", deep), 400, "invalid_request")
    assert_error(_raw(authed, "POST", "/v1/sshkeys", deep), 400, "invalid_request")


@pytest.mark.parametrize("bad", [SURROGATE, NUL])
@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/v1/sshkeys", '{"name":%s,"key":"ssh-ed25519 AAAA"}'),
        ("/v1/scripts", '{"name":"n","script":%s}'),
        ("/v1/scripts", '{"name":%s,"script":"echo"}'),
        ("/v1/volumes", '{"type":"NVMe","name":%s,"size":1,"location_code":"FIN-01"}'),
        (
            "/v1/instances",
            '{"instance_type":"CPU.4V.16G","image":%s,"hostname":"h",'
            '"description":"","location_code":"FIN-01"}',
        ),
    ],
)
def test_bodies_with_unstorable_text_are_refused_and_store_nothing(authed, path, template, bad):
    message = assert_error(_raw(authed, "POST", path, template % bad), 400, "invalid_request")
    assert "NUL" in message or "unicode" in message
    assert authed.get(path).json() == []


@pytest.mark.parametrize(
    "path",
    [
        "/v1/sshkeys/%00",
        "/v1/ssh-keys/a%00b",
        "/v1/scripts/a%00b",
        "/v1/instances/%00",
        "/v1/volumes/%00",
        "/v1/sshkeys/not-a-uuid",
        "/v1/volumes/00000000-0000-4000-8000-00000000000Z",
    ],
)
def test_ids_that_cannot_exist_are_simply_not_found(authed, path):
    assert_error(authed.get(path), 404, "not_found")
    if not path.startswith("/v1/instances"):
        assert_error(authed.delete(path), 404, "not_found")


def test_id_lists_in_bodies_that_cannot_exist(authed):
    response = authed.request("DELETE", "/v1/scripts", json={"scripts": ["a\u0000b"]})
    assert_error(response, 400, "invalid_request")
    response = authed.request("DELETE", "/v1/sshkeys", json={"keys": ["not-a-uuid"]})
    assert_error(response, 404, "not_found")


def test_huge_id_lists_are_refused(authed):
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(1001)]
    for method, path, body in (
        ("DELETE", "/v1/sshkeys", {"keys": ids}),
        ("DELETE", "/v1/scripts", {"scripts": ids}),
        ("PUT", "/v1/instances", {"action": "shutdown", "id": ids}),
        ("PUT", "/v1/volumes", {"action": "detach", "id": ids}),
    ):
        assert_error(authed.request(method, path, json=body), 400, "invalid_request")


def test_bodies_over_a_mebibyte_are_refused(authed):
    script = "x" * (1024 * 1024 + 1)
    response = authed.post("/v1/scripts", json={"name": "big", "script": script})
    assert "too large" in assert_error(response, 400, "invalid_request")


def test_absurd_page_numbers_are_an_empty_page(authed):
    authed.post("/v1/scripts", json={"name": "s", "script": "echo"})
    response = authed.get("/v1/scripts", params={"page": 10**18, "pageSize": 100})
    assert response.status_code == 200 and response.json() == []
    assert response.headers["X-Total-Count"] == "1"


def test_trailing_slashes_are_not_redirected(http, authed):
    for client in (http, authed):
        response = client.get("/v1/balance/", headers={"Host": "evil.example"})
        assert_error(response, 404, "not_found")
        assert "location" not in response.headers


def test_booleans_and_numbers_are_not_interchangeable(authed):
    body = {"type": "HDD", "name": "v", "size": True, "location_code": "FIN-01"}
    assert "size" in assert_error(authed.post("/v1/volumes", json=body), 400, "invalid_request")
    body["size"] = 10
    volume_id = authed.post("/v1/volumes", json=body).text
    response = authed.put(
        "/v1/volumes", json={"action": "delete", "id": volume_id, "is_permanent": "yes"}
    )
    assert "is_permanent" in assert_error(response, 400, "invalid_request")
    assert authed.get(f"/v1/volumes/{volume_id}").json()["status"] == "detached"
