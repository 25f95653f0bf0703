"""Secrets, file secrets and container registry credentials (BEYOND.md §5.2-5.4):
through the Python SDK, and raw for every rule the clients depend on."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from sqlalchemy import select
from verda.containers import (
    AWSECRCredentials,
    CustomRegistryCredentials,
    DockerHubCredentials,
    GCRCredentials,
    GithubCredentials,
)
from verda.exceptions import APIException

from tests.test_errors import assert_error
from tests.test_volumes import RFC3339
from verda_server.serverless import usage
from verda_server.serverless.registry.models import RegistryCredential
from verda_server.serverless.secrets.models import Secret

CREDENTIALS = "/v1/container-registry-credentials"
VALUE = "s3cr3t-value-never-answered"
CONTENT = base64.b64encode(b"file content never answered").decode()
# Every type with the fields it needs.
TYPES: dict[str, dict[str, str]] = {
    "dockerhub": {"username": "u", "access_token": "dckr_pat_x"},
    "ghcr": {"username": "u", "access_token": "ghp_x"},
    "gcr": {"service_account_key": '{"type": "service_account"}'},
    "aws-ecr": {
        "access_key_id": "AKIA",
        "secret_access_key": "secret",
        "region": "eu-north-1",
        "ecr_repo": "887841266746.dkr.ecr.eu-north-1.amazonaws.com",
    },
    "custom": {"docker_config_json": '{"auths": {}}'},
    "scaleway": {"scaleway_domain": "rg.nl-ams.scw.cloud", "scaleway_uuid": "uuid"},
    "verda": {},
}


def _created(response: httpx.Response) -> None:
    assert response.status_code == 201, response.text
    assert response.json() == {}


def _secret(client: httpx.Client, name: str, value: str = VALUE) -> None:
    _created(client.post("/v1/secrets", json={"name": name, "value": value}))


def _file_secret(client: httpx.Client, name: str, *files: str) -> None:
    body = {"name": name, "files": [{"file_name": f, "base64_content": CONTENT} for f in files]}
    _created(client.post("/v1/file-secrets", json=body))


def _credential(client: httpx.Client, name: str, kind: str = "dockerhub") -> None:
    _created(client.post(CREDENTIALS, json={"name": name, "type": kind, **TYPES[kind]}))


def _names(client: httpx.Client, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()]


# The Python SDK.


def test_sdk_secrets(sdk):
    containers = sdk.containers
    containers.create_secret("api-key", VALUE)
    containers.create_secret("other", VALUE)
    secrets = containers.get_secrets()
    assert [(s.name, s.secret_type.value) for s in secrets] == [
        ("api-key", "generic"),
        ("other", "generic"),
    ]
    assert RFC3339.match(secrets[0].created_at)
    with pytest.raises(APIException) as refused:
        containers.create_secret("api-key", "again")
    assert refused.value.code == "conflict"
    containers.delete_secret("api-key")  # force=false, as the SDK sends by default
    containers.delete_secret("other", force=True)
    assert containers.get_secrets() == []
    with pytest.raises(APIException) as missing:
        containers.delete_secret("api-key")
    assert missing.value.code == "not_found"


def test_sdk_file_secrets(sdk, tmp_path):
    paths = []
    for name, content in (("config.yaml", b"a: 1\n"), ("key.pem", b"\x00\xffbinary")):
        path = tmp_path / name
        path.write_bytes(content)
        paths.append(str(path))
    containers = sdk.containers
    containers.create_fileset_secret_from_file_paths("tls", paths)
    [listed] = containers.get_fileset_secrets()
    assert (listed.name, listed.secret_type.value) == ("tls", "file-secret")
    # /secrets lists both kinds, each with its type.
    assert [(s.name, s.secret_type.value) for s in containers.get_secrets()] == [
        ("tls", "file-secret")
    ]
    containers.delete_fileset_secret("tls")
    assert containers.get_fileset_secrets() == []


def test_sdk_registry_credentials(sdk, live):
    containers = sdk.containers
    made = [
        DockerHubCredentials("hub", "user", "dckr_pat_1"),
        GithubCredentials("gh", "user", "ghp_1"),
        GCRCredentials("gcr", '{"type": "service_account"}'),
        AWSECRCredentials("ecr", "AKIA", "secret", "eu-north-1", "1.dkr.ecr.amazonaws.com"),
        CustomRegistryCredentials("custom", '{"auths": {}}'),
    ]
    for credentials in made:
        containers.add_registry_credentials(credentials)
        live.tick()
    listed = containers.get_registry_credentials()
    assert [c.name for c in listed] == ["hub", "gh", "gcr", "ecr", "custom"]
    assert all(RFC3339.match(c.created_at) for c in listed)
    with pytest.raises(APIException) as refused:
        containers.add_registry_credentials(DockerHubCredentials("hub", "u", "t"))
    assert refused.value.code == "conflict"
    for credentials in made:
        containers.delete_registry_credentials(credentials.name)
    assert containers.get_registry_credentials() == []


# Secrets, raw.


def test_lists_give_names_times_and_types_never_values(authed, live, contract):
    _secret(authed, "b-env")
    live.tick()
    _file_secret(authed, "a-files", "one.txt", "two.txt")
    live.tick()
    _secret(authed, "c-env")
    secrets = contract.check(authed.get("/v1/secrets"), "/v1/secrets")
    assert [(s["name"], s["secret_type"]) for s in secrets] == [
        ("b-env", "generic"),
        ("a-files", "file-secret"),
        ("c-env", "generic"),
    ]
    assert all(set(s) == {"name", "created_at", "secret_type"} for s in secrets)
    assert all(RFC3339.match(s["created_at"]) for s in secrets)
    files = contract.check(authed.get("/v1/file-secrets"), "/v1/file-secrets")
    assert files == [
        {
            "name": "a-files",
            "created_at": secrets[1]["created_at"],
            "secret_type": "file-secret",
            "file_names": ["one.txt", "two.txt"],
        }
    ]
    for path in ("/v1/secrets", "/v1/file-secrets"):
        text = authed.get(path).text
        assert VALUE not in text and CONTENT not in text


def test_one_instant_lists_by_name(authed):
    for name in ("b", "c", "a"):
        _secret(authed, name)
    assert _names(authed, "/v1/secrets") == ["a", "b", "c"]


def test_names_are_path_safe(authed):
    _secret(authed, "Az09._~-")
    for name in ("a/b", "a b", "a?b", "a#b", "a%20", "é", ".", "..", "", "x" * 256):
        message = assert_error(
            authed.post("/v1/secrets", json={"name": name, "value": "v"}), 400, "invalid_request"
        )
        assert message.startswith("name:"), message
        body = {"name": name, "files": [{"file_name": "f", "base64_content": ""}]}
        assert_error(authed.post("/v1/file-secrets", json=body), 400, "invalid_request")
        body = {"name": name, "type": "verda"}
        assert_error(authed.post(CREDENTIALS, json=body), 400, "invalid_request")
    _secret(authed, "x" * 255)
    assert _names(authed, "/v1/secrets") == ["Az09._~-", "x" * 255]


def test_bodies_missing_null_and_extra_fields(authed):
    for path in ("/v1/secrets", "/v1/file-secrets", CREDENTIALS):
        for headers in ({}, {"Content-Type": "application/json"}):
            assert_error(authed.post(path, content=b"", headers=headers), 400, "invalid_request")
        message = assert_error(authed.post(path, json={}), 400, "invalid_request")
        assert message.startswith("name:"), message
    assert "value" in assert_error(
        authed.post("/v1/secrets", json={"name": "a", "value": None}), 400, "invalid_request"
    )
    assert "value" in assert_error(
        authed.post("/v1/secrets", json={"name": "a", "value": ""}), 400, "invalid_request"
    )
    assert "files" in assert_error(
        authed.post("/v1/file-secrets", json={"name": "a", "files": []}), 400, "invalid_request"
    )
    # Python sends whole structures: nulls are absent, unknown fields ignored.
    extra = {"created_at": None, "secret_type": "generic", "unknown": {"x": 1}}
    _created(authed.post("/v1/secrets", json={"name": "a", "value": "v", **extra}))
    files = [{"file_name": "f", "base64_content": "", "size": None}]
    _created(authed.post("/v1/file-secrets", json={"name": "b", "files": files, "x": None}))
    body = {"name": "c", "type": "gcr", "username": None, "note": "x", **TYPES["gcr"]}
    _created(authed.post(CREDENTIALS, json=body))


def test_file_contents_must_be_base64_and_names_file_names(authed):
    for content in ("not base64!", "YQ", "YQ=", "Y===", "YQ==\n", "YQ==YQ==", "-_8="):
        body = {"name": "f", "files": [{"file_name": "a", "base64_content": content}]}
        message = assert_error(authed.post("/v1/file-secrets", json=body), 400, "invalid_request")
        assert message.startswith("files.0.base64_content:"), message
    for file_name in ("", "a/b", "/", ".", ".."):
        body = {"name": "f", "files": [{"file_name": file_name, "base64_content": "YQ=="}]}
        message = assert_error(authed.post("/v1/file-secrets", json=body), 400, "invalid_request")
        assert message.startswith("files.0.file_name:"), message
    assert _names(authed, "/v1/file-secrets") == []


def test_a_file_sent_twice_keeps_its_last_content(authed, live, project):
    files = [
        {"file_name": "a", "base64_content": "YQ=="},
        {"file_name": "b", "base64_content": ""},
        {"file_name": "a", "base64_content": "Yg=="},
    ]
    _created(authed.post("/v1/file-secrets", json={"name": "f", "files": files}))
    [listed] = authed.get("/v1/file-secrets").json()
    assert listed["file_names"] == ["a", "b"]
    with live.context.db.read() as session:
        secret = session.scalars(
            select(Secret).where(Secret.project_id == project.project_id)
        ).one()
        assert [(f.file_name, f.base64_content) for f in secret.files] == [("a", "Yg=="), ("b", "")]


def test_one_name_space_for_both_kinds(authed):
    _secret(authed, "shared")
    files = {"name": "shared", "files": [{"file_name": "a", "base64_content": "YQ=="}]}
    message = assert_error(authed.post("/v1/file-secrets", json=files), 409, "conflict")
    assert "shared" in message
    assert_error(authed.post("/v1/secrets", json={"name": "shared", "value": "v"}), 409, "conflict")
    # A generic secret is no file secret; /secrets deletes either kind.
    assert_error(authed.delete("/v1/file-secrets/shared"), 404, "not_found")
    _file_secret(authed, "files", "a")
    assert authed.delete("/v1/secrets/files").status_code == 200
    assert _names(authed, "/v1/file-secrets") == []
    assert _names(authed, "/v1/secrets") == ["shared"]


def test_deletes(authed):
    _secret(authed, "a")
    _file_secret(authed, "f", "x")
    _credential(authed, "c")
    for path in ("/v1/secrets/none", "/v1/file-secrets/none", f"{CREDENTIALS}/none"):
        assert "none" in assert_error(authed.delete(path), 404, "not_found")
    assert_error(authed.delete("/v1/secrets/a", params={"force": "maybe"}), 400, "invalid_request")
    # Go and Python send JSON (or a content type) on DELETE; force as they spell it.
    json_body = {"content": b"{}", "headers": {"Content-Type": "application/json"}}
    for path, params in (
        ("/v1/secrets/a", {"force": "false"}),
        ("/v1/file-secrets/f", {"force": "true"}),
        (f"{CREDENTIALS}/c", {}),
    ):
        response = authed.request("DELETE", path, params=params, **json_body)
        assert response.status_code == 200 and response.content == b"", response.text
        assert_error(authed.delete(path), 404, "not_found")
    for path in ("/v1/secrets", "/v1/file-secrets", CREDENTIALS):
        assert _names(authed, path) == []


# With deployments and jobs that use them: tests/test_serverless_references.py.
def test_a_generic_secret_deleted_through_secrets_asks_its_own_users(authed, monkeypatch):
    monkeypatch.setattr(usage, "secret_users", lambda *_: ["env-user"])
    monkeypatch.setattr(usage, "file_secret_users", lambda *_: ["mount-user"])
    _file_secret(authed, "f", "a")
    message = assert_error(authed.delete("/v1/secrets/f"), 409, "conflict")
    assert "mount-user" in message and "env-user" not in message


# Registry credentials, raw.


@pytest.mark.parametrize("kind", list(TYPES))
def test_each_type_needs_its_fields(authed, live, project, kind):
    for missing in TYPES[kind]:
        fields = {k: v for k, v in TYPES[kind].items() if k != missing}
        for body in (fields, {**fields, missing: None}):
            message = assert_error(
                authed.post(CREDENTIALS, json={"name": "c", "type": kind, **body}),
                400,
                "invalid_request",
            )
            assert message == f"{missing}: required for registry type {kind}"
        empty = {"name": "c", "type": kind, **fields, missing: ""}
        message = assert_error(authed.post(CREDENTIALS, json=empty), 400, "invalid_request")
        assert message.startswith(f"{missing}:")
    # Another type's fields are not kept.
    others = {"region": "r", "scaleway_uuid": "u", "username": "user-1", "access_token": "tok-1"}
    _created(authed.post(CREDENTIALS, json={"name": "c", "type": kind, **others, **TYPES[kind]}))
    with live.context.db.read() as session:
        row = session.scalars(
            select(RegistryCredential).where(RegistryCredential.project_id == project.project_id)
        )
        stored = row.one()
    kept = dict(TYPES[kind])
    if kind == "verda":
        kept.update(username="user-1", access_token="tok-1")
    assert (stored.registry_type, json.loads(stored.fields)) == (kind, kept)
    listed = authed.get(CREDENTIALS)
    assert [set(item) for item in listed.json()] == [{"name", "created_at"}]
    for value in kept.values():
        assert f'"{value}"' not in listed.text


def test_unknown_or_missing_type(authed):
    for kind in ("ecr", "DOCKERHUB", "", 5):
        body = {"name": "c", "type": kind, **TYPES["dockerhub"]}
        message = assert_error(authed.post(CREDENTIALS, json=body), 400, "invalid_request")
        assert message.startswith("type:"), message
    body = {"name": "c", **TYPES["dockerhub"]}
    assert assert_error(authed.post(CREDENTIALS, json=body), 400, "invalid_request").startswith(
        "type:"
    )
    body = {"name": "c", "type": "gcr", "service_account_key": {"type": "service_account"}}
    message = assert_error(authed.post(CREDENTIALS, json=body), 400, "invalid_request")
    assert message.startswith("service_account_key:")


def test_duplicate_credentials(authed):
    _credential(authed, "c")
    body = {"name": "c", "type": "gcr", **TYPES["gcr"]}
    assert "c" in assert_error(authed.post(CREDENTIALS, json=body), 409, "conflict")
    # A missing field is the request's fault first.
    assert_error(
        authed.post(CREDENTIALS, json={"name": "c", "type": "gcr"}), 400, "invalid_request"
    )
    # Credentials and secrets are names apart.
    _secret(authed, "c")


# Between projects.


def test_another_projects_things_are_not_there(authed, live, client_of):
    other = client_of(live.new_project())
    _secret(other, "theirs")
    _file_secret(other, "their-files", "a")
    _credential(other, "their-creds")
    for path in ("/v1/secrets", "/v1/file-secrets", CREDENTIALS):
        assert _names(authed, path) == []
    for path in (
        "/v1/secrets/theirs",
        "/v1/secrets/their-files",
        "/v1/file-secrets/their-files",
        f"{CREDENTIALS}/their-creds",
    ):
        assert_error(authed.delete(path, params={"force": "true"}), 404, "not_found")
    # The same names are free here.
    _secret(authed, "theirs")
    _file_secret(authed, "their-files", "a")
    _credential(authed, "their-creds")
    assert _names(other, "/v1/secrets") == ["their-files", "theirs"]
    assert _names(other, CREDENTIALS) == ["their-creds"]


def test_values_stay_out_of_the_journal(authed, admin, project):
    _secret(authed, "a")
    _file_secret(authed, "f", "x")
    _created(
        authed.post(CREDENTIALS, json={"name": "c", "type": "gcr", "service_account_key": VALUE})
    )
    journal = admin.get(f"/_admin/v1/projects/{project.project_id}/journal")
    assert journal.status_code == 200, journal.text
    assert len(journal.json()["entries"]) >= 3
    assert VALUE not in journal.text and CONTENT not in journal.text
