"""The open meters' sums (billing/sums.py): what they owe is bounded exactly, the
sums a unit remembers are those of the store, and a deploy into a project of
many meters decides what the exact computation decides."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.support.keys import ed25519_key
from tests.support.live import fresh_clients
from tests.support.volumes import deploy
from verda_server.billing import ledger, sums
from verda_server.billing.follow import billed
from verda_server.billing.funds import set_balance
from verda_server.billing.ledger import Accrual
from verda_server.billing.rates import epoch_us, quanta
from verda_server.projects.models import Project

pytestmark = pytest.mark.usefixtures("gives_back")

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _random_accrual(rng: random.Random, ending: bool) -> Accrual:
    opened = epoch_us(T0) + rng.randrange(10**10)
    rate = rng.choice([0, 1, rng.randrange(10**6), rng.randrange(10**15)])
    until = opened + rng.randrange(1, 10**10) if ending else None
    return Accrual(rate, opened, rng.randrange(10**6), until, rng.randrange(10**12))


def test_the_bounds_always_hold_what_the_meters_owe_one_by_one() -> None:
    rng = random.Random(9)
    for _ in range(300):
        accruals = [_random_accrual(rng, rng.random() < 0.1) for _ in range(rng.randrange(40))]
        summed = sums.Sums()
        for n, accrual in enumerate(accruals):
            summed = summed.plus(str(n), accrual, 1)
        at = T0 + timedelta(microseconds=rng.randrange(2 * 10**10, 3 * 10**10))
        exact = sum(a.owed(epoch_us(at)) for a in accruals)
        least, most = summed.owed_between(at)  # type: ignore[misc]
        assert least <= exact <= most
        assert most - least == max(summed.count - 1, 0)
        # Taking one away leaves the sums of the others.
        if accruals:
            fewer = summed.plus("0", accruals[0], -1)
            rest = sum(a.owed(epoch_us(at)) for a in accruals[1:])
            low, high = fewer.owed_between(at)  # type: ignore[misc]
            assert low <= rest <= high


def test_the_sums_cannot_tell_before_the_latest_opening() -> None:
    summed = sums.Sums().plus("m", Accrual(10**12, epoch_us(T0), 0, None, 0), 1)
    assert summed.owed_between(T0 - timedelta(microseconds=1)) is None
    assert summed.owed_between(T0) == (0, 0)


def _from_store(live, project_id: str) -> tuple[sums.Sums, Project]:
    with live.context.db.read() as session:
        project = session.get(Project, project_id)
        return sums.of_meters(sums.open_terms(session, project_id)), project


def _remembered(live, project: Project) -> sums.Sums | None:
    memo = live.context.db.memory.get(sums.MEMO)
    return None if memo is None else memo.get(project.id, project.generation)


@pytest.mark.usefixtures("many_meters")
def test_the_remembered_sums_are_the_stores_after_every_kind_of_change(live, clients, http) -> None:
    creds = live.new_project(balance="1000")
    client = fresh_clients(live, clients, http)(creds)
    made = [deploy(client) for _ in range(3)]
    live.clock.advance(3600)
    volume = client.post(
        "/v1/volumes",
        json={"type": "NVMe", "name": "v", "size": 50, "location_code": "FIN-01"},
    )
    assert volume.status_code == 202, volume.text
    deleted = client.put("/v1/instances", json={"action": "delete", "id": made[0]})
    assert deleted.status_code == 202, deleted.text
    live.clock.advance(60)
    deploy(client)
    stored, project = _from_store(live, creds.project_id)
    assert _remembered(live, project) == stored
    assert stored.meters >= 5


@pytest.mark.usefixtures("many_meters")
def test_the_due_instant_from_the_sums_is_at_most_a_few_microseconds_early(
    live, clients, http
) -> None:
    creds = live.new_project(balance="3")
    client = fresh_clients(live, clients, http)(creds)
    for _ in range(2):
        deploy(client)
    live.clock.advance(7)
    deploy(client)
    stored, project = _from_store(live, creds.project_id)
    from_sums = project.billing_due_at
    with live.context.db.read() as session:
        rows = sums.open_terms(session, creds.project_id)
        balance = ledger.balance_at(project, rows, live.clock.now())
        rate = sum((ledger.current_rate(m, live.clock.now()) for m in rows), ledger.ZERO)
    # The exact instant as refresh_due computes it meter by meter.
    seconds = balance / rate * 3600
    exact = live.clock.now() + timedelta(seconds=float(seconds))
    assert from_sums is not None
    assert exact - timedelta(microseconds=stored.meters + 2) <= from_sums
    assert from_sums <= exact + timedelta(microseconds=1)


@pytest.mark.usefixtures("many_meters")
def test_a_deploy_the_balance_cannot_pay_is_refused_with_the_exact_balance(
    live, clients, http
) -> None:
    creds = live.new_project(balance="1000")
    client = fresh_clients(live, clients, http)(creds)
    deploy(client)
    live.clock.advance(1)
    with live.context.db.write() as session:
        billed(session, live.clock.now(), live.context.catalog)
        project = session.get(Project, creds.project_id)
        set_balance(session, project, live.clock.now(), Decimal("0.01"))
    refused = client.post(
        "/v1/instances",
        json={
            "instance_type": "CPU.4V.16G",
            "image": "ubuntu-24.04",
            "hostname": "h",
            "description": "d",
            "location_code": "FIN-01",
        },
    )
    assert refused.status_code == 402, refused.text
    with live.context.db.read() as session:
        project = session.get(Project, creds.project_id)
        rows = sums.open_terms(session, creds.project_id)
        balance = ledger.balance_at(project, rows, live.clock.now())
    assert f"the balance is {balance.normalize():f} USD" in refused.json()["message"]
    assert quanta(balance) > 0


@pytest.mark.usefixtures("many_meters")
def test_the_remembered_sums_outlive_writes_that_change_no_meters(live, clients, http) -> None:
    """An SSH key, a script: the project's generation moves on, its meters
    don't, and the next deploy need not read them all again."""
    creds = live.new_project(balance="1000")
    client = fresh_clients(live, clients, http)(creds)
    deploy(client)
    deploy(client)
    before, project = _from_store(live, creds.project_id)
    assert _remembered(live, project) == before
    key = client.post("/v1/sshkeys", json={"name": "k", "key": ed25519_key()})
    assert key.status_code == 201, key.text
    script = client.post("/v1/scripts", json={"name": "s", "script": "echo hi"})
    assert script.status_code == 201, script.text
    after, moved = _from_store(live, creds.project_id)
    assert moved.generation > project.generation
    assert after == before
    assert _remembered(live, moved) == after
