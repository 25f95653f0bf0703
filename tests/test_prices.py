"""Every price of every catalog item, in both currencies, against the data
file; and spot and on-demand capacity, which are counted apart."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
import yaml

from tests.support.live import TLS, start_live_server
from tests.test_errors import assert_error
from tests.test_instances import BOOT, deploy_body
from verda_server.catalog.service import SECONDS_PER_BILLING_MONTH
from verda_server.catalog.source import load_source

CURRENCIES = ["usd", "eur"]


def _of(prices, currency: str):
    return None if prices is None else prices.of(currency)


def test_the_data_file_can_tell_every_mix_up_apart(catalog):
    """Otherwise the tests below could not see a price in the wrong currency,
    or the spot price where the fixed one belongs."""
    types = catalog.instance_types
    assert all(t.price_per_hour.usd != t.price_per_hour.eur for t in types)
    assert all(t.spot_price.usd != t.spot_price.eur for t in types)
    assert all(t.spot_price.of(c) != t.price_per_hour.of(c) for t in types for c in CURRENCIES)
    assert any(t.serverless_price for t in types)
    assert all(c.price_per_hour.usd != c.price_per_hour.eur for c in catalog.cluster_types)
    assert all(c.serverless_price.usd != c.serverless_price.eur for c in catalog.container_types)
    volumes = [v.price_per_month_per_gb for v in catalog.volume_types]
    assert all(p.usd != p.eur for p in volumes)


def _instance_type_prices(source, currency: str) -> dict:
    fixed = source.price_per_hour.of(currency)
    return {
        "price_per_hour": fixed,
        "spot_price": source.spot_price.of(currency),
        # Dynamic pricing was removed: both equal the fixed price.
        "dynamic_price": fixed,
        "max_dynamic_price": fixed,
        "serverless_price": _of(source.serverless_price, currency),
        "serverless_spot_price": _of(source.serverless_spot_price, currency),
        "currency": currency,
    }


@pytest.mark.parametrize("currency", CURRENCIES)
def test_every_instance_type_price(http, authed, catalog, currency):
    params = {"currency": currency}
    listed = http.get("/v1/instance-types", params=params).json()
    assert [t["instance_type"] for t in listed] == [t.instance_type for t in catalog.instance_types]
    assert authed.get("/v1/instances/types", params=params).json() == listed
    for item, source in zip(listed, catalog.instance_types, strict=True):
        expected = _instance_type_prices(source, currency)
        assert {k: item.get(k) for k in expected} == expected, source.instance_type
        one = authed.get(f"/v1/instance-types/{source.instance_type}", params=params).json()
        assert {k: one.get(k) for k in expected} == expected, source.instance_type


@pytest.mark.parametrize("currency", CURRENCIES)
def test_every_cluster_container_and_volume_type_price(http, authed, catalog, currency):
    params = {"currency": currency}
    clusters = http.get("/v1/cluster-types", params=params).json()
    assert [(c["cluster_type"], c["price_per_hour"], c["currency"]) for c in clusters] == [
        (c.cluster_type, c.price_per_hour.of(currency), currency) for c in catalog.cluster_types
    ]
    containers = http.get("/v1/container-types", params=params).json()
    assert [
        (c["instance_type"], c["serverless_price"], c["serverless_spot_price"], c["currency"])
        for c in containers
    ] == [
        (
            c.instance_type,
            c.serverless_price.of(currency),
            c.serverless_spot_price.of(currency),
            currency,
        )
        for c in catalog.container_types
    ]
    volumes = authed.get("/v1/volume-types", params=params).json()
    assert [v["type"] for v in volumes] == [v.type for v in catalog.volume_types]
    for item, source in zip(volumes, catalog.volume_types, strict=True):
        monthly = source.price_per_month_per_gb.of(currency)
        assert item["price"]["price_per_month_per_gb"] == monthly
        assert item["price"]["cps_per_gb"] == pytest.approx(monthly / SECONDS_PER_BILLING_MONTH)
        assert item["price"]["currency"] == currency


def test_the_default_currency_is_usd(http, catalog):
    for path in ("/v1/instance-types", "/v1/cluster-types", "/v1/container-types"):
        assert {item["currency"] for item in http.get(path).json()} == {"usd"}
    first = http.get("/v1/instance-types").json()[0]
    assert first["price_per_hour"] == catalog.instance_types[0].price_per_hour.usd


@pytest.mark.parametrize("currency", CURRENCIES)
def test_instances_cost_their_type_s_price_in_the_project_currency(
    live, client_of, catalog, currency
):
    client = client_of(live.new_project(currency=currency))
    spec = next(t for t in catalog.instance_types if t.instance_type == "CPU.4V.16G")
    for spot, price in ((False, spec.price_per_hour), (True, spec.spot_price)):
        body = deploy_body(location_code="FIN-03", is_spot=spot)
        instance_id = client.post("/v1/instances", json=body).text
        instance = client.get(f"/v1/instances/{instance_id}").json()
        assert instance["price_per_hour"] == float(Decimal(price.of(currency)))


# ---- capacity ------------------------------------------------------------------

NAME, WHERE = "CPU.4V.16G", "FIN-01"


def _available(client: httpx.Client, spot: bool) -> bool:
    params = {"location_code": WHERE, "is_spot": str(spot).lower()}
    one = client.get(f"/v1/instance-availability/{NAME}", params=params).json()
    (listed,) = client.get("/v1/instance-availability", params=params).json()
    assert one == (NAME in listed["availabilities"])
    return bool(one)


def _deploy(client: httpx.Client, spot: bool) -> httpx.Response:
    return client.post("/v1/instances", json=deploy_body(location_code=WHERE, is_spot=spot))


def test_spot_and_on_demand_capacity_are_counted_apart(empty_database_url, tmp_path):
    data = load_source().model_dump(mode="json")
    data["capacity"][WHERE]["instances"][NAME] = {"on_demand": 2, "spot": 1}
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    with (
        start_live_server(empty_database_url, catalog_path=path) as server,
        httpx.Client(verify=TLS, base_url=server.base_url, timeout=10) as client,
    ):
        client.headers["Authorization"] = f"Bearer {server.new_project().access_token(client)}"
        assert _available(client, spot=True) and _available(client, spot=False)
        spot = _deploy(client, spot=True)
        assert spot.status_code == 202, spot.text
        # The spot unit is taken: no spot left, on-demand untouched.
        assert not _available(client, spot=True) and _available(client, spot=False)
        assert "spot capacity" in assert_error(_deploy(client, True), 503, "service_unavailable")
        for _ in range(2):
            assert _deploy(client, spot=False).status_code == 202
        # Both on-demand units are taken too.
        assert not _available(client, spot=False) and not _available(client, spot=True)
        assert_error(_deploy(client, spot=False), 503, "service_unavailable")
        server.clock.advance(BOOT)
        gone = client.put("/v1/instances", json={"action": "delete", "id": spot.text})
        assert gone.status_code == 202, gone.text
        # The spot unit is back, whatever on-demand holds.
        assert _available(client, spot=True) and not _available(client, spot=False)
        assert _deploy(client, spot=True).status_code == 202
