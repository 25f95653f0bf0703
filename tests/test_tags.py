"""Tags on instances, volumes and clusters: add, remove, limits, reuse, filters, creation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from tests.support.clusters import deploy as deploy_cluster
from tests.support.clusters import get as get_cluster
from tests.support.clusters import give_back
from tests.support.statements import watched
from tests.support.volumes import MISSING, act, create, deploy, get, get_instance, make_instances
from tests.test_errors import assert_error
from verda_server.tags.models import Tag

KINDS = ("instances", "volumes", "clusters")
NOT_FOUND = {
    "instances": "Invalid instance id",
    "volumes": "Volume not found",
    "clusters": "Cluster not found",
}


def go_path_escape(text: str) -> str:
    """Go's url.PathEscape: what the Go SDK puts in the DELETE path."""
    return quote(text, safe="-_.~$&+:=@")


@pytest.fixture
def other(live, client_of):
    """A client of a second project, for isolation checks."""
    return client_of(live.new_project())


@pytest.fixture(autouse=True)
def _give_back_capacity(live, project, client_of):
    """The session's server has a fixed capacity that the whole suite shares:
    give back every instance a test deployed."""
    yield
    client = client_of(project)  # the test's token may have expired with the clock
    for instance in client.get("/v1/instances").json():
        action = "delete_stuck" if instance["status"] == "provisioning" else "delete"
        response = client.put("/v1/instances", json={"action": action, "id": instance["id"]})
        assert response.status_code == 202, response.text
    give_back(live)  # clusters, scarcer still


def make(client, kind: str, **fields) -> str:
    made = {"instances": deploy, "volumes": create, "clusters": deploy_cluster}[kind]
    return made(client, **fields)


def in_order(live, client, kind: str, count: int) -> list[str]:
    """Resources created a millisecond apart, so that lists have them in this order."""
    made = []
    for _ in range(count):
        made.append(make(client, kind))
        live.tick()
    return made


def read(client, kind: str, resource_id: str) -> dict:
    return {"instances": get_instance, "volumes": get, "clusters": get_cluster}[kind](
        client, resource_id
    )


def add(client, kind: str, resource_id: str, key: str, value: str | None = None, **extra):
    body = {"key": key, **({} if value is None else {"value": value}), **extra}
    return client.post(f"/v1/{kind}/{resource_id}/tags", json=body)


def added(client, kind: str, resource_id: str, key: str, value: str | None = None) -> dict:
    response = add(client, kind, resource_id, key, value)
    assert response.status_code == 201, response.text
    return response.json()


def remove(client, kind: str, resource_id: str, segment: str):
    return client.delete(f"/v1/{kind}/{resource_id}/tags/{segment}")


def pairs(body: dict) -> list[tuple[str, str]]:
    return [(t["key"], t["value"]) for t in body["tags"]]


def listed(client, kind: str, *filters: str) -> list[str]:
    response = client.get(f"/v1/{kind}", params=[("tag", f) for f in filters])
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()]


def stored_tags(live, project_id: str) -> int:
    with live.context.db.read() as session:
        return session.scalar(
            select(func.count()).select_from(Tag).where(Tag.project_id == project_id)
        )


# ---- add -----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_tag_is_added_lowercased_and_shown_on_the_resource(authed, contract, kind):
    rid = make(authed, kind)
    assert read(authed, kind, rid)["tags"] == []
    response = add(authed, kind, rid, "Team", "Platform")
    assert response.status_code == 201
    body = contract.check(response, f"/v1/{kind}/{{{kind[:-1]}_id}}/tags")
    assert set(body) == {"id", "key", "value"}
    assert body["key"] == "team" and body["value"] == "Platform" and len(body["id"]) == 36
    assert read(authed, kind, rid)["tags"] == [body]
    listing = authed.get(f"/v1/{kind}").json()
    assert next(r for r in listing if r["id"] == rid)["tags"] == [body]


@pytest.mark.parametrize("kind", KINDS)
def test_go_style_request_without_value_makes_a_freeform_tag(authed, kind):
    rid = make(authed, kind)
    # The Go SDK omits `value` when empty; the Python-style null means the same.
    omitted = authed.post(
        f"/v1/{kind}/{rid}/tags",
        content=b'{"key":"gpu"}',
        headers={"Content-Type": "application/json"},
    )
    assert omitted.status_code == 201, omitted.text
    assert omitted.json()["value"] == ""
    null = authed.post(f"/v1/{kind}/{rid}/tags", json={"key": "spot", "value": None})
    assert null.status_code == 201 and null.json()["value"] == ""
    assert pairs(read(authed, kind, rid)) == [("gpu", ""), ("spot", "")]


@pytest.mark.parametrize("kind", KINDS)
def test_key_and_value_lengths_at_their_exact_limits(authed, kind):
    rid = make(authed, kind)
    assert add(authed, kind, rid, "k" * 63).status_code == 201
    assert_error(add(authed, kind, rid, "k" * 64), 400, "invalid_request")
    assert_error(add(authed, kind, rid, ""), 400, "invalid_request")
    assert add(authed, kind, rid, "v", "v" * 127).status_code == 201
    assert_error(add(authed, kind, rid, "w", "v" * 128), 400, "invalid_request")
    assert_error(authed.post(f"/v1/{kind}/{rid}/tags", json={}), 400, "invalid_request")
    assert_error(authed.post(f"/v1/{kind}/{rid}/tags", json={"key": 5}), 400, "invalid_request")
    assert pairs(read(authed, kind, rid)) == [("k" * 63, ""), ("v", "v" * 127)]


@pytest.mark.parametrize("kind", KINDS)
def test_the_tenth_tag_is_accepted_and_the_eleventh_forbidden(authed, kind):
    rid = make(authed, kind)
    for n in range(10):
        added(authed, kind, rid, f"k{n}")
    message = assert_error(add(authed, kind, rid, "k10"), 403, "forbidden_action")
    assert "10" in message
    assert len(read(authed, kind, rid)["tags"]) == 10
    assert remove(authed, kind, rid, "k3").status_code == 204
    added(authed, kind, rid, "k10")
    keys = [k for k, _ in pairs(read(authed, kind, rid))]
    assert keys == [f"k{n}" for n in (0, 1, 2, 4, 5, 6, 7, 8, 9, 10)]


@pytest.mark.parametrize("kind", KINDS)
def test_a_key_already_on_the_resource_is_a_conflict_whatever_its_case(authed, kind):
    rid = make(authed, kind)
    first = added(authed, kind, rid, "env", "prod")
    assert_error(add(authed, kind, rid, "env", "prod"), 409, "conflict")
    assert_error(add(authed, kind, rid, "ENV", "dev"), 409, "conflict")
    assert read(authed, kind, rid)["tags"] == [first]


def test_a_matching_project_tag_is_reused_across_resources(authed, other):
    instance = deploy(authed)
    volume = create(authed)
    on_instance = added(authed, "instances", instance, "Team", "ml")
    on_volume = added(authed, "volumes", volume, "team", "ml")
    assert on_instance == on_volume
    # Another value is another tag; the same pair in another project too.
    assert added(authed, "volumes", create(authed), "team", "web")["id"] != on_instance["id"]
    elsewhere = added(other, "volumes", create(other), "team", "ml")
    assert elsewhere["id"] != on_instance["id"]
    # Taking it off one resource leaves it, with its id, on the other.
    assert remove(authed, "instances", instance, "team").status_code == 204
    assert get(authed, volume)["tags"] == [on_volume]
    assert added(authed, "instances", instance, "team", "ml") == on_volume


# ---- remove --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "key", ["team/platform", "a?b#c d", "100%", "x;y,z", "ünï/cødé", "$&+:=@", "a%2Fb"]
)
def test_delete_by_the_path_escaped_key(authed, kind, key):
    rid = make(authed, kind)
    added(authed, kind, rid, "keep")
    added(authed, kind, rid, key, "v")
    response = remove(authed, kind, rid, go_path_escape(key))
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert pairs(read(authed, kind, rid)) == [("keep", "")]
    assert_error(remove(authed, kind, rid, go_path_escape(key)), 404, "not_found")


def test_an_unescaped_slash_is_another_path_not_the_key(authed):
    rid = create(authed)
    added(authed, "volumes", rid, "team/platform")
    added(authed, "volumes", rid, "platform")
    assert_error(remove(authed, "volumes", rid, "team/platform"), 404, "not_found")
    assert pairs(get(authed, rid)) == [("team/platform", ""), ("platform", "")]


@pytest.mark.parametrize("kind", KINDS)
def test_delete_compares_keys_case_insensitively(authed, kind):
    rid = make(authed, kind)
    added(authed, kind, rid, "Owner", "Ann")
    assert remove(authed, kind, rid, "OWNER").status_code == 204
    assert read(authed, kind, rid)["tags"] == []


@pytest.mark.parametrize("kind", KINDS)
def test_delete_by_tag_id(authed, kind):
    rid = make(authed, kind)
    tag = added(authed, kind, rid, "env", "prod")
    added(authed, kind, rid, "team")
    assert remove(authed, kind, rid, tag["id"].upper()).status_code == 204
    assert pairs(read(authed, kind, rid)) == [("team", "")]
    assert_error(remove(authed, kind, rid, tag["id"]), 404, "not_found")


@pytest.mark.parametrize("kind", KINDS)
def test_delete_of_an_absent_tag_or_resource_is_not_found(authed, kind):
    rid = make(authed, kind)
    other_resource = make(authed, kind)
    tag = added(authed, kind, other_resource, "env")
    assert "Tag" in assert_error(remove(authed, kind, rid, "env"), 404, "not_found")
    # A tag id of the project, but not on this resource.
    assert_error(remove(authed, kind, rid, tag["id"]), 404, "not_found")
    assert_error(remove(authed, kind, rid, "%00"), 404, "not_found")
    message = assert_error(remove(authed, kind, MISSING, "env"), 404, "not_found")
    assert message.startswith(NOT_FOUND[kind])
    assert_error(add(authed, kind, MISSING, "env"), 404, "not_found")
    assert_error(add(authed, kind, "not-a-uuid", "env"), 404, "not_found")


@pytest.mark.parametrize("kind", KINDS)
def test_another_projects_resource_is_missing_for_tags(authed, other, kind):
    rid = make(authed, kind)
    added(authed, kind, rid, "env")
    expected = assert_error(other.get(f"/v1/{kind}/{rid}"), 404, "not_found")
    assert expected.startswith(NOT_FOUND[kind])
    assert assert_error(add(other, kind, rid, "x"), 404, "not_found") == expected
    assert assert_error(remove(other, kind, rid, "env"), 404, "not_found") == expected
    assert listed(other, kind, "env") == []
    assert pairs(read(authed, kind, rid)) == [("env", "")]


# ---- removal of the resource ---------------------------------------------


def test_a_deleted_instance_loses_its_tags(live, authed, contract):
    (instance,) = make_instances(live, authed)
    tag = added(authed, "instances", instance, "env", "prod")
    volume = create(authed)
    added(authed, "volumes", volume, "env", "prod")
    response = authed.put("/v1/instances", json={"action": "delete", "id": instance})
    assert response.status_code == 202, response.text
    assert get_instance(authed, instance)["tags"] == []
    gone = authed.get("/v1/instances", params={"status": "discontinued"}).json()
    assert [i["tags"] for i in gone if i["id"] == instance] == [[]]
    assert assert_error(add(authed, "instances", instance, "x"), 404, "not_found") == (
        "Invalid instance id"
    )
    assert_error(remove(authed, "instances", instance, "env"), 404, "not_found")
    # The pair lives on where it is still used, with its id.
    assert get(authed, volume)["tags"] == [tag]


def test_trashed_volumes_keep_their_tags_and_purged_ones_lose_them(live, authed, contract):
    volume = create(authed)
    tag = added(authed, "volumes", volume, "env", "prod")
    act(authed, "delete", volume)
    trash = contract.check(authed.get("/v1/volumes/trash"), "/v1/volumes/trash")
    assert [v["tags"] for v in trash] == [[tag]]
    assert get(authed, volume)["tags"] == [tag]
    # Still a volume (it can be restored): it can be tagged in the trash.
    added(authed, "volumes", volume, "team")
    assert act(authed, "restore", volume).status_code == 202
    assert pairs(get(authed, volume)) == [("env", "prod"), ("team", "")]
    act(authed, "delete", volume, is_permanent=True)
    body = get(authed, volume)
    assert body["is_permanently_deleted"] is True and body["tags"] == []
    assert assert_error(add(authed, "volumes", volume, "x"), 404, "not_found") == (
        "Volume not found"
    )
    assert_error(remove(authed, "volumes", volume, "env"), 404, "not_found")


def test_a_volume_whose_trash_time_ends_loses_its_tags(live, authed, project, client_of):
    volume = create(authed)
    added(authed, "volumes", volume, "env")
    act(authed, "delete", volume)
    live.clock.advance(96 * 3600)
    client = client_of(project)  # the first token expired long ago
    assert get(client, volume)["tags"] == []
    assert stored_tags(live, project.project_id) == 0


def test_the_instance_delete_that_purges_its_volumes_drops_their_tags(live, authed):
    (instance,) = make_instances(live, authed, os_volume={"name": "os", "size": 50})
    os_volume = get_instance(authed, instance)["os_volume_id"]
    added(authed, "volumes", os_volume, "env")
    response = authed.put(
        "/v1/instances",
        json={
            "action": "delete",
            "id": instance,
            "volume_ids": [os_volume],
            "delete_permanently": True,
        },
    )
    assert response.status_code == 202, response.text
    assert get(authed, os_volume)["tags"] == []


# ---- filters -------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_filters_by_key_by_pair_and_all_of_several(live, authed, contract, kind):
    a, b, c = in_order(live, authed, kind, 3)
    added(authed, kind, a, "env", "prod")
    added(authed, kind, a, "team", "ml")
    added(authed, kind, b, "env", "dev")
    added(authed, kind, b, "team", "ml")
    added(authed, kind, c, "url", "a=b=c")
    response = authed.get(f"/v1/{kind}", params=[("tag", "env")])
    contract.check(response, f"/v1/{kind}")
    assert [r["id"] for r in response.json()] == [a, b]
    assert listed(authed, kind, "ENV") == [a, b]
    assert listed(authed, kind, "env=prod") == [a]
    assert listed(authed, kind, "env=PROD") == []
    assert listed(authed, kind, "team=ml") == [a, b]
    assert listed(authed, kind, "team=ml", "env=dev") == [b]
    assert listed(authed, kind, "team", "env=staging") == []
    assert listed(authed, kind, "url=a=b=c") == [c]
    assert listed(authed, kind, "url=a") == []
    assert listed(authed, kind, "url=") == []
    assert listed(authed, kind, "nope") == []
    assert listed(authed, kind, "=") == []
    assert_error(authed.get(f"/v1/{kind}", params={"tag": ""}), 400, "invalid_request")
    assert listed(authed, kind, "env\x00") == []
    assert sorted(listed(authed, kind)) == sorted([a, b, c])


def test_a_freeform_tag_matches_key_equals_nothing(authed):
    plain = create(authed)
    added(authed, "volumes", plain, "gpu")
    assert listed(authed, "volumes", "gpu=") == [plain]
    assert listed(authed, "volumes", "gpu") == [plain]


def test_filter_combines_with_status(live, authed):
    running, stopped = make_instances(live, authed, count=2, running=True)
    authed.put("/v1/instances", json={"action": "shutdown", "id": stopped})
    added(authed, "instances", running, "env")
    added(authed, "instances", stopped, "env")
    response = authed.get("/v1/instances", params={"status": "offline", "tag": "env"})
    assert [i["id"] for i in response.json()] == [stopped]


# ---- creation-time tags --------------------------------------------------


def test_tags_given_at_deploy_go_on_the_instance_and_its_new_volumes(authed):
    instance = deploy(
        authed,
        tags=[{"key": "Env", "value": "prod"}, {"key": "team"}],
        os_volume={"name": "os", "size": 50, "tags": [{"key": "disk", "value": "os"}]},
        volumes=[
            {"name": "a", "size": 10, "type": "NVMe", "tags": [{"key": "disk", "value": "a"}]},
            {"name": "b", "size": 10, "type": "NVMe"},
        ],
    )
    body = get_instance(authed, instance)
    assert pairs(body) == [("env", "prod"), ("team", "")]
    os_volume, a, b = body["os_volume_id"], *[v for v in body["volume_ids"][1:]]
    assert pairs(get(authed, os_volume)) == [("disk", "os")]
    assert {get(authed, v)["name"]: pairs(get(authed, v)) for v in (a, b)} == {
        "a": [("disk", "a")],
        "b": [],
    }
    assert listed(authed, "instances", "env=prod") == [instance]
    assert sorted(listed(authed, "volumes", "disk")) == sorted([os_volume, a])


def test_tags_given_at_volume_creation(authed):
    volume = create(authed, tags=[{"key": "A", "value": "1"}, {"key": "b", "value": None}])
    assert pairs(get(authed, volume)) == [("a", "1"), ("b", "")]


def test_ten_tags_at_creation_and_not_eleven(authed, live, project):
    ten = [{"key": f"k{n}"} for n in range(10)]
    assert len(get(authed, create(authed, tags=ten))["tags"]) == 10
    instance = deploy(authed, tags=ten)
    assert len(get_instance(authed, instance)["tags"]) == 10
    eleven = [*ten, {"key": "k10"}]
    before = stored_tags(live, project.project_id)
    body = {"type": "NVMe", "name": "v", "size": 5, "location_code": "FIN-01", "tags": eleven}
    assert_error(authed.post("/v1/volumes", json=body), 400, "invalid_request")
    deploy_body = {
        "instance_type": "CPU.4V.16G",
        "image": "ubuntu-24.04",
        "hostname": "h",
        "description": "",
        "location_code": "FIN-01",
    }
    for tags in (eleven, [{"key": "k" * 64}], [{"key": "a", "value": "v" * 128}]):
        response = authed.post("/v1/instances", json={**deploy_body, "tags": tags})
        assert_error(response, 400, "invalid_request")
    assert stored_tags(live, project.project_id) == before


@pytest.mark.parametrize(
    "tags", [[{"key": "env"}, {"key": "ENV", "value": "x"}], [{"key": "a"}, {"key": "a"}]]
)
def test_a_key_twice_in_one_body_is_invalid(authed, tags):
    body = {"type": "NVMe", "name": "v", "size": 5, "location_code": "FIN-01", "tags": tags}
    message = assert_error(authed.post("/v1/volumes", json=body), 400, "invalid_request")
    assert "duplicate" in message
    nested = {
        "instance_type": "CPU.4V.16G",
        "image": "ubuntu-24.04",
        "hostname": "h",
        "description": "",
        "location_code": "FIN-01",
        "volumes": [{"name": "a", "size": 10, "type": "NVMe", "tags": tags}],
    }
    assert_error(authed.post("/v1/instances", json=nested), 400, "invalid_request")
    assert authed.get("/v1/volumes").json() == []


def test_a_refused_deploy_creates_no_tags(live, authed, project):
    body = {
        "instance_type": "CPU.4V.16G",
        "image": "ubuntu-24.04",
        "hostname": "h",
        "description": "",
        "location_code": "FIN-01",
        "tags": [{"key": "env"}],
        "os_volume": {"name": "os", "size": 50, "tags": [{"key": "disk"}]},
        "existing_volumes": [MISSING],
    }
    assert_error(authed.post("/v1/instances", json=body), 404, "not_found")
    assert stored_tags(live, project.project_id) == 0
    assert authed.get("/v1/instances").json() == []
    assert authed.get("/v1/volumes").json() == []


def test_tags_on_an_os_volume_deployed_from_are_ignored(live, authed):
    (first,) = make_instances(live, authed)
    os_volume = get_instance(authed, first)["os_volume_id"]
    authed.put(
        "/v1/instances", json={"action": "delete", "id": first, "volume_ids": []}
    ).raise_for_status()
    instance = deploy(
        authed, image=os_volume, os_volume={"name": "x", "size": 9, "tags": [{"key": "new"}]}
    )
    assert get_instance(authed, instance)["os_volume_id"] == os_volume
    assert get(authed, os_volume)["tags"] == []


# ---- the document --------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_the_document_declares_the_tag_operations(contract, kind):
    paths = contract.document["paths"]
    param = f"{kind[:-1]}_id"
    post = paths[f"/v1/{kind}/{{{param}}}/tags"]["post"]
    assert {"201", "400", "401", "403", "404", "409"} <= set(post["responses"])
    schema = post["responses"]["201"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/TagDto"}
    delete = paths[f"/v1/{kind}/{{{param}}}/tags/{{tag}}"]["delete"]
    assert {"204", "404"} <= set(delete["responses"])
    assert "content" not in delete["responses"]["204"]
    (tag_param,) = [p for p in paths[f"/v1/{kind}"]["get"]["parameters"] if p["name"] == "tag"]
    assert tag_param["in"] == "query"
    schema = tag_param["schema"]
    assert schema["type"] == "array" and schema["items"] == {"type": "string", "minLength": 1}
    tags = contract.document["components"]["schemas"]
    assert set(tags["TagDto"]["required"]) == {"id", "key", "value"}


# ---- reading -------------------------------------------------------------


@contextmanager
def tag_queries(live) -> Iterator[list[str]]:
    """The statements that read tags while the block runs."""
    tags: list[str] = []
    with watched(live) as seen:
        yield tags
    tags.extend(
        statement
        for statement, _ in seen
        if "tag_links" in statement and statement.lstrip().upper().startswith("SELECT")
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_list_reads_all_its_tags_in_one_query(live, authed, kind):
    for n, rid in enumerate(in_order(live, authed, kind, 4)):
        added(authed, kind, rid, "n", str(n))
    with tag_queries(live) as seen:
        body = authed.get(f"/v1/{kind}").json()
    assert [pairs(r) for r in body] == [[("n", str(n))] for n in range(4)]
    assert len(seen) == 1
    with tag_queries(live) as seen:
        assert len(authed.get(f"/v1/{kind}", params={"tag": "n"}).json()) == 4
    # The filter is a subquery of the list's own query, then the one read of tags.
    assert len(seen) == 2 and seen[0].lstrip().startswith(f"SELECT {kind}.id")


def test_tags_given_at_cluster_deploy_and_dropped_at_discontinue(authed):
    cluster_id = deploy_cluster(authed, tags=[{"key": "Team", "value": "ML"}, {"key": "solo"}])
    assert pairs(read(authed, "clusters", cluster_id)) == [("team", "ML"), ("solo", "")]
    assert listed(authed, "clusters", "team=ML") == [cluster_id]
    gone = authed.put("/v1/clusters", json={"action": "discontinue", "id": cluster_id})
    assert gone.status_code == 202, gone.text
    assert read(authed, "clusters", cluster_id)["tags"] == []
    assert_error(add(authed, "clusters", cluster_id, "late"), 404, "not_found")
    assert_error(remove(authed, "clusters", cluster_id, "team"), 404, "not_found")
