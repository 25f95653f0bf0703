"""Quotas per project, set through the control API and enforced at the exact
boundary where each kind of resource is created."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import clusters
from tests.support.live import Credentials, LiveServer
from tests.test_control_projects import PROJECTS, create, credentials_of, error

INSTANCE = {
    "instance_type": "CPU.4V.16G",
    "image": "ubuntu-24.04",
    "hostname": "q",
    "description": "q",
    "location_code": "FIN-01",
}
VOLUME = {"type": "HDD", "name": "v", "size": 10, "location_code": "FIN-01"}


@pytest.fixture
def quoted(admin: httpx.Client, clients: Any, http: httpx.Client) -> Iterator[Any]:
    """A new project with some quotas, and a client of its own. The instances
    it deployed are given back afterwards: capacity is shared by every test."""
    made: list[httpx.Client] = []

    def make(**quotas: int) -> tuple[str, httpx.Client]:
        creds: Credentials = credentials_of(create(admin, quotas=quotas))
        made.append(clients(creds.access_token(http)))
        return creds.project_id, made[-1]

    yield make
    for client in made:
        give_back_instances(client)


def give_back_instances(client: httpx.Client) -> None:
    for instance in client.get("/v1/instances").json():
        stuck = instance["status"] in ("provisioning", "error")
        action = "delete_stuck" if stuck else "discontinue"
        response = client.put("/v1/instances", json={"action": action, "id": instance["id"]})
        assert response.status_code == 202, response.text


def set_quotas(admin: httpx.Client, project_id: str, **quotas: int) -> dict[str, Any]:
    response = admin.put(f"{PROJECTS}/{project_id}/quotas", json=quotas)
    assert response.status_code == 200, response.text
    return dict(response.json())


def deploy(client: httpx.Client, **extra: Any) -> httpx.Response:
    return client.post("/v1/instances", json={**INSTANCE, **extra})


def test_instances_up_to_the_quota(admin: httpx.Client, quoted: Any) -> None:
    project_id, client = quoted(instances=2)
    for _ in range(2):
        assert deploy(client).status_code == 202
    message = error(deploy(client), 403, "forbidden_action")
    assert message == (
        "Instance limit exceeded: the project's instance quota is 2 and it holds 2 instances"
    )
    assert set_quotas(admin, project_id, instances=3)["instances"]["quota"] == 3
    assert deploy(client).status_code == 202
    error(deploy(client), 403, "forbidden_action")
    assert len(client.get("/v1/instances").json()) == 3


def test_a_discontinued_instance_no_longer_counts(quoted: Any) -> None:
    _, client = quoted(instances=1)
    instance_id = deploy(client).text
    error(deploy(client), 403, "forbidden_action")
    # Its OS volume stays (detached): only the instance is given back.
    action = client.put("/v1/instances", json={"action": "delete_stuck", "id": instance_id})
    assert action.status_code == 202, action.text
    assert deploy(client).status_code == 202


def test_volumes_up_to_the_quota_and_the_trash_counts(admin: httpx.Client, quoted: Any) -> None:
    project_id, client = quoted(volumes=2)
    first = client.post("/v1/volumes", json=VOLUME)
    assert first.status_code == 202
    assert client.post("/v1/volumes", json=VOLUME).status_code == 202
    message = error(client.post("/v1/volumes", json=VOLUME), 403, "forbidden_action")
    assert message.startswith("Volume limit exceeded: the project's volume quota is 2")
    # In the trash it still counts (the API document says so); purged, it does not.
    assert client.delete(f"/v1/volumes/{first.text}").status_code == 202
    error(client.post("/v1/volumes", json=VOLUME), 403, "forbidden_action")
    purged = client.delete(f"/v1/volumes/{first.text}", params={"force": "true"})
    assert purged.status_code == 202
    assert client.post("/v1/volumes", json=VOLUME).status_code == 202
    assert admin.get(f"{PROJECTS}/{project_id}/quotas").json()["volumes"]["used"] == 2


def test_a_deploy_counts_the_volumes_it_creates(admin: httpx.Client, quoted: Any) -> None:
    project_id, client = quoted(volumes=3)
    extra = {"volumes": [{"name": "d1", "size": 10, "type": "NVMe"}]}
    # OS volume + 1 = 2 of 3; then OS + 2 would be 5.
    assert deploy(client, **extra).status_code == 202
    two = {"volumes": [{"name": "d1", "size": 10, "type": "NVMe"}] * 2}
    message = error(deploy(client, **two), 403, "forbidden_action")
    assert message == (
        "Volume limit exceeded: the project's volume quota is 3 and it holds 2 volumes; "
        "this needs 3 more"
    )
    # Exactly to the quota: the OS volume alone.
    assert deploy(client).status_code == 202
    assert "Volume limit exceeded" in error(deploy(client), 403, "forbidden_action")
    quotas = admin.get(f"{PROJECTS}/{project_id}/quotas").json()
    assert (quotas["volumes"]["used"], quotas["instances"]["used"]) == (3, 2)


def test_clones_count_each(quoted: Any) -> None:
    _, client = quoted(volumes=3)
    source = client.post("/v1/volumes", json=VOLUME).text
    other = client.post("/v1/volumes", json=VOLUME).text
    both = client.put("/v1/volumes", json={"action": "clone", "id": [source, other]})
    assert "Volume limit exceeded" in error(both, 403, "forbidden_action")
    assert len(client.get("/v1/volumes").json()) == 2  # all or nothing
    one = client.put("/v1/volumes", json={"action": "clone", "id": source})
    assert one.status_code == 202, one.text
    again = client.put("/v1/volumes", json={"action": "clone", "id": source})
    error(again, 403, "forbidden_action")


def test_clusters_up_to_the_quota(live: LiveServer, admin: httpx.Client, quoted: Any) -> None:
    project_id, client = quoted(clusters=0)
    try:
        refused = client.post("/v1/clusters", json=clusters.cluster_body())
        assert error(refused, 403, "forbidden_action") == (
            "Cluster limit exceeded: the project's cluster quota is 0 and it holds 0 clusters"
        )
        set_quotas(admin, project_id, clusters=1)
        first = clusters.deploy(client)
        error(client.post("/v1/clusters", json=clusters.cluster_body()), 403, "forbidden_action")
        assert clusters.discontinue_all(client, first).status_code == 202
        clusters.deploy(client)  # the discontinued one no longer counts
        # Its /home volume is a volume of the project like any other.
        set_quotas(admin, project_id, clusters=2, volumes=0)
        assert "Volume limit exceeded" in error(
            client.post("/v1/clusters", json=clusters.cluster_body()), 403, "forbidden_action"
        )
    finally:
        clusters.give_back(live)


def test_startup_scripts_through_the_control_api(admin: httpx.Client, quoted: Any) -> None:
    project_id, client = quoted(startup_scripts=1)
    script = {"name": "s", "script": "#!/bin/sh\necho"}
    assert client.post("/v1/scripts", json=script).status_code == 201
    assert "quota" in error(client.post("/v1/scripts", json=script), 403, "forbidden_action")
    set_quotas(admin, project_id, startup_scripts=2)
    assert client.post("/v1/scripts", json=script).status_code == 201


def test_lowering_below_usage_takes_nothing_away(admin: httpx.Client, quoted: Any) -> None:
    project_id, client = quoted()
    assert deploy(client).status_code == 202
    assert deploy(client).status_code == 202
    body = set_quotas(admin, project_id, instances=1)
    assert body["instances"] == {"quota": 1, "used": 2, "hard_max": 10_000, "default": 50}
    # Only the quotas given changed.
    assert body["volumes"]["quota"] == 100 and body["startup_scripts"]["quota"] == 100
    assert len(client.get("/v1/instances").json()) == 2
    error(deploy(client), 403, "forbidden_action")
    assert admin.get(f"{PROJECTS}/{project_id}/quotas").json() == body


def test_quotas_at_their_hard_maximum(admin: httpx.Client, quoted: Any) -> None:
    project_id, _ = quoted()
    body = set_quotas(
        admin, project_id, startup_scripts=1000, instances=10_000, volumes=10_000, clusters=1000
    )
    assert [body[k]["quota"] for k in body] == [1000, 10_000, 10_000, 1000]
    assert set_quotas(admin, project_id)["instances"]["quota"] == 10_000  # nothing given


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"startup_scripts": 1001}, "startup_scripts"),
        ({"instances": -1}, "instances"),
        ({"volumes": 10_001}, "volumes"),
        ({"clusters": 1001}, "clusters"),
        ({"clusters": 1.5}, "clusters"),
        ({"clusters": "2"}, "clusters"),
        ({"clusters": True}, "clusters"),
        ({"nodes": 2}, "nodes"),
    ],
)
def test_bad_quotas_change_nothing(
    admin: httpx.Client, quoted: Any, body: dict[str, Any], field: str
) -> None:
    project_id, _ = quoted()
    path = f"{PROJECTS}/{project_id}/quotas"
    before = admin.get(path).json()
    response = admin.put(path, json={"instances": 7, **body})
    assert field in error(response, 400, "invalid_request")
    assert admin.get(path).json() == before
