"""Billing at its edges: what mutation testing of billing/ showed the other
tests did not pin down. Exact expectations, computed here from the catalog."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal

import pytest

from tests.support.clusters import deploy as deploy_cluster
from tests.support.clusters import give_back
from tests.support.live import fresh_clients
from tests.support.volumes import create as create_volume
from tests.test_billing import (
    Q,
    balance,
    deploy,
    instance,
    os_volume_rate,
    price,
    volume_rate,
)
from verda_server.billing import ledger
from verda_server.billing.follow import billed
from verda_server.billing.funds import set_balance
from verda_server.projects.models import Project

# Capacity is shared by the session's server: what a test deployed goes with it.
pytestmark = pytest.mark.usefixtures("gives_back")


@pytest.fixture
def client_of(live, clients, http):
    return fresh_clients(live, clients, http)


@pytest.fixture
def clusters_back(live):
    yield
    give_back(live)


def _set_balance(live, project_id: str, amount: str) -> None:
    with live.context.db.write() as session:
        billed(session, live.clock.now(), live.context.catalog)
        set_balance(session, session.get(Project, project_id), live.clock.now(), Decimal(amount))


def _due_at(live, project_id: str):
    with live.context.db.read() as session:
        return session.get(Project, project_id).billing_due_at


def test_a_charge_is_floored_never_rounded(live, client_of, catalog):
    http = client_of(live.new_project(balance="1000"))
    create_volume(http, type="HDD", size=100)
    rate = volume_rate(catalog, "HDD", 100)
    live.clock.advance(1)
    exact = rate / 3600  # 0.0000000019025875…: its 13th digit rounds up, the floor does not
    assert balance(http) == 1000 - exact.quantize(Q, rounding=ROUND_FLOOR)
    assert exact.quantize(Q, rounding=ROUND_FLOOR) != exact.quantize(Q)


def test_one_projects_money_running_out_stops_only_its_own(live, client_of, catalog, clusters_back):
    hourly = price(catalog) + os_volume_rate(catalog)
    poor, rich = live.new_project(balance=str(hourly)), live.new_project(balance="100000")
    poor_http, rich_http = client_of(poor), client_of(rich)
    poor_instance, rich_instance = deploy(poor_http), deploy(rich_http)
    rich_cluster = deploy_cluster(rich_http)
    live.clock.advance(3600)
    assert instance(poor_http, poor_instance)["status"] == "offline"
    assert instance(rich_http, rich_instance)["status"] == "running"
    assert rich_http.get(f"/v1/clusters/{rich_cluster}").json()["status"] == "running"


@pytest.mark.parametrize("what", ["instance", "cluster"])
def test_a_balance_set_to_zero_is_due_at_once_while_something_runs(
    live, client_of, catalog, clusters_back, what
):
    credentials = live.new_project(balance="100000")
    http = client_of(credentials)
    deploy(http) if what == "instance" else deploy_cluster(http)
    _set_balance(live, credentials.project_id, "0")
    assert _due_at(live, credentials.project_id) == live.clock.now()


def test_a_balance_set_to_zero_stops_what_runs(live, client_of, catalog, clusters_back):
    credentials = live.new_project(balance="100000")
    http = client_of(credentials)
    instance_id = deploy(http)
    cluster_id = deploy_cluster(http)
    live.clock.advance(20)  # both running
    _set_balance(live, credentials.project_id, "0")
    assert _due_at(live, credentials.project_id) == live.clock.now()
    assert instance(http, instance_id)["status"] == "offline"
    assert http.get(f"/v1/clusters/{cluster_id}").json()["status"] == "discontinued"
    # Nothing runs any more: nothing is due, however long the balance stays below zero.
    assert _due_at(live, credentials.project_id) is None


def test_nothing_is_due_for_a_broke_project_whose_things_are_stopped(
    live, client_of, catalog, clusters_back
):
    busy = client_of(live.new_project(balance="100000"))
    deploy(busy)
    deploy_cluster(busy)
    credentials = live.new_project(balance="1000")
    http = client_of(credentials)
    instance_id = deploy(http)
    live.clock.advance(20)
    assert http.put("/v1/instances", json={"action": "shutdown", "id": instance_id}).status_code
    _set_balance(live, credentials.project_id, "0")
    assert _due_at(live, credentials.project_id) is None


def test_only_the_contract_that_ended_goes_pay_as_you_go(live, client_of, catalog):
    http = client_of(live.new_project(balance="100000"))
    week = deploy(http, contract="LONG_TERM", long_term_period="1_WEEK")
    fortnight = deploy(http, contract="LONG_TERM", long_term_period="2_WEEKS")
    created = live.clock.now()
    assert instance(http, fortnight)["long_term"]["end_date"].startswith(
        (created + timedelta(weeks=2)).strftime("%Y-%m-%dT%H:%M")
    )
    live.clock.advance(timedelta(weeks=1, hours=1))
    assert instance(http, week)["contract"] == "PAY_AS_YOU_GO"
    after = instance(http, fortnight)
    assert after["contract"] == "LONG_TERM"
    assert Decimal(str(after["price_per_hour"])) == price(catalog) * Decimal("0.93")


def test_a_contract_charged_before_its_end_reads_exactly_after_it(live, client_of, catalog):
    credentials = live.new_project(balance="1000")
    http = client_of(credentials)
    deploy(http, contract="LONG_TERM", long_term_period="1_WEEK")
    payg, os_rate = price(catalog), os_volume_rate(catalog)
    discounted = payg * Decimal("0.95")
    live.clock.advance(timedelta(days=3))
    with live.context.db.write() as session:  # the ledger written mid-contract
        billed(session, live.clock.now(), live.context.catalog)
        project = session.get(Project, credentials.project_id)
        ledger.charge_all(session, project, live.clock.now())
    live.clock.advance(timedelta(days=4, hours=3))
    assert balance(http) == 1000 - 168 * discounted - 3 * payg - 171 * os_rate


def test_a_402_names_the_price_and_balance_in_the_projects_currency(live, client_of, catalog):
    http = client_of(live.new_project(balance="1", currency="eur"))
    refused = http.post(
        "/v1/volumes",
        json={"type": "NVMe", "name": "v", "size": 100000, "location_code": "FIN-01"},
    )
    assert refused.status_code == 402
    message = refused.json()["message"]
    assert "EUR per hour" in message and "balance is 1 EUR" in message


def test_set_balance_books_any_rise_as_a_top_up_and_no_change_as_nothing(live):
    from verda_server.billing.models import Funding

    credentials = live.new_project(balance="10")
    _set_balance(live, credentials.project_id, "10.5")
    _set_balance(live, credentials.project_id, "10.5")
    with live.context.db.read() as session:
        books = sorted(
            (f.kind, f.amount)
            for f in session.query(Funding).filter_by(project_id=credentials.project_id)
        )
    assert books == [("opening", Decimal("10")), ("top_up", Decimal("0.5"))]


def test_coupons_never_take_a_price_below_zero_and_name_what_they_apply_to():
    from datetime import UTC, datetime

    from verda_server.api.errors import ApiError
    from verda_server.billing.pricing import find_period, with_coupon
    from verda_server.catalog.service import Catalog
    from verda_server.catalog.source import load_source

    source = load_source()
    data = source.model_dump()
    data["coupons"] = [
        {"code": "HUGE", "amount_off_per_hour": {"usd": "99", "eur": "99"}},
        {"code": "ONLY", "percent_off": 5, "instance_types": ["1A100.22V", "1V100.6V"]},
    ]
    catalog = Catalog(type(source).model_validate(data))
    now = datetime(2027, 1, 1, tzinfo=UTC)
    assert with_coupon(catalog, "HUGE", "CPU.4V.16G", Decimal("3.17"), "usd", now) == 0
    with pytest.raises(ApiError) as refused:
        with_coupon(catalog, "ONLY", "CPU.4V.16G", Decimal("3.17"), "usd", now)
    assert "(only 1A100.22V, 1V100.6V)" in refused.value.message
    with pytest.raises(ApiError) as unknown:
        find_period(catalog, "9_YEARS")
    assert "(one of 1_WEEK, 2_WEEKS, 1_MONTH," in unknown.value.message
    assert find_period(catalog, "2 weeks").code == "2_WEEKS"
