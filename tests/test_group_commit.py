"""Group commit on SQLite (storage/group_commit.py): writers queued behind one
another share a transaction and its commit, each unit in a savepoint of its own,
and none returns before the commit that makes its work durable."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from verda_server.clock import Clock
from verda_server.instances.models import Instance
from verda_server.projects import service as projects
from verda_server.projects.models import Project
from verda_server.storage.database import Database
from verda_server.storage.group_commit import BatchFailed
from verda_server.storage.migrate import upgrade

CLOCK = Clock.frozen()


@pytest.fixture
def db(tmp_path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'group.db'}")
    with database.engine.connect() as connection:
        upgrade(connection)
        connection.commit()
    try:
        yield database
    finally:
        database.dispose()


def _write_transactions(db: Database) -> list[str]:
    """The write transactions begun from now on (readers begin DEFERRED)."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if statement == "BEGIN IMMEDIATE":
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    return seen


def _names(db: Database) -> set[str]:
    with db.read() as session:
        return set(session.scalars(select(Project.name)))


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the writers never queued"
        time.sleep(0.001)


def _queued(db: Database, count: int) -> Callable[[], bool]:
    group = db._group
    assert group is not None
    return lambda: group._queued >= count


def _create(db: Database, name: str, fail: bool = False, hold: int = 0) -> str:
    """A unit that creates a project; `hold`: it waits until that many writers
    queue behind it, so that they join its batch."""
    with db.write() as session:
        projects.create_project(session, CLOCK, name=name, balance=Decimal(1), currency="usd")
        session.flush()
        if hold:
            _until(_queued(db, hold))
        if fail:
            raise ValueError(f"{name} fails")
    return name


def test_queued_writers_share_one_commit_and_a_failing_unit_rolls_back_alone(db) -> None:
    transactions = _write_transactions(db)
    before = _names(db)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(_create, db, "first", hold=3)
        _until(_open(db))
        others = [
            pool.submit(_create, db, "second"),
            pool.submit(_create, db, "failing", fail=True),
            pool.submit(_create, db, "third"),
        ]
        assert first.result(timeout=30) == "first"
        assert others[0].result(timeout=30) == "second"
        with pytest.raises(ValueError, match="failing fails"):
            others[1].result(timeout=30)
        assert others[2].result(timeout=30) == "third"
    assert _names(db) - before == {"first", "second", "third"}
    assert len(transactions) == 1  # four units, one transaction and its commit


def _open(db: Database) -> Callable[[], bool]:
    """Whether a batch has begun (its first unit holds the turn)."""
    group = db._group
    assert group is not None
    return lambda: group._batch is not None


def test_no_writer_returns_before_its_batch_is_committed(db) -> None:
    returned = threading.Event()
    seen_by_reader: list[set[str]] = []

    def first() -> None:
        _create(db, "early", hold=1)
        returned.set()

    def second() -> None:
        with db.write() as session:
            # The first unit is done and its writer waits: not answered, not visible.
            seen_by_reader.append(_names(db))
            assert not returned.is_set()
            projects.create_project(session, CLOCK, name="late", balance=Decimal(1), currency="usd")

    with ThreadPoolExecutor(2) as pool:
        done = pool.submit(first)
        _until(_open(db))
        pool.submit(second).result(timeout=30)
        done.result(timeout=30)
    assert "early" not in seen_by_reader[0]
    assert returned.is_set()
    assert {"early", "late"} <= _names(db)


def test_a_failed_commit_fails_every_writer_of_the_batch(db) -> None:
    def refuse(_conn) -> None:
        raise OSError("disk full")

    before = _names(db)
    event.listen(db.engine, "commit", refuse)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(_create, db, "lost-1", hold=1)
        _until(_open(db))
        second = pool.submit(_create, db, "lost-2")
        for writer in (first, second):
            with pytest.raises(BatchFailed) as failed:
                writer.result(timeout=30)
            assert isinstance(failed.value.__cause__, OSError)
        event.remove(db.engine, "commit", refuse)
    assert _names(db) == before
    # The store goes on: the next writer commits.
    _create(db, "after")
    assert "after" in _names(db)


def test_generations_move_inside_each_unit(db) -> None:
    """Each unit moves its project's generation before its batch commits, so an
    answer remembered for the old generation is never served after the write."""
    made = {name: _create(db, name) for name in ("g1", "g2")}
    with db.read() as session:
        old = dict(session.execute(select(Project.name, Project.generation)).all())
    with ThreadPoolExecutor(2) as pool:

        def rename(name: str, hold: int) -> None:
            with db.write() as session:
                project = session.scalars(select(Project).where(Project.name == name)).one()
                project.name = name + "-renamed"
                session.flush()
                if hold:
                    _until(_queued(db, hold))

        first = pool.submit(rename, made["g1"], 1)
        _until(_open(db))
        pool.submit(rename, made["g2"], 0).result(timeout=30)
        first.result(timeout=30)
    with db.read() as session:
        new = dict(session.execute(select(Project.name, Project.generation)).all())
    assert new["g1-renamed"] > old["g1"]
    assert new["g2-renamed"] > old["g2"]
    assert new["g1-renamed"] != new["g2-renamed"]


@pytest.mark.usefixtures("gives_back")
def test_concurrent_deploys_are_all_kept_and_each_read_right_after_sees_its_own(
    live, project, client_of
) -> None:
    body = {
        "instance_type": "CPU.4V.16G",
        "image": "ubuntu-24.04",
        "hostname": "grouped",
        "description": "grouped",
        "location_code": "FIN-01",
    }

    def deploy_and_read(_n: int) -> list[str]:
        client = client_of(project)
        made = []
        for _ in range(4):
            response = client.post("/v1/instances", json=body)
            assert response.status_code == 202, response.text
            instance_id = response.text
            made.append(instance_id)
            # Answered, so committed: the next reads (the list possibly remembered
            # by the read model a moment ago) show it.
            assert client.get(f"/v1/instances/{instance_id}").status_code == 200
            listed = {i["id"] for i in client.get("/v1/instances").json()}
            assert set(made) <= listed
        return made

    client = client_of(project)
    assert client.get("/v1/instances").json() == []
    with ThreadPoolExecutor(8) as pool:
        made = [i for ids in pool.map(deploy_and_read, range(8)) for i in ids]
    assert len(set(made)) == 32
    listed = client.get("/v1/instances").json()
    assert {i["id"] for i in listed} == set(made)
    with live.context.db.read() as session:
        ips = session.scalars(select(Instance.ip).where(Instance.id.in_(made))).all()
    assert len(set(ips)) == 32  # one address each, never twice
    volumes = client.get("/v1/volumes").json()
    assert {v["instance_id"] for v in volumes} == set(made)
