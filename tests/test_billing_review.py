"""Billing defects found in review, each pinned by the test that showed it."""

from __future__ import annotations

import pytest

from tests.support.clusters import deploy as deploy_cluster
from tests.support.clusters import give_back
from tests.test_billing import (
    FreshToken,
    balance,
    cluster_price,
    volume_rate,
)


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
