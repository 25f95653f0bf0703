"""Billing defects found in review, each pinned by the test that showed it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.clusters import deploy as deploy_cluster
from tests.support.clusters import give_back
from tests.test_billing import (
    FreshToken,
    act,
    balance,
    cluster_price,
    deploy,
    instance,
    os_volume_rate,
    price,
    volume_rate,
)
from verda_server.billing.funds import set_balance
from verda_server.projects.models import Project


@pytest.fixture
def client_of(live, clients, http):
    """A raw client of the project's that keeps working however far the clock moves."""

    def make(credentials):
        client = clients()
        client.auth = FreshToken(live, http, credentials)
        return client

    return make


@pytest.fixture
def clusters_back(live):
    yield
    give_back(live)


def test_a_cluster_stops_costing_at_the_instant_the_money_runs_out_read_late(
    live, client_of, catalog, clusters_back
):
    home = volume_rate(catalog, "NVMe_Shared_Cluster", 1000)
    hourly = cluster_price(catalog) + home
    http = client_of(live.new_project(balance=str(hourly)))
    cluster_id = deploy_cluster(http)
    live.clock.advance(10 * 3600)  # nothing read or written for ten hours
    assert http.get(f"/v1/clusters/{cluster_id}").json()["status"] == "discontinued"
    # One hour of the cluster, ten of its /home volume (kept, detached).
    assert balance(http) == -9 * home


def test_the_balance_read_late_agrees_with_the_books(live, client_of, catalog, clusters_back):
    home = volume_rate(catalog, "NVMe_Shared_Cluster", 1000)
    hourly = cluster_price(catalog) + home
    http = client_of(live.new_project(balance=str(hourly)))
    deploy_cluster(http)
    live.clock.advance(10 * 3600)
    assert balance(http) == -9 * home  # read first: the same as after the settle


def test_an_instance_shut_down_by_exhaustion_can_t_be_started_at_zero(live, client_of, catalog):
    hourly = price(catalog) + os_volume_rate(catalog)
    http = client_of(live.new_project(balance=str(hourly)))
    instance_id = deploy(http)
    live.clock.advance(3600)
    assert instance(http, instance_id)["status"] == "offline"
    started = http.put("/v1/instances", json={"action": "start", "id": instance_id})
    assert started.status_code == 402, started.text
    assert started.json()["code"] == "insufficient_funds"
    live.clock.advance(3600)
    assert instance(http, instance_id)["status"] == "offline"
    # In a bulk call the refusal is that instance's result; the books are untouched.
    other = deploy(client_of(live.new_project()))  # another project's: 404
    both = {"action": "boot", "id": [instance_id, other]}
    bulk = http.put("/v1/instances", json=both)
    assert bulk.status_code == 207, bulk.text
    assert [r.get("statusCode") for r in bulk.json()] == [402, 404]


def test_a_balance_topped_up_lets_an_instance_start_again(live, client_of, catalog):
    hourly = price(catalog) + os_volume_rate(catalog)
    credentials = live.new_project(balance=str(hourly))
    http = client_of(credentials)
    instance_id = deploy(http)
    live.clock.advance(3600)
    assert instance(http, instance_id)["status"] == "offline"
    with live.context.db.write() as session:
        project = session.get(Project, credentials.project_id)
        set_balance(session, project, live.clock.now(), Decimal(5))
    act(http, "start", instance_id)
    live.clock.advance(5)
    assert instance(http, instance_id)["status"] == "running"
