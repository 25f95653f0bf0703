"""What clients put in request bodies (BEYOND.md §0): `null` for any unset field,
fields the server does not know, and bodies on DELETE."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from tests.support import serverless as sl
from tests.support.clusters import cluster_body, give_back
from tests.support.keys import ed25519_key
from tests.test_errors import assert_error
from verda_server.api.request import RequestModel
from verda_server.app import ROUTERS
from verda_server.auth.schemas import GetAccessTokenDto, RefreshAccessTokenPublicApiDto
from verda_server.clusters.schemas import (
    DeployClusterPublicDto,
    ExistingSharedVolumeDto,
    PerformClusterActionPublicDto,
    PerformClusterActionsBulkDto,
    SharedVolumeDto,
)
from verda_server.instances.schemas import (
    DeployInstancePublicDto,
    OsVolumeDto,
    PerformInstanceActionPublicDto,
    VolumeDto,
)
from verda_server.serverless.deployments import schemas as sl_schemas
from verda_server.serverless.jobs import schemas as job_schemas
from verda_server.serverless.registry.schemas import CreateRegistryCredentialDto
from verda_server.serverless.secrets.schemas import (
    CreateFileSecretDto,
    CreateSecretDto,
    SecretFileInDto,
)
from verda_server.ssh_keys.schemas import AddKeyDto, DeleteKeysPublicDto
from verda_server.startup_scripts.schemas import AddScriptDto, DeleteScriptsDto
from verda_server.tags.schemas import CreateTagDto
from verda_server.volumes.schemas import (
    CreateVolumePublicDto,
    DeleteVolumePublicDto,
    PerformVolumeActionPublicDto,
)

BOOT = 3.1  # seconds of server clock until a new instance runs


class World:
    """What a request can refer to, made on demand in the test's own project."""

    def __init__(self, live, client, project) -> None:
        self.live, self.client, self.project = live, client, project

    def key(self) -> str:
        return self.client.post("/v1/sshkeys", json={"name": "k", "key": ed25519_key()}).text

    def script(self) -> str:
        return self.client.post("/v1/scripts", json={"name": "s", "script": "echo"}).text

    def volume(self) -> str:
        body = {"type": "NVMe", "name": "v", "size": 10, "location_code": "FIN-01"}
        return self.client.post("/v1/volumes", json=body).text

    def running_instance(self) -> str:
        instance_id = self.client.post("/v1/instances", json=deploy_body()).text
        self.live.clock.advance(BOOT)
        return instance_id

    def cluster(self) -> str:
        return str(self.client.post("/v1/clusters", json=cluster_body()).json()["id"])

    def refresh_token(self) -> str:
        return str(self.project.token_response(self.client)["refresh_token"])

    def serverless(self) -> None:
        """What serverless bodies refer to: a file secret `certs`, credentials `hub`."""
        if not getattr(self, "_serverless", False):
            sl.add_file_secret(self.live, self.project.project_id, "certs")
            sl.add_credentials(self.live, self.project.project_id, "hub")
            self._serverless = True

    def deployment(self) -> str:
        self.serverless()
        if getattr(self, "_deployed", False):
            return "web"
        self._deployed = True
        response = self.client.post("/v1/container-deployments", json=sl.deployment("web"))
        assert response.status_code == 201, response.text
        return "web"

    def job(self) -> str:
        self.serverless()
        if getattr(self, "_job", False):
            return "batch"
        self._job = True
        response = self.client.post("/v1/job-deployments", json=sl.job("batch"))
        assert response.status_code == 201, response.text
        return "batch"

    def new_deployment(self) -> dict[str, Any]:
        self.serverless()
        return sl.deployment("web")


def deploy_body() -> dict[str, Any]:
    return {
        "instance_type": "CPU.4V.16G",
        "image": "ubuntu-24.04",
        "hostname": "h",
        "description": "d",
        "location_code": "FIN-01",
    }


@dataclass(frozen=True)
class Call:
    method: str
    path: Callable[[World], str]
    body: Callable[[World, str], dict[str, Any]]  # given the field about to be nulled
    ok: int


def _fixed(path: str) -> Callable[[World], str]:
    return lambda _world: path


CALLS: dict[type[BaseModel], Call] = {
    GetAccessTokenDto: Call(
        "POST",
        _fixed("/v1/oauth2/token"),
        lambda w, _f: {
            "grant_type": "client_credentials",
            "client_id": w.project.client_id,
            "client_secret": w.project.client_secret,
        },
        200,
    ),
    RefreshAccessTokenPublicApiDto: Call(
        "POST",
        _fixed("/v1/oauth2/token"),
        lambda w, _f: {"grant_type": "refresh_token", "refresh_token": w.refresh_token()},
        200,
    ),
    AddKeyDto: Call(
        "POST", _fixed("/v1/sshkeys"), lambda _w, _f: {"name": "k", "key": ed25519_key()}, 201
    ),
    DeleteKeysPublicDto: Call(
        "DELETE", _fixed("/v1/sshkeys"), lambda w, _f: {"keys": w.key()}, 200
    ),
    AddScriptDto: Call(
        "POST", _fixed("/v1/scripts"), lambda _w, _f: {"name": "s", "script": "echo"}, 201
    ),
    DeleteScriptsDto: Call(
        "DELETE", _fixed("/v1/scripts"), lambda w, _f: {"scripts": [w.script()]}, 200
    ),
    CreateVolumePublicDto: Call(
        "POST",
        _fixed("/v1/volumes"),
        lambda _w, _f: {"type": "NVMe", "name": "v", "size": 10, "location_code": "FIN-01"},
        202,
    ),
    # Resize needs `size`; rename, the one action that does not, covers it.
    PerformVolumeActionPublicDto: Call(
        "PUT",
        _fixed("/v1/volumes"),
        lambda w, f: (
            {"action": "rename", "id": w.volume(), "name": "n"}
            if f == "size"
            else {"action": "resize", "id": w.volume(), "size": 20}
        ),
        202,
    ),
    DeleteVolumePublicDto: Call(
        "DELETE", lambda w: f"/v1/volumes/{w.volume()}", lambda _w, _f: {}, 202
    ),
    DeployInstancePublicDto: Call(
        "POST", _fixed("/v1/instances"), lambda _w, _f: deploy_body(), 202
    ),
    PerformInstanceActionPublicDto: Call(
        "PUT",
        _fixed("/v1/instances"),
        lambda w, _f: {"action": "shutdown", "id": w.running_instance()},
        202,
    ),
    DeployClusterPublicDto: Call(
        "POST", _fixed("/v1/clusters"), lambda _w, _f: cluster_body(), 201
    ),
    PerformClusterActionPublicDto: Call(
        "PUT",
        _fixed("/v1/clusters"),
        lambda w, _f: {"action": "discontinue", "id": w.cluster()},
        202,
    ),
    PerformClusterActionsBulkDto: Call(
        "PUT",
        _fixed("/v1/clusters"),
        lambda w, _f: {"actions": [{"action": "discontinue", "id": w.cluster()}]},
        202,
    ),
    sl_schemas.CreateDeploymentDto: Call(
        "POST", _fixed("/v1/container-deployments"), lambda w, _f: w.new_deployment(), 201
    ),
    sl_schemas.PatchDeploymentDto: Call(
        "PATCH",
        lambda w: f"/v1/container-deployments/{w.deployment()}",
        lambda _w, _f: {"is_spot": True},
        200,
    ),
    sl_schemas.ScalingDto: Call(
        "PATCH",
        lambda w: f"/v1/container-deployments/{w.deployment()}/scaling",
        lambda _w, _f: {"max_replica_count": 2},
        200,
    ),
    sl_schemas.EnvVarsChangeDto: Call(
        "POST",
        lambda w: f"/v1/container-deployments/{w.deployment()}/environment-variables",
        lambda _w, _f: {"container_name": "random-logger-0", "env": []},
        200,
    ),
    sl_schemas.EnvVarsDeleteDto: Call(
        "DELETE",
        lambda w: f"/v1/container-deployments/{w.deployment()}/environment-variables",
        lambda _w, _f: {"container_name": "random-logger-0", "env": ["A"]},
        200,
    ),
    job_schemas.CreateJobDto: Call(
        "POST", _fixed("/v1/job-deployments"), lambda w, _f: (w.serverless(), sl.job())[1], 201
    ),
    job_schemas.PatchJobDto: Call(
        "PATCH", lambda w: f"/v1/job-deployments/{w.job()}", lambda _w, _f: {}, 200
    ),
    CreateTagDto: Call(
        "POST",
        lambda w: f"/v1/volumes/{w.volume()}/tags",
        lambda _w, _f: {"key": "k", "value": "v"},
        201,
    ),
    CreateSecretDto: Call(
        "POST", _fixed("/v1/secrets"), lambda _w, _f: {"name": "s", "value": "v"}, 201
    ),
    CreateFileSecretDto: Call(
        "POST",
        _fixed("/v1/file-secrets"),
        lambda _w, _f: {"name": "f", "files": [{"file_name": "a", "base64_content": "YQ=="}]},
        201,
    ),
    # `verda` needs no field of its own: every other is optional there.
    CreateRegistryCredentialDto: Call(
        "POST",
        _fixed("/v1/container-registry-credentials"),
        lambda _w, _f: {"name": "c", "type": "verda"},
        201,
    ),
}
# Models met inside another: where they sit in a body that holds them.
NESTED: dict[type[BaseModel], tuple[type[BaseModel], str, dict[str, Any]]] = {
    OsVolumeDto: (DeployInstancePublicDto, "os_volume", {"name": "os", "size": 60}),
    VolumeDto: (DeployInstancePublicDto, "volumes.0", {"name": "v", "size": 10, "type": "NVMe"}),
    SharedVolumeDto: (DeployClusterPublicDto, "shared_volume", {"name": "home", "size": 100}),
    SecretFileInDto: (
        CreateFileSecretDto,
        "files.0",
        {"file_name": "a", "base64_content": "YQ=="},
    ),
    # Its one field is required: only the refusal of null and absent is tried.
    ExistingSharedVolumeDto: (
        DeployClusterPublicDto,
        "existing_volumes.0",
        {"id": "00000000-0000-4000-8000-000000000000"},
    ),
    sl_schemas.ContainerDto: (sl_schemas.CreateDeploymentDto, "containers.0", sl.container()),
    sl_schemas.ImageObjectDto: (
        sl_schemas.CreateDeploymentDto,
        "containers.0.image",
        {"image": sl.IMAGE, "last_updated_at": "2026-01-01T00:00:00Z"},
    ),
    sl_schemas.ComputeDto: (sl_schemas.CreateDeploymentDto, "compute", dict(sl.COMPUTE)),
    sl_schemas.RegistrySettingsDto: (
        sl_schemas.CreateDeploymentDto,
        "container_registry_settings",
        {"is_private": False, "credentials": {"name": "hub"}},
    ),
    sl_schemas.CredentialsRefDto: (
        sl_schemas.RegistrySettingsDto,
        "container_registry_settings.credentials",
        {"name": "hub"},
    ),
    sl_schemas.HealthcheckDto: (
        sl_schemas.CreateDeploymentDto,
        "containers.0.healthcheck",
        {"enabled": True, "port": 8081, "path": "/health"},
    ),
    sl_schemas.EntrypointOverridesDto: (
        sl_schemas.CreateDeploymentDto,
        "containers.0.entrypoint_overrides",
        {"enabled": True, "entrypoint": ["a"], "cmd": ["b"]},
    ),
    sl_schemas.EnvVarDto: (
        sl_schemas.CreateDeploymentDto,
        "containers.0.env.0",
        {"name": "A", "value_or_reference_to_secret": "1", "type": "plain"},
    ),
    sl_schemas.AutoupdateDto: (
        sl_schemas.CreateDeploymentDto,
        "containers.0.autoupdate",
        {"enabled": True, "mode": "semantic", "tag_filter": "v*"},
    ),
    sl_schemas.ScratchMountDto: (
        sl_schemas.CreateDeploymentDto,
        "containers.0.volume_mounts.0",
        {"type": "scratch", "mount_path": "/data"},
    ),
    sl_schemas.SecretMountDto: (
        sl_schemas.CreateDeploymentDto,
        "containers.0.volume_mounts.0",
        {"type": "secret", "mount_path": "/c", "secret_name": "certs", "file_names": ["a.txt"]},
    ),
    sl_schemas.MemoryMountDto: (
        sl_schemas.CreateDeploymentDto,
        "containers.0.volume_mounts.0",
        {"type": "memory", "mount_path": "/dev/shm", "size_in_mb": 64},
    ),
    # Every field is required: only refusals are tried (no volume is needed).
    sl_schemas.SharedMountDto: (
        sl_schemas.CreateDeploymentDto,
        "containers.0.volume_mounts.0",
        {"type": "shared", "mount_path": "/m", "volume_id": "00000000-0000-4000-8000-000000000000"},
    ),
    sl_schemas.ContainerPatchDto: (
        sl_schemas.PatchDeploymentDto,
        "containers.0",
        {"name": "random-logger-0", "image": "nginx:1.29.1", "exposed_port": 80},
    ),
    sl_schemas.DelayDto: (
        sl_schemas.CreateDeploymentDto,
        "scaling.scale_up_policy",
        {"delay_seconds": 5},
    ),
    sl_schemas.TriggersDto: (
        sl_schemas.CreateDeploymentDto,
        "scaling.scaling_triggers",
        {"queue_load": {"threshold": 2}, "cpu_utilization": None, "gpu_utilization": None},
    ),
    sl_schemas.QueueLoadDto: (
        sl_schemas.CreateDeploymentDto,
        "scaling.scaling_triggers.queue_load",
        {"threshold": 2},
    ),
    sl_schemas.UtilizationDto: (
        sl_schemas.CreateDeploymentDto,
        "scaling.scaling_triggers.cpu_utilization",
        {"enabled": False, "threshold": 0},
    ),
    job_schemas.JobScalingDto: (
        job_schemas.CreateJobDto,
        "scaling",
        {"max_replica_count": 1, "queue_message_ttl_seconds": 300, "deadline_seconds": 3600},
    ),
}
# Fields the document requires that the service checks itself, for the wording
# clients match (BEYOND.md §3.1, §3.3.4).
SERVICE_REQUIRED = {
    (sl_schemas.SharedMountDto, "volume_id"),
    (sl_schemas.ContainerPatchDto, "name"),
}


def _cases() -> list[tuple[type[BaseModel], str, bool]]:
    cases = []
    for model in [*CALLS, *NESTED]:
        for name, field in model.model_fields.items():
            cases.append((model, name, field.is_required() or (model, name) in SERVICE_REQUIRED))
    return cases


_ABSENT = object()


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node: Any = body
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is _ABSENT:
        node.pop(last, None)
    else:
        node[last] = value


def _placed(world: World, model: type[BaseModel], field: str) -> tuple[Call, dict[str, Any]]:
    """The call that carries `model`, and a body holding it where it sits."""
    if model not in NESTED:
        call = CALLS[model]
        return call, call.body(world, field)
    outer, at, inner = NESTED[model]
    call, body = _placed(world, outer, field)
    parent, _, index = at.rpartition(".")
    if index.isdigit():
        _set(body, parent, [dict(inner)])
    else:
        _set(body, at, dict(inner))
    return call, body


def _request(world: World, model: type[BaseModel], field: str, value: Any):
    """The model's call with `field` set to `value` (or left out)."""
    call, body = _placed(world, model, field)
    path = f"{NESTED[model][1]}.{field}" if model in NESTED else field
    _set(body, path, value)
    return call, world.client.request(call.method, call.path(world), json=body)


@pytest.fixture
def world(live, authed, project) -> Iterator[World]:
    yield World(live, authed, project)
    give_back(live)  # cluster capacity is shared by every test


@pytest.mark.parametrize(
    ("model", "field", "required"),
    _cases(),
    ids=[f"{m.__name__}.{f}" for m, f, _ in _cases()],
)
def test_null_is_the_same_as_an_absent_field(world, model, field, required):
    call, response = _request(world, model, field, None)
    if not required:
        assert response.status_code == call.ok, response.text
        return
    message = assert_error(response, 400, "invalid_request")
    assert field in message
    _, absent = _request(world, model, field, _ABSENT)
    assert assert_error(absent, 400, "invalid_request") == message


@pytest.mark.parametrize("model", list(CALLS), ids=lambda m: m.__name__)
def test_unknown_fields_are_ignored(world, model):
    call = CALLS[model]
    body = {
        **call.body(world, ""),
        "created_at": None,
        "_inference_client": None,
        "tags": [{"key": "k", "value": "v"}],
        "scaling": {"min_replica_count": 1},
    }
    response = world.client.request(call.method, call.path(world), json=body)
    assert response.status_code == call.ok, response.text


def _body_models(annotation: Any) -> set[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found = {annotation}
        for field in annotation.model_fields.values():
            found |= _body_models(field.annotation)
        return found
    return {m for arg in getattr(annotation, "__args__", ()) for m in _body_models(arg)}


def test_every_request_body_is_a_request_model_and_is_tested_above():
    # The token endpoint reads JSON or a form itself; these are its two bodies.
    models: set[type[BaseModel]] = {GetAccessTokenDto, RefreshAccessTokenPublicApiDto}
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            for param in route.dependant.body_params:
                models |= _body_models(param.field_info.annotation)
    assert models == set(CALLS) | set(NESTED)
    for model in models:
        assert issubclass(model, RequestModel), model
        assert model.model_config.get("extra") == "ignore", model


# ---- bodies on DELETE, and content types without a body -------------------


def test_delete_volume_reads_its_json_body(world, authed):
    trashed, purged = world.volume(), world.volume()
    assert authed.request("DELETE", f"/v1/volumes/{trashed}", json={}).status_code == 202
    response = authed.request("DELETE", f"/v1/volumes/{purged}", json={"is_permanent": True})
    assert response.status_code == 202
    assert authed.get(f"/v1/volumes/{trashed}").json()["is_permanently_deleted"] is False
    assert authed.get(f"/v1/volumes/{purged}").json()["is_permanently_deleted"] is True


@pytest.mark.parametrize("as_list", [False, True])
def test_delete_ssh_keys_reads_its_json_body(world, authed, as_list):
    kept, gone = world.key(), world.key()
    body = {"keys": [gone] if as_list else gone}
    assert authed.request("DELETE", "/v1/ssh-keys", json=body).status_code == 200
    assert [k["id"] for k in authed.get("/v1/ssh-keys").json()] == [kept]


@pytest.mark.parametrize("as_list", [False, True])
def test_delete_scripts_reads_its_json_body(world, authed, as_list):
    kept, gone = world.script(), world.script()
    body = {"scripts": [gone] if as_list else gone}
    assert authed.request("DELETE", "/v1/scripts", json=body).status_code == 200
    assert [s["id"] for s in authed.get("/v1/scripts").json()] == [kept]


JSON = {"Content-Type": "application/json"}


def test_a_json_content_type_without_a_body_is_fine_on_delete_and_get(world, authed):
    # The Python SDK sends Content-Type: application/json on every request.
    volume, key, script = world.volume(), world.key(), world.script()
    for path in (f"/v1/volumes/{volume}", f"/v1/sshkeys/{key}", f"/v1/scripts/{script}"):
        assert authed.get(path, headers=JSON).status_code == 200, path
    assert authed.request("DELETE", f"/v1/volumes/{volume}", headers=JSON).status_code == 202
    assert authed.request("DELETE", f"/v1/sshkeys/{key}", headers=JSON).status_code == 200
    assert authed.request("DELETE", f"/v1/scripts/{script}", headers=JSON).status_code == 200
    for path in ("/v1/volumes", "/v1/sshkeys", "/v1/scripts", "/v1/balance", "/v1/locations"):
        assert authed.get(path, headers=JSON).status_code == 200, path
    trash = authed.get("/v1/volumes/trash", headers=JSON).json()
    assert [(v["id"], v["is_permanently_deleted"]) for v in trash] == [(volume, False)]


def test_a_body_on_a_delete_by_id_that_takes_none_is_ignored(world, authed):
    key, script = world.key(), world.script()
    assert authed.request("DELETE", f"/v1/sshkeys/{key}", json={"x": None}).status_code == 200
    assert authed.request("DELETE", f"/v1/scripts/{script}", json={}).status_code == 200
    assert authed.get("/v1/sshkeys").json() == [] and authed.get("/v1/scripts").json() == []


def test_a_bulk_delete_without_its_body_is_refused(authed):
    for path in ("/v1/sshkeys", "/v1/scripts"):
        response = authed.request("DELETE", path, headers=JSON)
        assert assert_error(response, 400, "invalid_request") == "body: Field required"
