"""Billing defects found in review, each pinned by the test that showed it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.clusters import deploy as deploy_cluster
from tests.support.clusters import give_back
from tests.support.live import TLS, fresh_clients
from tests.test_billing import (
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

# Capacity is shared by the session's server: what a test deployed goes with it.
pytestmark = pytest.mark.usefixtures("gives_back")


@pytest.fixture
def client_of(live, clients, http):
    """A raw client of the project's that keeps working however far the clock moves."""

    return fresh_clients(live, clients, http)


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


def test_a_bulk_start_at_zero_refuses_every_id_alike(live, client_of, catalog):
    """The balance is read once per call: every id gets the same refusal."""
    hourly = 2 * (price(catalog) + os_volume_rate(catalog))
    http = client_of(live.new_project(balance=str(hourly)))
    ids = [deploy(http), deploy(http)]
    live.clock.advance(3600)
    bulk = http.put("/v1/instances", json={"action": "start", "id": [*ids, "not-an-id"]})
    assert bulk.status_code == 207, bulk.text
    results = bulk.json()
    assert [r.get("statusCode") for r in results] == [402, 402, 404]
    assert results[0]["error"] == results[1]["error"]
    assert "balance of 0 USD" in results[0]["error"]
    assert [instance(http, i)["status"] for i in ids] == ["offline", "offline"]


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


def test_a_store_from_before_billing_runs_out_of_money_too(empty_database_url, catalog):
    """Meters opened at the first start count towards the project's exhaustion."""
    from datetime import UTC, datetime

    import httpx
    from alembic import command
    from sqlalchemy import create_engine, text

    from tests.support.live import Credentials, start_live_server
    from verda_server.projects.service import add_credential
    from verda_server.storage.migrate import alembic_config

    when = datetime(2026, 1, 1, tzinfo=UTC)
    engine = create_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            command.upgrade(alembic_config(connection), "0005")
            connection.execute(
                text(
                    "INSERT INTO projects (id, name, balance, currency, is_default, created_at) "
                    "VALUES ('p', 'p', 1, 'usd', :no, :when)"
                ),
                {"no": False, "when": when},
            )
            connection.execute(
                text(
                    "INSERT INTO instances (id, project_id, instance_type, location, status, "
                    "hostname, description, image, os_name, ip, jupyter_token, is_spot, "
                    "contract, pricing, price_per_hour, currency, created_at) VALUES "
                    "('00000000-0000-4000-8000-000000000001', 'p', 'CPU.4V.16G', 'FIN-01', "
                    "'running', 'old', '', 'ubuntu-24.04', 'Ubuntu 24.04', NULL, 't', :no, "
                    "'PAY_AS_YOU_GO', 'FIXED_PRICE', 0.5, 'usd', :when)"
                ),
                {"no": False, "when": when},
            )
            connection.commit()
    finally:
        engine.dispose()
    with start_live_server(empty_database_url) as server:
        with server.context.db.write() as session:
            client_id, secret = add_credential(session, server.clock, "p")
        with httpx.Client(verify=TLS, base_url=server.base_url) as client:
            credentials = Credentials("p", client_id, secret)
            token = credentials.access_token(client)
            client.headers["Authorization"] = f"Bearer {token}"
            server.clock.advance(2 * 3600 + 1)  # two hours at 0.5 spent the 1.00
            client.headers["Authorization"] = f"Bearer {credentials.access_token(client)}"
            body = client.get("/v1/instances/00000000-0000-4000-8000-000000000001").json()
            assert body["status"] == "offline", body


def test_a_contract_that_ended_before_a_top_up_still_ends(live, client_of, catalog):
    credentials = live.new_project(balance="1000")
    http = client_of(credentials)
    instance_id = deploy(http, contract="LONG_TERM", long_term_period="1_WEEK")
    live.clock.advance(7 * 24 * 3600 + 3600)  # nothing read since: the end is not applied
    with live.context.db.write() as session:  # as `projects set-balance` does
        project = session.get(Project, credentials.project_id)
        set_balance(session, project, live.clock.now(), Decimal(2000))
    after = instance(http, instance_id)
    assert after["contract"] == "PAY_AS_YOU_GO" and after["long_term"] is None
    assert Decimal(str(after["price_per_hour"])) == price(catalog)
    live.clock.advance(3600)
    assert balance(http) == 2000 - price(catalog) - os_volume_rate(catalog)


@pytest.mark.parametrize(
    "coupons",
    [[], [{"code": "ANYONE", "percent_off": 10}]],
    ids=["no coupons", "no coupon for some types only"],
)
def test_a_catalog_without_type_bound_coupons_serves_a_valid_document(
    empty_database_url, tmp_path, coupons
):
    import httpx
    import yaml
    from openapi_spec_validator import validate

    from tests.support.live import start_live_server
    from verda_server.catalog.source import load_source

    data = load_source().model_dump(mode="json", exclude_none=True)
    data["coupons"] = coupons
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    with start_live_server(empty_database_url, catalog_path=path) as server:
        document = httpx.get(f"{server.base_url}/v1/openapi.json", verify=TLS).json()
    validate(document)
