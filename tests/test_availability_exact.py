"""Availability at its exact edges, on a server of its own whose catalog holds a
known, small capacity: FIN-01 has 2 on-demand and 1 spot unit of CPU.4V.16G and
one 16H200 cluster, FIN-02 one on-demand unit of CPU.4V.16G, FIN-03 no capacity
entry at all. Shared by every project."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import pytest
import yaml

from tests.conftest import postgres_database
from tests.support.live import TLS, LiveServer, start_live_server
from tests.test_errors import assert_error
from tests.test_instances import BOOT, act, deploy_body
from verda_server.catalog.source import load_source
from verda_server.config import sqlite_url

TYPE = "CPU.4V.16G"
CLUSTER = "16H200"


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One for the module: each test leaves the capacity as it found it."""
    tmp_path = tmp_path_factory.mktemp("availability")
    data = load_source().model_dump(mode="json")
    for capacity in data["capacity"].values():
        capacity["instances"].pop(TYPE, None)
        capacity["clusters"] = {}
    data["capacity"]["FIN-01"] = {
        "instances": {TYPE: {"on_demand": 2, "spot": 1}},
        "clusters": {CLUSTER: 1},
    }
    data["capacity"]["FIN-02"]["instances"][TYPE] = {"on_demand": 1, "spot": 0}
    del data["capacity"]["FIN-03"]
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    with contextlib.ExitStack() as stack:
        if database_url.startswith("sqlite"):
            url = sqlite_url(tmp_path)
        else:
            url = stack.enter_context(postgres_database())
        yield stack.enter_context(start_live_server(url, catalog_path=path))


@pytest.fixture
def client_of(contract):
    """A new project's authenticated client; responses checked against the document."""

    made: list[httpx.Client] = []

    def make(server: LiveServer) -> httpx.Client:
        def verify(response: httpx.Response) -> None:
            response.read()
            contract.verify(response)

        client = httpx.Client(
            verify=TLS, base_url=server.base_url, timeout=10, event_hooks={"response": [verify]}
        )
        made.append(client)
        client.headers["Authorization"] = f"Bearer {server.new_project().access_token(client)}"
        return client

    yield make
    for client in made:
        client.close()


def _available(client: httpx.Client, spot: bool) -> dict[str, bool]:
    """Whether TYPE is available, by location, as the list and the single checks say."""
    params = {"is_spot": str(spot).lower()}
    listed = client.get("/v1/instance-availability", params=params).json()
    by_list = {e["location_code"]: TYPE in e["availabilities"] for e in listed}
    for code, available in by_list.items():
        for path in (f"/v1/instance-availability/{TYPE}", f"/v1/instances/availability/{TYPE}"):
            one = client.get(path, params={**params, "location_code": code})
            assert one.json() is available, (path, code)
    anywhere = client.get(f"/v1/instance-availability/{TYPE}", params=params).json()
    assert anywhere is any(by_list.values())
    return by_list


def _deploy(client: httpx.Client, spot: bool) -> httpx.Response:
    return client.post("/v1/instances", json=deploy_body(is_spot=spot))


def test_on_demand_and_spot_units_are_counted_apart_and_across_projects(server, client_of):
    one, two = client_of(server), client_of(server)
    assert _available(one, False) == {
        "FIN-01": True,
        "ICE-01": False,
        "FIN-02": True,
        "FIN-03": False,
    }
    assert _available(one, True) == {
        "FIN-01": True,
        "ICE-01": False,
        "FIN-02": False,
        "FIN-03": False,
    }
    first = _deploy(one, False)
    assert first.status_code == 202, first.text
    assert _available(two, False)["FIN-01"] is True  # 1 of 2 left
    assert _deploy(two, False).status_code == 202
    assert _available(one, False)["FIN-01"] is False
    assert _available(one, True)["FIN-01"] is True  # spot units are apart
    full = _deploy(one, False)
    assert "capacity" in assert_error(full, 503, "service_unavailable")
    spot = _deploy(two, True)
    assert spot.status_code == 202, spot.text
    assert _available(one, True)["FIN-01"] is False
    assert_error(_deploy(one, True), 503, "service_unavailable")
    # A removed instance gives its unit back.
    server.clock.advance(BOOT)
    assert act(one, "delete", first.text).status_code == 202
    assert _available(two, False)["FIN-01"] is True
    assert _available(two, True)["FIN-01"] is False
    # Give the rest back: the server is the module's.
    for client in (one, two):
        ids = [i["id"] for i in client.get("/v1/instances").json()]
        if ids:
            assert act(client, "delete", ids).status_code == 202
    assert _available(one, False)["FIN-01"] is True and _available(one, True)["FIN-01"] is True


def test_a_location_without_capacity_has_nothing(server, client_of):
    client = client_of(server)
    for spot in ("false", "true"):
        listed = client.get(
            "/v1/instance-availability", params={"location_code": "FIN-03", "is_spot": spot}
        )
        assert listed.json() == [{"location_code": "FIN-03", "availabilities": []}]
    clusters = client.get("/v1/cluster-availability", params={"location_code": "FIN-03"})
    assert clusters.json() == [{"location_code": "FIN-03", "availabilities": []}]
    one = client.get(f"/v1/cluster-availability/{CLUSTER}", params={"location_code": "FIN-03"})
    assert one.json() is False
    refused = client.post("/v1/instances", json=deploy_body(location_code="FIN-03"))
    assert_error(refused, 503, "service_unavailable")


def test_cluster_availability_follows_the_capacity(server, client_of):
    client = client_of(server)
    listed = client.get("/v1/cluster-availability").json()
    assert listed == [
        {"location_code": "FIN-01", "availabilities": [CLUSTER]},
        {"location_code": "ICE-01", "availabilities": []},
        {"location_code": "FIN-02", "availabilities": []},
        {"location_code": "FIN-03", "availabilities": []},
    ]
    for code, want in (("FIN-01", True), ("ICE-01", False), (None, True)):
        params = {"location_code": code} if code else {}
        one = client.get(f"/v1/cluster-availability/{CLUSTER}", params=params)
        assert one.json() is want, code
    assert client.get("/v1/cluster-availability/32H200").json() is False


def test_an_unknown_location_is_named_with_the_known_ones(server, client_of):
    client = client_of(server)
    for path in (
        "/v1/instance-availability",
        f"/v1/instance-availability/{TYPE}",
        "/v1/cluster-availability",
        f"/v1/cluster-availability/{CLUSTER}",
    ):
        message = assert_error(
            client.get(path, params={"location_code": "MARS-01"}), 400, "invalid_request"
        )
        assert message == (
            "location_code: unknown location 'MARS-01' (known: FIN-01, ICE-01, FIN-02, FIN-03)"
        ), path


def test_spellings_that_disagree_are_named(server, client_of):
    client = client_of(server)
    for path in ("/v1/instance-availability", f"/v1/cluster-availability/{CLUSTER}"):
        both = {"location_code": "FIN-01", "locationCode": "FIN-03"}
        message = assert_error(client.get(path, params=both), 400, "invalid_request")
        assert message == "locationCode and location_code disagree; send one of them"
        both = {"is_spot": "true", "isSpot": "false"}
        message = assert_error(client.get(path, params=both), 400, "invalid_request")
        assert message == "isSpot and is_spot disagree; send one of them"


def test_units_are_counted_per_location(server, client_of):
    client = client_of(server)
    ids = []
    for code in ("FIN-01", "FIN-02"):
        response = client.post("/v1/instances", json=deploy_body(location_code=code))
        assert response.status_code == 202, response.text
        ids.append(response.text)
    assert _available(client, False) == {
        "FIN-01": True,
        "ICE-01": False,
        "FIN-02": False,
        "FIN-03": False,
    }
    server.clock.advance(BOOT)
    assert act(client, "delete", ids).status_code == 202
    assert _available(client, False)["FIN-02"] is True
