"""What deployments and jobs hold of the rest: secrets, file secrets and registry
credentials in use go only with force; replicas use up compute capacity."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import serverless as sl
from tests.support.live import LiveServer
from tests.test_serverless_secrets import CREDENTIALS, _credential, _file_secret, _names, _secret
from verda_server.serverless.compute.service import capacity_of

pytestmark = pytest.mark.usefixtures("gives_back")

ENV = {"name": "TOKEN", "value_or_reference_to_secret": "used", "type": "secret"}
MOUNT = {"type": "secret", "mount_path": "/etc/app", "secret_name": "used"}
PRIVATE = {"is_private": True, "credentials": {"name": "used"}}


def _users(kind: str) -> dict[str, Any]:
    """The deployment body fields that refer to a thing named `used` of `kind`."""
    if kind == "secret":
        return {"containers": [sl.container(env=[ENV])]}
    if kind == "file-secret":
        return {"containers": [sl.container(volume_mounts=[MOUNT])]}
    return {"container_registry_settings": PRIVATE}


MAKERS = {
    "secret": ("/v1/secrets", _secret),
    "file-secret": ("/v1/file-secrets", lambda c, n: _file_secret(c, n, "a")),
    "credential": (CREDENTIALS, _credential),
}


@pytest.mark.parametrize("kind", list(MAKERS))
def test_what_a_deployment_and_a_job_use_goes_only_with_force(
    authed: httpx.Client, kind: str
) -> None:
    path, make = MAKERS[kind]
    make(authed, "used")
    deployment = authed.post("/v1/container-deployments", json=sl.deployment("app", **_users(kind)))
    assert deployment.status_code == 201, deployment.text
    job = authed.post("/v1/job-deployments", json=sl.job("batch", **_users(kind)))
    assert job.status_code == 201, job.text
    refused = authed.delete(f"{path}/used", params={"force": "false"})
    assert refused.status_code == 409, refused.text
    message = refused.json()["message"]
    assert "app" in message and "batch" in message and "force=true" in message
    # Once nothing uses it, a plain delete goes through.
    assert authed.delete("/v1/container-deployments/app").status_code in (200, 204)
    assert authed.delete("/v1/job-deployments/batch").status_code in (200, 204)
    assert authed.delete(f"{path}/used").status_code == 200
    assert "used" not in _names(authed, path)


def test_force_deletes_a_secret_in_use(authed: httpx.Client) -> None:
    _secret(authed, "used")
    made = authed.post("/v1/container-deployments", json=sl.deployment("app", **_users("secret")))
    assert made.status_code == 201
    assert authed.delete("/v1/secrets/used", params={"force": "true"}).status_code == 200
    assert _names(authed, "/v1/secrets") == []


def test_replicas_use_up_a_compute_resource(authed: httpx.Client, live: LiveServer) -> None:
    def available(name: str, size: int) -> bool:
        listed = authed.get("/v1/serverless-compute-resources").json()
        return next(r for r in listed if (r["name"], r["size"]) == (name, size))["is_available"]

    whole = capacity_of(live.context.catalog, "B300") // 8
    assert available("B300", 8)
    scaling = sl.scaling(min_replica_count=whole, max_replica_count=whole)
    body = sl.deployment("big", compute={"name": "B300", "size": 8}, scaling=scaling)
    assert authed.post("/v1/container-deployments", json=body).status_code == 201
    assert not available("B300", 1) and available("B200", 8)
    assert authed.post("/v1/container-deployments/big/pause").status_code == 200
    assert available("B300", 8)
