"""The instance view (readmodel/instances.py): after a write, the list and the
items render again only the instances the write changed, and still answer
exactly what a full render answers, due transitions and writes the view
cannot follow included."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.keys import ed25519_key
from tests.test_instances import BOOT, deploy
from verda_server.instances import render
from verda_server.instances.models import Instance
from verda_server.lifecycle.reconcile import Reconciler
from verda_server.storage.database import Database

pytestmark = pytest.mark.usefixtures("gives_back")


@pytest.fixture
def rendered(monkeypatch) -> list[list[str] | str | None]:
    """The ids each render of the view asked for (None: every live instance),
    and "route" for each answer the routes rendered instead."""
    asked: list[list[str] | str | None] = []
    real = render.records

    def spy(session, catalog, project_id, ids):
        asked.append(None if ids is None else sorted(ids))
        return real(session, catalog, project_id, ids)

    def routed(real_render):
        def render_(*args, **kwargs):
            asked.append("route")
            return real_render(*args, **kwargs)

        return render_

    monkeypatch.setattr(render, "records", spy)
    monkeypatch.setattr(render, "one_json", routed(render.one_json))
    monkeypatch.setattr(render, "list_json", routed(render.list_json))
    return asked


def fresh(live, client, path: str):
    """What the read answers with nothing remembered."""
    live.context.answers.clear()
    response = client.get(path)
    assert response.status_code == 200, response.text
    return response.content


def read(client, path: str) -> bytes:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    return response.content


def warm(client, paths: list[str]) -> None:
    for path in paths:
        read(client, path)
        read(client, path)


def test_a_write_renders_again_only_the_instances_it_changed(live, authed, rendered):
    ids = [deploy(authed, hostname=f"h{n}") for n in range(3)]
    paths = ["/v1/instances", *(f"/v1/instances/{i}" for i in ids)]
    warm(authed, paths)  # each path's first read is the routes' (it is learnt)
    assert rendered.count(None) == 1  # the list's render held every item too
    rendered.clear()
    for path in paths:
        read(authed, path)
    assert rendered == []
    rendered.clear()
    added = deploy(authed, hostname="new")
    listed = read(authed, "/v1/instances")
    assert rendered == [[added]]
    assert listed == fresh(live, authed, "/v1/instances")
    assert {i["id"] for i in authed.get("/v1/instances").json()} == {*ids, added}

    warm(authed, ["/v1/instances", *paths[1:]])
    rendered.clear()
    tagged = authed.post(f"/v1/instances/{ids[1]}/tags", json={"key": "env", "value": "x"})
    assert tagged.status_code < 300, tagged.text
    item = read(authed, f"/v1/instances/{ids[1]}")
    assert rendered == [[ids[1]]]
    assert [t["key"] for t in authed.get(f"/v1/instances/{ids[1]}").json()["tags"]] == ["env"]
    for path in paths:  # the others from memory, all as a full render answers
        before = len(rendered)
        answer = read(authed, path)
        assert len(rendered) == before
        assert answer == fresh(live, authed, path)
        warm(authed, ["/v1/instances", *paths[1:]])
    assert item


def test_a_write_naming_no_instance_renders_none_again(live, authed, rendered):
    instance_id = deploy(authed)
    paths = ["/v1/instances", f"/v1/instances/{instance_id}"]
    warm(authed, paths)
    rendered.clear()
    key = authed.post("/v1/sshkeys", json={"name": "k", "key": ed25519_key()})
    assert key.status_code == 201, key.text
    script = authed.post("/v1/scripts", json={"name": "s", "script": "echo hi"})
    assert script.status_code == 201, script.text
    remembered = [read(authed, path) for path in paths]
    assert rendered == []
    assert remembered == [fresh(live, authed, path) for path in paths]


def test_what_the_store_cascades_on_its_own_is_seen_at_once(live, authed, rendered):
    """Deleting an SSH key drops it from the instances that carry it without a
    write naming them: the view starts again."""
    key = authed.post("/v1/sshkeys", json={"name": "k", "key": ed25519_key()}).text.strip('"')
    instance_id = deploy(authed, ssh_key_ids=[key])
    path = f"/v1/instances/{instance_id}"
    warm(authed, ["/v1/instances", path])
    assert authed.get(path).json()["ssh_key_ids"] == [key]
    deleted = authed.request("DELETE", "/v1/sshkeys", json={"keys": [key]})
    assert deleted.status_code < 300, deleted.text
    assert authed.get(path).json()["ssh_key_ids"] == []
    assert authed.get("/v1/instances").json()[0]["ssh_key_ids"] == []


def test_a_write_by_another_process_makes_the_view_start_again(live, authed, rendered):
    ids = [deploy(authed, hostname=f"h{n}") for n in range(2)]
    warm(authed, ["/v1/instances"])
    rendered.clear()
    other = Database(live.context.settings.database_url)
    try:
        with other.write() as session:
            session.get(Instance, ids[0]).hostname = "elsewhere"
    finally:
        other.dispose()
    listed = {i["id"]: i["hostname"] for i in authed.get("/v1/instances").json()}
    assert listed == {ids[0]: "elsewhere", ids[1]: "h1"}
    assert rendered == [None]  # the step is not this process's: not followed


def test_a_due_transition_is_applied_before_the_view_answers(live, authed, rendered):
    first = deploy(authed)
    live.clock.advance(1)
    second = deploy(authed)
    warm(authed, ["/v1/instances", f"/v1/instances/{first}", f"/v1/instances/{second}"])
    live.clock.advance(BOOT - 1)  # the first is due, exactly; the second not yet
    rendered.clear()
    assert authed.get(f"/v1/instances/{first}").json()["status"] == "running"
    assert authed.get(f"/v1/instances/{second}").json()["status"] == "provisioning"
    assert rendered == [[first]]
    listed = read(authed, "/v1/instances")
    assert listed == fresh(live, authed, "/v1/instances")


def test_requests_that_find_the_project_due_together_settle_it_once(live, authed, monkeypatch):
    """The first takes a writer's turn; the others wait for it instead of
    queueing for turns that would find nothing left to do."""
    instance_id = deploy(authed)
    path = f"/v1/instances/{instance_id}"
    warm(authed, [path])
    calls = []
    real = Reconciler.settle

    def slow(self, project_id=None):
        calls.append(project_id)
        time.sleep(0.2)  # long enough for every request below to find it due
        return real(self, project_id)

    monkeypatch.setattr(Reconciler, "settle", slow)
    live.clock.advance(BOOT)
    start = threading.Barrier(6)

    def get(_: int) -> str:
        start.wait()
        return authed.get(path).json()["status"]

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(get, range(6))) == ["running"] * 6
    assert calls == [calls[0]] and calls[0] is not None


def test_the_balance_after_a_write_the_view_followed(live, authed):
    """The balance's remembered parts go with any write, followed or not."""
    for _ in range(2):
        assert authed.get("/v1/balance").status_code == 200
    before = authed.get("/v1/balance").json()
    deploy(authed)
    live.clock.advance(600)  # ten minutes of it charged
    after = authed.get("/v1/balance")
    assert after.status_code == 200, after.text
    assert after.json()["amount"] < before["amount"]
