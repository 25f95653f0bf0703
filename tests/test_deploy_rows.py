"""A deploy writes its new rows with Core statements (instances/rows.py), not
through the ORM's flush: what the ORM's hooks did for new objects is done
explicitly. These pin the rows it leaves, the meters billing opens for them,
the project's next billing instant, the meters' remembered sums, and the
project's generation, with every part of a deploy body at once."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.support.keys import ed25519_key
from tests.support.live import fresh_clients
from tests.support.volumes import create, deploy
from tests.test_instances import BOOT
from verda_server.billing import ledger, sums
from verda_server.billing.billable import volume_hourly
from verda_server.billing.models import Meter
from verda_server.billing.rates import hours_covered
from verda_server.instances.models import Instance, InstanceSshKey
from verda_server.projects.models import Project
from verda_server.storage.ip import ip_number
from verda_server.tags.models import TagLink
from verda_server.volumes.models import Volume, VolumeAttachment, VolumeSshKey

pytestmark = pytest.mark.usefixtures("gives_back")


def _keys(client, count: int) -> list[str]:
    made = []
    for n in range(count):
        response = client.post("/v1/sshkeys", json={"name": f"k{n}", "key": ed25519_key(f"{n}@x")})
        assert response.status_code == 201, response.text
        made.append(response.text)
    return made


def _open_meters(session, project_id: str) -> dict[str, Meter]:
    rows = session.scalars(
        select(Meter).where(Meter.project_id == project_id, Meter.closed_at.is_(None))
    )
    return {m.resource_id: m for m in rows}


def _exact_due(session, project: Project, now):
    """The money-out instant as refresh_due computes it meter by meter."""
    rows = sums.open_terms(session, project.id)
    balance = ledger.balance_at(project, rows, now)
    rate = sum((ledger.current_rate(m, now) for m in rows), ledger.ZERO)
    return now + hours_covered(balance, rate)


def test_a_deploy_writes_every_row_meter_and_instant_of_its_body(
    live, clients, http, catalog
) -> None:
    """Two keys, a named OS volume, two new volumes and an existing one, tags."""
    creds = live.new_project(balance="1000")
    client = fresh_clients(live, clients, http)(creds)
    keys = _keys(client, 2)
    kept = create(client, name="kept", size=20)
    with live.context.db.read() as session:
        before = session.get(Project, creds.project_id).generation
        kept_meter = _open_meters(session, creds.project_id)[kept]
    live.clock.advance(60)
    now = live.clock.now()
    instance_id = deploy(
        client,
        ssh_key_ids=list(reversed(keys)),
        os_volume={"name": "root", "size": 80, "tags": [{"key": "disk", "value": "os"}]},
        volumes=[
            {"name": "a", "size": 10, "type": "NVMe", "tags": [{"key": "k", "value": "a"}]},
            {"name": "b", "size": 30, "type": "HDD", "on_spot_discontinue": "move_to_trash"},
        ],
        existing_volumes=[kept],
        tags=[{"key": "role", "value": "web"}],
    )
    with live.context.db.read() as session:
        project = session.get(Project, creds.project_id)
        instance = session.get(Instance, instance_id)
        volumes = {
            v.name: v
            for v in session.scalars(select(Volume).where(Volume.project_id == project.id))
        }
        attached = {
            a.volume_id: (a.target, a.position)
            for a in session.scalars(
                select(VolumeAttachment).where(VolumeAttachment.instance_id == instance_id)
            )
        }
        instance_keys = [
            (k.ssh_key_id, k.position)
            for k in session.scalars(
                select(InstanceSshKey)
                .where(InstanceSshKey.instance_id == instance_id)
                .order_by(InstanceSshKey.position)
            )
        ]
        root = volumes["root"]
        root_keys = [
            (k.ssh_key_id, k.position)
            for k in session.scalars(
                select(VolumeSshKey)
                .where(VolumeSshKey.volume_id == root.id)
                .order_by(VolumeSshKey.position)
            )
        ]
        tagged = set(session.scalars(select(TagLink.resource_id)))
        meters = _open_meters(session, project.id)
        exact = _exact_due(session, project, now)

    spec = next(t for t in catalog.instance_types if t.instance_type == "CPU.4V.16G")
    assert instance.os_volume_id == root.id and instance.created_at == now
    assert instance.ip_number == ip_number(instance.ip) and instance.evict_at is None
    assert instance.due_at is not None and instance.due_at > now
    assert instance.price_per_hour == Decimal(str(spec.price_per_hour.usd))
    expected_keys = list(zip(reversed(keys), range(2), strict=True))
    assert instance_keys == expected_keys and root_keys == expected_keys
    assert attached == {
        root.id: ("vda", 0),
        volumes["a"].id: ("vdb", 0),
        volumes["b"].id: ("vdc", 0),
        kept: ("vdd", 0),
    }
    assert all(v.status == "attached" for v in volumes.values())
    assert (root.is_os_volume, root.size, root.image_type) == (True, 80, "ubuntu-24.04")
    assert volumes["b"].on_spot_discontinue == "move_to_trash"
    assert volumes["a"].on_spot_discontinue == "keep_detached"
    assert {instance_id, root.id, volumes["a"].id} <= tagged
    assert volumes["b"].id not in tagged
    # A meter for each new billable row, opened at its creation; the existing
    # volume's goes on as it was.
    assert set(meters) == {instance_id, root.id, volumes["a"].id, volumes["b"].id, kept}
    assert meters[kept].id == kept_meter.id
    for volume in (root, volumes["a"], volumes["b"]):
        meter = meters[volume.id]
        assert (meter.resource_kind, meter.opened_at, meter.charged) == ("volume", now, 0)
        hourly = volume_hourly(live.context.catalog, volume.type, volume.size, "usd")
        assert meter.rate_per_hour == hourly
    assert meters[instance_id].rate_per_hour == instance.price_per_hour
    assert (meters[instance_id].resource_kind, meters[instance_id].opened_at) == ("instance", now)
    # The project's next billing instant counts the new meters, exactly, and
    # its generation moved, with what the unit remembered of its meters.
    assert project.billing_due_at == exact
    assert project.generation > before
    memo = live.context.db.memory[sums.MEMO]
    remembered = memo.get(project.id, project.generation)
    with live.context.db.read() as session:
        assert remembered in (None, sums.of_meters(sums.open_terms(session, project.id)))


@pytest.mark.usefixtures("many_meters")
def test_the_sums_a_deploy_remembers_are_the_stores(live, clients, http) -> None:
    creds = live.new_project(balance="1000")
    client = fresh_clients(live, clients, http)(creds)
    deploy(client)  # sums the meters once, and remembers them
    live.clock.advance(30)
    deploy(client, volumes=[{"name": "x", "size": 10, "type": "NVMe"}])
    with live.context.db.read() as session:
        project = session.get(Project, creds.project_id)
        stored = sums.of_meters(sums.open_terms(session, project.id))
    memo = live.context.db.memory[sums.MEMO]
    assert memo.get(project.id, project.generation) == stored
    assert stored.meters == 5


def test_the_money_runs_out_when_the_deploys_meters_say(live, clients, http) -> None:
    creds = live.new_project(balance="10")
    client = fresh_clients(live, clients, http)(creds)
    instance_id = deploy(client)
    with live.context.db.read() as session:
        project = session.get(Project, creds.project_id)
        due = project.billing_due_at
    assert due is not None
    live.clock.advance((due - live.clock.now() - timedelta(seconds=1)).total_seconds())
    assert client.get(f"/v1/instances/{instance_id}").json()["status"] == "running"
    live.clock.advance(2)
    assert client.get(f"/v1/instances/{instance_id}").json()["status"] == "offline"


def test_a_deploy_from_an_os_volume_attaches_it_with_the_new_keys(live, clients, http) -> None:
    creds = live.new_project(balance="1000")
    client = fresh_clients(live, clients, http)(creds)
    first_key, second_key = _keys(client, 2)
    first = deploy(client, ssh_key_ids=[first_key])
    with live.context.db.read() as session:
        os_volume = session.get(Instance, first).os_volume_id
    live.clock.advance(BOOT)
    gone = client.put("/v1/instances", json={"action": "delete", "id": first, "volume_ids": []})
    assert gone.status_code == 202, gone.text
    again = deploy(client, image=os_volume, ssh_key_ids=[second_key])
    with live.context.db.read() as session:
        assert session.get(Instance, again).os_volume_id == os_volume
        volume = session.get(Volume, os_volume)
        assert volume.status == "attached"
        assert [(a.instance_id, a.target) for a in volume.attachments] == [(again, "vda")]
        assert [k.ssh_key_id for k in volume.ssh_keys] == [second_key]
        open_meters = session.scalars(
            select(Meter).where(Meter.resource_id == os_volume, Meter.closed_at.is_(None))
        ).all()
        assert len(open_meters) == 1


def test_a_write_is_at_the_instant_it_gets_the_writers_turn(live, clients, http) -> None:
    """A unit's instant is read once it holds the turn: a deploy that waited
    for it is not earlier than what was written before it."""
    group = live.context.db._group
    if group is None:
        pytest.skip("the embedded store's turn is watched; PostgreSQL's is a lock")
    creds = live.new_project(balance="1000")
    client = fresh_clients(live, clients, http)(creds)
    assert client.get("/v1/instances").status_code == 200  # its token is written now
    answer: list[str] = []
    with live.context.db.write():
        waiting = threading.Thread(target=lambda: answer.append(deploy(client)))
        waiting.start()
        for _ in range(10_000_000):
            if group._queued:
                break
        assert group._queued, "the deploy never queued for the turn"
        live.clock.advance(5)
        later = live.clock.now()
    waiting.join(timeout=30)
    with live.context.db.read() as session:
        assert session.get(Instance, answer[0]).created_at == later
