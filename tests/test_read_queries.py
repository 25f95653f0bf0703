"""The hot reads: a fixed set of statements whatever the number of resources,
each served by an index, answering exactly what the response models serialise to.

The server runs in this process, so its engine's statements can be watched.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from tests.support.keys import ed25519_key
from tests.support.statements import watched
from tests.support.volumes import act, create, deploy
from verda_server.instances.schemas import GetInstanceResponsePublicApiDto
from verda_server.volumes.schemas import (
    GetVolumeInTrashPublicResponseDto,
    GetVolumePublicResponseDto,
)


@pytest.fixture(autouse=True)
def _give_back_capacity(live, project, client_of):
    """The suite shares the server's capacity: give back what a test deployed."""
    yield
    client = client_of(project)
    for instance in client.get("/v1/instances").json():
        action = "delete_stuck" if instance["status"] == "provisioning" else "delete"
        response = client.put("/v1/instances", json={"action": action, "id": instance["id"]})
        assert response.status_code == 202, response.text


def statements_of(live, client, path: str, **params: Any) -> list[str]:
    """What the read costs when it is rendered (not replayed by the read model):
    asked once so that the read model knows the path, then asked afresh."""
    client.get(path, params=params)
    live.context.answers.clear()
    with watched(live) as seen:
        response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return [text for text, _ in seen]


def add_key(client) -> str:
    response = client.post("/v1/sshkeys", json={"name": "k", "key": ed25519_key()})
    assert response.status_code == 201, response.text
    return response.text


def tag(client, kind: str, resource_id: str, key: str, value: str = "") -> None:
    response = client.post(f"/v1/{kind}/{resource_id}/tags", json={"key": key, "value": value})
    assert response.status_code in (200, 201), response.text


def rich_instance(client, key_id: str, **fields: Any) -> str:
    """An instance with what an answer may carry: keys, extra volumes, tags."""
    instance_id = deploy(
        client,
        ssh_key_ids=[key_id],
        volumes=[{"name": "data", "size": 10, "type": "NVMe"}],
        **fields,
    )
    tag(client, "instances", instance_id, "team", "ml")
    tag(client, "instances", instance_id, "solo")
    return instance_id


# ---- a fixed number of statements ------------------------------------------


def test_the_instance_list_costs_the_same_statements_for_one_or_many(live, authed):
    key_id = add_key(authed)
    authed.get("/v1/instances")  # the token's first use is behind us
    rich_instance(authed, key_id)
    reads = {
        "all": {},
        "by status": {"status": "provisioning"},
        "by tag": {"tag": ["team=ml", "solo"]},
    }
    one = {name: statements_of(live, authed, "/v1/instances", **p) for name, p in reads.items()}
    for _ in range(3):
        rich_instance(authed, key_id)
        live.tick()
    assert len(authed.get("/v1/instances").json()) == 4
    many = {name: statements_of(live, authed, "/v1/instances", **p) for name, p in reads.items()}
    assert many == one


def test_the_volume_lists_cost_the_same_statements_for_one_or_many(live, authed):
    key_id = add_key(authed)
    authed.get("/v1/volumes")
    rich_instance(authed, key_id)
    tag(authed, "volumes", create(authed), "team")
    trashed = create(authed)
    assert act(authed, "delete", trashed).status_code == 202
    reads = {
        "/v1/volumes": {},
        "/v1/volumes?tag": {"tag": "team"},
        "/v1/volumes/trash": {},
    }

    def count() -> dict[str, list[str]]:
        return {
            name: statements_of(live, authed, name.partition("?")[0], **p)
            for name, p in reads.items()
        }

    one = count()
    for _ in range(3):
        volume_id = create(authed)
        tag(authed, "volumes", volume_id, "team")
        rich_instance(authed, key_id)
        gone = create(authed)
        assert act(authed, "delete", gone).status_code == 202
        live.tick()
    assert len(authed.get("/v1/volumes/trash").json()) == 4
    assert count() == one


def test_an_item_read_costs_the_same_statements_bare_or_linked(live, authed):
    bare = deploy(authed)
    linked = rich_instance(authed, add_key(authed))
    authed.get("/v1/instances")
    assert statements_of(live, authed, f"/v1/instances/{bare}") == statements_of(
        live, authed, f"/v1/instances/{linked}"
    )
    [volume_id] = authed.get(f"/v1/instances/{bare}").json()["volume_ids"]
    [*_, data_id] = authed.get(f"/v1/instances/{linked}").json()["volume_ids"]
    assert statements_of(live, authed, f"/v1/volumes/{volume_id}") == statements_of(
        live, authed, f"/v1/volumes/{data_id}"
    )


# ---- indexes -----------------------------------------------------------------


def plan(live, statement: str, parameters: Any) -> str:
    """How the store would run the statement: SQLite's query plan, or
    PostgreSQL's with sequential scans priced out (so that a table without a
    usable index still shows one, however small the table), on a store as
    autovacuum keeps it (VACUUM ANALYZE first: statistics of the rows there
    are, and the visibility map an index-only scan relies on). Left to
    autovacuum's timing, the planner's choice depended on the order the suite
    ran in: a bitmap scan of another index whenever the tables had not been
    vacuumed yet."""
    connection = live.context.db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        if live.context.db.engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(str(row[3]) for row in cursor.fetchall())
        driver = connection.driver_connection
        driver.autocommit = True  # VACUUM runs outside a transaction
        try:
            cursor.execute("VACUUM ANALYZE")
        finally:
            driver.autocommit = False
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement, parameters)
        return "\n".join(str(row[0]) for row in cursor.fetchall())
    finally:
        connection.rollback()
        connection.close()


OWN_TABLES = ("instances", "volumes", "tag_links", "instance_ssh_keys", "volume_attachments")


def test_the_hot_reads_use_indexes_and_scan_no_table(live, authed):
    key_id = add_key(authed)
    instance_id = rich_instance(authed, key_id)
    trashed = create(authed)
    assert act(authed, "delete", trashed).status_code == 202
    [*_, volume_id] = authed.get(f"/v1/instances/{instance_id}").json()["volume_ids"]
    reads = [
        ("/v1/instances", {}),
        ("/v1/instances", {"status": "provisioning"}),
        ("/v1/instances", {"status": "discontinued"}),
        ("/v1/instances", {"tag": ["team=ml", "solo"]}),
        (f"/v1/instances/{instance_id}", {}),
        ("/v1/volumes", {}),
        ("/v1/volumes", {"status": "attached", "tag": "team"}),
        ("/v1/volumes/trash", {}),
        (f"/v1/volumes/{volume_id}", {}),
        (f"/v1/volumes/{trashed}", {}),
    ]
    checked = 0
    for path, params in reads:
        with watched(live) as seen:
            assert authed.get(path, params=params).status_code == 200
        for statement, parameters in seen:
            # The reads' own statements (authentication and the due work are others').
            if not statement.lstrip().startswith("SELECT"):
                continue
            if not any(f"FROM {table}" in statement for table in OWN_TABLES):
                continue
            found = plan(live, statement, parameters)
            assert "SCAN " not in found.replace("SCAN CONSTANT", ""), (path, statement, found)
            assert "Seq Scan" not in found, (path, statement, found)
            # A search by kind alone walks the links of every project, one by
            # deleted_at alone every live instance of the store.
            for walk in ("(kind=?)", "(deleted_at=?)"):
                assert walk not in found, (path, statement, found)
            checked += 1
    assert checked >= 3 * len(reads)


# ---- the answers are the models' -------------------------------------------


def same_as_models(body: bytes, model: Any) -> None:
    """The bytes are what FastAPI would send for these values of the response
    model: every field, in its order, nulls kept, numbers as pydantic writes them."""
    adapter = TypeAdapter(model)
    assert adapter.dump_json(adapter.validate_json(body)) == body


def test_the_answers_are_exactly_what_the_models_serialise(live, authed):
    key_id = add_key(authed)
    rich_instance(authed, key_id)
    deploy(authed, contract="LONG_TERM", long_term_period="1_WEEK")
    spot = deploy(authed, is_spot=True)
    deploy(authed, coupon="COUPON-CODE-2026", instance_type="1V100.6V")
    live.clock.advance(3.1)  # running: addresses shown
    gone = authed.put("/v1/instances", json={"action": "delete", "id": spot})
    assert gone.status_code == 202, gone.text
    trashed = create(authed)
    tag(authed, "volumes", trashed, "keep", "me")
    assert act(authed, "delete", trashed).status_code == 202

    listed = authed.get("/v1/instances")
    same_as_models(listed.content, list[GetInstanceResponsePublicApiDto])
    assert listed.headers["content-type"] == "application/json"
    assert any(i["long_term"] for i in listed.json())
    assert any(i["tags"] and i["ssh_key_ids"] for i in listed.json())
    for instance in listed.json():
        one = authed.get(f"/v1/instances/{instance['id']}")
        same_as_models(one.content, GetInstanceResponsePublicApiDto)
        assert one.json() == instance
    removed = authed.get(f"/v1/instances/{spot}")
    same_as_models(removed.content, GetInstanceResponsePublicApiDto)
    assert removed.json()["status"] == "discontinued"
    assert [i["id"] for i in authed.get("/v1/instances?status=discontinued").json()] == [spot]

    volumes = authed.get("/v1/volumes")
    same_as_models(volumes.content, list[GetVolumePublicResponseDto])
    assert any(v["instances"] and v["ssh_key_ids"] for v in volumes.json())
    for volume in volumes.json():
        one = authed.get(f"/v1/volumes/{volume['id']}")
        same_as_models(one.content, GetVolumePublicResponseDto)
        assert one.json() == volume
    trash = authed.get("/v1/volumes/trash")
    same_as_models(trash.content, list[GetVolumeInTrashPublicResponseDto])
    assert trashed in [v["id"] for v in trash.json()]
    in_trash = authed.get(f"/v1/volumes/{trashed}")
    same_as_models(in_trash.content, GetVolumeInTrashPublicResponseDto)
    assert in_trash.json()["tags"] == next(v for v in trash.json() if v["id"] == trashed)["tags"]
    assert authed.get("/v1/volumes?status=cloning").content == b"[]"
