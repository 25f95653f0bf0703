"""Serverless compute resources (BEYOND.md §5.1): the catalog's offer, its
availability from the units in use, and the lookup deployments price with."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from tests.test_errors import assert_error
from verda_server.api.errors import ApiError
from verda_server.catalog.service import Catalog
from verda_server.catalog.source import CatalogError, load_source
from verda_server.serverless import usage
from verda_server.serverless.compute import service

PATH = "/v1/serverless-compute-resources"
PACKAGED = Catalog(load_source())
GPUS = ["H100", "H200", "B200", "B300", "A100", "L40S", "RTX6000 Ada", "RTX PRO 6000"]


def test_sdk_lists_every_pair_with_the_first_available_at_size_1(sdk):
    resources = sdk.containers.get_compute_resources()
    assert [(r.name, r.size) for r in resources[:4]] == [("H100", s) for s in (1, 2, 4, 8)]
    assert {r.name for r in resources} == {*GPUS, "CPUNode"}
    assert [r.size for r in resources if r.name == "CPUNode"] == [1, 2, 4, 8, 16, 32]
    # What the Go SDK's helper deploys: the first available entry, with size 1.
    first = next(r for r in resources if r.is_available)
    assert (first.name, first.size) == ("H100", 1)
    ones = sdk.containers.get_compute_resources(size=1, is_available=True)
    assert [r.name for r in ones] == [*GPUS, "CPUNode"]


def test_raw_list_is_documented(authed, contract):
    body = contract.check(authed.get(PATH), PATH)
    assert all(set(item) == {"name", "size", "is_available"} for item in body)
    assert all(type(item["size"]) is int for item in body)
    assert all(item["is_available"] for item in body)


def test_availability_is_the_capacity_left(authed, monkeypatch):
    held = {"H100": 63, "CPUNode": 500, "Nothing": 4}
    monkeypatch.setattr(usage, "units_in_use", lambda _session: held)
    body = authed.get(PATH).json()
    available = {(r["name"], r["size"]) for r in body if r["is_available"]}
    assert ("H100", 1) in available and ("H100", 2) not in available
    assert ("CPUNode", 8) in available and ("CPUNode", 16) not in available
    held["H100"] = 70  # more than there is: nothing, never below nothing
    body = authed.get(PATH).json()
    assert not any(r["is_available"] for r in body if r["name"] == "H100")
    first = next(r for r in body if r["is_available"])
    assert (first["name"], first["size"]) == ("H200", 1)


def test_needs_a_token(http):
    assert_error(http.get(PATH), 401, "unauthorized_request")


# The lookup deployments and jobs price with.


def test_an_offer_is_the_unit_price_times_the_size():
    loaded = PACKAGED
    offer = service.find_offer(loaded, "H100", 8, "usd")
    assert (offer.units, offer.price_per_hour, offer.spot_price_per_hour) == (
        8,
        Decimal("14.00"),
        Decimal("7.000"),
    )
    cpu = service.find_offer(loaded, "CPUNode", 4, "eur")
    assert (cpu.units, cpu.currency, cpu.price_per_hour, cpu.spot_price_per_hour) == (
        4,
        "eur",
        Decimal("0.1288"),
        Decimal("0.0644"),
    )
    ada = service.find_offer(loaded, "RTX PRO 6000", 2, "usd")
    assert ada.price_per_hour == Decimal("3.058")


@pytest.mark.parametrize(("name", "size"), [("H100", 3), ("H100", 0), ("h100", 1), ("GPU", 1)])
def test_an_unknown_pair_is_a_400_naming_it(name, size):
    with pytest.raises(ApiError) as refused:
        service.find_offer(PACKAGED, name, size, "usd")
    assert refused.value.code == "invalid_request"
    assert f"{name!r} of size {size}" in refused.value.message


def test_an_offer_in_the_projects_currency(live):
    euros = live.new_project(currency="eur")
    with live.context.db.read() as session:
        offer = service.project_offer(session, live.context.catalog, euros.project_id, "A100", 1)
        assert service.is_available(session, live.context.catalog, "A100", 1)
    assert (offer.currency, offer.price_per_hour) == ("eur", Decimal("1.09"))


# The catalog section.


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _with_resources(tmp_path: Path, resources: list[dict]) -> Path:
    data = load_source().model_dump(mode="json")
    data["serverless"] = {"compute_resources": resources}
    return _write(tmp_path, data)


PRICES = {"usd": "0.01", "eur": "0.01"}


@pytest.mark.parametrize(
    ("resources", "problem"),
    [
        ([{"name": "H100", "sizes": [2, 1], "capacity": 8}], "sizes ascending"),
        ([{"name": "H100", "sizes": [1, 1], "capacity": 8}], "sizes ascending"),
        ([{"name": "H100", "sizes": [0, 1], "capacity": 8}], "greater than 0"),
        ([{"name": "H100", "sizes": [], "capacity": 8}], "at least 1"),
        ([{"name": "H100", "sizes": [1], "capacity": -1}], "greater than or equal to 0"),
        ([{"name": "H100", "sizes": [2, 4], "capacity": 8}], "must offer size 1"),
        ([{"name": "TPU", "sizes": [1], "capacity": 8}], "needs price_per_unit_hour"),
        (
            [{"name": "H100", "sizes": [1], "capacity": 8, "price_per_unit_hour": PRICES}],
            "give both",
        ),
        (
            [
                {
                    "name": "H100",
                    "sizes": [1],
                    "capacity": 8,
                    "price_per_unit_hour": PRICES,
                    "spot_price_per_unit_hour": PRICES,
                }
            ],
            "priced by its container type",
        ),
        (
            [
                {"name": "H100", "sizes": [1], "capacity": 8},
                {"name": "H100", "sizes": [2], "capacity": 8},
            ],
            "duplicate serverless compute resource",
        ),
        ([{"name": "H100", "sizes": [1], "capacity": 8, "gpus": 1}], "Extra inputs"),
    ],
)
def test_a_bad_serverless_section_stops_the_start(tmp_path, resources, problem):
    with pytest.raises(CatalogError, match=problem):
        load_source(_with_resources(tmp_path, resources))


def test_a_catalog_without_serverless_offers_nothing(tmp_path):
    data = load_source().model_dump(mode="json")
    del data["serverless"]
    assert load_source(_write(tmp_path, data)).serverless.compute_resources == []
    priced = {"price_per_unit_hour": PRICES, "spot_price_per_unit_hour": PRICES}
    own = [{"name": "Tiny", "sizes": [1, 3], "capacity": 2, **priced}]
    loaded = Catalog(load_source(_with_resources(tmp_path, own)))
    assert service.find_offer(loaded, "Tiny", 3, "usd").price_per_hour == Decimal("0.03")
