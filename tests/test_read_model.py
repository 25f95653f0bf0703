"""The read model: remembered answers are never older than an acknowledged write
or a transition due by the server's clock, on either backend and across replicas.

The oracle throughout: what a read answers (from memory or not) equals what the
same read answers once every remembered answer is forgotten.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.support import clusters
from tests.support import volumes as vols
from tests.support.keys import ed25519_key
from tests.support.live import LiveServer
from tests.support.replicas import Alternating, replicas
from tests.test_instances import BOOT, act, deploy
from tests.test_revocation import _revoke
from verda_server.instances.models import Instance
from verda_server.projects.models import Project
from verda_server.storage.database import Database
from verda_server.storage.generation import IGNORED, owner_of
from verda_server.storage.models import Base

pytestmark = pytest.mark.usefixtures("gives_back")
TICK = 0.001
HIT = ("verda_read_model_reads_total", {"result": "hit"})
MISS = ("verda_read_model_reads_total", {"result": "miss"})


def count(live: LiveServer, which: tuple[str, dict[str, str]]) -> float:
    return live.context.metrics.registry.get_sample_value(*which) or 0.0


def paths(client: httpx.Client) -> list[str]:
    """Every cacheable read of the project, items included."""
    listed = ["/v1/instances", "/v1/volumes", "/v1/volumes/trash", "/v1/sshkeys"]
    listed += ["/v1/scripts", "/v1/clusters", "/v1/instances?status=running"]
    listed += ["/v1/instances?tag=env:blue", "/v1/volumes?status=detached"]
    items = []
    for kind in ("instances", "volumes", "sshkeys", "scripts", "clusters"):
        response = client.get(f"/v1/{kind}")
        assert response.status_code == 200, response.text
        items += [f"/v1/{kind}/{row['id']}" for row in response.json()]
    return listed + items


def answers(client: httpx.Client, read: list[str]) -> dict[str, Any]:
    found = {}
    for path in read:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        found[path] = response.json()
    return found


def assert_current(live: LiveServer, client: httpx.Client) -> dict[str, Any]:
    """Each read, asked again (from memory: the first time a path is seen it is
    only learnt, the next its answer is kept), answers what it answers rendered
    afresh."""
    read = paths(client)
    answers(client, read)
    answers(client, read)
    hits = count(live, HIT)
    remembered = answers(client, read)
    assert count(live, HIT) - hits >= len(read)  # not one of them rendered again
    live.context.answers.clear()
    assert remembered == answers(client, read)
    return remembered


def test_every_write_is_seen_by_the_next_read(live, authed, admin, project):
    live.set_rate_limits(project.project_id, enabled=False)  # hundreds of reads
    assert_current(live, authed)
    steps = [
        lambda: deploy(authed, hostname="first"),
        lambda: live.clock.advance(BOOT),  # due: provisioning -> running
        lambda: deploy(authed, hostname="second"),
        lambda: authed.post("/v1/sshkeys", json={"name": "k", "key": ed25519_key()}),
        lambda: authed.post("/v1/scripts", json={"name": "s", "script": "echo hi"}),
        lambda: vols.create(authed, name="spare"),
    ]
    for step in steps:
        step()
        live.tick()
        assert_current(live, authed)
    seen = assert_current(live, authed)
    first = next(i["id"] for i in seen["/v1/instances"] if i["hostname"] == "first")
    spare = next(v["id"] for v in seen["/v1/volumes"] if v["name"] == "spare")
    key = seen["/v1/sshkeys"][0]["id"]
    script = seen["/v1/scripts"][0]["id"]
    steps = [
        lambda: authed.post(f"/v1/instances/{first}/tags", json={"key": "env", "value": "blue"}),
        lambda: act(authed, "shutdown", first),
        lambda: live.clock.advance(BOOT),
        lambda: vols.ok(authed, "attach", [spare], instance_id=first),
        lambda: vols.ok(authed, "rename", [spare], name="renamed"),
        lambda: vols.ok(authed, "detach", [spare]),
        lambda: vols.ok(authed, "delete", [spare]),
        lambda: authed.delete(f"/v1/instances/{first}/tags/env"),
        lambda: clusters.deploy(authed, hostname="c1", ssh_key_ids=[key]),
        lambda: live.clock.advance(600),
        lambda: authed.request("DELETE", "/v1/sshkeys", json={"keys": [key]}),
        lambda: authed.request("DELETE", "/v1/scripts", json={"scripts": [script]}),
        lambda: admin.post(f"/_admin/v1/instances/{first}/force", json={"status": "error"}),
        lambda: act(authed, "delete", first),
        lambda: admin.post("/_admin/v1/reset", json={"project_id": project.project_id}),
    ]
    for index, step in enumerate(steps):
        response = step()
        if isinstance(response, httpx.Response):
            assert response.status_code < 300, (index, response.text)
        live.tick()
        assert_current(live, authed)


def test_an_answer_is_remembered_until_the_instant_its_transition_is_due(live, authed):
    instance_id = deploy(authed)
    path = f"/v1/instances/{instance_id}"
    for _ in range(2):  # learnt, then kept
        assert authed.get(path).json()["status"] == "provisioning"
    live.clock.advance(BOOT - TICK)
    hits = count(live, HIT)
    assert authed.get(path).json()["status"] == "provisioning"
    assert count(live, HIT) == hits + 1  # from memory: nothing is due yet
    live.clock.advance(TICK)  # exactly due
    misses = count(live, MISS)
    assert authed.get(path).json()["status"] == "running"
    assert count(live, MISS) == misses + 1


def test_a_revoked_credential_is_refused_although_its_answers_are_remembered(live, http, project):
    headers = {"Authorization": f"Bearer {project.access_token(http)}"}
    for _ in range(2):
        assert http.get("/v1/instances", headers=headers).status_code == 200
    _revoke(live, project.client_id)
    response = http.get("/v1/instances", headers=headers)
    assert response.status_code == 401
    assert "revoked" in response.json()["message"]


def test_a_write_by_another_process_on_the_store_is_seen_at_once(live, authed):
    """Another replica, or `verda-server projects` on the same store: no
    message reaches this server, only the store's generation."""
    instance_id = deploy(authed, hostname="before")
    path = f"/v1/instances/{instance_id}"
    for _ in range(2):
        assert authed.get(path).json()["hostname"] == "before"
    other = Database(live.context.settings.database_url)
    try:
        with other.write() as session:
            session.get(Instance, instance_id).hostname = "after"
    finally:
        other.dispose()
    assert authed.get(path).json()["hostname"] == "after"


def test_writes_move_the_generation_of_their_own_project_only(live, client_of):
    mine, theirs = live.new_project(), live.new_project()
    client = client_of(mine)

    def generations() -> tuple[int, int]:
        with live.context.db.read() as session:
            rows = dict(session.execute(select(Project.id, Project.generation)).all())
        return rows[mine.project_id], rows[theirs.project_id]

    before = generations()
    deploy(client)
    after = generations()
    assert after[0] > before[0] and after[1] == before[1]
    # A bulk statement names no objects: every project moves on.
    with live.context.db.write() as session:
        session.execute(
            update(Instance).where(Instance.hostname == "nobody").values(description="")
        )
    last = generations()
    assert last[0] > after[0] and last[1] > after[1]
    assert last[0] == last[1]  # drawn from one counter: never a value seen before


def test_replayed_answers_are_counted_logged_and_journalled_as_their_route(live, admin, client_of):
    creds = live.new_project()
    live.set_rate_limits(creds.project_id, endpoint=3)
    client = client_of(creds)
    instance_id = deploy(client)
    path = f"/v1/instances/{instance_id}"
    states = set()
    for _ in range(3):  # learnt, kept, replayed: each counted once
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["x-request-id"]
        states.add(response.headers["ratelimit"])
    assert len(states) == 3
    refused = client.get(path)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limit_exceeded"
    journal = admin.get(f"/_admin/v1/projects/{creds.project_id}/journal").json()["entries"]
    reads = [e for e in journal if e["path"] == path]
    assert [e["status"] for e in reads] == [429, 200, 200, 200]
    assert {e["route"] for e in reads} == {"/v1/instances/{instance_id}"}


def test_a_replica_never_answers_older_than_a_write_another_acknowledged(fresh_postgres_url):
    with replicas(fresh_postgres_url) as servers:
        first = servers[0]
        creds = first.new_project()
        with httpx.Client(transport=Alternating(servers), base_url=first.base_url) as client:
            client.headers["Authorization"] = f"Bearer {creds.access_token(client)}"
            for hostname in ("a", "b", "c", "d"):
                before = client.get("/v1/instances").json()
                client.get("/v1/instances")  # each replica now remembers the list
                deploy(client, hostname=hostname)  # on one replica ...
                after = client.get("/v1/instances").json()  # ... read on the other
                assert len(after) == len(before) + 1
                assert hostname in {instance["hostname"] for instance in after}


def test_every_table_leads_to_its_project_or_changes_nothing_a_read_answers():
    """A table added later must say whose it is, or every change to it would
    move every project on (correct, but the read model would remember little)."""
    for table in Base.metadata.tables.values():
        known = table.name in IGNORED or table.name == "projects" or "project_id" in table.c
        assert known or owner_of(table) is not None, table.name
