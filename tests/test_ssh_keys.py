"""SSH keys on both spellings of the path, through raw HTTP and the SDK."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import struct
from datetime import UTC, datetime, timedelta

import pytest
from verda.exceptions import APIException

from tests.support.keys import ecdsa_key, ed25519_key, rsa_key
from tests.test_errors import assert_error
from tests.test_volumes import RFC3339

PATHS = ["/v1/sshkeys", "/v1/ssh-keys"]
# Made with ssh-keygen; `ssh-keygen -E md5 -lf` prints this fingerprint for it.
VECTOR_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJbqq8GGv1FiCPbKuQvDVfdiWj+B1kFUjpL7BAJe0zXD vector@test"
)
VECTOR_MD5 = "b7:84:65:a6:ef:84:09:fa:79:ec:07:59:a7:90:10:92"
MD5_FORM = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){15}$")


def _field(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _b64(blob: bytes) -> str:
    return base64.b64encode(blob).decode()


def _placeholder_rsa() -> str:
    """Like the Go SDK's test key: names ssh-rsa and the exponent, then stops mid-modulus;
    unpadded, with the unused low bits of its last character set."""
    blob = _field(b"ssh-rsa") + _field(b"\x01\x00\x01") + struct.pack(">I", 257) + os.urandom(99)
    text = _b64(blob).rstrip("=")
    assert len(text) % 4 == 2  # the last character carries 2 bits of data and 4 unused
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet[(alphabet.index(text[-1]) & 0b110000) | 0b0101]
    return f"ssh-rsa {text[:-1]}{last} test@example.com"


def _sk_ed25519() -> str:
    blob = _field(b"sk-ssh-ed25519@openssh.com") + _field(os.urandom(32)) + _field(b"ssh:")
    return "sk-ssh-ed25519@openssh.com " + _b64(blob) + " yubikey"


def _form_only(key_type: str) -> str:
    return f"{key_type} {_b64(_field(key_type.encode()) + os.urandom(40))}"


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
    (body,) = one
    assert MD5_FORM.match(body["fingerprint"]) and RFC3339.match(body["created_at"])
    assert body == {
        "id": key_id,
        "name": "laptop",
        "key": key,
        "fingerprint": body["fingerprint"],
        "created_at": body["created_at"],
    }
    listed = contract.check(authed.get(path), path)
    assert body in listed
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


@pytest.mark.parametrize("path", PATHS)
def test_keys_carry_the_md5_fingerprint_and_the_time_they_were_added(live, authed, path):
    live.clock.advance(1800)  # the answer reads the server's clock, not the wall
    added_at = live.clock.now()
    key_id = _add(authed, path, "vector", VECTOR_KEY)
    (one,) = authed.get(f"{path}/{key_id}").json()
    assert one["fingerprint"] == VECTOR_MD5
    assert RFC3339.match(one["created_at"])
    created = datetime.fromisoformat(one["created_at"].replace("Z", "+00:00"))
    assert abs(created - added_at) < timedelta(seconds=5)
    assert [k for k in authed.get(path).json() if k["id"] == key_id] == [one]


def test_a_placeholder_rsa_key_cut_short_is_accepted(authed, contract):
    """The Go SDK's integration tests register such a key; the live service takes it."""
    key = _placeholder_rsa()
    key_id = _add(authed, "/v1/ssh-keys", "placeholder", key)
    (one,) = contract.check(authed.get(f"/v1/ssh-keys/{key_id}"), "/v1/ssh-keys/{key_id}")
    assert one["key"] == key and MD5_FORM.match(one["fingerprint"])
    padded = "ssh-rsa " + _RSA_BLOB
    padded_id = _add(authed, "/v1/ssh-keys", "p", padded)
    assert authed.get(f"/v1/ssh-keys/{padded_id}").json()[0]["key"] == padded


@pytest.mark.parametrize(
    "key_type",
    [
        "ssh-rsa",
        "ssh-dss",
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    ],
)
def test_every_known_type_is_checked_for_its_form_only(authed, key_type):
    key = _form_only(key_type)
    key_id = _add(authed, "/v1/sshkeys", "k", key)
    assert authed.get(f"/v1/sshkeys/{key_id}").json()[0]["key"] == key
    other = "ssh-rsa" if key_type != "ssh-rsa" else "ssh-ed25519"
    mismatched = f"{other} {key.split()[1]}"
    message = assert_error(
        authed.post("/v1/sshkeys", json={"name": "x", "key": mismatched}), 400, "invalid_request"
    )
    assert key_type in message and other in message


_RSA_BLOB = _b64(_field(b"ssh-rsa") + _field(b"\x01\x00\x01"))
_PRIVATE = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


@pytest.mark.parametrize(
    "key",
    [
        "ssh-rsa AAAAnotbase64",
        "not a key at all",
        "ssh-rsa",
        "AAAAB3NzaC1yc2EAAAADAQABAAABAQC7",
        "ssh-rsa " + _RSA_BLOB[:-1] + "!",
        "ssh-rsa " + _RSA_BLOB + "==",
        "ssh-rsa " + _RSA_BLOB.rstrip("=")[:-3],
        "ssh-rsa " + _b64(_field(b"ssh-ed25519") + os.urandom(32)),
        "ssh-rsa " + _b64(b"\x00\x00\x00"),
        "ssh-rsa " + _b64(struct.pack(">I", 50) + b"ssh-rsa"),
        "ssh-rsa " + _b64(b"plain text, no key"),
        "ssh-rsa-cert-v01@openssh.com " + _b64(_field(b"ssh-rsa-cert-v01@openssh.com") + b"x" * 9),
        "rsa-sha2-256 " + _b64(_field(b"rsa-sha2-256") + b"x" * 9),
        'from="10.0.0.1" ' + "ssh-rsa " + _RSA_BLOB,
        "ssh-rsa " + _RSA_BLOB + "\r\nssh-rsa " + _RSA_BLOB,
        "ssh-rsa " + _RSA_BLOB + " a\u2028b",
        "---- BEGIN SSH2 PUBLIC KEY ----",
        _PRIVATE,
        _PRIVATE.replace("\n", " "),
    ],
)
def test_what_is_not_a_key_is_refused(authed, key):
    message = assert_error(
        authed.post("/v1/sshkeys", json={"name": "x", "key": key}), 400, "invalid_request"
    )
    assert message.startswith("key:")
    assert authed.get("/v1/sshkeys").json() == []


def test_migration_0005_turns_stored_sha256_fingerprints_into_md5(empty_database_url):
    """Keys stored before 0005 carry SHA256 fingerprints; after it, MD5 (and back on downgrade)."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from verda_server.storage.migrate import alembic_config

    blob = base64.b64decode(VECTOR_KEY.split()[1])
    sha256 = "SHA256:" + _b64(hashlib.sha256(blob).digest()).rstrip("=")
    when = datetime(2026, 1, 1, tzinfo=UTC)
    engine = create_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            command.upgrade(alembic_config(connection), "0004")
            connection.execute(
                text(
                    "INSERT INTO projects (id, name, balance, currency, is_default, created_at) "
                    "VALUES ('p', 'p', 0, 'usd', :yes, :when)"
                ),
                {"yes": True, "when": when},
            )
            for key_id, key in [("good", VECTOR_KEY), ("broken", "ssh-ed25519 @@@@ nope")]:
                connection.execute(
                    text(
                        "INSERT INTO ssh_keys (id, project_id, name, key, fingerprint, created_at) "
                        "VALUES (:id, 'p', 'k', :key, :fp, :when)"
                    ),
                    {"id": key_id, "key": key, "fp": sha256, "when": when},
                )
            connection.commit()

            def stored() -> dict[str, str | None]:
                return dict(connection.execute(text("SELECT id, fingerprint FROM ssh_keys")).all())

            command.upgrade(alembic_config(connection), "head")
            connection.commit()
            assert stored() == {"good": VECTOR_MD5, "broken": None}
            command.downgrade(alembic_config(connection), "0004")
            connection.commit()
            assert stored() == {"good": sha256, "broken": ""}
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "key": ""}, "key"),
        ({"name": "x", "key": "   "}, "key"),
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
