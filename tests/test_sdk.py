"""Contract tests: the official `verda` SDK, unmodified, against a live server."""

from __future__ import annotations

import pytest
from verda import VerdaClient
from verda.exceptions import APIException

from tests.test_catalog import free_units


def test_the_sdk_authenticates_in_its_constructor(sdk):
    auth = sdk._authentication
    assert auth._access_token and auth._refresh_token
    assert auth._scope == "cloud-api-v1" and auth._token_type == "Bearer"
    assert not auth.is_expired()


def test_wrong_credentials_raise_an_api_exception(live, project):
    with pytest.raises(APIException) as raised:
        VerdaClient(project.client_id, "wrong-secret", base_url=live.api_url)
    assert raised.value.code == "unauthorized_request"


def test_refresh_then_keep_working(sdk):
    before = sdk._authentication._refresh_token
    data = sdk._authentication.refresh()
    assert data["refresh_token"] != before
    assert sdk.balance.get().amount == 1000


def test_expired_token_is_refreshed_by_the_sdk(sdk):
    sdk._authentication._expires_at = 0  # the SDK believes its token expired
    old = sdk._authentication._access_token
    assert sdk.balance.get().currency == "usd"
    assert sdk._authentication._access_token != old


def test_a_failed_refresh_falls_back_to_client_credentials(live, sdk):
    before = sdk._authentication._access_token
    sdk._authentication._refresh_token = "spent-or-unknown"
    data = sdk._authentication.refresh()  # the server answers 401, the SDK re-authenticates
    assert sdk._authentication._refresh_token not in ("spent-or-unknown", None)
    assert data["access_token"] != before
    assert sdk.balance.get().amount == 1000


def test_balance(live):
    creds = live.new_project(balance="123.45", currency="eur")
    client = VerdaClient(creds.client_id, creds.client_secret, base_url=live.api_url)
    balance = client.balance.get()
    assert balance.amount == pytest.approx(123.45)
    assert balance.currency == "eur"


def test_instance_types(sdk, catalog):
    types = sdk.instance_types.get()
    assert [t.instance_type for t in types] == [t.instance_type for t in catalog.instance_types]
    first, source = types[0], catalog.instance_types[0]
    assert first.price_per_hour == float(source.price_per_hour.usd)
    assert first.spot_price_per_hour == float(source.spot_price.usd)
    eur = sdk.instance_types.get(currency="eur")
    assert eur[0].currency == "eur"
    assert eur[0].price_per_hour == float(source.price_per_hour.eur)


def test_images(sdk, catalog):
    images = sdk.images.get()
    assert [i.image_type for i in images] == [i.image_type for i in catalog.images]
    cpu = next(t for t in catalog.instance_types if t.instance_type.startswith("CPU."))
    filtered = sdk.images.get(instance_type=cpu.instance_type)
    assert {i.image_type for i in filtered} == set(cpu.supported_os)


def test_volume_types(sdk, catalog):
    types = {v.type: v.price_per_month_per_gb for v in sdk.volume_types.get()}
    assert types == {v.type: v.price_per_month_per_gb.usd for v in catalog.volume_types}


def test_locations(sdk):
    codes = [loc["code"] for loc in sdk.locations.get()]
    assert codes[:2] == ["FIN-01", "ICE-01"]


def test_long_term_periods(sdk, catalog):
    assert [p.code for p in sdk.long_term.get_instance_periods()] == [
        p.code for p in catalog.long_term_periods.instances
    ]
    clusters = sdk.long_term.get_cluster_periods()
    assert [p.code for p in clusters] == [p.code for p in catalog.long_term_periods.clusters]


def test_cluster_and_container_types(sdk, catalog):
    clusters = sdk.cluster_types.get(currency="eur")
    assert [c.cluster_type for c in clusters] == [c.cluster_type for c in catalog.cluster_types]
    assert clusters[0].price_per_hour == float(catalog.cluster_types[0].price_per_hour.eur)
    containers = sdk.container_types.get()
    assert [c.instance_type for c in containers] == [
        c.instance_type for c in catalog.container_types
    ]


def test_instance_availability(live, sdk, catalog):
    everywhere = sdk.instances.get_availabilities()
    assert [e["location_code"] for e in everywhere] == [loc.code for loc in catalog.locations]
    fin01 = sdk.instances.get_availabilities(is_spot=False, location_code="FIN-01")
    assert len(fin01) == 1 and fin01[0]["location_code"] == "FIN-01"
    for name in ("1H100.80S.22V", "8H100.80S.352V", "CPU.4V.16G"):
        want = free_units(live, "FIN-01", name, spot=False) > 0
        assert sdk.instances.is_available(name, location_code="FIN-01") is want
    assert sdk.instances.is_available("NOT.A.TYPE") is False
    spot = sdk.instances.get_availabilities(is_spot=True)
    assert spot != everywhere


def test_cluster_availability_and_images(sdk, catalog):
    where = next(code for code, cap in catalog.capacity.items() if any(cap.clusters.values()))
    available = sdk.clusters.get_availabilities(location_code=where)
    assert available == [
        c.cluster_type
        for c in catalog.cluster_types
        if catalog.capacity[where].clusters.get(c.cluster_type, 0) > 0
    ]
    assert sdk.clusters.is_available(available[0], location_code=where) is True
    assert sdk.clusters.is_available("NOPE") is False
    cluster = catalog.cluster_types[0]
    assert set(sdk.clusters.get_cluster_images(cluster.cluster_type)) == set(cluster.supported_os)
    assert sdk.clusters.get_cluster_images() == [i.image_type for i in catalog.cluster_images]
