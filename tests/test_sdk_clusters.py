"""The official Python SDK's `verda.clusters` against the server: what it sends,
how it polls, and how it reads the answers."""

from __future__ import annotations

import pytest
from verda.clusters import Cluster
from verda.exceptions import APIException

from tests.support.clusters import BOOT, IMAGE, TYPE, WHERE, give_back
from tests.support.keys import ed25519_key


@pytest.fixture(autouse=True)
def _capacity_given_back(live):
    yield
    give_back(live)


def test_create_waits_for_provisioning_and_sends_a_30_tb_home(live, sdk, catalog):
    key = sdk.ssh_keys.create("k", ed25519_key())
    cluster = sdk.clusters.create(
        TYPE, IMAGE, "sdk-cluster", description="from the SDK", ssh_key_ids=[key.id]
    )
    assert isinstance(cluster, Cluster)
    assert cluster.status == "provisioning" and cluster.ip is None
    assert cluster.cluster_type == TYPE and cluster.location == WHERE
    assert cluster.image == IMAGE and cluster.hostname == "sdk-cluster"
    assert cluster.description == "from the SDK" and cluster.ssh_key_ids == [key.id]
    assert cluster.startup_script_id is None
    (home,) = cluster.shared_volumes
    assert home.name == "sdk-cluster-shared-volume"
    assert home.size_in_gigabytes == 30000 and home.mount_point == "/home"
    assert [n.hostname for n in cluster.worker_nodes] == ["sdk-cluster-1", "sdk-cluster-2"]
    assert {n.status for n in cluster.worker_nodes} == {"provisioning"}
    volume = sdk.volumes.get_by_id(home.id)
    assert volume.type == "NVMe_Shared_Cluster" and volume.status == "attached"
    assert volume.instance_id == cluster.id


def test_create_without_waiting_and_with_a_chosen_volume(sdk):
    cluster = sdk.clusters.create(
        TYPE,
        IMAGE,
        "nowait",
        location=WHERE,
        shared_volume_name="mine",
        shared_volume_size=500,
        wait_for_status=None,
    )
    assert cluster.status == "provisioning"
    assert [(v.name, v.size_in_gigabytes) for v in cluster.shared_volumes] == [("mine", 500)]


def test_get_get_by_id_and_the_status_filter(live, sdk):
    first = sdk.clusters.create(TYPE, IMAGE, "first")
    live.clock.advance(BOOT)
    second = sdk.clusters.create(TYPE, IMAGE, "second")
    assert [c.id for c in sdk.clusters.get()] == [first.id, second.id]
    assert [c.id for c in sdk.clusters.get(status="running")] == [first.id]
    assert [c.id for c in sdk.clusters.get(status="provisioning")] == [second.id]
    running = sdk.clusters.get_by_id(first.id)
    assert running.status == "running" and running.ip is not None
    assert len(running.worker_nodes) == 2
    assert all(n.private_ip for n in running.worker_nodes)


def test_delete_and_action_discontinue(live, sdk):
    first = sdk.clusters.create(TYPE, IMAGE, "first")
    second = sdk.clusters.create(TYPE, IMAGE, "second")
    third = sdk.clusters.create(TYPE, IMAGE, "third")
    sdk.clusters.delete(first.id)
    assert sdk.clusters.get_by_id(first.id).status == "discontinued"
    sdk.clusters.action([second.id, third.id], "delete")
    assert sdk.clusters.get() == []
    gone = sdk.clusters.get(status="discontinued")
    assert sorted(c.id for c in gone) == sorted([first.id, second.id, third.id])
    volumes = sdk.volumes.get()
    assert len(volumes) == 3 and {v.status for v in volumes} == {"detached"}
    with pytest.raises(APIException) as refused:
        sdk.clusters.delete(first.id)
    assert refused.value.code == "forbidden_action"


def test_an_error_is_an_api_exception(sdk):
    with pytest.raises(APIException) as refused:
        sdk.clusters.create(TYPE, "ubuntu-24.04", "bad")
    assert refused.value.code == "invalid_request"
    with pytest.raises(APIException) as missing:
        sdk.clusters.get_by_id("00000000-0000-4000-8000-000000000000")
    assert missing.value.code == "not_found"


def test_availability_follows_what_is_deployed(live, sdk, catalog):
    units = catalog.capacity[WHERE].clusters[TYPE]
    assert sdk.clusters.is_available(TYPE, location_code=WHERE) is True
    assert TYPE in sdk.clusters.get_availabilities(location_code=WHERE)
    ids = [sdk.clusters.create(TYPE, IMAGE, f"c{n}").id for n in range(units)]
    assert sdk.clusters.is_available(TYPE, location_code=WHERE) is False
    assert TYPE not in sdk.clusters.get_availabilities(location_code=WHERE)
    with pytest.raises(APIException) as full:
        sdk.clusters.create(TYPE, IMAGE, "one-too-many")
    assert full.value.code == "service_unavailable" and "capacity" in full.value.message
    sdk.clusters.delete(ids[0])
    assert sdk.clusters.is_available(TYPE, location_code=WHERE) is True
    assert TYPE in sdk.clusters.get_availabilities(location_code=WHERE)


def test_cluster_images(sdk, catalog):
    spec = next(t for t in catalog.cluster_types if t.cluster_type == TYPE)
    assert set(sdk.clusters.get_cluster_images(TYPE)) == set(spec.supported_os)
    assert IMAGE in sdk.clusters.get_cluster_images(TYPE)
    assert "ubuntu-24.04-cuda-13.0-cluster" in sdk.clusters.get_cluster_images(TYPE)
