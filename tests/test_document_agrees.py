"""The served document says exactly what the server accepts.

Bodies on both sides of every declared boundary go to the server, and the
document's own schema judges them too: the verdicts must be the same. (The
Schemathesis run explores the same question at random; this pins the edges.)
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import httpx
import jsonschema
import jsonschema_rs
import pytest

from tests.support import serverless
from tests.support.clusters import cluster_body, give_back
from tests.support.keys import ecdsa_key, ed25519_key, rsa_key
from verda_server.validation import WHITESPACE

# Capacity is shared by the session's server: what a test deployed goes with it.
pytestmark = pytest.mark.usefixtures("gives_back")

UUID = "00000000-0000-4000-8000-000000000000"


def _placeholder(key_type: str, rest: bytes = b"") -> str:
    """A key whose blob names its type and then stops (or goes on with `rest`)."""
    name = key_type.encode()
    return f"{key_type} {base64.b64encode(struct.pack('>I', len(name)) + name + rest).decode()}"


def _deploy(**fields: Any) -> dict[str, Any]:
    body = {
        "instance_type": "CPU.4V.16G",
        "image": "ubuntu-24.04",
        "hostname": "h",
        "description": "",
        "location_code": "FIN-01",
    }
    return {**body, **fields}


def _volume(**fields: Any) -> dict[str, Any]:
    return {"type": "NVMe", "name": "v", "size": 10, "location_code": "FIN-01", **fields}


VOLUME = "<an existing volume>"
HOSTS = ".".join(["a" * 63] * 4)

# (method, path, body, the server's answer)
SAMPLES: list[tuple[str, str, dict[str, Any], int]] = [
    # Names: something visible, at most 255 characters as sent.
    *[
        ("POST", "/v1/scripts", {"name": name, "script": "echo"}, status)
        for name, status in (
            ("", 400),
            (" ", 400),
            ("\u3000\t", 400),
            ("a", 201),
            (" a ", 201),
            ("\x1c", 201),
            ("a" * 255, 201),
            ("a" * 256, 400),
            (" " * 255 + "a", 400),
        )
    ],
    # Scripts: something visible, at most 65536 characters (not bytes).
    *[
        ("POST", "/v1/scripts", {"name": "s", "script": script}, status)
        for script, status in (
            (" \n", 400),
            (WHITESPACE, 400),
            ("x" * 65536, 201),
            ("é" * 65536, 201),
            ("x" * 65537, 400),
        )
    ],
    # Keys: a known type, then base64 that decodes and names the same type.
    *[
        ("POST", "/v1/sshkeys", {"name": "k", "key": key}, status)
        for key, status in (
            (ed25519_key(), 201),
            (rsa_key(), 201),
            (ecdsa_key(), 201),
            (_placeholder("ssh-rsa"), 201),
            (_placeholder("ssh-rsa", b"\x00\x00\x00\x03\x01\x00\x01"), 201),
            (_placeholder("ecdsa-sha2-nistp384") + " with a comment", 201),
            (_placeholder("sk-ssh-ed25519@openssh.com"), 201),
            (" \t" + _placeholder("ssh-ed25519") + "\t c \n", 201),
            (_placeholder("ssh-ed25519") + "\ncomment", 400),
            (_placeholder("ssh-rsa")[:-1], 201),  # padding left off, as the Go SDK's own key
            (_placeholder("ssh-rsa") + "=", 400),  # padded beyond a whole quantum
            ("ssh-rsa " + _placeholder("ssh-ed25519").split()[1], 400),  # another type's blob
            (_placeholder("ssh-dss"), 201),
            (_placeholder("ssh-rsa-cert-v01@openssh.com"), 400),  # certificates are not keys
            ("ssh-rsa AAAAnotbase64", 400),
            ("", 400),
        )
    ],
    # Host names: dot-separated labels of 1 to 63, no hyphen at either end.
    *[
        ("POST", "/v1/instances", _deploy(hostname=hostname), status)
        for hostname, status in (
            ("a", 202),
            ("web-1.example", 202),
            ("a" * 63, 202),
            ("a" * 64, 400),
            (HOSTS[:253], 202),
            (HOSTS[:254], 400),
            ("-a", 400),
            ("a-", 400),
            ("a..b", 400),
            ("web\n", 400),
            ("a\n.b", 400),
            ("", 400),
        )
    ],
    # What the catalog knows, and what the chosen type supports.
    ("POST", "/v1/instances", _deploy(instance_type="9X9.1V"), 400),
    ("POST", "/v1/instances", _deploy(location_code="MARS-01"), 400),
    ("POST", "/v1/instances", _deploy(location_code=""), 400),
    ("POST", "/v1/instances", _deploy(image="windows-95"), 400),
    ("POST", "/v1/instances", _deploy(image="ubuntu-24.04-cuda-13.0-open-docker"), 400),
    ("POST", "/v1/instances", _deploy(image=UUID), 404),  # no such OS volume
    ("POST", "/v1/instances", _deploy(is_spot=True, contract="SPOT"), 202),
    ("POST", "/v1/instances", _deploy(is_spot=True, contract="PAY_AS_YOU_GO"), 400),
    ("POST", "/v1/instances", _deploy(contract="SPOT"), 400),
    ("POST", "/v1/instances", _deploy(contract="LONG_TERM"), 400),  # which period?
    ("POST", "/v1/instances", _deploy(contract="LONG_TERM", long_term_period="3_MONTHS"), 202),
    ("POST", "/v1/instances", _deploy(contract="LONG_TERM", long_term_period="1 week"), 202),
    ("POST", "/v1/instances", _deploy(contract="LONG_TERM", long_term_period="9_YEARS"), 400),
    ("POST", "/v1/instances", _deploy(long_term_period="3_MONTHS"), 400),
    ("POST", "/v1/instances", _deploy(pricing="DYNAMIC_PRICE"), 400),
    ("POST", "/v1/instances", _deploy(pricing="FIXED_PRICE"), 202),
    ("POST", "/v1/instances", _deploy(description="d" * 1024), 202),
    ("POST", "/v1/instances", _deploy(description="d" * 1025), 400),
    ("POST", "/v1/instances", _deploy(coupon="COUPON-CODE-2026"), 202),
    ("POST", "/v1/instances", _deploy(coupon="coupon-code-2026"), 400),
    ("POST", "/v1/instances", _deploy(coupon="c" * 128), 400),
    ("POST", "/v1/instances", _deploy(coupon="WELCOME-H100"), 400),  # H100 types only
    ("POST", "/v1/instances", _deploy(coupon="WELCOME-H100", instance_type="1H100.80S.30V"), 202),
    *[
        ("POST", "/v1/instances", _deploy(os_volume={"name": "os", "size": size}), status)
        for size, status in (
            (0, 400),
            (1, 202),
            (100_000, 202),
            (100_001, 400),
            (1.0, 202),
            ("5", 400),
            (True, 400),
        )
    ],
    ("POST", "/v1/instances", _deploy(volumes=[{"name": "v", "size": 1, "type": "HDD"}]), 202),
    (
        "POST",
        "/v1/instances",
        _deploy(volumes=[{"name": "v", "size": 1, "type": "NVMe_OS_Cluster"}]),
        400,
    ),
    ("POST", "/v1/instances", _deploy(ssh_key_ids=[]), 202),
    # Not a UUID, so no such script: the lookup's 404, as for every id.
    ("POST", "/v1/instances", _deploy(startup_script_id="not-a-uuid"), 404),
    # Volumes.
    *[
        ("POST", "/v1/volumes", _volume(size=size), status)
        for size, status in ((0, 400), (1, 202), (100_000, 202), (100_001, 400))
    ],
    ("POST", "/v1/volumes", _volume(type="NVMe_Shared_Cluster"), 400),
    ("POST", "/v1/volumes", _volume(location_code=""), 400),
    ("POST", "/v1/volumes", _volume(instance_id=""), 404),
    ("POST", "/v1/volumes", _volume(instance_ids=[]), 202),
    *[
        ("PUT", "/v1/volumes", {"action": action, "id": UUID}, 400)
        for action in ("create", "export", "transfer", "nonsense")
    ],
    ("PUT", "/v1/volumes", {"action": "detach", "id": []}, 400),
    ("PUT", "/v1/volumes", {"action": "rename", "id": UUID, "name": " "}, 400),
    ("PUT", "/v1/volumes", {"action": "resize", "id": UUID, "size": 0}, 400),
    ("PUT", "/v1/volumes", {"action": "rename", "id": VOLUME, "name": "n"}, 202),
    ("PUT", "/v1/volumes", {"action": "rename", "id": VOLUME}, 400),
    ("PUT", "/v1/volumes", {"action": "resize", "id": VOLUME}, 400),
    ("PUT", "/v1/volumes", {"action": "attach", "id": VOLUME}, 400),
    ("PUT", "/v1/volumes", {"action": "attach", "id": VOLUME, "instance_ids": []}, 400),
    # Instance actions.
    *[
        ("PUT", "/v1/instances", {"action": action, "id": UUID}, status)
        for action, status in (
            ("boot", 404),
            ("delete_stuck", 404),
            ("deploy", 400),
            ("transfer", 400),
            ("restore", 400),
            ("nonsense", 400),
        )
    ],
    ("PUT", "/v1/instances", {"action": "boot", "id": []}, 400),
    # Clusters: the catalog's types, images the type takes, pay as you go only,
    # a shared volume of 1 GB to 100 000 GB (the Python SDK sends 30 000).
    ("POST", "/v1/clusters", cluster_body(cluster_type="9X9"), 400),
    ("POST", "/v1/clusters", cluster_body(location_code="MARS-01"), 400),
    ("POST", "/v1/clusters", cluster_body(image="ubuntu-24.04"), 400),
    ("POST", "/v1/clusters", cluster_body(image="ubuntu-22.04-cuda-12.4-cluster"), 400),
    ("POST", "/v1/clusters", cluster_body(image="Ubuntu 22.04 + CUDA 12.9 (cluster)"), 201),
    ("POST", "/v1/clusters", cluster_body(contract="LONG_TERM"), 400),
    ("POST", "/v1/clusters", cluster_body(contract="PAY_AS_YOU_GO"), 201),
    ("POST", "/v1/clusters", cluster_body(hostname="-a"), 400),
    ("POST", "/v1/clusters", cluster_body(ssh_key_ids=UUID), 404),
    ("POST", "/v1/clusters", cluster_body(existing_volumes=[{"id": UUID}]), 404),
    *[
        ("POST", "/v1/clusters", cluster_body(shared_volume={"name": "h", "size": size}), status)
        for size, status in ((0, 400), (1, 201), (30_000, 201), (100_000, 201), (100_001, 400))
    ],
    *[
        ("PUT", "/v1/clusters", body, status)
        for body, status in (
            ({"action": "discontinue", "id": UUID}, 404),
            ({"action": "delete", "id": UUID}, 404),
            ({"action": "hibernate", "id": UUID}, 400),
            ({"actions": [{"action": "discontinue", "id": UUID}]}, 404),
            ({"actions": []}, 400),
            ({"id": UUID}, 400),
        )
    ],
    # Bulk deletes take at least one id.
    ("DELETE", "/v1/sshkeys", {"keys": []}, 400),
    ("DELETE", "/v1/sshkeys", {"keys": UUID}, 404),
    ("DELETE", "/v1/scripts", {"scripts": []}, 400),
    # Serverless names go into URL paths: A-Z a-z 0-9 . _ ~ - only, not a dot segment.
    *[
        ("POST", "/v1/secrets", {"name": name, "value": "v"}, status)
        for name, status in (
            ("a", 201),
            ("Az09._~-", 201),
            ("...", 201),
            (".", 400),
            ("..", 400),
            ("a/b", 400),
            ("a b", 400),
            ("a\n", 400),
            ("é", 400),
            ("", 400),
            ("a" * 255, 201),
            ("a" * 256, 400),
        )
    ],
    ("POST", "/v1/secrets", {"name": "a", "value": ""}, 400),
    ("POST", "/v1/secrets", {"name": "a", "value": " "}, 201),
    *[
        ("POST", "/v1/file-secrets", {"name": "f", "files": files}, status)
        for files, status in (
            ([], 400),
            ([{"file_name": "a", "base64_content": ""}], 201),
            ([{"file_name": "a", "base64_content": "YWI="}], 201),
            ([{"file_name": "a", "base64_content": "YWI"}], 400),
            ([{"file_name": "a", "base64_content": "YWI=\n"}], 400),
            ([{"file_name": "a", "base64_content": "YW I="}], 400),
            ([{"file_name": "a/b", "base64_content": ""}], 400),
            ([{"file_name": "..", "base64_content": ""}], 400),
            ([{"file_name": "..a", "base64_content": ""}], 201),
            ([{"file_name": "", "base64_content": ""}], 400),
        )
    ],
    # Each registry type with the fields it needs.
    *[
        ("POST", "/v1/container-registry-credentials", {"name": "c", **body}, status)
        for body, status in (
            ({"type": "verda"}, 201),
            ({"type": "ecr"}, 400),
            ({"type": "dockerhub", "username": "u"}, 400),
            ({"type": "dockerhub", "username": "u", "access_token": None}, 400),
            ({"type": "dockerhub", "username": "u", "access_token": ""}, 400),
            ({"type": "dockerhub", "username": "u", "access_token": "t"}, 201),
            ({"type": "ghcr", "access_token": "t"}, 400),
            ({"type": "gcr", "service_account_key": "{}"}, 201),
            ({"type": "aws-ecr", "access_key_id": "a", "secret_access_key": "s"}, 400),
            ({"type": "custom"}, 400),
            ({"type": "scaleway", "scaleway_domain": "d", "scaleway_uuid": "u"}, 201),
            ({"type": "verda", "region": ""}, 400),
        )
    ],
    # Tokens.
    ("POST", "/v1/oauth2/token", {"grant_type": "client_credentials", "client_id": ""}, 400),
    ("POST", "/v1/oauth2/token", {"grant_type": "refresh_token", "refresh_token": ""}, 400),
    ("POST", "/v1/oauth2/token", {"grant_type": "password", "refresh_token": "x"}, 400),
    ("POST", "/v1/oauth2/token", {"grant_type": "refresh_token", "refresh_token": "x"}, 401),
]


def _document_allows(document: dict[str, Any], method: str, path: str, body: Any) -> bool:
    operation = document["paths"][path][method.lower()]
    schema = dict(operation["requestBody"]["content"]["application/json"]["schema"])
    schema["components"] = document["components"]
    # Judged as Schemathesis judges: JSON Schema's own semantics (ECMA-262
    # patterns, where `$` does not match before a final newline; 1.0 is an integer).
    return bool(jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(body))


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    SAMPLES,
    ids=[f"{m} {p} {i}" for i, (m, p, _, _) in enumerate(SAMPLES)],
)
def test_the_server_refuses_what_the_document_forbids_and_nothing_else(
    live, authed, contract, method, path, body, status
):
    if body.get("id") == VOLUME:
        volume = _volume()
        body = {**body, "id": authed.post("/v1/volumes", json=volume).text}
    response = authed.request(method, path, json=body)
    assert response.status_code == status, response.text
    allowed = _document_allows(contract.document, method, path, body)
    # A request the document allows is never refused (400); one it forbids is
    # refused, or answers 404 when what it lacks is a well-formed id.
    assert allowed == (status != 400) or (not allowed and status == 404), allowed
    give_back(live)  # cluster capacity is shared by every test


def test_catalog_values_in_the_document_are_the_loaded_catalogs(live, contract):
    catalog = live.context.catalog
    schemas = contract.document["components"]["schemas"]
    deploy = schemas["DeployInstancePublicDto"]["properties"]
    assert deploy["location_code"]["enum"] == list(catalog.locations)
    assert deploy["instance_type"]["enum"] == list(catalog.instance_types)
    images = deploy["image"]["anyOf"][0]["enum"]
    assert set(images) == set(catalog.images) | set(catalog.images_by_id)
    volume_types = schemas["CreateVolumePublicDto"]["properties"]["type"]["enum"]
    assert "NVMe" in volume_types and "NVMe_OS_Cluster" not in volume_types
    parameters = contract.document["paths"]["/v1/instance-availability"]["get"]["parameters"]
    location = next(p for p in parameters if p["name"] == "location_code")
    assert location["schema"]["anyOf"][0]["enum"] == list(catalog.locations)


def test_optional_fields_say_they_take_null_and_required_ones_do_not(contract):
    body = contract.document["components"]["schemas"]["DeployInstancePublicDto"]
    nullable = {
        name
        for name, field in body["properties"].items()
        if {"type": "null"} in field.get("anyOf", [])
    }
    assert nullable == set(body["properties"]) - set(body["required"])


def test_every_get_writes_integers_as_integers(live, authed, contract):
    """Go decodes these into ints and fails on `80.0`. The raw client's response
    check counts only integer literals as `integer`, so each answer below proves it."""
    catalog = live.context.catalog
    instance = authed.post("/v1/instances", json=_deploy(instance_type="1H100.80S.22V")).text
    cluster = authed.post("/v1/clusters", json=cluster_body()).json()["id"]
    memory = [{"type": "memory", "mount_path": "/dev/shm", "size_in_mb": 64}]
    scaling = serverless.scaling(min_replica_count=2, max_replica_count=2)
    body = serverless.deployment(
        containers=[serverless.container(volume_mounts=memory)], scaling=scaling
    )
    assert authed.post("/v1/container-deployments", json=body).status_code == 201
    assert authed.post("/v1/job-deployments", json=serverless.job()).status_code == 201
    live.clock.advance(10)
    ids = {
        "instance_id": instance,
        "volume_id": authed.get(f"/v1/instances/{instance}").json()["os_volume_id"],
        "key_id": authed.post("/v1/sshkeys", json={"name": "k", "key": ed25519_key()}).text,
        "script_id": authed.post("/v1/scripts", json={"name": "s", "script": "echo"}).text,
        "instance_type": "1H100.80S.22V",
        "instanceType": "1H100.80S.22V",
        "cluster_type": next(iter(catalog.cluster_types)),
        "cluster_id": cluster,
        "deployment_name": "web",
        "job_name": "batch",
    }
    # /metrics is the operators', behind the admin token; a GET at a serverless
    # endpoint is a call that waits for the clock (test_serverless_endpoint.py).
    gets = [
        path
        for path, item in contract.document["paths"].items()
        if "get" in item
        and {"adminToken": []} not in item["get"].get("security", [])
        and not path.startswith("/serverless/")
    ]
    assert len(gets) > 30
    for template in gets:
        path = template.format(**ids)
        for query in ({}, {"currency": "eur"}):
            response = authed.get(path, params=query)
            assert response.status_code == 200, (path, response.text)
    give_back(live)


def test_the_response_check_refuses_a_decimal_point_in_an_integer(contract):
    period = {
        "code": "1_MONTH",
        "name": "1 month",
        "is_enabled": True,
        "unit_name": "month",
        "unit_value": 1,
        "discount_percentage": 0,
    }

    def check(body: Any) -> None:
        request = httpx.Request("GET", "http://test/v1/long-term/periods")
        headers = {"Content-Type": "application/json", "X-Request-Id": "0" * 32}
        contract.verify(httpx.Response(200, request=request, content=body, headers=headers))

    check(json.dumps([period]))
    with pytest.raises(jsonschema.ValidationError):
        check(json.dumps([period]).replace('"unit_value": 1', '"unit_value": 1.0'))


# Fields the Go SDK decodes into an `int` (pkg/verda/*_types.go).
GO_INTS = {
    "number_of_cores",
    "number_of_gpus",
    "size_in_gigabytes",
    "size",
    "unit_value",
    "discount_percentage",
    "expires_in",
}


def test_fields_go_reads_as_int_are_declared_integer(contract):
    declared: dict[str, set[str]] = {}
    for name, schema in contract.document["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            if field in GO_INTS:
                types = {s.get("type") for s in prop.get("anyOf", [prop])} - {"null"}
                declared.setdefault(field, set()).update(f"{name}:{t}" for t in types)
    assert set(declared) == GO_INTS
    assert all(t.endswith(":integer") for types in declared.values() for t in types), declared
