"""The control API's capacity: read and set per location and type, on-demand and
spot, instances and clusters; availability and deploys follow on the very next
request, and a reset gives back the catalog's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import checked_client
from tests.support.cli import admin_cli
from tests.support.clusters import cluster_body
from tests.support.live import ADMIN_TOKEN, LiveServer, start_live_server
from tests.support.own import own_server
from tests.test_instances import deploy_body
from verda_server.control.shared import read_value

PATH = "/_admin/v1/capacity"
CPU = "CPU.4V.16G"  # the catalog gives FIN-01 120 on demand and 60 spot
CLUSTER = "16B200"  # the catalog gives FIN-03 4
ABSENT = "1B200.30V"  # the catalog gives FIN-01 none


@pytest.fixture(scope="module")
def own(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Capacity is server-wide: a server of this module's own."""
    with own_server(database_url, tmp_path_factory) as server:
        yield server


@pytest.fixture
def admin(own: LiveServer, admin_contract: Any) -> Iterator[httpx.Client]:
    with checked_client(own.base_url, admin_contract, ADMIN_TOKEN) as client:
        yield client
        assert client.delete(PATH).status_code == 200


@pytest.fixture
def user(own: LiveServer, contract: Any) -> Iterator[httpx.Client]:
    """A checked client of a new project of the module's server, which gives
    back the capacity it took when the test is over."""
    with checked_client(own.base_url, contract) as client:
        client.headers["Authorization"] = f"Bearer {own.new_project().access_token(client)}"
        yield client
        own.clock.advance(600)  # nothing still provisioning: all can go
        instances = [item["id"] for item in client.get("/v1/instances").json()]
        clusters = [item["id"] for item in client.get("/v1/clusters").json()]
        if instances:
            gone = client.put("/v1/instances", json={"action": "discontinue", "id": instances})
            assert gone.status_code == 202, gone.text
        for cluster in clusters:  # one at a time: the bulk form is another body
            gone = client.put("/v1/clusters", json={"action": "discontinue", "id": cluster})
            assert gone.status_code == 202, gone.text


def units(body: dict[str, Any], location: str, name: str, kind: str = "on_demand") -> Any:
    held = body["locations"][location]
    return held["clusters"][name] if kind == "cluster" else held["instances"][name][kind]


def set_units(admin: httpx.Client, location: str, name: str, **totals: int) -> dict[str, Any]:
    response = admin.put(PATH, json={"locations": {location: {"instances": {name: totals}}}})
    assert response.status_code == 200, response.text
    return dict(response.json())


def deploy(user: httpx.Client, **fields: Any) -> httpx.Response:
    return user.post("/v1/instances", json=deploy_body(instance_type=CPU, **fields))


def available(user: httpx.Client, name: str, spot: bool = False, kind: str = "instance") -> bool:
    params = {"location_code": "FIN-03" if kind == "cluster" else "FIN-01", "is_spot": spot}
    single = user.get(f"/v1/{kind}-availability/{name}", params=params).json()
    listed = user.get(f"/v1/{kind}-availability", params=params).json()
    assert single is (name in listed[0]["availabilities"])
    return bool(single)


def refused(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "service_unavailable"


def test_reads_every_type_of_every_location_with_the_catalog_figures(
    admin: httpx.Client, catalog: Any
) -> None:
    body = admin.get(PATH).json()
    assert list(body["locations"]) == [loc.code for loc in catalog.locations]
    for held in body["locations"].values():
        assert list(held["instances"]) == [t.instance_type for t in catalog.instance_types]
        assert list(held["clusters"]) == [t.cluster_type for t in catalog.cluster_types]
    assert units(body, "FIN-01", CPU) == {"total": 120, "in_use": 0, "free": 120, "catalog": 120}
    assert units(body, "FIN-01", CPU, "spot") == {
        "total": 60,
        "in_use": 0,
        "free": 60,
        "catalog": 60,
    }
    assert units(body, "FIN-01", ABSENT) == {"total": 0, "in_use": 0, "free": 0, "catalog": 0}
    assert units(body, "FIN-03", CLUSTER, "cluster") == {
        "total": 4,
        "in_use": 0,
        "free": 4,
        "catalog": 4,
    }


def test_one_unit_takes_one_deploy_and_more_takes_more(
    admin: httpx.Client, user: httpx.Client
) -> None:
    body = set_units(admin, "FIN-01", CPU, on_demand=1)
    assert units(body, "FIN-01", CPU) == {"total": 1, "in_use": 0, "free": 1, "catalog": 120}
    assert units(body, "FIN-01", CPU, "spot")["total"] == 60  # untouched
    assert available(user, CPU)
    assert deploy(user).status_code == 202
    assert not available(user, CPU)
    refused(deploy(user))
    body = admin.get(PATH).json()
    assert units(body, "FIN-01", CPU) == {"total": 1, "in_use": 1, "free": 0, "catalog": 120}
    # Raised: the very next deploy takes the new unit.
    set_units(admin, "FIN-01", CPU, on_demand=2)
    assert available(user, CPU)
    assert deploy(user).status_code == 202
    refused(deploy(user))


def test_spot_capacity_is_set_on_its_own(admin: httpx.Client, user: httpx.Client) -> None:
    body = set_units(admin, "FIN-01", CPU, spot=0)
    assert units(body, "FIN-01", CPU, "spot") == {"total": 0, "in_use": 0, "free": 0, "catalog": 60}
    assert not available(user, CPU, spot=True)
    assert available(user, CPU)
    refused(deploy(user, is_spot=True))
    assert deploy(user).status_code == 202
    set_units(admin, "FIN-01", CPU, spot=1, on_demand=0)
    assert available(user, CPU, spot=True)
    assert not available(user, CPU)
    assert deploy(user, is_spot=True).status_code == 202
    refused(deploy(user))


def test_lowering_below_what_is_in_use_evicts_nothing(
    own: LiveServer, admin: httpx.Client, user: httpx.Client
) -> None:
    set_units(admin, "FIN-01", CPU, on_demand=2)
    ids = [deploy(user).text for _ in range(2)]
    body = set_units(admin, "FIN-01", CPU, on_demand=1)
    assert units(body, "FIN-01", CPU) == {"total": 1, "in_use": 2, "free": 0, "catalog": 120}
    own.clock.advance(3)
    assert [user.get(f"/v1/instances/{i}").json()["status"] for i in ids] == ["running"] * 2
    assert not available(user, CPU)
    refused(deploy(user))


def test_a_type_the_catalog_gives_a_location_none_of_can_be_given_some(
    admin: httpx.Client, user: httpx.Client
) -> None:
    assert not available(user, ABSENT)
    body = set_units(admin, "FIN-01", ABSENT, on_demand=1)
    assert units(body, "FIN-01", ABSENT) == {"total": 1, "in_use": 0, "free": 1, "catalog": 0}
    assert units(body, "FIN-01", ABSENT, "spot")["total"] == 0
    assert available(user, ABSENT)


def test_cluster_capacity(admin: httpx.Client, user: httpx.Client) -> None:
    change = {"locations": {"FIN-03": {"clusters": {CLUSTER: 1}}}}
    body = admin.put(PATH, json=change).json()
    assert units(body, "FIN-03", CLUSTER, "cluster") == {
        "total": 1,
        "in_use": 0,
        "free": 1,
        "catalog": 4,
    }
    assert available(user, CLUSTER, kind="cluster")
    first = user.post("/v1/clusters", json=cluster_body())
    assert first.status_code == 201, first.text
    assert not available(user, CLUSTER, kind="cluster")
    refused(user.post("/v1/clusters", json=cluster_body(hostname="c2")))
    admin.put(PATH, json={"locations": {"FIN-03": {"clusters": {CLUSTER: 2}}}})
    assert user.post("/v1/clusters", json=cluster_body(hostname="c3")).status_code == 201
    body = admin.get(PATH).json()
    assert units(body, "FIN-03", CLUSTER, "cluster")["in_use"] == 2


def test_reset_gives_back_the_catalog_capacity(admin: httpx.Client, user: httpx.Client) -> None:
    pristine = admin.get(PATH).json()
    set_units(admin, "FIN-01", CPU, on_demand=0, spot=0)
    admin.put(PATH, json={"locations": {"FIN-03": {"clusters": {CLUSTER: 0}}}})
    assert not available(user, CPU)
    assert not available(user, CLUSTER, kind="cluster")
    response = admin.delete(PATH)
    assert response.status_code == 200
    assert response.json() == pristine
    assert available(user, CPU) and available(user, CPU, spot=True)
    assert available(user, CLUSTER, kind="cluster")


def test_setting_the_catalog_figure_again_is_no_override(
    own: LiveServer, admin: httpx.Client
) -> None:
    pristine = admin.get(PATH).json()
    set_units(admin, "FIN-01", CPU, on_demand=5)
    assert set_units(admin, "FIN-01", CPU, on_demand=120) == pristine
    with own.context.db.read() as session:
        assert read_value(session, "capacity") == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"locations": {"MARS-01": {}}}, "unknown location 'MARS-01'"),
        (
            {"locations": {"FIN-01": {"instances": {"CPU.3V": {"on_demand": 1}}}}},
            "locations.FIN-01.instances: unknown instance type 'CPU.3V'",
        ),
        (
            {"locations": {"FIN-01": {"clusters": {"99X": 1}}}},
            "locations.FIN-01.clusters: unknown cluster type '99X'",
        ),
        (
            {"locations": {"FIN-01": {"instances": {CPU: {"on_demand": -1}}}}},
            f"locations.FIN-01.instances.{CPU}.on_demand",
        ),
        (
            {"locations": {"FIN-01": {"instances": {CPU: {"ondemand": 1}}}}},
            f"locations.FIN-01.instances.{CPU}.ondemand",
        ),
        (
            {"locations": {"FIN-01": {"instances": {CPU: {"spot": 1.5}}}}},
            f"locations.FIN-01.instances.{CPU}.spot",
        ),
        (
            {"locations": {"FIN-03": {"clusters": {CLUSTER: {"spot": 1}}}}},
            f"locations.FIN-03.clusters.{CLUSTER}",
        ),
        ({"locations": {"FIN-03": {"clusters": {CLUSTER: -1}}}}, "clusters"),
        ({"locations": {"FIN-03": {"volumes": {}}}}, "locations.FIN-03.volumes"),
        ({}, "locations"),
        ({"FIN-01": {}}, "FIN-01"),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(
    admin: httpx.Client, body: Any, message: str
) -> None:
    before = admin.get(PATH).json()
    # A good change beside a bad one is not applied either.
    if "locations" in body:
        body["locations"].setdefault("FIN-02", {"clusters": {"16H200": 1}})
    response = admin.put(PATH, json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert message in response.json()["message"]
    assert admin.get(PATH).json() == before


def test_every_replica_follows_a_change_on_its_next_request(
    database_url: str, empty_database_url: str, admin_contract: Any, contract: Any
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("replicas share a network store (PostgreSQL)")
    with (
        start_live_server(empty_database_url) as one,
        start_live_server(empty_database_url) as two,
        checked_client(one.base_url, admin_contract, ADMIN_TOKEN) as admin,
        checked_client(two.base_url, contract) as user,
    ):
        user.headers["Authorization"] = f"Bearer {two.new_project().access_token(user)}"
        set_units(admin, "FIN-01", CPU, on_demand=0)
        assert not available(user, CPU)
        refused(deploy(user))
        admin.delete(PATH)
        assert available(user, CPU)
        assert deploy(user).status_code == 202


def test_admin_cli_reads_sets_and_resets_capacity(
    own: LiveServer, admin: httpx.Client, user: httpx.Client
) -> None:
    shown = admin_cli(own, "capacity", "--location", "FIN-01", "--type", CPU)
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines() == [
        "location  type        kind       total  in_use  free  catalog",
        "FIN-01    CPU.4V.16G  on_demand  120    0       120   120",
        "FIN-01    CPU.4V.16G  spot       60     0       60    60",
    ]
    emptied = admin_cli(own, "capacity", "set", "FIN-01", CPU, "0")
    assert emptied.exit_code == 0, emptied.output
    assert "FIN-01    CPU.4V.16G  on_demand  0      0       0     120" in emptied.output
    assert not available(user, CPU)
    spot = admin_cli(own, "--json", "capacity", "set", "FIN-01", CPU, "1", "--spot")
    assert units(json.loads(spot.output), "FIN-01", CPU, "spot")["total"] == 1
    clusters = admin_cli(own, "capacity", "set", "FIN-03", CLUSTER, "0", "--cluster")
    assert "FIN-03    16B200  cluster  0      0       0     4" in clusters.output
    assert not available(user, CLUSTER, kind="cluster")
    reset = admin_cli(own, "capacity", "reset")
    assert (reset.exit_code, reset.output) == (0, "capacity is the catalog's again\n")
    assert available(user, CPU) and available(user, CLUSTER, kind="cluster")


def test_admin_cli_says_what_went_wrong_with_capacity(own: LiveServer) -> None:
    unknown = admin_cli(own, "capacity", "set", "MARS-01", CPU, "1")
    assert unknown.exit_code == 1
    assert unknown.output.startswith("error: invalid_request: locations: unknown location")
    both = admin_cli(own, "capacity", "set", "FIN-03", CLUSTER, "1", "--spot", "--cluster")
    assert both.exit_code == 2
    assert "clusters are never spot" in both.output
