"""Catalog endpoints over raw HTTP, checked against the data file and the OpenAPI schemas."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from verda_server.catalog.source import CatalogError, load_source

PUBLIC = [
    "/v1/instance-types",
    "/v1/cluster-types",
    "/v1/container-types",
    "/v1/long-term/periods",
    "/v1/long-term/periods/instances",
    "/v1/long-term/periods/clusters",
]
PRIVATE = [
    "/v1/balance",
    "/v1/images",
    "/v1/images/cluster",
    "/v1/volume-types",
    "/v1/locations",
    "/v1/instance-types/price-history",
    "/v1/instance-types/1H100.80S.22V",
    "/v1/instances/types",
    "/v1/instance-availability",
    "/v1/instance-availability/1H100.80S.22V",
    "/v1/instances/availability/1H100.80S.22V",
    "/v1/cluster-availability",
    "/v1/cluster-availability/16H200",
]


@pytest.mark.parametrize("path", PUBLIC)
def test_public_catalogs_need_no_token(http, contract, path):
    response = http.get(path)
    assert response.status_code == 200
    assert contract.check(response, path)


@pytest.mark.parametrize("path", PRIVATE)
def test_other_endpoints_need_a_token(http, path):
    response = http.get(path)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized_request"


def test_balance(authed, contract):
    body = contract.check(authed.get("/v1/balance"), "/v1/balance")
    assert body == {"amount": 1000, "currency": "usd"}


def test_instance_types_follow_the_catalog_in_both_currencies(http, contract, catalog):
    usd = contract.check(http.get("/v1/instance-types"), "/v1/instance-types")
    eur = contract.check(http.get("/v1/instance-types?currency=EUR"), "/v1/instance-types")
    assert [t["instance_type"] for t in usd] == [t.instance_type for t in catalog.instance_types]
    for item_usd, item_eur, source in zip(usd, eur, catalog.instance_types, strict=True):
        assert item_usd["currency"] == "usd" and item_eur["currency"] == "eur"
        assert item_usd["price_per_hour"] == source.price_per_hour.usd
        assert item_eur["price_per_hour"] == source.price_per_hour.eur
        assert item_usd["spot_price"] == source.spot_price.usd
        assert isinstance(item_usd["price_per_hour"], str)
        Decimal(item_usd["price_per_hour"])
        assert item_usd["supported_os"] == source.supported_os
        assert item_usd["gpu"] == source.gpu.model_dump()
    names = {t["instance_type"] for t in usd}
    assert {"1H100.80S.22V", "8B200.240V", "CPU.4V.16G", "CPU.180V.720G"} <= names


def test_instance_types_deprecated_alias_answers_the_same(authed, http):
    assert authed.get("/v1/instances/types").json() == http.get("/v1/instance-types").json()


def test_one_instance_type(authed, contract, http):
    path = "/v1/instance-types/{instance_type}"
    body = contract.check(authed.get("/v1/instance-types/1H100.80S.22V?currency=eur"), path)
    listed = {t["instance_type"]: t for t in http.get("/v1/instance-types?currency=eur").json()}
    assert body == listed["1H100.80S.22V"]
    missing = authed.get("/v1/instance-types/9Z999.1V")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_price_history_is_a_valid_empty_history(authed, contract):
    path = "/v1/instance-types/price-history"
    assert contract.check(authed.get(path + "?num_of_months=3&currency=eur"), path) == {}


def test_images_and_their_instance_type_filter(authed, contract, catalog):
    images = contract.check(authed.get("/v1/images"), "/v1/images")
    assert [i["image_type"] for i in images] == [i.image_type for i in catalog.images]
    assert not any(i["is_cluster"] for i in images)
    assert sum(i["is_default"] for i in images) == 1
    cpu = next(t for t in catalog.instance_types if t.instance_type.startswith("CPU."))
    filtered = authed.get("/v1/images", params={"instance_type": cpu.instance_type}).json()
    assert {i["image_type"] for i in filtered} == set(cpu.supported_os)
    assert len(filtered) < len(images)
    missing = authed.get("/v1/images", params={"instance_type": "nope"})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_cluster_images_and_their_cluster_type_filter(authed, contract, catalog):
    images = contract.check(authed.get("/v1/images/cluster"), "/v1/images/cluster")
    assert [i["image_type"] for i in images] == [i.image_type for i in catalog.cluster_images]
    assert all(i["is_cluster"] for i in images)
    cluster = catalog.cluster_types[0]
    filtered = authed.get("/v1/images/cluster", params={"instance_type": cluster.cluster_type})
    assert {i["image_type"] for i in filtered.json()} == set(cluster.supported_os)
    assert authed.get("/v1/images/cluster", params={"instance_type": "1X1"}).status_code == 404


def test_cluster_and_container_types(http, contract, catalog):
    clusters = contract.check(http.get("/v1/cluster-types?currency=eur"), "/v1/cluster-types")
    assert [c["cluster_type"] for c in clusters] == [c.cluster_type for c in catalog.cluster_types]
    assert all(c["currency"] == "eur" for c in clusters)
    assert {"16B200", "16H200", "32H200"} <= {c["cluster_type"] for c in clusters}
    containers = contract.check(http.get("/v1/container-types"), "/v1/container-types")
    assert len(containers) == len(catalog.container_types)
    assert all(isinstance(c["serverless_price"], str) for c in containers)


def test_volume_types_price_per_second(authed, contract, catalog):
    body = contract.check(authed.get("/v1/volume-types"), "/v1/volume-types")
    assert {v["type"] for v in body} == {
        "HDD",
        "NVMe",
        "HDD_Shared",
        "NVMe_Shared",
        "NVMe_Local_Storage",
        "NVMe_Shared_Cluster",
        "NVMe_OS_Cluster",
    }
    nvme = next(v for v in body if v["type"] == "NVMe")
    monthly = nvme["price"]["price_per_month_per_gb"]
    assert nvme["price"]["cps_per_gb"] == pytest.approx(monthly / (730 * 3600))
    eur = authed.get("/v1/volume-types?currency=eur").json()
    assert all(v["price"]["currency"] == "eur" for v in eur)


def test_locations_in_the_order_clients_expect(authed, contract):
    body = contract.check(authed.get("/v1/locations"), "/v1/locations")
    codes = [loc["code"] for loc in body]
    assert codes[:2] == ["FIN-01", "ICE-01"]
    assert {"FIN-02", "FIN-03"} <= set(codes)
    assert body[0] == {"code": "FIN-01", "name": "Finland 1", "country_code": "FI"}


def test_long_term_periods(http, catalog):
    instances = http.get("/v1/long-term/periods/instances").json()
    clusters = http.get("/v1/long-term/periods/clusters").json()
    assert [p["code"] for p in instances] == [p.code for p in catalog.long_term_periods.instances]
    assert [p["code"] for p in clusters] == [p.code for p in catalog.long_term_periods.clusters]
    assert http.get("/v1/long-term/periods").json() == instances
    assert all(isinstance(p["discount_percentage"], int) for p in instances + clusters)


def free_units(live, location: str, name: str, spot: bool) -> int:
    """Capacity left, by the data file and the instances other tests left running."""
    from verda_server.availability.service import UsageKey, capacity_usage

    units = live.context.catalog.capacity.get(location)
    total = units.instances.get(name) if units else None
    if total is None:
        return 0
    with live.context.db.read() as session:
        used = capacity_usage(session).get(UsageKey(location, name, spot), 0)
    return (total.spot if spot else total.on_demand) - used


def _expected(catalog, location: str, spot: bool, live) -> list[str]:
    return [
        t.instance_type
        for t in catalog.instance_types
        if free_units(live, location, t.instance_type, spot) > 0
    ]


def test_instance_availability_is_computed_from_capacity(live, authed, contract, catalog):
    path = "/v1/instance-availability"
    body = contract.check(authed.get(path), path)
    assert [e["location_code"] for e in body] == [loc.code for loc in catalog.locations]
    for entry in body:
        assert entry["availabilities"] == _expected(catalog, entry["location_code"], False, live)
    spot = authed.get(path, params={"isSpot": "true"}).json()
    for entry in spot:
        assert entry["availabilities"] == _expected(catalog, entry["location_code"], True, live)
    assert spot != body  # the data file has types with spot but no on-demand units, or v.v.
    assert authed.get(path, params={"is_spot": "true"}).json() == spot
    one = authed.get(path, params={"location_code": "FIN-03", "is_spot": "false"}).json()
    assert one == [
        {"location_code": "FIN-03", "availabilities": _expected(catalog, "FIN-03", False, live)}
    ]
    conflict = authed.get(path, params={"isSpot": "true", "is_spot": "false"})
    assert conflict.status_code == 400 and conflict.json()["code"] == "invalid_request"


def test_single_instance_type_availability_is_a_bare_boolean(live, authed, catalog):
    location = "FIN-01"
    available = _expected(catalog, location, False, live)
    unavailable = [
        t.instance_type for t in catalog.instance_types if t.instance_type not in available
    ]
    assert available and unavailable
    for name, want in ((available[0], True), (unavailable[0], False)):
        for path in (f"/v1/instance-availability/{name}", f"/v1/instances/availability/{name}"):
            response = authed.get(path, params={"location_code": location})
            assert response.status_code == 200
            assert response.text == ("true" if want else "false")
    assert authed.get("/v1/instance-availability/NOPE.1V").text == "false"
    anywhere = authed.get(f"/v1/instance-availability/{unavailable[0]}").json()
    assert anywhere == any(
        unavailable[0] in _expected(catalog, loc.code, False, live) for loc in catalog.locations
    )


def test_cluster_availability(authed, contract, catalog):
    path = "/v1/cluster-availability"
    body = contract.check(authed.get(path), path)
    for entry in body:
        capacity = catalog.capacity.get(entry["location_code"])
        want = [
            c.cluster_type
            for c in catalog.cluster_types
            if capacity and capacity.clusters.get(c.cluster_type, 0) > 0
        ]
        assert entry["availabilities"] == want
    with_clusters = next(e for e in body if e["availabilities"])
    name = with_clusters["availabilities"][0]
    code = with_clusters["location_code"]
    assert authed.get(f"{path}/{name}", params={"location_code": code}).text == "true"
    assert authed.get(f"{path}/NOPE").text == "false"
    filtered = authed.get(path, params={"location_code": code}).json()
    assert filtered == [with_clusters]


@pytest.mark.parametrize(
    "price",
    ["1.5\n", "1.5\r", "1\n.5", " 1.5", "1.5 ", "1_0", "1e3", "+1", "-1", "NaN", "1.", ".5"],
)
def test_a_catalog_price_must_be_a_plain_decimal_string(tmp_path, price):
    data = load_source().model_dump(mode="json")
    data["instance_types"][0]["price_per_hour"]["usd"] = price
    with pytest.raises(CatalogError, match=r"instance_types\.0\.price_per_hour\.usd:"):
        load_source(_write(tmp_path, data))


@pytest.mark.parametrize(
    "image_id",
    [
        "2404f580-1300-1111-82b3-f199fb9b701b\n",
        "2404f580-1300-1111-82b3-f199fb9b701b\r",
        "2404f580-1300-1111\n-82b3-f199fb9b701b",
        "{2404f580-1300-1111-82b3-f199fb9b701b}",
        "urn:uuid:2404f580-1300-1111-82b3-f199fb9b701b",
        "2404f5801300111182b3f199fb9b701b",
        "2404f580_1300-1111-82b3-f199fb9b701b",
    ],
)
def test_a_catalog_id_must_be_a_plain_uuid(tmp_path, image_id):
    data = load_source().model_dump(mode="json")
    data["images"][0]["id"] = image_id
    with pytest.raises(CatalogError, match=r"images\.0\.id:"):
        load_source(_write(tmp_path, data))


def test_catalog_prices_and_ids_at_the_limits_load(tmp_path):
    data = load_source().model_dump(mode="json")
    data["instance_types"][0]["price_per_hour"] = {"usd": "0", "eur": "12.000100"}
    image_id = data["images"][0]["id"]
    data["images"][0]["id"] = image_id.upper()
    loaded = load_source(_write(tmp_path, data))
    assert loaded.instance_types[0].price_per_hour.eur == "12.000100"
    assert loaded.images[0].id == image_id.lower()


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    return path
