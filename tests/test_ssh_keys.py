"""SSH keys on both spellings of the path, through raw HTTP and the SDK."""

from __future__ import annotations

import base64
import os
import struct

import pytest
from verda.exceptions import APIException

from tests.support.keys import ecdsa_key, ed25519_key, rsa_key
from tests.test_errors import assert_error

PATHS = ["/v1/sshkeys", "/v1/ssh-keys"]


def _sk_ed25519() -> str:
    def field(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    blob = field(b"sk-ssh-ed25519@openssh.com") + field(os.urandom(32)) + field(b"ssh:")
    return "sk-ssh-ed25519@openssh.com " + base64.b64encode(blob).decode() + " yubikey"


def _add(client, path: str, name: str, key: str) -> str:
    response = client.post(path, json={"name": name, "key": key})
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


@pytest.mark.parametrize("path", PATHS)
def test_add_get_list_delete(authed, contract, path):
    key = ed25519_key()
    key_id = _add(authed, path, "laptop", key)
    assert '"' not in key_id and len(key_id) == 36
    one = contract.check(authed.get(f"{path}/{key_id}"), path + "/{key_id}")
    assert one == [{"id": key_id, "name": "laptop", "key": key}]
    listed = contract.check(authed.get(path), path)
    assert {"id": key_id, "name": "laptop", "key": key} in listed
    deleted = authed.delete(f"{path}/{key_id}")
    assert deleted.status_code == 200 and deleted.content == b""
    assert_error(authed.get(f"{path}/{key_id}"), 404, "not_found")
    assert_error(authed.delete(f"{path}/{key_id}"), 404, "not_found")


def test_both_paths_share_one_store(authed):
    key_id = _add(authed, "/v1/sshkeys", "shared", rsa_key())
    assert authed.get(f"/v1/ssh-keys/{key_id}").json()[0]["name"] == "shared"
    assert authed.request("DELETE", "/v1/ssh-keys", json={"keys": [key_id]}).status_code == 200
    assert authed.get(f"/v1/sshkeys/{key_id}").status_code == 404


@pytest.mark.parametrize("make", [ed25519_key, rsa_key, ecdsa_key, _sk_ed25519])
def test_every_openssh_key_type_is_accepted(authed, make):
    key = make()
    key_id = _add(authed, "/v1/ssh-keys", "k", "  " + key + "\n")
    assert authed.get(f"/v1/ssh-keys/{key_id}").json()[0]["key"] == key


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "key": "ssh-rsa AAAAnotbase64"}, "key"),
        ({"name": "x", "key": "not a key at all"}, "key"),
        ({"name": "x", "key": ""}, "key"),
        ({"name": "x", "key": ed25519_key() + "\n" + ed25519_key()}, "key"),
        ({"name": "   ", "key": ed25519_key()}, "name"),
        ({"name": "x" * 256, "key": ed25519_key()}, "name"),
        ({"key": ed25519_key()}, "name"),
        ({"name": "x"}, "key"),
        ({"name": 5, "key": ed25519_key()}, "name"),
    ],
)
def test_bad_keys_are_refused_and_nothing_is_stored(authed, body, field):
    before = authed.get("/v1/sshkeys").json()
    message = assert_error(authed.post("/v1/sshkeys", json=body), 400, "invalid_request")
    assert field in message
    assert authed.get("/v1/sshkeys").json() == before


def test_bulk_delete_is_all_or_nothing(authed):
    a = _add(authed, "/v1/sshkeys", "a", ed25519_key())
    b = _add(authed, "/v1/sshkeys", "b", ed25519_key())
    missing = "00000000-0000-4000-8000-000000000000"
    assert_error(
        authed.request("DELETE", "/v1/sshkeys", json={"keys": [a, missing, b]}), 404, "not_found"
    )
    assert {k["id"] for k in authed.get("/v1/sshkeys").json()} == {a, b}
    assert_error(authed.request("DELETE", "/v1/sshkeys", json={"keys": []}), 400, "invalid_request")
    assert_error(authed.request("DELETE", "/v1/sshkeys", json={}), 400, "invalid_request")
    assert (
        authed.request("DELETE", "/v1/sshkeys", json={"keys": a}).status_code == 200
    )  # a bare string
    assert [k["id"] for k in authed.get("/v1/sshkeys").json()] == [b]


def test_sdk_ssh_keys(sdk):
    key = ed25519_key()
    created = sdk.ssh_keys.create("sdk-key", key)
    assert created.name == "sdk-key" and created.public_key == key
    fetched = sdk.ssh_keys.get_by_id(created.id)
    assert (fetched.id, fetched.name, fetched.public_key) == (created.id, "sdk-key", key)
    assert [k.id for k in sdk.ssh_keys.get()] == [created.id]
    other = sdk.ssh_keys.create("other", rsa_key())
    sdk.ssh_keys.delete([created.id])
    assert [k.id for k in sdk.ssh_keys.get()] == [other.id]
    sdk.ssh_keys.delete_by_id(other.id)
    assert sdk.ssh_keys.get() == []
    with pytest.raises(APIException) as raised:
        sdk.ssh_keys.get_by_id(other.id)
    assert raised.value.code == "not_found"


def test_keys_are_private_to_their_project(live, http):
    a, b = live.new_project(), live.new_project()
    ha = {"Authorization": f"Bearer {a.access_token(http)}"}
    hb = {"Authorization": f"Bearer {b.access_token(http)}"}
    key_id = http.post("/v1/sshkeys", json={"name": "a", "key": ed25519_key()}, headers=ha).text
    assert http.get("/v1/sshkeys", headers=hb).json() == []
    assert_error(http.get(f"/v1/sshkeys/{key_id}", headers=hb), 404, "not_found")
    assert_error(http.delete(f"/v1/sshkeys/{key_id}", headers=hb), 404, "not_found")
    assert_error(
        http.request("DELETE", "/v1/sshkeys", json={"keys": [key_id]}, headers=hb), 404, "not_found"
    )
    assert http.get(f"/v1/sshkeys/{key_id}", headers=ha).status_code == 200
