"""Container deployments through raw HTTP: every field, rule and quirk of
BEYOND.md §0/§3, the lifecycle by the (frozen) clock, capacity and money."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.support import serverless as sl
from tests.support.live import LiveServer, fresh_clients
from verda_server.serverless.compute.service import capacity_of

pytestmark = pytest.mark.usefixtures("gives_back")

PATH = "/v1/container-deployments"
READY = 3  # the `fast` profile's serverless_ready_seconds


def create(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(PATH, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def status(client: httpx.Client, name: str = "web") -> str:
    response = client.get(f"{PATH}/{name}/status")
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def replicas(client: httpx.Client, name: str = "web") -> list[dict[str, Any]]:
    response = client.get(f"{PATH}/{name}/replicas")
    assert response.status_code == 200, response.text
    return list(response.json()["list"])


def refused(response: httpx.Response, status_code: int, *words: str) -> None:
    assert response.status_code == status_code, response.text
    body = response.json()
    for word in words:
        assert word in body["message"], body


# ---- the deployment object ---------------------------------------------------


def test_create_answers_the_whole_deployment(authed: httpx.Client, live: LiveServer) -> None:
    body = sl.deployment(
        containers=[
            sl.container(
                name=None,
                healthcheck={"enabled": True, "port": 8081, "path": "/health"},
                entrypoint_overrides={"enabled": True, "cmd": ["serve"]},
                env=[{"name": "A", "value_or_reference_to_secret": "1", "type": "plain"}],
                volume_mounts=[{"type": "scratch", "mount_path": "/data", "size_in_mb": None}],
            ),
            {"image": "ghcr.io/Org/My_App@sha256:abc", "exposed_port": 80, "healthcheck": None},
        ],
        is_spot=None,
        endpoint_base_url=None,
        created_at=None,
    )
    made = create(authed, body)
    first, second = made["containers"]
    assert first["name"] == "random-logger-0" and second["name"] == "my-app-1"
    assert first["image"]["image"] == sl.IMAGE
    assert second["image"]["image"] == "ghcr.io/Org/My_App@sha256:abc"
    assert first["image"]["last_updated_at"] == made["created_at"]
    assert first["healthcheck"] == {"enabled": True, "port": 8081, "path": "/health"}
    assert first["entrypoint_overrides"] == {"enabled": True, "entrypoint": None, "cmd": ["serve"]}
    assert first["volume_mounts"] == [{"type": "scratch", "mount_path": "/data"}]
    assert "healthcheck" not in second and "entrypoint_overrides" not in second
    assert second["env"] == [] and second["volume_mounts"] == []
    assert first["should_use_cached_image"] is False
    assert made["endpoint_base_url"] == f"{live.base_url}/serverless/web"
    assert made["compute"] == sl.COMPUTE and made["is_spot"] is False
    assert made["container_registry_settings"] == {"is_private": False, "credentials": None}
    assert made["scaling"] == sl.scaling()
    assert authed.get(f"{PATH}/web").json() == made
    assert authed.get(PATH).json() == [made]


def test_healthcheck_is_echoed_as_sent(authed: httpx.Client) -> None:
    body = sl.deployment(containers=[sl.container(healthcheck={"enabled": False, "port": None})])
    made = create(authed, body)
    assert made["containers"][0]["healthcheck"] == {"enabled": False, "port": None, "path": None}


def test_mounts_keep_their_order_and_only_their_fields(
    authed: httpx.Client, live: LiveServer, project: Any
) -> None:
    sl.add_file_secret(live, project.project_id, "certs")
    volume = authed.post(
        "/v1/volumes",
        json={"type": "NVMe_Shared", "name": "shared", "size": 50, "location_code": "FIN-01"},
    )
    assert volume.status_code == 202, volume.text
    mounts = [
        {"type": "memory", "mount_path": "/dev/shm", "size_in_mb": 512},
        {"type": "shared", "mount_path": "/models", "volumeId": volume.text},
        {"type": "secret", "mount_path": "/certs", "secret_name": "certs", "file_names": ["a.txt"]},
        {"type": "scratch", "mount_path": "/data", "size_in_mb": 100},
    ]
    made = create(authed, sl.deployment(containers=[sl.container(volume_mounts=mounts)]))
    assert made["containers"][0]["volume_mounts"] == [
        {"type": "memory", "mount_path": "/dev/shm", "size_in_mb": 512},
        {"type": "shared", "mount_path": "/models", "volume_id": volume.text},
        {"type": "secret", "mount_path": "/certs", "secret_name": "certs", "file_names": ["a.txt"]},
        {"type": "scratch", "mount_path": "/data"},
    ]


def test_null_scaling_takes_the_defaults(authed: httpx.Client) -> None:
    made = create(authed, sl.deployment(scaling=None))
    assert made["scaling"] == {
        "min_replica_count": 0,
        "max_replica_count": 3,
        "scale_down_policy": {"delay_seconds": 300},
        "scale_up_policy": {"delay_seconds": 0},
        "queue_message_ttl_seconds": 300,
        "concurrent_requests_per_replica": 1,
        "scaling_triggers": {
            "queue_load": {"threshold": 3},
            "cpu_utilization": {"enabled": False, "threshold": None},
            "gpu_utilization": {"enabled": False, "threshold": None},
        },
    }
    assert replicas(authed) == []


def test_go_nulls_in_scaling_are_absent(authed: httpx.Client) -> None:
    scaling = sl.scaling(
        scale_down_policy=None,
        scaling_triggers={
            "queue_load": {"threshold": 1.5},
            "cpu_utilization": {"enabled": False, "threshold": 0},
            "gpu_utilization": None,
        },
    )
    made = create(authed, sl.deployment(scaling=scaling))
    assert made["scaling"]["scale_down_policy"] == {"delay_seconds": 300}
    assert made["scaling"]["scaling_triggers"] == {
        "queue_load": {"threshold": 1.5},
        "cpu_utilization": {"enabled": False, "threshold": 0},
        "gpu_utilization": {"enabled": False, "threshold": None},
    }


@pytest.mark.parametrize(
    "name, status_code",
    [("a", 201), ("a" * 63, 201), ("a" * 64, 400), ("Web", 400), ("-web", 400), ("web-", 400),
     ("we_b", 400), ("9-lives", 201)],
)  # fmt: skip
def test_names_are_dns_labels(authed: httpx.Client, name: str, status_code: int) -> None:
    assert authed.post(PATH, json=sl.deployment(name)).status_code == status_code


def test_a_taken_name_is_a_conflict(authed: httpx.Client) -> None:
    create(authed, sl.deployment())
    refused(authed.post(PATH, json=sl.deployment()), 409, "taken")
    job = authed.post("/v1/job-deployments", json=sl.job("batch"))
    assert job.status_code == 201, job.text
    refused(authed.post(PATH, json=sl.deployment("batch")), 409, "job deployment")


@pytest.mark.parametrize(
    "image, status_code",
    [("nginx:1.29.1", 201), ("nginx:latest", 400), ("nginx", 400), ("registry:5000/nginx", 400),
     ("nginx@sha256:0123", 201), ("registry:5000/nginx:v2", 201), (":v1", 400),
     ("/:v1", 400), ("registry:5000/:v1", 400), ("@sha256:0123", 400)],
)  # fmt: skip
def test_images_need_a_fixed_tag(authed: httpx.Client, image: str, status_code: int) -> None:
    body = sl.deployment(containers=[sl.container(image=image)])
    assert authed.post(PATH, json=body).status_code == status_code


def test_shared_mount_without_a_volume(authed: httpx.Client) -> None:
    mounts = [{"type": "scratch", "mount_path": "/data"}, {"type": "shared", "mount_path": "/x"}]
    body = sl.deployment(containers=[sl.container(volume_mounts=mounts)])
    refused(
        authed.post(PATH, json=body),
        400,
        "volume_mounts.1.volume_id should not be null or undefined",
    )


def test_a_shared_mount_needs_a_shared_volume(authed: httpx.Client) -> None:
    volume = authed.post(
        "/v1/volumes", json={"type": "NVMe", "name": "v", "size": 10, "location_code": "FIN-01"}
    )
    for volume_id in (volume.text, "00000000-0000-4000-8000-000000000000"):
        mounts = [{"type": "shared", "mount_path": "/x", "volume_id": volume_id}]
        body = sl.deployment(containers=[sl.container(volume_mounts=mounts)])
        refused(authed.post(PATH, json=body), 400, "volume_id")


@pytest.mark.parametrize(
    "mount",
    [{"type": "memory", "mount_path": "/dev/shm", "size_in_mb": 100},
     {"type": "memory", "mount_path": "/dev/shm"},
     {"type": "nfs", "mount_path": "/x"},
     {"type": "secret", "mount_path": "/x"}],
)  # fmt: skip
def test_bad_mounts(authed: httpx.Client, mount: dict[str, Any]) -> None:
    body = sl.deployment(containers=[sl.container(volume_mounts=[mount])])
    assert authed.post(PATH, json=body).status_code == 400


def test_references_must_exist(authed: httpx.Client, live: LiveServer, project: Any) -> None:
    secret_env = [{"name": "TOKEN", "value_or_reference_to_secret": "tok", "type": "secret"}]
    with_secret = sl.deployment(containers=[sl.container(env=secret_env)])
    refused(authed.post(PATH, json=with_secret), 400, "tok")
    mounts = [{"type": "secret", "mount_path": "/c", "secret_name": "files"}]
    with_files = sl.deployment("files", containers=[sl.container(volume_mounts=mounts)])
    refused(authed.post(PATH, json=with_files), 400, "files")
    private = {"is_private": True, "credentials": {"name": "hub"}}
    with_registry = sl.deployment("private", container_registry_settings=private)
    refused(authed.post(PATH, json=with_registry), 400, "hub")
    no_credentials = sl.deployment("bare", container_registry_settings={"is_private": True})
    refused(authed.post(PATH, json=no_credentials), 400, "credentials")
    # A generic secret is no file secret, and the other way round.
    sl.add_secret(live, project.project_id, "files")
    sl.add_file_secret(live, project.project_id, "tok")
    assert authed.post(PATH, json=with_secret).status_code == 400
    assert authed.post(PATH, json=with_files).status_code == 400
    sl.add_secret(live, project.project_id, "tok2")
    sl.add_file_secret(live, project.project_id, "files2")
    sl.add_credentials(live, project.project_id, "hub")
    secret_env[0]["value_or_reference_to_secret"] = "tok2"
    mounts[0]["secret_name"] = "files2"
    assert authed.post(PATH, json=with_secret).status_code == 201
    assert authed.post(PATH, json=with_files).status_code == 201
    made = create(authed, with_registry)
    assert made["container_registry_settings"] == private


def test_bad_env_vars(authed: httpx.Client) -> None:
    for env in ([{"name": "", "value_or_reference_to_secret": "1", "type": "plain"}],
                [{"name": "A", "value_or_reference_to_secret": "1", "type": "file"}]):  # fmt: skip
        body = sl.deployment(containers=[sl.container(env=env)])
        assert authed.post(PATH, json=body).status_code == 400


@pytest.mark.parametrize("compute", [{"name": "H100", "size": 3}, {"name": "Z9", "size": 1}])
def test_unknown_compute(authed: httpx.Client, compute: dict[str, Any]) -> None:
    refused(authed.post(PATH, json=sl.deployment(compute=compute)), 400, "compute")


@pytest.mark.parametrize(
    "scaling",
    [sl.scaling(min_replica_count=2, max_replica_count=1),
     sl.scaling(scaling_triggers={"queue_load": {"threshold": 0}}),
     sl.scaling(scaling_triggers={"cpu_utilization": {"enabled": True}}),
     sl.scaling(scaling_triggers={"gpu_utilization": {"enabled": True, "threshold": 101}}),
     sl.scaling(queue_message_ttl_seconds=0),
     sl.scaling(min_replica_count=1.5)],
)  # fmt: skip
def test_bad_scaling(authed: httpx.Client, scaling: dict[str, Any]) -> None:
    assert authed.post(PATH, json=sl.deployment(scaling=scaling)).status_code == 400


def test_an_empty_balance_deploys_nothing(live: LiveServer, client_of: Any) -> None:
    poor = live.new_project(balance="0")
    client = client_of(poor)
    refused(client.post(PATH, json=sl.deployment(scaling=None)), 402, "Insufficient funds")
    # One hour of the minimum replicas (2 x 1.75) must be covered.
    short = live.new_project(balance="3")
    client = client_of(short)
    refused(
        client.post(
            PATH, json=sl.deployment(scaling=sl.scaling(min_replica_count=2, max_replica_count=2))
        ),
        402,
    )
    assert client.post(PATH, json=sl.deployment(scaling=sl.scaling())).status_code == 201


def test_unknown_and_foreign_deployments_are_not_found(
    authed: httpx.Client, live: LiveServer, client_of: Any
) -> None:
    create(authed, sl.deployment())
    other = client_of(live.new_project())
    env = {"container_name": "random-logger-0", "env": []}
    for client, name in ((authed, "nope"), (other, "web")):
        base = f"{PATH}/{name}"
        for method, path, body in (
            ("GET", "", None), ("PATCH", "", {}), ("GET", "/status", None),
            ("POST", "/restart", None), ("POST", "/pause", None), ("POST", "/resume", None),
            ("POST", "/purge-queue", None), ("GET", "/scaling", None), ("PATCH", "/scaling", {}),
            ("GET", "/replicas", None), ("GET", "/environment-variables", None),
            ("POST", "/environment-variables", env), ("PATCH", "/environment-variables", env),
            ("DELETE", "/environment-variables", env), ("DELETE", "", None),
        ):  # fmt: skip
            response = client.request(method, base + path, json=body)
            refused(response, 404, "not found")
    assert other.get(PATH).json() == []
    assert status(authed) == "initializing"


# ---- changes -------------------------------------------------------------------


def test_patch_needs_container_names(authed: httpx.Client) -> None:
    create(authed, sl.deployment())
    patch = {"containers": [{"image": "nginx:1.29.1"}]}
    refused(
        authed.patch(f"{PATH}/web", json=patch),
        400,
        "containers.0.name should not be null or undefined",
    )
    patch = {"containers": [{"name": "other-0", "image": "nginx:1.29.1"}]}
    refused(authed.patch(f"{PATH}/web", json=patch), 400, "other-0")


def test_a_new_version_replaces_the_replicas(authed: httpx.Client, live: LiveServer) -> None:
    made = create(authed, sl.deployment())
    live.clock.advance(READY)
    before = replicas(authed)
    assert status(authed) == "healthy" and [r["status"] for r in before] == ["running"]
    live.clock.advance(1)
    container = made["containers"][0]
    patch = {
        "containers": [
            {"name": container["name"], "image": {"image": "nginx:1.29.1", "last_updated_at": None}}
        ]
    }
    response = authed.patch(f"{PATH}/web", json=patch)
    assert response.status_code == 200, response.text
    changed = response.json()["containers"][0]
    assert changed["image"]["image"] == "nginx:1.29.1"
    assert changed["image"]["last_updated_at"] > container["image"]["last_updated_at"]
    assert changed["name"] == container["name"]
    assert changed["exposed_port"] == 8080
    assert status(authed) == "version_updating"
    after = replicas(authed)
    assert [r["status"] for r in after] == ["initializing"]
    assert after[0]["id"] != before[0]["id"] and after[0]["started_at"] > before[0]["started_at"]
    live.clock.advance(READY)
    assert status(authed) == "healthy"
    assert [r["status"] for r in replicas(authed)] == ["running"]


def test_python_round_trip_changes_nothing(authed: httpx.Client, live: LiveServer) -> None:
    made = create(authed, sl.deployment())
    live.clock.advance(READY)
    ids = [r["id"] for r in replicas(authed)]
    # Python sends the whole deployment back, read-only fields and nulls included.
    resent = {**made, "compute": {**made["compute"], "is_available": None}, "scaling": None}
    response = authed.patch(f"{PATH}/web", json=resent)
    assert response.status_code == 200, response.text
    assert response.json() == made
    assert status(authed) == "healthy" and [r["id"] for r in replicas(authed)] == ids


def test_patch_applies_scaling_and_compute(authed: httpx.Client) -> None:
    create(authed, sl.deployment())
    patch = {
        "compute": {"name": "H100", "size": 2},
        "is_spot": True,
        "scaling": {"max_replica_count": 4},
    }
    response = authed.patch(f"{PATH}/web", json=patch)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["compute"] == {"name": "H100", "size": 2} and body["is_spot"] is True
    assert body["scaling"]["max_replica_count"] == 4


def test_scaling_patch_is_partial(authed: httpx.Client, live: LiveServer) -> None:
    create(authed, sl.deployment())
    live.clock.advance(READY)
    # The Go integration test's first patch, then its full one.
    response = authed.patch(
        f"{PATH}/web/scaling",
        json={"min_replica_count": 0, "max_replica_count": 2, "queue_message_ttl_seconds": 600},
    )
    assert response.status_code == 200, response.text
    assert authed.get(f"{PATH}/web/scaling").json()["max_replica_count"] == 2
    assert replicas(authed) == [] and status(authed) == "healthy"
    full = sl.scaling(
        min_replica_count=1, max_replica_count=3,
        scale_down_policy={"delay_seconds": 600}, scale_up_policy={"delay_seconds": 120},
        queue_message_ttl_seconds=900, concurrent_requests_per_replica=2,
        scaling_triggers={"queue_load": {"threshold": 1.5},
                          "cpu_utilization": {"enabled": True, "threshold": 70},
                          "gpu_utilization": {"enabled": True, "threshold": 70}},
    )  # fmt: skip
    assert authed.patch(f"{PATH}/web/scaling", json=full).json() == full
    assert [r["status"] for r in replicas(authed)] == ["initializing"]
    only_cpu = {"scaling_triggers": {"cpu_utilization": {"enabled": False}}}
    answered = authed.patch(f"{PATH}/web/scaling", json=only_cpu).json()
    assert answered["scaling_triggers"] == {
        **full["scaling_triggers"],
        "cpu_utilization": {"enabled": False, "threshold": None},
    }
    refused(
        authed.patch(f"{PATH}/web/scaling", json={"min_replica_count": 4}), 400, "max_replica_count"
    )


def test_actions(authed: httpx.Client, live: LiveServer) -> None:
    create(authed, sl.deployment(scaling=sl.scaling(min_replica_count=2, max_replica_count=2)))
    live.clock.advance(READY)
    before = replicas(authed)
    for action in ("pause", "pause"):
        response = authed.post(f"{PATH}/web/{action}")
        assert response.status_code == 200 and response.content == b""
    assert status(authed) == "paused" and replicas(authed) == []
    restart = authed.post(f"{PATH}/web/restart", headers={"Content-Type": "application/json"})
    assert restart.status_code == 200 and status(authed) == "paused"
    assert authed.post(f"{PATH}/web/resume").status_code == 200
    assert status(authed) == "initializing"
    assert authed.post(f"{PATH}/web/resume").status_code == 200
    live.clock.advance(READY)
    assert status(authed) == "healthy"
    resumed = replicas(authed)
    assert len(resumed) == 2 and {r["id"] for r in resumed}.isdisjoint(r["id"] for r in before)
    live.clock.advance(1)
    assert authed.post(f"{PATH}/web/restart").status_code == 200
    assert status(authed) == "initializing"
    restarted = replicas(authed)
    assert {r["id"] for r in restarted}.isdisjoint(r["id"] for r in resumed)
    assert all(r["started_at"] > resumed[0]["started_at"] for r in restarted)
    purge = authed.post(f"{PATH}/web/purge-queue")
    assert purge.status_code == 200 and purge.content == b""


@pytest.mark.parametrize("timeout", [None, "0", "120000", "120000.0", "999999"])
def test_delete(authed: httpx.Client, timeout: str | None) -> None:
    create(authed, sl.deployment())
    params = {"timeout": timeout} if timeout is not None else None
    response = authed.delete(f"{PATH}/web", params=params)
    assert response.status_code == 200 and response.content == b""
    refused(authed.get(f"{PATH}/web"), 404, "not found")
    assert authed.get(PATH).json() == []
    create(authed, sl.deployment())  # the name is free again


def test_delete_refuses_a_bad_timeout(authed: httpx.Client) -> None:
    create(authed, sl.deployment())
    assert authed.delete(f"{PATH}/web", params={"timeout": "soon"}).status_code == 400


# ---- environment variables -------------------------------------------------------


def test_environment_variables(authed: httpx.Client, live: LiveServer, project: Any) -> None:
    create(authed, sl.deployment(containers=[sl.container(), sl.container(image="nginx:1.29.1")]))
    env_path = f"{PATH}/web/environment-variables"
    assert authed.get(env_path).json() == [
        {"container_name": "random-logger-0", "env": []},
        {"container_name": "nginx-1", "env": []},
    ]
    plain = {"name": "A", "value_or_reference_to_secret": "1", "type": "plain"}
    added = authed.post(env_path, json={"container_name": "nginx-1", "env": [plain]})
    assert added.status_code == 200, added.text
    assert added.json()[1] == {"container_name": "nginx-1", "env": [plain]}
    again = {**plain, "value_or_reference_to_secret": "2"}
    added = authed.post(env_path, json={"container_name": "nginx-1", "env": [again]})
    assert added.json()[1]["env"] == [again]
    sl.add_secret(live, project.project_id, "tok")
    secret = {"name": "A", "value_or_reference_to_secret": "tok", "type": "secret"}
    updated = authed.patch(env_path, json={"container_name": "nginx-1", "env": [secret]})
    assert updated.status_code == 200 and updated.json() == {
        "container_name": "nginx-1",
        "env": [secret],
    }
    missing = {"name": "B", "value_or_reference_to_secret": "1", "type": "plain"}
    refused(authed.patch(env_path, json={"container_name": "nginx-1", "env": [missing]}), 404, "B")
    bad_secret = {**secret, "value_or_reference_to_secret": "nope"}
    refused(
        authed.patch(env_path, json={"container_name": "nginx-1", "env": [bad_secret]}), 400, "nope"
    )
    refused(authed.post(env_path, json={"container_name": "zz-0", "env": [plain]}), 404, "zz-0")
    deleted = authed.request(
        "DELETE", env_path, json={"container_name": "nginx-1", "env": ["A", "Z"]}
    )
    assert deleted.status_code == 200 and deleted.json()[1] == {
        "container_name": "nginx-1",
        "env": [],
    }
    assert authed.get(f"{PATH}/web").json()["containers"][1]["env"] == []


def test_changed_env_vars_are_a_new_version(authed: httpx.Client, live: LiveServer) -> None:
    create(authed, sl.deployment())
    live.clock.advance(READY)
    ids = [r["id"] for r in replicas(authed)]
    env_path = f"{PATH}/web/environment-variables"
    unchanged = authed.request(
        "DELETE", env_path, json={"container_name": "random-logger-0", "env": ["X"]}
    )
    assert unchanged.status_code == 200 and status(authed) == "healthy"
    plain = {"name": "A", "value_or_reference_to_secret": "1", "type": "plain"}
    authed.post(env_path, json={"container_name": "random-logger-0", "env": [plain]})
    assert status(authed) == "version_updating"
    assert [r["id"] for r in replicas(authed)] != ids


# ---- capacity and money ---------------------------------------------------------------


def test_replicas_hold_capacity(authed: httpx.Client, live: LiveServer) -> None:
    whole = capacity_of(live.context.catalog, "B300") // 8
    big = sl.scaling(min_replica_count=whole, max_replica_count=whole)
    create(authed, sl.deployment("big", compute={"name": "B300", "size": 8}, scaling=big))
    one = sl.deployment("one", compute={"name": "B300", "size": 1})
    refused(authed.post(PATH, json=one), 400, "capacity")
    # Another compute resource is not affected.
    create(authed, sl.deployment("elsewhere", compute={"name": "B200", "size": 1}))
    assert authed.post(f"{PATH}/big/pause").status_code == 200
    create(authed, one)
    refused(authed.post(f"{PATH}/big/resume"), 503, "capacity")
    assert status(authed, "big") == "paused"
    refused(
        authed.patch(
            f"{PATH}/one/scaling", json={"max_replica_count": 100, "min_replica_count": 100}
        ),
        503,
    )
    assert authed.delete(f"{PATH}/one").status_code == 200
    assert authed.post(f"{PATH}/big/resume").status_code == 200


@pytest.fixture
def lasting(live: LiveServer, clients: Any, http: httpx.Client) -> Any:
    """Clients that keep working however far the clock moves."""
    return fresh_clients(live, clients, http)


def test_replicas_cost_by_the_hour(live: LiveServer, lasting: Any) -> None:
    authed = lasting(live.new_project())

    def balance() -> Decimal:
        return Decimal(str(authed.get("/v1/balance").json()["amount"]))

    start = balance()
    two = sl.scaling(min_replica_count=2, max_replica_count=2)
    create(authed, sl.deployment(scaling=two))
    create(authed, sl.deployment("spot", is_spot=True))
    live.clock.advance(3600)
    # H100 x1: 1.75 per replica-hour, 0.875 as spot.
    assert start - balance() == Decimal("4.375")
    authed.post(f"{PATH}/web/pause")
    authed.delete(f"{PATH}/spot")
    live.clock.advance(3600)
    assert start - balance() == Decimal("4.375")
    authed.post(f"{PATH}/web/resume")
    authed.patch(f"{PATH}/web/scaling", json={"min_replica_count": 1})
    live.clock.advance(3600)
    assert start - balance() == Decimal("6.125")


def test_running_out_of_money_pauses(live: LiveServer, lasting: Any) -> None:
    client = lasting(live.new_project(balance="2"))
    create(client, sl.deployment())
    live.clock.advance(2 * 3600)
    assert status(client) == "paused" and replicas(client) == []
    # Charged up to the instant the money ran out (to the microsecond), not beyond.
    assert abs(Decimal(str(client.get("/v1/balance").json()["amount"]))) < Decimal("1e-6")


def test_reads_follow_the_clock(authed: httpx.Client, live: LiveServer) -> None:
    """The read model replays GETs until the next due instant: readiness is one."""
    create(authed, sl.deployment())
    for _ in range(2):
        assert status(authed) == "initializing"
        assert [r["status"] for r in replicas(authed)] == ["initializing"]
    live.clock.advance(READY)
    assert status(authed) == "healthy"
    assert [r["status"] for r in replicas(authed)] == ["running"]


def test_more_replicas_bring_the_money_out_instant_forward(live: LiveServer, lasting: Any) -> None:
    """A scaling patch alone (no explicit flush in its unit) re-rates the meter:
    the instant the money runs out follows the new rate, not the old one."""
    client = lasting(live.new_project(balance="2"))
    create(client, sl.deployment())  # 1.75 an hour: 2 last about 69 minutes
    two = {"min_replica_count": 2, "max_replica_count": 2}
    assert client.patch(f"{PATH}/web/scaling", json=two).status_code == 200
    live.clock.advance(3600)  # 3.5 an hour: out after about 34 minutes
    assert status(client) == "paused"
    assert abs(Decimal(str(client.get("/v1/balance").json()["amount"]))) < Decimal("1e-6")


def test_resuming_without_the_money_is_refused(live: LiveServer, lasting: Any) -> None:
    """Paused when the money ran out: a resume is a 402 (as a create is), not a
    deployment that runs on while the balance sinks."""
    client = lasting(live.new_project(balance="2"))
    create(client, sl.deployment())
    live.clock.advance(2 * 3600)
    assert status(client) == "paused"
    refused(client.post(f"{PATH}/web/resume"), 402, "Insufficient funds")
    assert status(client) == "paused" and replicas(client) == []
    # Paused by the client and resumed again: nothing to start, nothing to pay first.
    assert client.post(f"{PATH}/web/pause").status_code == 200


def test_an_empty_patch_changes_nothing(authed: httpx.Client) -> None:
    """BEYOND.md §0: a PATCH may come with an empty body, with or without a type."""
    made = create(authed, sl.deployment())
    for headers in ({}, {"Content-Type": "application/json"}):
        answered = authed.patch(f"{PATH}/web", content=b"", headers=headers)
        assert answered.status_code == 200, answered.text
        assert answered.json() == made
        scaling = authed.patch(f"{PATH}/web/scaling", content=b"", headers=headers)
        assert scaling.status_code == 200 and scaling.json() == made["scaling"]
    assert status(authed) == "initializing"
