"""Clusters over raw HTTP: deploy and its checks, the cluster object, capacity,
the shared volumes, the lifecycle by the server clock, and discontinue."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from tests.support.clusters import (
    BOOT,
    IMAGE,
    TYPE,
    WHERE,
    cluster_body,
    deploy,
    discontinue_all,
    get,
    give_back,
)
from tests.support.keys import ed25519_key
from tests.support.volumes import MISSING
from tests.test_errors import assert_error
from verda_server.clock import isoformat

TICK = 0.001


@pytest.fixture(autouse=True)
def _capacity_given_back(live):
    yield
    give_back(live)


def _spec(catalog, name: str = TYPE):
    return next(t for t in catalog.cluster_types if t.cluster_type == name)


def _volume(client, **fields) -> str:
    body = {"type": "NVMe_Shared", "name": "data", "size": 50, "location_code": WHERE, **fields}
    response = client.post("/v1/volumes", json=body)
    assert response.status_code == 202, response.text
    return response.text


def _volumes(client) -> dict[str, dict]:
    return {v["id"]: v for v in client.get("/v1/volumes").json()}


def _units(catalog, location: str, name: str) -> int:
    capacity = catalog.capacity.get(location)
    return capacity.clusters.get(name, 0) if capacity else 0


# ---- deploy and the cluster object ----------------------------------------


def test_a_new_cluster_has_every_field(live, authed, contract, catalog):
    key_id = authed.post("/v1/sshkeys", json={"name": "k", "key": ed25519_key()}).text
    script_id = authed.post("/v1/scripts", json={"name": "s", "script": "echo hi"}).text
    extra = _volume(authed, name="datasets")
    created_at = isoformat(live.clock.now())
    cluster_id = deploy(
        authed,
        hostname="train",
        ssh_key_ids=[key_id],
        startup_script_id=script_id,
        shared_volume={"name": "train-home", "size": 30000},
        existing_volumes=[{"id": extra}],
        contract="PAY_AS_YOU_GO",
        extension_settings="auto_renew",
        auto_rent_extension=True,
    )
    cluster = contract.check(authed.get(f"/v1/clusters/{cluster_id}"), "/v1/clusters/{cluster_id}")
    spec = _spec(catalog)
    home = next(v for v in _volumes(authed).values() if v["name"] == "train-home")
    assert cluster == {
        "id": cluster_id,
        "ip": None,
        "status": "provisioning",
        "created_at": created_at,
        "cpu": spec.cpu.model_dump(),
        "gpu": spec.gpu.model_dump(),
        "gpu_memory": spec.gpu_memory.model_dump(),
        "memory": spec.memory.model_dump(),
        "hostname": "train",
        "description": "a test cluster",
        "tags": [],
        "location": WHERE,
        "price_per_hour": float(spec.price_per_hour.usd),
        "cluster_type": TYPE,
        "image": IMAGE,
        "os_name": "Ubuntu 22.04",
        "startup_script_id": script_id,
        "ssh_key_ids": [key_id],
        "contract": "PAY_AS_YOU_GO",
        "auto_rental_extension": True,
        "turn_to_pay_as_you_go": None,
        "extension_settings": "auto_renew",
        "long_term_period": None,
        "worker_nodes": cluster["worker_nodes"],
        "shared_volumes": [
            {
                "id": home["id"],
                "name": "train-home",
                "mount_point": "/home",
                "size_in_gigabytes": 30000,
            },
            {
                "id": extra,
                "name": "datasets",
                "mount_point": "/mnt/datasets",
                "size_in_gigabytes": 50,
            },
        ],
    }
    nodes = cluster["worker_nodes"]
    assert len(nodes) == spec.gpu.number_of_gpus // 8 == 2
    assert [n["hostname"] for n in nodes] == ["train-1", "train-2"]
    assert len({n["id"] for n in nodes}) == 2
    for node in nodes:
        assert set(node) == {"id", "hostname", "public_ip", "private_ip", "status"}
        assert node["public_ip"] is None and node["status"] == "provisioning"
        assert ip_address(node["private_ip"]) in ip_network("10.0.0.0/8")
    assert get(authed, cluster_id)["worker_nodes"] == nodes  # the same nodes every time
    listed = contract.check(authed.get("/v1/clusters"), "/v1/clusters")
    assert listed == [cluster]


def test_eur_projects_are_priced_in_eur(live, client_of, catalog):
    client = client_of(live.new_project(currency="eur"))
    cluster = get(client, deploy(client))
    assert cluster["price_per_hour"] == float(_spec(catalog).price_per_hour.eur)


def test_what_python_and_go_send_is_accepted(authed):
    python = cluster_body(
        description="",
        ssh_key_ids=[],
        contract="PAY_AS_YOU_GO",
        startup_script_id=None,
        shared_volume={"name": "c1-shared-volume", "size": 30000},
    )
    response = authed.post("/v1/clusters", json=python)
    assert response.status_code == 201, response.text
    go = cluster_body(ssh_key_ids=None, description=None, auto_rental_extension=None, tags=None)
    cluster = get(authed, deploy(authed, **go))
    assert cluster["description"] == "" and cluster["ssh_key_ids"] == []
    assert cluster["startup_script_id"] is None and cluster["auto_rental_extension"] is None


@pytest.mark.parametrize("field", ["image_type", "id", "name"])
def test_the_image_by_its_type_id_or_name(authed, catalog, field):
    image = next(i for i in catalog.cluster_images if i.image_type == IMAGE)
    cluster = get(authed, deploy(authed, image=getattr(image, field)))
    assert cluster["image"] == IMAGE and cluster["os_name"] == image.os_name


def test_one_ssh_key_as_a_string(authed):
    key_id = authed.post("/v1/sshkeys", json={"name": "k", "key": ed25519_key()}).text
    assert get(authed, deploy(authed, ssh_key_ids=key_id))["ssh_key_ids"] == [key_id]


UNSUPPORTED = "ubuntu-22.04-cuda-12.4-cluster"  # a cluster image 16B200 does not take


@pytest.mark.parametrize(
    ("fields", "status", "names"),
    [
        ({"cluster_type": "99Z999"}, 400, "cluster_type"),
        ({"cluster_type": None}, 400, "cluster_type"),
        ({"image": "windows-95"}, 400, "image"),
        ({"image": "ubuntu-24.04"}, 400, "image"),  # an instance image
        ({"image": UNSUPPORTED}, 400, "image"),
        ({"location_code": "MARS-01"}, 400, "location_code"),
        ({"location_code": None}, 400, "location_code"),
        ({"hostname": "-bad"}, 400, "hostname"),
        ({"contract": "LONG_TERM"}, 400, "PAY_AS_YOU_GO"),
        ({"contract": "SPOT"}, 400, "contract"),
        ({"extension_settings": "forever"}, 400, "extension_settings"),
        ({"shared_volume": None}, 400, "shared_volume"),
        ({"shared_volume": {"name": "v", "size": 0}}, 400, "shared_volume.size"),
        ({"shared_volume": {"name": "v", "size": 100_001}}, 400, "shared_volume.size"),
        ({"shared_volume": {"name": " ", "size": 10}}, 400, "shared_volume.name"),
        ({"shared_volume": {"size": 10}}, 400, "shared_volume.name"),
        ({"ssh_key_ids": [MISSING]}, 404, "SSH key"),
        ({"startup_script_id": MISSING}, 404, "script"),
        ({"existing_volumes": [{"id": MISSING}]}, 404, "Volume"),
    ],
)
def test_a_deploy_refused_creates_nothing(authed, fields, status, names):
    response = authed.post("/v1/clusters", json=cluster_body(**fields))
    message = assert_error(response, status, "invalid_request" if status == 400 else "not_found")
    assert names.lower() in message.lower()
    assert authed.get("/v1/clusters").json() == []
    assert authed.get("/v1/volumes").json() == []


def test_existing_volumes_must_be_detached_shared_and_here(live, authed, client_of):
    def refused(volume_id: str, words: str) -> None:
        response = authed.post(
            "/v1/clusters", json=cluster_body(existing_volumes=[{"id": volume_id}])
        )
        assert words in assert_error(response, 400, "invalid_request")

    refused(_volume(authed, type="NVMe"), "not shared")
    refused(_volume(authed, location_code="FIN-01"), f"not {WHERE}")
    cluster_id = deploy(authed)
    home = get(authed, cluster_id)["shared_volumes"][0]["id"]
    refused(home, "attached, not detached")
    other = client_of(live.new_project())
    theirs = _volume(other)
    assert_error(
        authed.post("/v1/clusters", json=cluster_body(existing_volumes=[{"id": theirs}])),
        404,
        "not_found",
    )
    assert [c["id"] for c in authed.get("/v1/clusters").json()] == [cluster_id]


def test_two_existing_volumes_of_one_name_get_two_mount_points(authed):
    first, second = _volume(authed, name="data"), _volume(authed, name="data")
    cluster = get(authed, deploy(authed, existing_volumes=[{"id": first}, {"id": second}]))
    assert [v["mount_point"] for v in cluster["shared_volumes"]] == [
        "/home",
        "/mnt/data",
        "/mnt/data-2",
    ]


def test_a_volume_name_that_is_no_path_gives_a_mount_point_that_is_one(authed):
    """Names are free text; a mount point is a directory a machine mounts at
    (and `:` or `,` would split podman's --volume): other characters become `-`."""
    names = ["../../etc", "data:ro", "my data,x", "..", "data-ro"]
    ids = [_volume(authed, name=name) for name in names]
    cluster = get(authed, deploy(authed, existing_volumes=[{"id": i} for i in ids]))
    assert [v["mount_point"] for v in cluster["shared_volumes"]] == [
        "/home",
        "/mnt/etc",
        "/mnt/data-ro",
        "/mnt/my-data-x",
        "/mnt/volume",
        "/mnt/data-ro-2",
    ]


# ---- capacity and availability ---------------------------------------------


def _available(client, name: str, location: str) -> tuple[bool, bool]:
    one = client.get(f"/v1/cluster-availability/{name}", params={"location_code": location})
    listed = client.get("/v1/cluster-availability", params={"location_code": location}).json()
    return one.json(), name in listed[0]["availabilities"]


def test_capacity_is_consumed_to_the_last_unit_and_released(live, authed, catalog):
    units = _units(catalog, WHERE, TYPE)
    assert units >= 2
    ids = []
    for _ in range(units - 1):
        ids.append(deploy(authed))
    assert _available(authed, TYPE, WHERE) == (True, True)
    ids.append(deploy(authed))  # the last unit
    assert _available(authed, TYPE, WHERE) == (False, False)
    full = authed.post("/v1/clusters", json=cluster_body())
    message = assert_error(full, 503, "service_unavailable")
    assert "capacity" in message and TYPE in message and WHERE in message
    assert len(authed.get("/v1/clusters").json()) == units  # the refused one made nothing
    assert len(authed.get("/v1/volumes").json()) == units
    assert discontinue_all(authed, ids[0]).status_code == 202
    assert _available(authed, TYPE, WHERE) == (True, True)
    ids.append(deploy(authed))
    assert _available(authed, TYPE, WHERE) == (False, False)


def test_capacity_is_shared_by_every_project(live, authed, client_of, catalog):
    other = client_of(live.new_project())
    ids = [deploy(other) for _ in range(_units(catalog, WHERE, TYPE))]
    assert_error(authed.post("/v1/clusters", json=cluster_body()), 503, "service_unavailable")
    discontinue_all(other, ids[-1])
    deploy(authed)


def test_no_capacity_where_the_catalog_has_none(authed, catalog):
    for location in ("ICE-01", "FIN-02"):
        assert _units(catalog, location, "16H200") == 0
        response = authed.post(
            "/v1/clusters",
            json=cluster_body(
                cluster_type="16H200",
                image="ubuntu-22.04-cuda-12.4-cluster",
                location_code=location,
            ),
        )
        assert "capacity" in assert_error(response, 503, "service_unavailable")


# ---- lifecycle ---------------------------------------------------------------


def test_provisioning_long_enough_for_the_sdk_s_polls_then_running(live, authed, catalog):
    instance = authed.post(
        "/v1/instances",
        json={
            "instance_type": "CPU.4V.16G",
            "image": "ubuntu-24.04",
            "hostname": "i",
            "description": "",
            "location_code": WHERE,
        },
    ).text
    cluster_id = deploy(authed)
    start = get(authed, cluster_id)
    assert start["status"] == "provisioning" and start["ip"] is None
    elapsed = 0.0
    for moment in (1, 3, 7, BOOT - TICK):  # the Python SDK polls at 0, 1, 3, 7 s
        live.clock.advance(moment - elapsed)
        elapsed = moment
        seen = get(authed, cluster_id)
        assert seen["status"] == "provisioning" and seen["ip"] is None, moment
        assert {n["status"] for n in seen["worker_nodes"]} == {"provisioning"}
    assert [c["id"] for c in authed.get("/v1/clusters", params={"status": "running"}).json()] == []
    live.clock.advance(TICK)
    running = get(authed, cluster_id)
    assert running["status"] == "running"
    assert {n["status"] for n in running["worker_nodes"]} == {"running"}
    pool = next(loc.public_ip_pool for loc in catalog.locations if loc.code == WHERE)
    assert ip_address(running["ip"]) in pool
    assert running["ip"] != authed.get(f"/v1/instances/{instance}").json()["ip"]
    by_status = authed.get("/v1/clusters", params={"status": "running"}).json()
    assert [c["id"] for c in by_status] == [cluster_id]
    assert authed.get("/v1/clusters", params={"status": "provisioning"}).json() == []


# ---- shared volumes ------------------------------------------------------------


def test_the_shared_volumes_read_attached_to_the_cluster(live, authed, contract):
    extra = _volume(authed, name="datasets")
    cluster_id = deploy(authed, existing_volumes=[{"id": extra}])
    home_id = get(authed, cluster_id)["shared_volumes"][0]["id"]
    volumes = _volumes(authed)
    assert set(volumes) == {home_id, extra}
    home = contract.check(authed.get(f"/v1/volumes/{home_id}"), "/v1/volumes/{volume_id}")
    assert home == volumes[home_id]
    assert home["type"] == "NVMe_Shared_Cluster" and home["size"] == 1000
    assert home["name"] == "c1-home" and home["location"] == WHERE
    for volume in volumes.values():
        assert volume["status"] == "attached"
        assert volume["instance_id"] == cluster_id and volume["instances"] == []
    attached = authed.get("/v1/volumes", params={"status": "attached"}).json()
    assert {v["id"] for v in attached} == {home_id, extra}


@pytest.mark.parametrize("action", ["detach", "delete", "attach"])
def test_a_cluster_s_volume_can_t_leave_it(live, authed, action):
    cluster_id = deploy(authed)
    home_id = get(authed, cluster_id)["shared_volumes"][0]["id"]
    fields = {}
    if action == "attach":
        instance = authed.post(
            "/v1/instances",
            json={
                "instance_type": "CPU.4V.16G",
                "image": "ubuntu-24.04",
                "hostname": "i",
                "description": "",
                "location_code": WHERE,
            },
        ).text
        fields = {"instance_id": instance}
    response = authed.put("/v1/volumes", json={"action": action, "id": home_id, **fields})
    message = assert_error(response, 403, "forbidden_action")
    assert cluster_id in message and "discontinue the cluster" in message
    assert _volumes(authed)[home_id]["status"] == "attached"


def test_a_cluster_s_volume_can_t_be_deleted_by_id(authed):
    home_id = get(authed, deploy(authed))["shared_volumes"][0]["id"]
    message = assert_error(authed.delete(f"/v1/volumes/{home_id}"), 403, "forbidden_action")
    assert "cluster" in message
    assert _volumes(authed)[home_id]["status"] == "attached"


def test_a_cluster_s_volume_can_be_renamed_and_grown(authed):
    cluster_id = deploy(authed)
    home_id = get(authed, cluster_id)["shared_volumes"][0]["id"]
    for fields in ({"action": "rename", "name": "renamed"}, {"action": "resize", "size": 2000}):
        response = authed.put("/v1/volumes", json={"id": home_id, **fields})
        assert response.status_code == 202, response.text
    (home, *_) = get(authed, cluster_id)["shared_volumes"]
    assert home == {
        "id": home_id,
        "name": "renamed",
        "mount_point": "/home",
        "size_in_gigabytes": 2000,
    }


def test_cluster_volume_types_stay_the_clusters_own(authed):
    body = {"type": "NVMe_Shared_Cluster", "name": "v", "size": 10, "location_code": WHERE}
    assert_error(authed.post("/v1/volumes", json=body), 400, "invalid_request")


# ---- discontinue -------------------------------------------------------------


def test_discontinue_one_cluster(live, authed, catalog):
    extra = _volume(authed, name="datasets")
    cluster_id = deploy(authed, existing_volumes=[{"id": extra}])
    live.clock.advance(BOOT)
    home_id = get(authed, cluster_id)["shared_volumes"][0]["id"]
    response = authed.put("/v1/clusters", json={"action": "discontinue", "id": cluster_id})
    assert response.status_code == 202 and response.content == b""
    gone = get(authed, cluster_id)
    assert gone["status"] == "discontinued" and gone["ip"] is None
    assert gone["shared_volumes"] == []
    assert {n["status"] for n in gone["worker_nodes"]} == {"discontinued"}
    assert authed.get("/v1/clusters").json() == []
    listed = authed.get("/v1/clusters", params={"status": "discontinued"}).json()
    assert listed == [gone]
    volumes = _volumes(authed)  # detached, kept: deleted by hand
    for volume_id in (home_id, extra):
        assert volumes[volume_id]["status"] == "detached"
        assert volumes[volume_id]["instance_id"] is None
    response = authed.put("/v1/volumes", json={"action": "delete", "id": [home_id, extra]})
    assert response.status_code == 202, response.text
    again = authed.put("/v1/clusters", json={"action": "discontinue", "id": cluster_id})
    assert (
        assert_error(again, 403, "forbidden_action") == "Can't discontinue a discontinued cluster"
    )


def test_discontinue_several_in_one_bulk_call_or_none_of_them(live, authed):
    first, second = deploy(authed), deploy(authed)
    refused = discontinue_all(authed, first, MISSING)
    assert_error(refused, 404, "not_found")
    assert get(authed, first)["status"] == "provisioning"  # all or nothing
    response = discontinue_all(authed, first, second)
    assert response.status_code == 202 and response.content == b""
    assert {get(authed, i)["status"] for i in (first, second)} == {"discontinued"}
    assert_error(discontinue_all(authed, first), 403, "forbidden_action")


def test_delete_is_an_alias_and_an_address_goes_back_to_the_pool(live, authed):
    first = deploy(authed)
    live.clock.advance(BOOT)
    address = get(authed, first)["ip"]
    body = {"actions": [{"action": "delete", "id": first}]}
    assert authed.put("/v1/clusters", json=body).status_code == 202
    second = deploy(authed)
    live.clock.advance(BOOT)
    assert get(authed, second)["ip"] == address  # the lowest free address, again


@pytest.mark.parametrize(
    "body",
    [
        {"action": "reboot", "id": MISSING},
        {
            "actions": [
                {"action": "discontinue", "id": MISSING},
                {"action": "hibernate", "id": MISSING},
            ]
        },
        {"actions": []},
        {"action": "discontinue"},
        {},
    ],
)
def test_malformed_actions_are_refused(authed, body):
    assert_error(authed.put("/v1/clusters", json=body), 400, "invalid_request")


def test_unknown_ids_are_not_found(authed):
    for cluster_id in (MISSING, "not-a-uuid"):
        assert_error(authed.get(f"/v1/clusters/{cluster_id}"), 404, "not_found")
        body = {"action": "discontinue", "id": cluster_id}
        assert_error(authed.put("/v1/clusters", json=body), 404, "not_found")


def test_another_project_s_cluster_is_not_found(live, authed, client_of):
    other = client_of(live.new_project())
    theirs = deploy(other)
    missing = authed.get(f"/v1/clusters/{MISSING}").json()
    answer = authed.get(f"/v1/clusters/{theirs}")
    assert_error(answer, 404, "not_found")
    assert answer.json()["message"] == missing["message"].replace(MISSING, theirs)
    assert_error(discontinue_all(authed, theirs), 404, "not_found")
    assert authed.get("/v1/clusters").json() == []
    assert authed.get("/v1/clusters", params={"status": "discontinued"}).json() == []
    assert authed.get("/v1/volumes").json() == []
    assert get(other, theirs)["status"] == "provisioning"
