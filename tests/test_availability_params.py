"""Every availability endpoint takes both spellings of its parameters: `location_code`
and `is_spot` (Go SDK) and the deprecated `locationCode` and `isSpot` (Python SDK)."""

from __future__ import annotations

import pytest

from tests.test_catalog import free_units
from tests.test_errors import assert_error

LOCATION = ["location_code", "locationCode"]
SPOT = ["is_spot", "isSpot"]
INSTANCE_ONE = ["/v1/instance-availability/{}", "/v1/instances/availability/{}"]
ALL_ONE = [*INSTANCE_ONE, "/v1/cluster-availability/{}"]
LISTS = ["/v1/instance-availability", "/v1/cluster-availability"]


def _instance_type_in_one_location(live, catalog, spot: bool) -> tuple[str, str, str]:
    """(type, a location with free units of it, a location with none)."""
    codes = [loc.code for loc in catalog.locations]
    for t in catalog.instance_types:
        free = [c for c in codes if free_units(live, c, t.instance_type, spot) > 0]
        none = [c for c in codes if free_units(live, c, t.instance_type, spot) <= 0]
        if free and none:
            return t.instance_type, free[0], none[0]
    raise AssertionError("the data file has no type available in one location only")


def _cluster_type_in_one_location(catalog) -> tuple[str, str, str]:
    codes = [loc.code for loc in catalog.locations]

    def units(code: str, name: str) -> int:
        capacity = catalog.capacity.get(code)
        return capacity.clusters.get(name, 0) if capacity else 0

    for c in catalog.cluster_types:
        free = [code for code in codes if units(code, c.cluster_type) > 0]
        none = [code for code in codes if units(code, c.cluster_type) <= 0]
        if free and none:
            return c.cluster_type, free[0], none[0]
    raise AssertionError("the data file has no cluster type available in one location only")


def _one(authed, path: str, **params) -> bool:
    response = authed.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.text in ("true", "false")
    return response.text == "true"


@pytest.mark.parametrize("spelling", LOCATION)
@pytest.mark.parametrize("path", LISTS)
def test_the_lists_keep_only_the_location_asked_for(authed, contract, path, spelling):
    every = contract.check(authed.get(path), path)
    assert len(every) > 1
    for entry in every:
        code = entry["location_code"]
        assert contract.check(authed.get(path, params={spelling: code}), path) == [entry]
    assert_error(authed.get(path, params={spelling: "MARS-01"}), 400, "invalid_request")


@pytest.mark.parametrize("spelling", LOCATION)
@pytest.mark.parametrize("path", ALL_ONE)
def test_one_type_is_checked_in_the_location_asked_for(live, authed, catalog, path, spelling):
    if path.startswith("/v1/cluster"):
        name, there, elsewhere = _cluster_type_in_one_location(catalog)
    else:
        name, there, elsewhere = _instance_type_in_one_location(live, catalog, False)
    url = path.format(name)
    assert _one(authed, url) is True
    assert _one(authed, url, **{spelling: there}) is True
    assert _one(authed, url, **{spelling: elsewhere}) is False
    assert_error(authed.get(url, params={spelling: "MARS-01"}), 400, "invalid_request")


@pytest.mark.parametrize("spelling", SPOT)
def test_the_instance_list_takes_either_spot_spelling(live, authed, catalog, spelling):
    name, there, _ = _instance_type_in_one_location(live, catalog, True)
    body = authed.get("/v1/instance-availability", params={spelling: "true", "locationCode": there})
    (entry,) = body.json()
    assert entry["location_code"] == there and name in entry["availabilities"]
    on_demand = authed.get("/v1/instance-availability", params={spelling: "false"}).json()
    assert on_demand == authed.get("/v1/instance-availability").json()
    assert on_demand != authed.get("/v1/instance-availability", params={spelling: "true"}).json()


@pytest.mark.parametrize("spelling", SPOT)
@pytest.mark.parametrize("path", INSTANCE_ONE)
def test_one_instance_type_takes_either_spot_spelling(live, authed, catalog, path, spelling):
    """A type with on-demand units but no spot units somewhere tells the two apart."""
    codes = [loc.code for loc in catalog.locations]
    name, code = next(
        (t.instance_type, c)
        for t in catalog.instance_types
        for c in codes
        if free_units(live, c, t.instance_type, False) > 0
        and free_units(live, c, t.instance_type, True) <= 0
    )
    url = path.format(name)
    assert _one(authed, url, location_code=code, **{spelling: "false"}) is True
    assert _one(authed, url, location_code=code, **{spelling: "true"}) is False
    assert _one(authed, url, locationCode=code, **{spelling: "true"}) is False


@pytest.mark.parametrize("spelling", SPOT)
def test_clusters_are_never_spot(authed, catalog, spelling):
    name, _, _ = _cluster_type_in_one_location(catalog)
    listed = authed.get("/v1/cluster-availability", params={spelling: "true"}).json()
    assert listed and all(entry["availabilities"] == [] for entry in listed)
    assert _one(authed, f"/v1/cluster-availability/{name}", **{spelling: "true"}) is False
    assert _one(authed, f"/v1/cluster-availability/{name}", **{spelling: "false"}) is True
    unfiltered = authed.get("/v1/cluster-availability").json()
    assert authed.get("/v1/cluster-availability", params={spelling: "false"}).json() == unfiltered


@pytest.mark.parametrize("path", [*LISTS, *(p.format("16H200") for p in ALL_ONE)])
def test_spellings_that_disagree_are_refused_and_agreeing_ones_are_fine(authed, path):
    both = {"location_code": "FIN-01", "locationCode": "FIN-03"}
    message = assert_error(authed.get(path, params=both), 400, "invalid_request")
    assert "locationCode" in message and "location_code" in message
    message = assert_error(
        authed.get(path, params={"isSpot": "true", "is_spot": "false"}), 400, "invalid_request"
    )
    assert "isSpot" in message and "is_spot" in message
    agreeing = {"location_code": "FIN-01", "locationCode": "FIN-01", "isSpot": 0, "is_spot": 0}
    assert authed.get(path, params=agreeing).status_code == 200


def test_the_document_declares_both_spellings(contract):
    paths = [*LISTS, "/v1/instance-availability/{instance_type}"]
    paths += [
        "/v1/instances/availability/{instanceType}",
        "/v1/cluster-availability/{cluster_type}",
    ]
    for path in paths:
        parameters = {p["name"]: p for p in contract.document["paths"][path]["get"]["parameters"]}
        assert {"location_code", "locationCode", "is_spot", "isSpot"} <= set(parameters), path
        assert parameters["locationCode"]["deprecated"] is True
        assert parameters["isSpot"]["deprecated"] is True
