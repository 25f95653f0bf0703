"""What the second review found: races between writers, volumes shared across
instances, OS disks moving between instances, and the address pool running dry."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.live import TLS, start_live_server
from tests.support.volumes import create, get, make_instances
from tests.test_errors import assert_error
from tests.test_instances import BOOT, act, deploy, deploy_body, running, trash
from verda_server.catalog.source import load_source

# Capacity is shared by the session's server: what a test deployed goes with it.
pytestmark = pytest.mark.usefixtures("gives_back")


def _parallel(live, token: str, requests: list[tuple[str, str, dict]]) -> list[int]:
    def send(request: tuple[str, str, dict]) -> int:
        method, path, body = request
        with httpx.Client(verify=TLS, base_url=live.base_url, timeout=30) as client:
            headers = {"Authorization": f"Bearer {token}"}
            return client.request(method, path, json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def test_racing_attaches_put_a_volume_on_one_instance_only(live, authed, token):
    instances = make_instances(live, authed, count=4)
    volume_id = create(authed, type="NVMe")
    codes = _parallel(
        live,
        token,
        [
            ("PUT", "/v1/volumes", {"action": "attach", "id": volume_id, "instance_id": i})
            for i in instances
        ],
    )
    assert sorted(codes) == [202, 403, 403, 403]
    assert len(get(authed, volume_id)["instances"]) == 1


def test_racing_attaches_to_one_instance_get_distinct_devices(live, authed, token):
    (instance_id,) = make_instances(live, authed)
    volume_ids = [create(authed, type="HDD") for _ in range(6)]
    codes = _parallel(
        live,
        token,
        [
            ("PUT", "/v1/volumes", {"action": "attach", "id": v, "instance_id": instance_id})
            for v in volume_ids
        ],
    )
    assert codes == [202] * 6
    targets = [get(authed, v)["target"] for v in volume_ids]
    assert len(set(targets)) == 6 and "vda" not in targets


def test_racing_deploys_never_oversell_capacity(live, authed, token, catalog):
    location, name, units = min(
        (
            (code, type_name, cap.on_demand)
            for code, location_cap in catalog.capacity.items()
            for type_name, cap in location_cap.instances.items()
            if cap.on_demand > 0 and not type_name.startswith("CPU")
        ),
        key=lambda row: (row[2], row[1]),
    )
    spec = next(t for t in catalog.instance_types if t.instance_type == name)
    body = deploy_body(instance_type=name, image=spec.supported_os[0], location_code=location)
    codes = _parallel(live, token, [("POST", "/v1/instances", body)] * (units + 6))
    from tests.test_catalog import free_units

    assert codes.count(202) <= units and free_units(live, location, name, False) == 0
    assert set(codes) <= {202, 503}


def test_a_bulk_delete_deletes_each_instance_s_listed_volumes(live, authed):
    a, b = running(live, authed), running(live, authed, hostname="b")
    oa, ob = (authed.get(f"/v1/instances/{i}").json()["os_volume_id"] for i in (a, b))
    response = act(authed, "delete", [a, b], volume_ids=[oa, ob])
    assert response.status_code == 202, response.text
    assert authed.get("/v1/instances").json() == []
    assert {v["id"] for v in trash(authed)} == {oa, ob}
    missing = "00000000-0000-4000-8000-000000000000"
    c = running(live, authed, hostname="c")
    assert_error(act(authed, "delete", [c], volume_ids=[missing]), 404, "not_found")


def test_deleting_an_instance_only_releases_a_shared_volume_others_use(live, authed):
    x, y = make_instances(live, authed, count=2)
    shared = create(authed, type="NVMe_Shared", instance_ids=[x, y])
    for i in (x, y):
        act(authed, "start", i)
    live.clock.advance(BOOT)
    assert act(authed, "delete", x, volume_ids=[shared]).status_code == 202
    volume = get(authed, shared)
    assert volume["status"] == "attached" and [i["id"] for i in volume["instances"]] == [y]
    assert shared in authed.get(f"/v1/instances/{y}").json()["volume_ids"]
    assert act(authed, "delete", y, volume_ids=[shared]).status_code == 202
    assert get(authed, shared)["status"] == "deleted"


def test_a_shared_volume_s_first_instance_stays_first(live, authed):
    x, y, z = make_instances(live, authed, count=3)
    shared = create(authed, type="NVMe_Shared", instance_ids=[x, y])
    assert act(authed, "hibernate", x).status_code == 202
    authed.put("/v1/volumes", json={"action": "attach", "id": shared, "instance_id": z})
    volume = get(authed, shared)
    assert volume["instance_id"] == y and [i["id"] for i in volume["instances"]] == [y, z]


def test_an_os_disk_moved_away_leaves_the_instance_unable_to_start(live, authed):
    (instance_id,) = make_instances(live, authed)
    os_volume = authed.get(f"/v1/instances/{instance_id}").json()["os_volume_id"]
    authed.put("/v1/volumes", json={"action": "detach", "id": os_volume})
    assert authed.get(f"/v1/instances/{instance_id}").json()["os_volume_id"] is None
    message = assert_error(act(authed, "start", instance_id), 403, "forbidden_action")
    assert "OS volume" in message
    other = deploy(authed, image=os_volume, hostname="other")
    assert authed.get(f"/v1/instances/{other}").json()["os_volume_id"] == os_volume
    live.clock.advance(BOOT)  # a provisioning instance can't be deleted yet
    assert act(authed, "delete", other, volume_ids=[]).status_code == 202
    authed.put(
        "/v1/volumes", json={"action": "attach", "id": os_volume, "instance_id": instance_id}
    )
    assert get(authed, os_volume)["target"] == "vda"
    assert authed.get(f"/v1/instances/{instance_id}").json()["os_volume_id"] == os_volume
    assert act(authed, "start", instance_id).status_code == 202


def test_delete_permanently_needs_listed_volumes(live, authed):
    instance_id = running(live, authed)
    os_volume = authed.get(f"/v1/instances/{instance_id}").json()["os_volume_id"]
    assert act(authed, "delete", instance_id, delete_permanently=True).status_code == 202
    assert [v["id"] for v in trash(authed)] == [os_volume]  # in the trash, restorable


def test_a_permanent_delete_of_a_trashed_volume_empties_it(live, authed):
    volume_id = create(authed, type="HDD")
    authed.put("/v1/volumes", json={"action": "delete", "id": volume_id})
    response = authed.put(
        "/v1/volumes", json={"action": "delete", "id": volume_id, "is_permanent": True}
    )
    assert response.status_code == 202
    assert get(authed, volume_id)["is_permanently_deleted"] is True and trash(authed) == []


def test_clones_of_long_names_keep_a_valid_name(authed):
    volume_id = create(authed, type="HDD", name="n" * 255)
    new_ids = authed.put("/v1/volumes", json={"action": "clone", "id": volume_id}).json()
    name = get(authed, new_ids[0])["name"]
    assert len(name) == 255 and name.endswith("-clone")


def test_upper_case_ids_find_the_same_resources(live, authed):
    instance_id = deploy(authed)
    assert authed.get(f"/v1/instances/{instance_id.upper()}").json()["id"] == instance_id
    volume_id = create(authed, type="HDD")
    assert get(authed, volume_id.upper())["id"] == volume_id


def test_overlong_texts_are_refused_not_truncated(authed):
    for field, value in (("description", "d" * 1025), ("coupon", "c" * 129)):
        response = authed.post("/v1/instances", json=deploy_body(**{field: value}))
        assert field in assert_error(response, 400, "invalid_request")


def test_running_out_of_addresses_refuses_the_deploy_not_the_project(
    empty_database_url, tmp_path: Path
):
    data = load_source().model_dump(mode="json")
    data["locations"][0]["public_ip_pool"] = "100.64.0.0/30"  # two usable addresses
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    with start_live_server(empty_database_url, catalog_path=path) as server:
        creds = server.new_project()
        with httpx.Client(verify=TLS, base_url=server.base_url) as client:
            client.headers["Authorization"] = f"Bearer {creds.access_token(client)}"
            first, _ = deploy(client), deploy(client)
            full = client.post("/v1/instances", json=deploy_body())
            assert "insufficient" in assert_error(full, 503, "service_unavailable")
            server.clock.advance(BOOT)
            assert len(client.get("/v1/instances").json()) == 2
            assert act(client, "delete", first).status_code == 202
            assert deploy(client)
