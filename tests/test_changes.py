"""What committed writes changed, step by step (storage/changes.py), and the
steps the store's units leave (storage/generation.py): a chain of steps names
what changed, and anything short of a whole chain says "not known"."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.keys import ed25519_key
from tests.test_instances import BOOT, act, deploy
from verda_server.projects.models import Project
from verda_server.storage import changes
from verda_server.storage.changes import ChangeLog, change_log

pytestmark = pytest.mark.usefixtures("gives_back")
A, B = ("instance", "a"), ("instance", "b")


def test_a_whole_chain_of_steps_names_everything_they_changed() -> None:
    log = ChangeLog()
    log.add({"p": 1}, 4, frozenset({A}))
    log.add({"p": 4, "q": 2}, 9, frozenset({B}))
    assert log.between("p", 1, 4) == {A}
    assert log.between("p", 1, 9) == {A, B}
    assert log.between("p", 4, 9) == {B}
    assert log.between("p", 9, 9) == frozenset()
    assert log.between("q", 2, 9) == {B}


def test_a_gap_an_unknown_step_or_an_overshoot_is_not_known() -> None:
    log = ChangeLog()
    log.add({"p": 1}, 4, frozenset({A}))
    log.add({"p": 5}, 6, frozenset({B}))  # 4 -> 5 was written by someone else
    assert log.between("p", 1, 6) is None
    assert log.between("p", 1, 3) is None  # no generation 3 on the way
    assert log.between("q", 1, 4) is None  # never seen
    log.add({"p": 6}, 8, None)  # changed what it could not name
    assert log.between("p", 5, 6) == {B}
    assert log.between("p", 5, 8) is None


def test_only_the_latest_steps_and_projects_are_kept(monkeypatch) -> None:
    monkeypatch.setattr(changes, "MOST_STEPS", 3)
    monkeypatch.setattr(changes, "MOST_PROJECTS", 2)
    log = ChangeLog()
    for n in range(5):
        log.add({"p": n}, n + 1, frozenset({A}))
    assert log.between("p", 2, 5) == {A}
    assert log.between("p", 1, 5) is None  # its first step was let go
    log.add({"q": 0}, 1, frozenset())
    assert log.between("p", 4, 5) == {A}  # two projects: both kept
    log.add({"r": 0}, 1, frozenset())  # p read least recently: it goes
    assert log.between("p", 4, 5) is None
    assert log.between("r", 0, 1) == frozenset()


def _generation(live, project_id: str) -> int:
    with live.context.db.read() as session:
        return session.scalar(select(Project.generation).where(Project.id == project_id))


def _step(live, project_id: str, write) -> frozenset | None:
    before = _generation(live, project_id)
    write()
    return change_log(live.context.db.memory).between(
        project_id, before, _generation(live, project_id)
    )


def test_each_write_names_the_instances_whose_answers_it_changed(live, authed, project):
    pid = project.project_id
    made: list[str] = []
    assert _step(live, pid, lambda: made.append(deploy(authed))) == {("instance", made[0])}
    first = made[0]
    tagged = lambda: authed.post(f"/v1/instances/{first}/tags", json={"key": "k", "value": "v"})  # noqa: E731
    assert _step(live, pid, tagged) == {("instance", first)}
    live.clock.advance(BOOT)
    # The due transitions (provisioning -> running) applied by the next write.
    assert _step(live, pid, lambda: act(authed, "shutdown", first)) == {("instance", first)}
    assert authed.get(f"/v1/instances/{first}").json()["status"] == "offline"
    created = []
    new_key = lambda: created.append(  # noqa: E731
        authed.post("/v1/sshkeys", json={"name": "k", "key": ed25519_key()})
    )
    # A step that moved the generation, naming no instance: a key is part of
    # no instance's answer.
    assert _step(live, pid, new_key) == frozenset()
    assert created[0].status_code == 201, created[0].text
    key_id = created[0].text.strip('"')
    deploy(authed, ssh_key_ids=[key_id])
    # Deleting a key an instance carries: the store drops the link itself
    # (ON DELETE CASCADE), which no flush names.
    gone = lambda: authed.request("DELETE", "/v1/sshkeys", json={"keys": [key_id]})  # noqa: E731
    assert _step(live, pid, gone) is None
