"""Volumes: create, read, the PUT actions, the trash, clones, DELETE and the SDK."""

from __future__ import annotations

import re

import pytest
from verda.exceptions import APIException

from tests.support.keys import ed25519_key
from tests.support.volumes import (
    MISSING,
    act,
    create,
    deploy,
    get,
    get_instance,
    has,
    listed,
    make_instances,
    ok,
    summary,
)
from tests.test_errors import assert_error

NOT_SHUT_DOWN = "One or more of the specified instances is not shut down"
TRASH_SECONDS = 96 * 3600
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
ONE = "/v1/volumes/{volume_id}"


@pytest.fixture
def document_of(contract):
    return contract.document


@pytest.fixture
def other(live, client_of):
    """A client of a second project, for isolation checks."""
    return client_of(live.new_project())


# ---- create --------------------------------------------------------------


def test_create_answers_the_bare_id_and_the_volume_reads_detached(authed, contract):
    volume_id = create(authed, type="HDD", name="  scratch  ", size=120)
    body = contract.check(authed.get(f"/v1/volumes/{volume_id}"), ONE)
    has(body, id=volume_id, status="detached", name="scratch", type="HDD", size=120)
    has(body, location="FIN-01", instance_id=None, instances=[], target=None, ssh_key_ids=[])
    has(body, is_os_volume=False, contract="PAY_AS_YOU_GO", long_term=None)
    assert RFC3339.match(body["created_at"])
    assert "deleted_at" not in body and "is_permanently_deleted" not in body
    assert contract.check(authed.get("/v1/volumes"), "/v1/volumes") == [body]
    assert authed.get("/v1/volumes/trash").json() == []


@pytest.mark.parametrize("currency", ["usd", "eur"])
def test_mount_commands_and_prices(live, client_of, contract, currency):
    client = client_of(live.new_project(currency=currency))
    volume_id = create(client, type="HDD_Shared", size=123, location_code="ICE-01")
    body = contract.check(client.get(f"/v1/volumes/{volume_id}"), ONE)
    path = body["pseudo_path"]
    assert re.fullmatch(r"volume-[A-Za-z0-9]+", path)
    host = f"nfs.ice-01.datacrunch.io:{path}"
    fstab = f"{host} /mnt/volume nfs defaults 0 0"
    assert body["create_directory_command"] == "mkdir -p /mnt/volume"
    assert body["mount_command"] == f"mount -t nfs -o nconnect=16 {host} /mnt/volume"
    assert body["filesystem_to_fstab_command"] == (
        f"grep -qxF '{fstab}' /etc/fstab || echo '{fstab}' | sudo tee -a /etc/fstab"
    )
    types = client.get("/v1/volume-types", params={"currency": currency}).json()
    per_gb = next(t for t in types if t["type"] == "HDD_Shared")["price"]["price_per_month_per_gb"]
    assert body["currency"] == currency
    assert body["monthly_price"] == pytest.approx(123 * per_gb)
    assert body["base_hourly_cost"] == pytest.approx(123 * per_gb / 730)
    assert get(client, create(client, size=5))["pseudo_path"] != path


def test_sizes_from_1_to_100000_gb_are_accepted(authed):
    assert get(authed, create(authed, size=1))["size"] == 1
    assert get(authed, create(authed, size=100_000))["size"] == 100_000


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"location_code": None}, "location_code"),
        ({"location_code": "MARS-01"}, "location_code"),
        ({"type": "SSD"}, "type"),
        ({"type": "NVMe_Shared_Cluster"}, "type"),
        ({"type": "NVMe_OS_Cluster"}, "type"),
        ({"size": 0}, "size"),
        ({"size": 100_001}, "size"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": None}, "name"),
    ],
)
def test_bad_creates_are_refused_and_create_nothing(authed, change, field):
    body = {"type": "NVMe", "name": "v", "size": 10, "location_code": "FIN-01", **change}
    body = {k: v for k, v in body.items() if v is not None}
    message = assert_error(authed.post("/v1/volumes", json=body), 400, "invalid_request")
    assert field in message
    assert listed(authed) == [] and listed(authed, "/v1/volumes/trash") == []


def test_created_onto_a_shut_down_instance_it_is_attached_after_the_os_volume(
    live, authed, contract
):
    (instance_id,) = make_instances(live, authed)
    os_volume_id = get_instance(authed, instance_id)["os_volume_id"]
    first = create(authed, instance_id=instance_id)
    second = create(authed, instance_ids=[instance_id], type="HDD")
    body = contract.check(authed.get(f"/v1/volumes/{first}"), ONE)
    has(body, status="attached", target="vdb", instance_id=instance_id)
    assert body["instances"] == [summary(authed, instance_id)]
    assert body["instances"][0]["status"] == "offline"
    assert get(authed, second)["target"] == "vdc"
    has(get(authed, os_volume_id), target="vda", is_os_volume=True, instance_id=instance_id)
    assert get_instance(authed, instance_id)["volume_ids"] == [os_volume_id, first, second]


def test_creating_onto_an_instance_that_is_not_shut_down_is_forbidden(live, authed):
    (running,) = make_instances(live, authed, running=True)
    provisioning = deploy(authed)
    before = listed(authed)
    body = {"type": "NVMe", "name": "v", "size": 10, "location_code": "FIN-01"}
    for instance_id in (running, provisioning):
        response = authed.post("/v1/volumes", json=body | {"instance_id": instance_id})
        assert assert_error(response, 403, "forbidden_action") == NOT_SHUT_DOWN
    assert listed(authed) == before


def test_attachment_rules_on_create(live, authed, other):
    a, b = make_instances(live, authed, count=2)
    (iceland,) = make_instances(live, authed, location="ICE-01")
    (foreign,) = make_instances(live, other)
    before = listed(authed)
    body = {"name": "v", "size": 10, "location_code": "FIN-01"}
    for extra, status, code in [
        ({"type": "NVMe", "instance_ids": [a, b]}, 400, "invalid_request"),
        ({"type": "HDD", "instance_id": a, "instance_ids": [b]}, 400, "invalid_request"),
        ({"type": "NVMe", "instance_id": iceland}, 400, "invalid_request"),
        ({"type": "NVMe", "instance_id": MISSING}, 404, "not_found"),
        ({"type": "NVMe", "instance_id": foreign}, 404, "not_found"),
        ({"type": "NVMe_Shared", "instance_ids": [a, MISSING]}, 404, "not_found"),
    ]:
        assert_error(authed.post("/v1/volumes", json=body | extra), status, code)
    assert listed(authed) == before
    shared = create(authed, type="NVMe_Shared", instance_id=a, instance_ids=[b])
    volume = get(authed, shared)
    assert volume["status"] == "attached" and volume["instance_id"] == a
    assert [i["id"] for i in volume["instances"]] == [a, b]
    untouched = get_instance(other, foreign)
    assert untouched["volume_ids"] == [untouched["os_volume_id"]]


# ---- reading -------------------------------------------------------------


def test_the_list_filters_by_status(live, authed):
    (instance_id,) = make_instances(live, authed)
    os_volume_id = get_instance(authed, instance_id)["os_volume_id"]
    detached = create(authed)
    live.tick()
    attached = create(authed, instance_id=instance_id)
    trashed = create(authed)
    ok(authed, "delete", trashed)
    assert listed(authed) == [os_volume_id, detached, attached]
    assert listed(authed, "/v1/volumes?status=detached") == [detached]
    assert listed(authed, "/v1/volumes?status=attached") == [os_volume_id, attached]
    assert listed(authed, "/v1/volumes?status=cloning") == []
    assert "status" in assert_error(authed.get("/v1/volumes?status=x"), 400, "invalid_request")


def test_an_os_volume_lists_the_keys_its_instance_was_deployed_with(live, authed):
    keys = [authed.post("/v1/sshkeys", json={"name": n, "key": ed25519_key()}).text for n in "abc"]
    order = sorted(keys, reverse=True)  # not the order of the ids, so storage can't supply it
    instance = get_instance(authed, deploy(authed, ssh_key_ids=order))
    assert instance["ssh_key_ids"] == order
    os_volume = get(authed, instance["os_volume_id"])
    has(os_volume, is_os_volume=True, target="vda", instances=[summary(authed, instance["id"])])
    assert os_volume["ssh_key_ids"] == order


# ---- actions -------------------------------------------------------------


def test_attach_and_detach(live, authed):
    shut_down, running = make_instances(live, authed), make_instances(live, authed, running=True)
    volume_id = create(authed)
    response = act(authed, "attach", volume_id, instance_id=running[0])
    assert assert_error(response, 403, "forbidden_action") == NOT_SHUT_DOWN
    assert get(authed, volume_id)["status"] == "detached"
    response = act(authed, "attach", [volume_id], instance_id=shut_down[0])
    assert response.status_code == 202 and response.content == b"[]"
    assert response.headers["content-type"] == "application/json"
    has(get(authed, volume_id), status="attached", target="vdb", instance_id=shut_down[0])
    ok(authed, "detach", volume_id)
    has(get(authed, volume_id), status="detached", instances=[], target=None, instance_id=None)
    assert_error(act(authed, "detach", volume_id), 403, "forbidden_action")
    assert "instance_id" in assert_error(act(authed, "attach", volume_id), 400, "invalid_request")
    assert_error(act(authed, "attach", volume_id, instance_id=MISSING), 404, "not_found")


def test_a_volume_that_is_not_shared_attaches_to_one_instance_only(live, authed):
    a, b = make_instances(live, authed, count=2)
    single = create(authed, instance_id=a)
    shared = create(authed, type="HDD_Shared", instance_id=a)
    ok(authed, "attach", shared, instance_id=b)
    assert {i["id"] for i in get(authed, shared)["instances"]} == {a, b}
    assert_error(act(authed, "attach", single, instance_id=b), 403, "forbidden_action")
    assert [i["id"] for i in get(authed, single)["instances"]] == [a]
    assert single not in get_instance(authed, b)["volume_ids"]


def test_a_shared_volume_keeps_its_first_instance(live, authed):
    a, b = make_instances(live, authed, count=2)
    create(authed, instance_id=a)  # a now has vda and vdb taken, b only vda
    shared = create(authed, type="NVMe_Shared", instance_id=a)
    ok(authed, "attach", shared, instance_id=b)
    body = get(authed, shared)
    has(body, instance_id=a, target="vdc")
    assert [i["id"] for i in body["instances"]] == [a, b]


def test_rename_and_resize(authed):
    a, b = create(authed, size=100), create(authed, size=100)
    ok(authed, "rename", [a, b], name="renamed")
    assert {get(authed, v)["name"] for v in (a, b)} == {"renamed"}
    assert "name" in assert_error(act(authed, "rename", a, name=" "), 400, "invalid_request")
    assert "name" in assert_error(act(authed, "rename", a), 400, "invalid_request")
    ok(authed, "resize", a, size=100)
    ok(authed, "resize", a, size=250)
    assert get(authed, a)["size"] == 250
    for size in (249, 0, 100_001):
        assert "size" in assert_error(act(authed, "resize", a, size=size), 400, "invalid_request")
    assert_error(act(authed, "resize", [b, a], size=200), 400, "invalid_request")
    assert (get(authed, a)["size"], get(authed, b)["size"]) == (250, 100)


@pytest.mark.parametrize(
    ("action", "phrase"),
    [
        ("export", "not available"),
        ("transfer", "not available"),
        ("create", "POST /v1/volumes"),
        ("explode", "unknown action"),
    ],
)
def test_unavailable_and_unknown_actions_are_refused(authed, action, phrase):
    volume_id = create(authed)
    message = assert_error(act(authed, action, volume_id), 400, "invalid_request")
    assert action in message and phrase in message
    assert get(authed, volume_id)["status"] == "detached"


def test_actions_are_all_or_nothing(live, authed):
    (running,) = make_instances(live, authed, running=True)
    os_volume_id = get_instance(authed, running)["os_volume_id"]
    a, b, trashed = create(authed, name="a"), create(authed, name="b"), create(authed)
    ok(authed, "delete", trashed)
    assert_error(act(authed, "rename", [a, MISSING, b], name="x"), 404, "not_found")
    assert_error(act(authed, "rename", [a, b, trashed], name="x"), 403, "forbidden_action")
    assert_error(act(authed, "delete", [a, trashed]), 403, "forbidden_action")
    assert_error(act(authed, "cancel", [a, b]), 403, "forbidden_action")
    assert_error(act(authed, "delete", [a, os_volume_id, b]), 403, "forbidden_action")
    assert_error(act(authed, "clone", [a, trashed]), 403, "forbidden_action")
    has(get(authed, a), name="a", status="detached")
    has(get(authed, b), name="b", status="detached")
    assert listed(authed) == [os_volume_id, a, b]
    assert listed(authed, "/v1/volumes/trash") == [trashed]
    assert_error(act(authed, "rename", [], name="x"), 400, "invalid_request")


def test_the_os_volume_of_an_instance_moves_only_once_it_is_shut_down(live, authed):
    instances = make_instances(live, authed, count=2, running=True)
    a, b = (get_instance(authed, i)["os_volume_id"] for i in instances)
    assert_error(act(authed, "detach", a), 403, "forbidden_action")
    assert_error(act(authed, "delete", [b]), 403, "forbidden_action")
    assert_error(authed.delete(f"/v1/volumes/{b}"), 403, "forbidden_action")
    assert {get(authed, v)["status"] for v in (a, b)} == {"attached"}
    for instance_id in instances:
        authed.put("/v1/instances", json={"action": "shutdown", "id": instance_id})
    ok(authed, "detach", a)
    has(get(authed, a), status="detached", instances=[], is_os_volume=True)
    assert authed.delete(f"/v1/volumes/{b}").status_code == 202
    assert listed(authed, "/v1/volumes/trash") == [b]
    assert get_instance(authed, instances[1])["volume_ids"] == []


# ---- the trash -----------------------------------------------------------


def test_delete_to_the_trash_and_restore(live, authed, contract):
    (instance_id,) = make_instances(live, authed)
    volume_id = create(authed, instance_id=instance_id)
    ok(authed, "delete", volume_id)
    body = contract.check(authed.get(f"/v1/volumes/{volume_id}"), ONE)
    has(body, status="deleted", is_permanently_deleted=False, instances=[], instance_id=None)
    assert RFC3339.match(body["deleted_at"]) and body["deleted_at"] >= body["created_at"]
    for absent in ("pseudo_path", "mount_command", "create_directory_command"):
        assert absent not in body
    assert volume_id not in get_instance(authed, instance_id)["volume_ids"]
    assert volume_id not in listed(authed)
    trash = contract.check(authed.get("/v1/volumes/trash"), "/v1/volumes/trash")
    assert trash == [body]
    ok(authed, "restore", volume_id)
    restored = get(authed, volume_id)
    assert restored["status"] == "detached" and "deleted_at" not in restored
    assert volume_id in listed(authed) and listed(authed, "/v1/volumes/trash") == []
    assert_error(act(authed, "restore", volume_id), 403, "forbidden_action")


def test_the_trash_keeps_a_volume_96_hours_to_the_second(live, authed, project, client_of):
    edge, kept, late = create(authed), create(authed), create(authed)
    ok(authed, "delete", [edge, kept])
    live.clock.advance(1)
    ok(authed, "delete", late)  # one second behind the other two
    live.clock.advance(TRASH_SECONDS - 2)  # edge and kept: 96 h - 1 s in the trash
    client = client_of(project)  # the first token expired long ago
    assert sorted(listed(client, "/v1/volumes/trash")) == sorted([edge, kept, late])
    assert get(client, edge)["is_permanently_deleted"] is False
    ok(client, "restore", kept)
    live.clock.advance(1)  # edge: exactly 96 h, its expiry instant; late: 96 h - 1 s
    assert listed(client, "/v1/volumes/trash") == [late]
    gone = get(client, edge)
    has(gone, status="deleted", is_permanently_deleted=True)
    assert RFC3339.match(gone["deleted_at"])
    assert_error(act(client, "restore", edge), 403, "forbidden_action")
    live.clock.advance(1)  # edge: 96 h + 1 s; late: exactly 96 h
    assert listed(client, "/v1/volumes/trash") == []
    has(get(client, late), status="deleted", is_permanently_deleted=True)
    has(get(client, edge), status="deleted", is_permanently_deleted=True)
    assert get(client, kept)["status"] == "detached" and listed(client) == [kept]


def test_a_permanent_delete_skips_the_trash(authed):
    volume_id = create(authed)
    ok(authed, "delete", volume_id, is_permanent=True)
    has(get(authed, volume_id), status="deleted", is_permanently_deleted=True)
    assert listed(authed, "/v1/volumes/trash") == [] and listed(authed) == []
    assert_error(act(authed, "restore", volume_id), 403, "forbidden_action")


def test_delete_by_id(authed):
    trashed, permanent = create(authed), create(authed)
    assert authed.delete(f"/v1/volumes/{trashed}").status_code == 202
    assert listed(authed, "/v1/volumes/trash") == [trashed]
    assert authed.delete(f"/v1/volumes/{trashed}").status_code == 204
    purge = authed.request("DELETE", f"/v1/volumes/{trashed}", json={"is_permanent": True})
    assert purge.status_code == 202, purge.text
    assert get(authed, trashed)["is_permanently_deleted"] is True
    again = authed.request("DELETE", f"/v1/volumes/{trashed}", json={"is_permanent": True})
    assert again.status_code == 204
    once = authed.request("DELETE", f"/v1/volumes/{permanent}", json={"is_permanent": True})
    assert once.status_code == 202
    assert get(authed, permanent)["is_permanently_deleted"] is True
    assert listed(authed, "/v1/volumes/trash") == [] and listed(authed) == []
    assert_error(authed.delete(f"/v1/volumes/{MISSING}"), 404, "not_found")


def test_delete_by_id_with_force_is_permanent(authed):
    """The Go SDK's delete sends ?force=true and no body."""
    active, trashed, kept, unforced = (create(authed) for _ in range(4))
    forced = authed.delete(f"/v1/volumes/{active}", params={"force": "true"})
    assert forced.status_code == 202, forced.text
    has(get(authed, active), status="deleted", is_permanently_deleted=True)
    assert authed.delete(f"/v1/volumes/{trashed}").status_code == 202
    assert get(authed, trashed)["is_permanently_deleted"] is False
    assert authed.delete(f"/v1/volumes/{trashed}?force=true").status_code == 202
    assert get(authed, trashed)["is_permanently_deleted"] is True
    assert authed.delete(f"/v1/volumes/{trashed}?force=true").status_code == 204
    assert authed.delete(f"/v1/volumes/{kept}?force=false").status_code == 202
    has(get(authed, kept), status="deleted", is_permanently_deleted=False)
    body = authed.request(
        "DELETE", f"/v1/volumes/{unforced}?force=false", json={"is_permanent": True}
    )
    assert body.status_code == 202
    assert get(authed, unforced)["is_permanently_deleted"] is True
    assert listed(authed, "/v1/volumes/trash") == [kept] and listed(authed) == []
    message = assert_error(authed.delete(f"/v1/volumes/{kept}?force=maybe"), 400, "invalid_request")
    assert "force" in message


def test_the_document_declares_the_force_parameter(document_of):
    operation = document_of["paths"]["/v1/volumes/{volume_id}"]["delete"]
    (force,) = [p for p in operation["parameters"] if p["name"] == "force"]
    assert force["in"] == "query" and force["schema"]["type"] == "boolean"


# ---- clones --------------------------------------------------------------


def _clone(client, contract, ids, **fields) -> list[str]:
    response = act(client, "clone", ids, **fields)
    assert response.status_code == 202, response.text
    return contract.check(response, "/v1/volumes")


def test_a_clone_in_the_same_location_is_ready_at_once(live, authed, contract):
    (instance_id,) = make_instances(live, authed)
    source = create(authed, name="src", size=70, type="HDD", instance_id=instance_id)
    (clone,) = _clone(authed, contract, source)
    assert clone != source
    has(get(authed, clone), status="detached", instances=[], name="src-clone", size=70)
    has(get(authed, clone), type="HDD", location="FIN-01", is_os_volume=False)
    assert get(authed, source)["status"] == "attached"
    other = create(authed)
    before = set(listed(authed))
    pair = _clone(authed, contract, [source, other], name="copy")
    assert len(pair) == 2 and {get(authed, v)["name"] for v in pair} == {"copy"}
    assert set(listed(authed)) == before | set(pair)
    # The new ids come in the order of the sources.
    assert [get(authed, v)["size"] for v in pair] == [70, 50]
    reversed_pair = _clone(authed, contract, [other, source])
    assert [get(authed, v)["size"] for v in reversed_pair] == [50, 70]


def test_a_clone_to_another_location_is_cloning_for_5_seconds(live, authed, contract):
    source = create(authed, size=30)
    (clone,) = _clone(authed, contract, source, location_code="ICE-01")
    has(get(authed, clone), status="cloning", location="ICE-01", size=30)
    assert listed(authed, "/v1/volumes?status=cloning") == [clone]
    live.clock.advance(4)
    assert get(authed, clone)["status"] == "cloning"
    live.clock.advance(1.1)
    assert get(authed, clone)["status"] == "detached"
    assert get(authed, source)["status"] == "detached"


def test_cancel_stops_a_clone_in_flight(live, authed, contract):
    source = create(authed)
    (clone,) = _clone(authed, contract, source, location_code="FIN-03")
    assert_error(act(authed, "cancel", source), 403, "forbidden_action")
    ok(authed, "cancel", clone)
    body = contract.check(authed.get(f"/v1/volumes/{clone}"), ONE)
    assert body["status"] == "canceled" and "mount_command" not in body
    assert listed(authed) == [source] and listed(authed, "/v1/volumes/trash") == []
    live.clock.advance(6)
    assert get(authed, clone)["status"] == "canceled"
    assert_error(act(authed, "cancel", clone), 403, "forbidden_action")


def test_bad_clones_create_nothing(authed):
    source = create(authed)
    for fields in ({"location_code": "MARS-01"}, {"type": "NVMe_OS_Cluster"}, {"type": "SSD"}):
        assert_error(act(authed, "clone", source, **fields), 400, "invalid_request")
    assert listed(authed) == [source]


def test_the_go_sdk_clone_puts_the_target_location_in_type(live, authed, contract):
    """Go's CloneVolume: {"id", "action": "clone", "name", "type": "<location>"}."""
    source = create(authed, name="go-src", size=50, type="NVMe")
    body = {"id": source, "action": "clone", "name": "go-clone", "type": "FIN-03"}
    response = authed.put("/v1/volumes", json=body)
    assert response.status_code == 202, response.text
    (clone,) = contract.check(response, "/v1/volumes")
    has(get(authed, clone), name="go-clone", size=50, type="NVMe", location="FIN-03")
    assert get(authed, clone)["status"] == "cloning"
    live.clock.advance(5.1)
    has(get(authed, clone), status="detached", type="NVMe", location="FIN-03")
    (here,) = _clone(authed, contract, source, type="FIN-01")
    has(get(authed, here), status="detached", type="NVMe", location="FIN-01", name="go-src-clone")
    (agreeing,) = _clone(authed, contract, source, type="ICE-01", location_code="ICE-01")
    has(get(authed, agreeing), type="NVMe", location="ICE-01")


def test_a_volume_type_in_type_is_the_clone_type_and_null_keeps_both(authed, contract):
    source = create(authed, type="NVMe", location_code="FIN-02")
    (hdd,) = _clone(authed, contract, source, type="HDD")
    has(get(authed, hdd), type="HDD", location="FIN-02")
    (same,) = _clone(authed, contract, source, type=None)
    has(get(authed, same), type="NVMe", location="FIN-02")
    (moved,) = _clone(authed, contract, source, type="HDD", location_code="FIN-01")
    has(get(authed, moved), type="HDD", location="FIN-01", status="cloning")
    (kept,) = _clone(authed, contract, source, type=None, location_code="FIN-03")
    has(get(authed, kept), type="NVMe", location="FIN-03")


def test_a_type_that_is_neither_or_disagrees_with_location_code_is_refused(authed):
    source = create(authed)
    for bad in ("SSD", "fin-03", "", "FIN-99"):
        message = assert_error(act(authed, "clone", source, type=bad), 400, "invalid_request")
        assert "volume type" in message and "location code" in message
        assert "NVMe" in message and "FIN-03" in message
    message = assert_error(
        act(authed, "clone", source, type="FIN-03", location_code="ICE-01"), 400, "invalid_request"
    )
    assert "FIN-03" in message and "ICE-01" in message
    assert_error(act(authed, "clone", source, type=5), 400, "invalid_request")
    assert listed(authed) == [source]


def test_the_document_says_type_takes_a_volume_type_or_a_location(document_of):
    schema = document_of["components"]["schemas"]["PerformVolumeActionPublicDto"]
    field = schema["properties"]["type"]
    assert "location code" in field["description"] and "volume type" in field["description"]
    choices = field["anyOf"]
    assert any("NVMe" in choice.get("enum", ()) for choice in choices)
    assert any("location code" in choice.get("description", "") for choice in choices)


# ---- isolation -----------------------------------------------------------


def test_volumes_are_private_to_their_project(live, authed, other):
    volume_id = create(authed, name="mine")
    (theirs,) = make_instances(live, other)
    assert listed(other) == [get_instance(other, theirs)["os_volume_id"]]
    assert listed(other, "/v1/volumes/trash") == []
    assert_error(other.get(f"/v1/volumes/{volume_id}"), 404, "not_found")
    for action, fields in [
        ("rename", {"name": "stolen"}),
        ("resize", {"size": 500}),
        ("attach", {"instance_id": theirs}),
        ("clone", {}),
        ("delete", {}),
        ("restore", {}),
    ]:
        assert_error(act(other, action, volume_id, **fields), 404, "not_found")
    assert_error(other.delete(f"/v1/volumes/{volume_id}"), 404, "not_found")
    has(get(authed, volume_id), name="mine", size=50, status="detached")
    assert listed(authed) == [volume_id]
    assert_error(act(authed, "attach", volume_id, instance_id=theirs), 404, "not_found")


# ---- the SDK -------------------------------------------------------------


def test_sdk_volumes(live, sdk, authed):
    (instance_id,) = make_instances(live, authed)
    volume = sdk.volumes.create("NVMe", "sdk-vol", 40, location="FIN-01")
    assert (volume.name, volume.size, volume.status) == ("sdk-vol", 40, "detached")
    assert volume.location == "FIN-01"
    assert volume.pseudo_path and volume.mount_command and volume.currency == "usd"
    fetched = sdk.volumes.get_by_id(volume.id)
    assert (fetched.id, fetched.name, fetched.type) == (volume.id, "sdk-vol", "NVMe")
    sdk.volumes.attach(volume.id, instance_id)
    assert sdk.volumes.get_by_id(volume.id).instance_id == instance_id
    os_volume_id = get_instance(authed, instance_id)["os_volume_id"]
    assert [v.id for v in sdk.volumes.get(status="attached")] == [os_volume_id, volume.id]
    sdk.volumes.detach(volume.id)
    assert [v.id for v in sdk.volumes.get(status="detached")] == [volume.id]
    sdk.volumes.rename(volume.id, "renamed")
    sdk.volumes.increase_size([volume.id], 80)
    fetched = sdk.volumes.get_by_id(volume.id)
    assert (fetched.name, fetched.size) == ("renamed", 80)
    with pytest.raises(APIException) as raised:
        sdk.volumes.increase_size(volume.id, 79)
    assert raised.value.code == "invalid_request"
    clone = sdk.volumes.clone(volume.id, name="copy")
    assert (clone.name, clone.size, clone.status) == ("copy", 80, "detached")
    assert {v.id for v in sdk.volumes.get()} == {os_volume_id, volume.id, clone.id}
    sdk.volumes.delete(volume.id)
    trash = sdk.volumes.get_in_trash()
    assert [v.id for v in trash] == [volume.id] and trash[0].deleted_at
    sdk.volumes.delete_by_id(clone.id, is_permanent=True)
    gone = sdk.volumes.get_by_id(clone.id)
    assert gone.status == "deleted" and gone.deleted_at
    assert [v.id for v in sdk.volumes.get_in_trash()] == [volume.id]
    assert clone.id not in {v.id for v in sdk.volumes.get()}
    sdk.volumes.delete_by_id(volume.id)  # already in the trash: 204, not an error
    with pytest.raises(APIException) as raised:
        sdk.volumes.get_by_id(MISSING)
    assert raised.value.code == "not_found"


def test_data_volumes_of_a_running_instance_stay_attached(live, authed):
    (instance_id,) = make_instances(live, authed, running=True)
    volume_id = create(authed, type="NVMe")
    authed.put("/v1/instances", json={"action": "shutdown", "id": instance_id})
    ok(authed, "attach", volume_id, instance_id=instance_id)
    authed.put("/v1/instances", json={"action": "start", "id": instance_id})
    for action in ("detach", "delete"):
        response = act(authed, action, volume_id)
        assert assert_error(response, 403, "forbidden_action") == NOT_SHUT_DOWN
    response = authed.request("DELETE", f"/v1/volumes/{volume_id}", json={})
    assert assert_error(response, 403, "forbidden_action") == NOT_SHUT_DOWN
    assert get(authed, volume_id)["status"] == "attached"
