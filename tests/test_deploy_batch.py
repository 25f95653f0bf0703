"""Deploys made together in one unit (instances/batch.py) answer exactly what
the same deploys made one by one would: each checked against the ones before
it, a refused one alone, addresses never shared."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from tests.support.own import own_server
from tests.support.statements import watched
from tests.test_instances import deploy_body
from verda_server.control import capacity as capacity_control
from verda_server.instances.batch import DeployBatch, DeployQueue
from verda_server.instances.models import Instance
from verda_server.projects import quotas

pytestmark = pytest.mark.usefixtures("gives_back")


def together(live, calls) -> list:
    """Run the calls (each sends a deploy) so that they are made in one unit:
    the queue's turn is held until every one of them waits for it."""
    queue = live.context.deploys
    assert isinstance(queue, DeployQueue)
    with ThreadPoolExecutor(len(calls)) as pool:
        with queue._turn:
            futures = [pool.submit(call) for call in calls]
            deadline = time.monotonic() + 10
            while len(queue._queue) < len(calls):
                assert time.monotonic() < deadline, "the deploys never queued"
                time.sleep(0.005)
        return [f.result() for f in futures]


@pytest.fixture
def batches(monkeypatch) -> list[int]:
    sizes: list[int] = []
    real = DeployQueue._make

    def counted(self, unit, batch):
        sizes.append(len(batch))
        return real(self, unit, batch)

    monkeypatch.setattr(DeployQueue, "_make", counted)
    return sizes


def _instances(live, project_id: str) -> list[Instance]:
    with live.context.db.read() as session:
        return list(session.scalars(select(Instance).where(Instance.project_id == project_id)))


def test_a_batch_is_checked_as_the_same_deploys_one_by_one(live, client_of, batches):
    """Quota for three: of five made together, three go through; the others
    are refused as the fourth deploy alone would be; every address differs."""
    creds = live.new_project(balance="100000")
    with live.context.db.write() as session:
        quotas.set_quotas(session, creds.project_id, {quotas.Kind.INSTANCES: 3})
    client = client_of(creds)
    answers = together(live, [lambda: client.post("/v1/instances", json=deploy_body())] * 5)
    assert batches == [5]
    assert sorted(r.status_code for r in answers) == [202, 202, 202, 403, 403]
    refused = next(r for r in answers if r.status_code == 403).json()
    assert refused["message"].endswith("quota is 3 and it holds 3 instances")
    made = _instances(live, creds.project_id)
    assert sorted(i.id for i in made) == sorted(r.text for r in answers if r.status_code == 202)
    assert len({(i.location, i.ip) for i in made}) == 3


def test_a_batch_reads_what_its_checks_need_once_and_writes_its_rows_together(
    live, client_of, batches
):
    creds = live.new_project(balance="100000")
    client = client_of(creds)
    body = deploy_body(location_code="FIN-02")
    with watched(live) as seen:
        answers = together(live, [lambda: client.post("/v1/instances", json=body)] * 3)
    assert [r.status_code for r in answers] == [202] * 3 and batches == [3]
    texts = [" ".join(text.split()) for text, _ in seen]
    assert sum(t.startswith("INSERT INTO instances") for t in texts) == 1
    assert sum(t.startswith("INSERT INTO volumes") for t in texts) == 1
    # The project with its quotas; the capacity held; the run of free addresses.
    assert sum(t.startswith("SELECT projects.id") and "count" in t for t in texts) == 1
    assert sum("AS held FROM instances" in t for t in texts) == 1
    assert sum(t.startswith("SELECT found.free") for t in texts) == 1


def test_one_refused_leaves_the_others_of_its_batch(live, client_of, batches):
    rich, poor = live.new_project(balance="100000"), live.new_project(balance="0")
    rich_client, poor_client = client_of(rich), client_of(poor)
    calls = [
        lambda: rich_client.post("/v1/instances", json=deploy_body(hostname="a")),
        lambda: poor_client.post("/v1/instances", json=deploy_body(hostname="b")),
        lambda: rich_client.post("/v1/instances", json=deploy_body(hostname="c")),
        lambda: rich_client.post("/v1/instances", json={**deploy_body(), "image": "nope"}),
    ]
    answers = together(live, calls)
    assert batches == [4]
    assert [r.status_code for r in answers] == [202, 402, 202, 400]
    assert _instances(live, poor.project_id) == []
    made = _instances(live, rich.project_id)
    assert sorted(i.hostname for i in made) == ["a", "c"]
    assert len({i.ip for i in made}) == 2
    for answer, instance_id in ((answers[0], "a"), (answers[2], "c")):
        shown = rich_client.get(f"/v1/instances/{answer.text}").json()
        assert shown["hostname"] == instance_id


def test_the_capacity_a_batch_takes_counts_for_its_next_deploys(
    database_url, tmp_path_factory, batches
):
    """Room for two of a type in a location: the third made together is
    refused. Capacity is server-wide: a server of its own."""
    body = deploy_body(location_code="FIN-03")
    units = {"FIN-03": {"instances": {"CPU.4V.16G": {"on_demand": 2}}}}
    units["FIN-02"] = {"instances": {"CPU.4V.16G": {"on_demand": 0}}}
    with own_server(database_url, tmp_path_factory) as own:
        capacity_control.update(own.context.shared, own.context.catalog, units)
        creds = own.new_project(balance="100000")
        with httpx.Client(base_url=own.base_url, timeout=30) as client:
            client.headers["Authorization"] = f"Bearer {creds.access_token(client)}"
            answers = together(own, [lambda: client.post("/v1/instances", json=body)] * 3)
            none = client.post("/v1/instances", json=deploy_body(location_code="FIN-02"))
    assert batches == [3, 1]
    assert sorted(r.status_code for r in answers) == [202, 202, 503]
    assert none.status_code == 503, none.text  # no room at all there


def test_a_unit_that_fails_fails_every_deploy_of_it_and_writes_none(live, client_of, monkeypatch):
    creds = live.new_project(balance="100000")
    client = client_of(creds)

    def broken(self):
        raise RuntimeError("the store went away")

    monkeypatch.setattr(DeployBatch, "write", broken)
    answers = together(live, [lambda: client.post("/v1/instances", json=deploy_body())] * 3)
    assert [r.status_code for r in answers] == [500] * 3
    assert _instances(live, creds.project_id) == []
    monkeypatch.undo()
    assert client.post("/v1/instances", json=deploy_body()).status_code == 202
    assert len(_instances(live, creds.project_id)) == 1


def test_a_batch_takes_the_lowest_free_addresses_around_used_ones(
    database_url, tmp_path_factory, batches
):
    """Runs of free addresses are read once and used while they last: a batch
    fills the gap a deleted instance left, steps over the next used address,
    and goes on above it, as deploys one by one would."""
    with own_server(database_url, tmp_path_factory) as own:
        creds = own.new_project(balance="100000")
        with httpx.Client(base_url=own.base_url, timeout=30) as client:
            client.headers["Authorization"] = f"Bearer {creds.access_token(client)}"
            made = [client.post("/v1/instances", json=deploy_body()).text for _ in range(3)]
            own.clock.advance(60)  # running: deletable
            gone = client.put("/v1/instances", json={"action": "delete", "id": made[1]})
            assert gone.status_code == 202, gone.text
            answers = together(own, [lambda: client.post("/v1/instances", json=deploy_body())] * 3)
        ips = {i.id: i.ip_number for i in _instances(own, creds.project_id) if i.ip is not None}
    assert batches == [1, 1, 1, 3]
    first = ips[made[0]]
    assert ips[made[2]] == first + 2
    assert sorted(ips[a.text] for a in answers) == [first + 1, first + 3, first + 4]


class _Fake:
    """A queue whose units and deploys are recorded, not written."""

    def __init__(self) -> None:
        self.units: list[list[str]] = []
        self.waits: list[int] = []

    def unit(self, projects):
        from contextlib import nullcontext

        self.units.append(list(projects))
        return nullcontext((None, None))

    def deploy(self, session, now, project_id, body, made):
        if body == "refused":
            from verda_server.api.errors import invalid

            raise invalid("refused")
        return f"{project_id}:{body}"


def _queue(fake: _Fake, monkeypatch) -> DeployQueue:
    queue = DeployQueue(fake.unit, fake.deploy, catalog=None)  # type: ignore[arg-type]
    monkeypatch.setattr(DeployBatch, "write", lambda self: None)
    real = queue._arrived.wait_for

    def wait_for(predicate, timeout=None):
        fake.waits.append(queue._last)
        return real(predicate, timeout)

    monkeypatch.setattr(queue._arrived, "wait_for", wait_for)
    return queue


def test_a_lone_deploy_never_waits_for_company(monkeypatch):
    fake = _Fake()
    queue = _queue(fake, monkeypatch)
    assert queue.deploy("p", "a") == "p:a"
    assert queue.deploy("q", "b") == "q:b"
    assert fake.units == [["p"], ["q"]] and fake.waits == []


def test_after_a_batch_with_company_the_next_waits_for_as_many(monkeypatch):
    fake = _Fake()
    queue = _queue(fake, monkeypatch)
    with ThreadPoolExecutor(3) as pool:
        with queue._turn:
            futures = [
                pool.submit(queue.deploy, p, b) for p, b in (("p", 1), ("q", "refused"), ("p", 3))
            ]
            while len(queue._queue) < 3:
                time.sleep(0.001)
        assert futures[0].result() == "p:1" and futures[2].result() == "p:3"
        with pytest.raises(Exception, match="refused"):
            futures[1].result()
        assert fake.units == [["p", "q"]]  # one unit for the three, each project once
        # The next batch waits (up to LINGER_SECONDS) for three: it gets them.
        with queue._turn:
            later = [pool.submit(queue.deploy, "r", n) for n in range(3)]
            while len(queue._queue) < 1:
                time.sleep(0.001)
        assert [f.result() for f in later] == ["r:0", "r:1", "r:2"]
    assert fake.waits[0] == 3
