"""Instances: deploy, lifecycle by the server clock, actions and their volumes."""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from verda.exceptions import APIException

from tests.support.keys import ed25519_key
from tests.test_errors import assert_error

# Capacity is shared by the session's server: what a test deployed goes with it.
pytestmark = pytest.mark.usefixtures("gives_back")

BOOT = 3  # seconds of server clock from provisioning to running


def deploy_body(**overrides):
    body = {
        "instance_type": "CPU.4V.16G",
        "image": "ubuntu-24.04",
        "hostname": "test-host",
        "description": "a test instance",
        "location_code": "FIN-01",
    }
    body.update(overrides)
    return body


def deploy(client, **overrides) -> str:
    response = client.post("/v1/instances", json=deploy_body(**overrides))
    assert response.status_code == 202, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def get(client, instance_id: str) -> dict:
    response = client.get(f"/v1/instances/{instance_id}")
    assert response.status_code == 200, response.text
    return response.json()


def act(client, action: str, ids, **extra):
    return client.put("/v1/instances", json={"action": action, "id": ids, **extra})


def running(live, client, **overrides) -> str:
    instance_id = deploy(client, **overrides)
    live.clock.advance(BOOT)
    assert get(client, instance_id)["status"] == "running"
    return instance_id


def volumes(client) -> list[dict]:
    return client.get("/v1/volumes").json()


def trash(client) -> list[dict]:
    return client.get("/v1/volumes/trash").json()


# ---- deploy ---------------------------------------------------------------


def test_a_new_instance_is_provisioning_then_running_with_every_field(
    live, authed, contract, catalog
):
    key_id = authed.post("/v1/sshkeys", json={"name": "k", "key": ed25519_key()}).text
    script_id = authed.post("/v1/scripts", json={"name": "s", "script": "echo hi"}).text
    instance_id = deploy(
        authed,
        instance_type="1H100.80S.22V",
        image="ubuntu-22.04-cuda-12.4-docker",
        ssh_key_ids=key_id,
        startup_script_id=script_id,
        volumes=[{"name": "data", "size": 500, "type": "NVMe"}],
    )
    path = "/v1/instances/{instance_id}"
    first = contract.check(authed.get(f"/v1/instances/{instance_id}"), path)
    assert first["status"] == "provisioning" and first["ip"] is None
    live.clock.advance(BOOT - 0.5)
    assert get(authed, instance_id)["status"] == "provisioning"
    live.clock.advance(1)
    body = contract.check(authed.get(f"/v1/instances/{instance_id}"), path)
    spec = next(t for t in catalog.instance_types if t.instance_type == "1H100.80S.22V")
    pool = next(loc.public_ip_pool for loc in catalog.locations if loc.code == "FIN-01")
    assert body["status"] == "running"
    assert ip_address(body["ip"]) in pool
    assert body["cpu"] == spec.cpu.model_dump() and body["gpu"] == spec.gpu.model_dump()
    assert body["memory"] == spec.memory.model_dump()
    assert body["gpu_memory"] == spec.gpu_memory.model_dump()
    assert body["price_per_hour"] == float(spec.price_per_hour.usd)
    assert body["image"] == "ubuntu-22.04-cuda-12.4-docker"
    assert body["os_name"] == next(
        i.os_name for i in catalog.images if i.image_type == body["image"]
    )
    assert body["ssh_key_ids"] == [key_id] and body["startup_script_id"] == script_id
    assert (body["hostname"], body["location"]) == ("test-host", "FIN-01")
    assert (body["contract"], body["pricing"], body["is_spot"]) == (
        "PAY_AS_YOU_GO",
        "FIXED_PRICE",
        False,
    )
    assert len(body["jupyter_token"]) == 32
    assert body["created_at"].endswith("Z")
    os_volume, data = volumes(authed)
    assert body["os_volume_id"] == os_volume["id"] and body["volume_ids"] == [
        os_volume["id"],
        data["id"],
    ]
    assert os_volume["is_os_volume"] and os_volume["target"] == "vda"
    assert os_volume["size"] == spec.default_os_volume_size and os_volume["type"] == "NVMe"
    assert os_volume["ssh_key_ids"] == [key_id]
    assert (data["name"], data["target"], data["size"]) == ("data", "vdb", 500)
    assert contract.check(authed.get("/v1/instances"), "/v1/instances") == [body]


def test_spot_instances_take_the_spot_price(live, authed, catalog):
    spec = next(t for t in catalog.instance_types if t.instance_type == "CPU.4V.16G")
    instance_id = deploy(
        authed,
        is_spot=True,
        os_volume={"name": "os", "size": 60, "on_spot_discontinue": "move_to_trash"},
    )
    body = get(authed, instance_id)
    assert body["is_spot"] and body["contract"] == "SPOT"
    assert body["price_per_hour"] == float(spec.spot_price.usd)
    assert volumes(authed)[0]["name"] == "os" and volumes(authed)[0]["size"] == 60


def test_prices_follow_the_project_currency(live, client_of, catalog):
    client = client_of(live.new_project(currency="eur"))
    spec = next(t for t in catalog.instance_types if t.instance_type == "CPU.4V.16G")
    assert get(client, deploy(client))["price_per_hour"] == float(spec.price_per_hour.eur)


def test_images_by_type_by_id_and_by_detached_os_volume(live, authed, catalog):
    image = next(i for i in catalog.images if i.image_type == "ubuntu-22.04")
    first = running(live, authed, image=image.id)
    assert get(authed, first)["image"] == "ubuntu-22.04"
    os_volume_id = get(authed, first)["os_volume_id"]
    assert act(authed, "delete", first, volume_ids=[]).status_code == 202
    reused = deploy(authed, image=os_volume_id, hostname="second")
    body = get(authed, reused)
    assert body["os_volume_id"] == os_volume_id and body["image"] == "ubuntu-22.04"
    assert next(v for v in volumes(authed) if v["id"] == os_volume_id)["status"] == "attached"
    # Now attached, it can't be the image of a third instance.
    assert_error(
        authed.post("/v1/instances", json=deploy_body(image=os_volume_id)), 400, "invalid_request"
    )


# The live service's ids that dstack deploys by (CLIENTS.md), with a type that supports each.
DSTACK_IMAGES = [
    ("2404f580-1300-1111-82b3-f199fb9b701b", "ubuntu-24.04-cuda-13.0-open-docker", "1A100.22V"),
    ("77777777-4f48-4249-82b3-f199fb9b701b", "ubuntu-24.04-cuda-12.8-open-docker", "1A100.22V"),
    ("2088da25-bb0d-41cc-a191-dccae45d96fd", "ubuntu-22.04-cuda-12.0-docker", "1V100.6V"),
    ("2088da25-bb0d-41cc-a191-dccae45d96fd", "ubuntu-22.04-cuda-12.0-docker", "2A6000.20V"),
]


@pytest.mark.parametrize(("image_id", "image_type", "instance_type"), DSTACK_IMAGES)
def test_dstack_deploys_by_the_live_image_ids(live, authed, image_id, image_type, instance_type):
    key_id = authed.post("/v1/sshkeys", json={"name": "k", "key": ed25519_key()}).text
    script_id = authed.post("/v1/scripts", json={"name": "s", "script": "echo"}).text
    body = {
        "instance_type": instance_type,
        "image": image_id,
        "ssh_key_ids": [key_id],
        "startup_script_id": script_id,
        "hostname": "dstack-run-0",
        "description": "dstack-run-0",
        "location_code": "FIN-01",
        "os_volume": {"name": "OS volume", "size": 100},
        "is_spot": False,
        "pricing": "FIXED_PRICE",
    }
    response = authed.post("/v1/instances", json=body)
    assert response.status_code == 202, response.text
    instance = get(authed, response.text)
    assert (instance["image"], instance["instance_type"]) == (image_type, instance_type)
    listed = authed.get("/v1/images", params={"instance_type": instance_type}).json()
    assert {"id": image_id, "image_type": image_type}.items() <= next(
        i for i in listed if i["id"] == image_id
    ).items()
    live.clock.advance(BOOT)
    assert act(authed, "delete", instance["id"]).status_code == 202  # capacity back


def test_every_v100_and_a6000_type_supports_the_cuda_12_0_image(authed, catalog):
    types = [t.instance_type for t in catalog.instance_types if "V100" in t.instance_type]
    types += [t.instance_type for t in catalog.instance_types if "A6000" in t.instance_type]
    assert len(types) == 8
    for name in types:
        images = authed.get("/v1/images", params={"instance_type": name}).json()
        assert "2088da25-bb0d-41cc-a191-dccae45d96fd" in {i["id"] for i in images}, name


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"location_code": None}, "location_code"),
        ({"location_code": "MARS-01"}, "location_code"),
        ({"instance_type": "9X9.1V"}, "instance_type"),
        ({"image": "windows-95"}, "image"),
        ({"image": "ubuntu-24.04-cuda-13.0-open-docker"}, "image"),  # a GPU-only image
        ({"hostname": "-bad-"}, "hostname"),
        ({"hostname": "a" * 64}, "hostname"),
        ({"hostname": ""}, "hostname"),
        ({"pricing": "DYNAMIC_PRICE"}, "DYNAMIC_PRICE"),
        ({"contract": "SPOT"}, "contract"),
        ({"is_spot": True, "contract": "PAY_AS_YOU_GO"}, "is_spot"),
        ({"os_volume": {"name": "os", "size": 0}}, "size"),
        ({"volumes": [{"name": "v", "size": 10, "type": "Floppy"}]}, "type"),
        ({"volumes": [{"name": "v", "size": 10, "type": "NVMe_OS_Cluster"}]}, "type"),
        ({"description": None}, "description"),
    ],
)
def test_bad_deploys_name_the_problem_and_create_nothing(authed, overrides, field):
    body = deploy_body(**overrides)
    body = {k: v for k, v in body.items() if v is not None or k != "location_code"}
    message = assert_error(authed.post("/v1/instances", json=body), 400, "invalid_request")
    assert field in message
    assert authed.get("/v1/instances").json() == [] and volumes(authed) == []


@pytest.mark.parametrize(
    "hostname",
    ["web\n", "h\n", "a\n.b", "a.b\n", "we\nb", "\nweb", "web\r", "we\rb", "web\r\n", "web\n\n"],
)
def test_host_names_with_line_breaks_are_refused(authed, hostname):
    message = assert_error(
        authed.post("/v1/instances", json=deploy_body(hostname=hostname)), 400, "invalid_request"
    )
    assert "hostname" in message
    assert authed.get("/v1/instances").json() == []


@pytest.mark.parametrize(
    "hostname", ["a", "A-9", "a" * 63, "a.b-c.d", ".".join(["a" * 63] * 4)[:253]]
)
def test_host_names_at_the_limits_are_accepted_as_sent(authed, hostname):
    assert get(authed, deploy(authed, hostname=hostname))["hostname"] == hostname


def test_missing_references_are_not_found_and_create_nothing(live, authed):
    missing = "00000000-0000-4000-8000-000000000000"
    for overrides in (
        {"ssh_key_ids": [missing]},
        {"startup_script_id": missing},
        {"existing_volumes": [missing]},
    ):
        assert_error(authed.post("/v1/instances", json=deploy_body(**overrides)), 404, "not_found")
    assert authed.get("/v1/instances").json() == [] and volumes(authed) == []


def test_existing_volumes_must_be_detached_non_os_and_local(live, authed):
    def make(location: str) -> str:
        return authed.post(
            "/v1/volumes", json={"type": "NVMe", "name": "x", "size": 10, "location_code": location}
        ).text

    local, remote = make("FIN-01"), make("ICE-01")
    assert_error(
        authed.post("/v1/instances", json=deploy_body(existing_volumes=[remote])),
        400,
        "invalid_request",
    )
    instance_id = deploy(authed, existing_volumes=[local])
    assert local in get(authed, instance_id)["volume_ids"]
    assert_error(
        authed.post("/v1/instances", json=deploy_body(existing_volumes=[local])),
        400,
        "invalid_request",
    )
    os_volume_id = get(authed, instance_id)["os_volume_id"]
    assert_error(
        authed.post("/v1/instances", json=deploy_body(existing_volumes=[os_volume_id])),
        400,
        "invalid_request",
    )


def test_capacity_is_consumed_and_released(live, authed, catalog):
    location, name, units = min(
        (
            (code, type_name, cap.on_demand)
            for code, location_cap in catalog.capacity.items()
            for type_name, cap in location_cap.instances.items()
            if 0 < cap.on_demand <= 4 and type_name.startswith("CPU") is False
        ),
        key=lambda row: row[2],
    )
    spec = next(t for t in catalog.instance_types if t.instance_type == name)
    image = spec.supported_os[0]
    path = f"/v1/instance-availability/{name}"
    ids = [
        deploy(authed, instance_type=name, image=image, location_code=location)
        for _ in range(units)
    ]
    assert authed.get(path, params={"location_code": location}).json() is False
    listed = authed.get("/v1/instance-availability", params={"location_code": location}).json()
    assert name not in listed[0]["availabilities"]
    full = authed.post(
        "/v1/instances", json=deploy_body(instance_type=name, image=image, location_code=location)
    )
    message = assert_error(full, 503, "service_unavailable")
    assert "capacity" in message
    live.clock.advance(BOOT)  # a provisioning instance can't be deleted yet
    assert act(authed, "delete", ids[0]).status_code == 202
    assert authed.get(path, params={"location_code": location}).json() is True


# ---- actions --------------------------------------------------------------


def test_shutdown_start_and_the_204_of_nothing_to_do(live, authed):
    instance_id = running(live, authed)
    response = act(authed, "shutdown", instance_id)
    assert response.status_code == 202
    assert response.json() == [
        {"instanceId": instance_id, "action": "shutdown", "status": "success"}
    ]
    assert get(authed, instance_id)["status"] == "offline"
    again = act(authed, "shutdown", instance_id)
    assert again.status_code == 204 and again.content == b""
    assert act(authed, "start", instance_id).status_code == 202
    assert get(authed, instance_id)["status"] == "provisioning"
    assert act(authed, "boot", instance_id).status_code == 204
    live.clock.advance(BOOT)
    assert get(authed, instance_id)["status"] == "running"
    assert act(authed, "force_shutdown", instance_id).status_code == 202
    assert act(authed, "force_shutdown", instance_id).status_code == 204


def test_bulk_actions_report_each_instance(live, authed):
    a, b = running(live, authed), running(live, authed, hostname="b")
    missing = "00000000-0000-4000-8000-000000000000"
    both = act(authed, "shutdown", [a, b])
    assert both.status_code == 202 and [r["status"] for r in both.json()] == ["success"] * 2
    assert act(authed, "start", [a]).status_code == 202
    mixed = act(authed, "hibernate", [a, b, missing])
    assert mixed.status_code == 207
    results = {r["instanceId"]: r for r in mixed.json()}
    assert results[b] == {"instanceId": b, "action": "hibernate", "status": "success"}
    assert results[a] == {
        "instanceId": a,
        "action": "hibernate",
        "status": "error",
        "error": "Can't hibernate a provisioning instance",
        "statusCode": 403,
    }
    assert results[missing]["statusCode"] == 404
    assert results[missing]["error"].startswith("Invalid instance id")
    assert [i["id"] for i in authed.get("/v1/instances").json()] == [a]


def test_single_action_errors(live, authed):
    """Refused transitions are 403 forbidden_action; malformed requests stay 400."""
    instance_id = deploy(authed)
    missing = "00000000-0000-4000-8000-000000000000"
    assert assert_error(act(authed, "delete", missing), 404, "not_found") == "Invalid instance id"
    for action in ("delete", "discontinue"):
        assert assert_error(act(authed, action, instance_id), 403, "forbidden_action") == (
            "Can't discontinue a provisioning instance"
        )
    assert "shut down" in assert_error(
        act(authed, "hibernate", running(live, authed)), 403, "forbidden_action"
    )
    assert assert_error(act(authed, "configure_spot", instance_id), 403, "forbidden_action") == (
        "Can't configure_spot an instance that is not a spot instance"
    )
    live.clock.advance(BOOT)
    assert assert_error(act(authed, "delete_stuck", instance_id), 403, "forbidden_action") == (
        "Can't delete_stuck a running instance"
    )
    for refused in ("deploy", "transfer", "restore", "explode"):
        assert_error(act(authed, refused, instance_id), 400, "invalid_request")
    assert_error(act(authed, "shutdown", []), 400, "invalid_request")
    assert get(authed, instance_id)["status"] == "running"


def test_a_discontinued_instance_reads_as_such_and_refuses_everything(live, authed, contract):
    instance_id = running(live, authed)
    before = get(authed, instance_id)
    assert act(authed, "discontinue", instance_id).status_code == 202
    for action in ("discontinue", "delete"):
        message = assert_error(act(authed, action, instance_id), 403, "forbidden_action")
        assert message == "Can't discontinue a discontinued instance"
    message = assert_error(act(authed, "start", instance_id), 403, "forbidden_action")
    assert message == "Can't start a discontinued instance"
    body = contract.check(authed.get(f"/v1/instances/{instance_id}"), "/v1/instances/{instance_id}")
    # Its address went back to the pool and its volumes were released; the rest is as it was.
    assert body == before | {"status": "discontinued", "ip": None, "volume_ids": []}
    assert authed.get("/v1/instances").json() == []
    assert authed.get("/v1/instances", params={"status": "running"}).json() == []
    listed = authed.get("/v1/instances", params={"status": "discontinued"}).json()
    assert listed == [body]


def test_spot_instances_accept_configure_spot(live, authed):
    instance_id = running(live, authed, is_spot=True)
    assert act(authed, "configure_spot", instance_id).status_code == 202


def test_delete_without_volume_ids_trashes_the_os_volume_and_detaches_the_rest(live, authed):
    instance_id = running(live, authed, volumes=[{"name": "data", "size": 10, "type": "HDD"}])
    os_volume_id = get(authed, instance_id)["os_volume_id"]
    assert act(authed, "delete", instance_id).status_code == 202
    assert authed.get("/v1/instances").json() == []
    assert get(authed, instance_id)["status"] == "discontinued"
    assert [(v["name"], v["status"]) for v in volumes(authed)] == [("data", "detached")]
    assert [v["id"] for v in trash(authed)] == [os_volume_id]


def test_delete_with_an_empty_list_keeps_every_volume(live, authed):
    instance_id = running(live, authed, volumes=[{"name": "data", "size": 10, "type": "HDD"}])
    assert act(authed, "delete", instance_id, volume_ids=[]).status_code == 202
    assert {v["status"] for v in volumes(authed)} == {"detached"} and len(volumes(authed)) == 2
    assert trash(authed) == []


def test_delete_with_listed_volumes_permanently(live, authed):
    instance_id = running(live, authed, volumes=[{"name": "data", "size": 10, "type": "HDD"}])
    body = get(authed, instance_id)
    data_id = next(v for v in body["volume_ids"] if v != body["os_volume_id"])
    response = act(authed, "delete", instance_id, volume_ids=[data_id], delete_permanently=True)
    assert response.status_code == 202
    assert [v["id"] for v in volumes(authed)] == [body["os_volume_id"]]
    assert trash(authed) == []
    gone = authed.get(f"/v1/volumes/{data_id}").json()
    assert gone["status"] == "deleted" and gone["is_permanently_deleted"] is True


def test_delete_refuses_volumes_that_are_not_attached_to_it(live, authed):
    instance_id = running(live, authed)
    other = authed.post(
        "/v1/volumes", json={"type": "HDD", "name": "x", "size": 10, "location_code": "FIN-01"}
    ).text
    assert_error(act(authed, "delete", instance_id, volume_ids=[other]), 404, "not_found")
    assert get(authed, instance_id)["status"] == "running"


def test_hibernate_detaches_everything_and_removes_the_instance(live, authed):
    instance_id = running(live, authed)
    act(authed, "shutdown", instance_id)
    assert act(authed, "hibernate", instance_id).status_code == 202
    assert authed.get("/v1/instances").json() == []
    assert [v["status"] for v in volumes(authed)] == ["detached"]
    body = get(authed, instance_id)
    assert body["status"] == "discontinued" and body["os_volume_id"] == volumes(authed)[0]["id"]
    message = assert_error(act(authed, "delete", instance_id), 403, "forbidden_action")
    assert message == "Can't discontinue a discontinued instance"


def test_the_deprecated_action_path_behaves_the_same(live, authed):
    instance_id = running(live, authed)
    response = authed.post("/v1/instances/action", json={"action": "shutdown", "id": [instance_id]})
    assert response.status_code == 202
    assert get(authed, instance_id)["status"] == "offline"


def test_status_filter(live, authed):
    a, b = running(live, authed), running(live, authed, hostname="b")
    act(authed, "shutdown", b)
    assert [i["id"] for i in authed.get("/v1/instances", params={"status": "running"}).json()] == [
        a
    ]
    assert [i["id"] for i in authed.get("/v1/instances", params={"status": "offline"}).json()] == [
        b
    ]
    assert_error(authed.get("/v1/instances", params={"status": "sleepy"}), 400, "invalid_request")


def test_deleting_a_referenced_key_or_script_keeps_the_instance_truthful(live, authed):
    key_id = authed.post("/v1/sshkeys", json={"name": "k", "key": ed25519_key()}).text
    keep_id = authed.post("/v1/sshkeys", json={"name": "k2", "key": ed25519_key()}).text
    script_id = authed.post("/v1/scripts", json={"name": "s", "script": "echo"}).text
    instance_id = deploy(authed, ssh_key_ids=[key_id, keep_id], startup_script_id=script_id)
    assert authed.delete(f"/v1/sshkeys/{key_id}").status_code == 200
    assert authed.delete(f"/v1/scripts/{script_id}").status_code == 200
    body = get(authed, instance_id)
    assert body["ssh_key_ids"] == [keep_id] and body["startup_script_id"] is None
    os_volume = authed.get(f"/v1/volumes/{body['os_volume_id']}").json()
    assert os_volume["ssh_key_ids"] == [keep_id]


def test_instances_are_private_to_their_project(live, http):
    a, b = live.new_project(), live.new_project()
    ha = {"Authorization": f"Bearer {a.access_token(http)}"}
    hb = {"Authorization": f"Bearer {b.access_token(http)}"}
    instance_id = http.post("/v1/instances", json=deploy_body(), headers=ha).text
    assert http.get("/v1/instances", headers=hb).json() == []
    assert_error(http.get(f"/v1/instances/{instance_id}", headers=hb), 404, "not_found")
    assert_error(
        http.put("/v1/instances", json={"action": "delete", "id": instance_id}, headers=hb),
        404,
        "not_found",
    )
    key_id = http.post("/v1/sshkeys", json={"name": "b", "key": ed25519_key()}, headers=hb).text
    assert_error(
        http.post("/v1/instances", json=deploy_body(ssh_key_ids=[key_id]), headers=ha),
        404,
        "not_found",
    )
    assert http.get(f"/v1/instances/{instance_id}", headers=ha).status_code == 200


# ---- the SDK ----------------------------------------------------------------


def test_sdk_lifecycle_provisioning_running_offline_running_deleted(live, sdk):
    key = sdk.ssh_keys.create("k", ed25519_key())
    instance = sdk.instances.create(
        "CPU.4V.16G",
        "ubuntu-24.04",
        "sdk-host",
        "from the sdk",
        ssh_key_ids=[key.id],
        location="FIN-01",
        volumes=[{"name": "data", "size": 20, "type": "NVMe"}],
    )
    assert instance.status == "provisioning" and instance.ip is None
    live.clock.advance(BOOT)
    fetched = sdk.instances.get_by_id(instance.id)
    assert fetched.status == "running" and fetched.ip
    assert [i.id for i in sdk.instances.get(status="running")] == [instance.id]
    sdk.instances.action(instance.id, "shutdown")
    assert sdk.instances.get_by_id(instance.id).status == "offline"
    sdk.instances.action([instance.id], "start")
    live.clock.advance(BOOT)
    assert sdk.instances.get_by_id(instance.id).status == "running"
    sdk.instances.action(instance.id, "delete", volume_ids=None)
    assert sdk.instances.get() == []
    assert [v.name for v in sdk.volumes.get()] == ["data"]
    assert [v.id for v in sdk.volumes.get_in_trash()] == [fetched.os_volume_id]
    gone = sdk.instances.get_by_id(instance.id)
    assert (gone.id, gone.status, gone.hostname) == (instance.id, "discontinued", "sdk-host")
    assert [i.id for i in sdk.instances.get(status="discontinued")] == [instance.id]
    with pytest.raises(APIException) as raised:
        sdk.instances.action(instance.id, "delete")
    assert raised.value.code == "forbidden_action"
    assert raised.value.message == "Can't discontinue a discontinued instance"
    with pytest.raises(APIException) as raised:
        sdk.instances.get_by_id("00000000-0000-4000-8000-000000000000")
    assert (raised.value.code, raised.value.message) == ("not_found", "Invalid instance id")


def test_sdk_availability_and_errors(sdk):
    assert sdk.instances.is_available("CPU.4V.16G", location_code="FIN-01") is True
    with pytest.raises(APIException) as raised:
        sdk.instances.create(
            "CPU.4V.16G", "ubuntu-24.04", "h", "d", location="FIN-01", pricing="DYNAMIC_PRICE"
        )
    assert raised.value.code == "invalid_request"
