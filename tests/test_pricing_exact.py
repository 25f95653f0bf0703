"""Every price field of every catalog item, in both currencies, exactly as the
catalog file states it; and what a volume costs. Expectations come from the loaded
catalog source (the data file), never from the server's DTOs."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.support.volumes import create

CURRENCIES = ("usd", "eur")
# The real service prices storage per month of 730 hours.
BILLING_MONTH_SECONDS = 730 * 3600


def _currency_params(currency: str | None) -> dict[str, str]:
    return {} if currency is None else {"currency": currency}


def _expected_instance_type(source, currency: str) -> dict[str, object]:
    price = getattr(source.price_per_hour, currency)
    expected: dict[str, object] = {
        "price_per_hour": price,
        "spot_price": getattr(source.spot_price, currency),
        # Dynamic pricing was removed: ceiling and current value are the fixed price.
        "max_dynamic_price": price,
        "dynamic_price": price,
        "currency": currency,
    }
    if source.serverless_price is not None:
        expected["serverless_price"] = getattr(source.serverless_price, currency)
    if source.serverless_spot_price is not None:
        expected["serverless_spot_price"] = getattr(source.serverless_spot_price, currency)
    return expected


PRICE_FIELDS = (
    "price_per_hour",
    "spot_price",
    "max_dynamic_price",
    "dynamic_price",
    "currency",
    "serverless_price",
    "serverless_spot_price",
)


# The parameter as sent (None: absent) and the currency it means.
SPELLINGS = [(None, "usd"), ("usd", "usd"), ("eur", "eur"), ("EUR", "eur"), ("Usd", "usd")]


@pytest.mark.parametrize(("sent", "currency"), SPELLINGS)
def test_every_instance_type_price(http, catalog, sent, currency):
    body = http.get("/v1/instance-types", params=_currency_params(sent)).json()
    assert [t["instance_type"] for t in body] == [t.instance_type for t in catalog.instance_types]
    for item, source in zip(body, catalog.instance_types, strict=True):
        prices = {k: item[k] for k in PRICE_FIELDS if k in item}
        assert prices == _expected_instance_type(source, currency), source.instance_type
        assert item.get("deploy_warning") == source.deploy_warning


def test_the_catalog_has_prices_that_tell_the_fields_apart(catalog):
    """Guards the test above: it can only see a swapped field if the values differ."""
    types = catalog.instance_types
    assert all(
        t.price_per_hour.usd != t.price_per_hour.eur for t in types if t.price_per_hour.usd != "0"
    )
    assert all(t.spot_price.usd != t.price_per_hour.usd for t in types)
    assert any(t.serverless_price is not None for t in types)
    assert any(t.serverless_price is None for t in types)
    assert any(t.deploy_warning is not None for t in types)


@pytest.mark.parametrize("currency", CURRENCIES)
def test_one_instance_type_price(authed, catalog, currency):
    for source in (catalog.instance_types[0], catalog.instance_types[-1]):
        response = authed.get(
            f"/v1/instance-types/{source.instance_type}", params={"currency": currency}
        )
        assert response.status_code == 200, response.text
        item = response.json()
        prices = {k: item[k] for k in PRICE_FIELDS if k in item}
        assert prices == _expected_instance_type(source, currency)


@pytest.mark.parametrize("currency", CURRENCIES)
def test_every_cluster_type_price(http, catalog, currency):
    body = http.get("/v1/cluster-types", params={"currency": currency}).json()
    assert [(c["cluster_type"], c["price_per_hour"], c["currency"]) for c in body] == [
        (c.cluster_type, getattr(c.price_per_hour, currency), currency)
        for c in catalog.cluster_types
    ]


@pytest.mark.parametrize("currency", CURRENCIES)
def test_every_container_type_price(http, catalog, currency):
    body = http.get("/v1/container-types", params={"currency": currency}).json()
    fields = ("instance_type", "serverless_price", "serverless_spot_price", "currency")
    assert [tuple(c[f] for f in fields) for c in body] == [
        (
            c.instance_type,
            getattr(c.serverless_price, currency),
            getattr(c.serverless_spot_price, currency),
            currency,
        )
        for c in catalog.container_types
    ]


@pytest.mark.parametrize("currency", CURRENCIES)
def test_every_volume_type_price(authed, catalog, currency):
    body = authed.get("/v1/volume-types", params={"currency": currency}).json()
    assert [v["type"] for v in body] == [v.type for v in catalog.volume_types]
    for item, source in zip(body, catalog.volume_types, strict=True):
        monthly = getattr(source.price_per_month_per_gb, currency)
        assert item["price"] == {
            "price_per_month_per_gb": monthly,
            "cps_per_gb": monthly / BILLING_MONTH_SECONDS,
            "currency": currency,
        }, source.type
        assert item["is_shared_fs"] is source.is_shared_fs


@pytest.mark.parametrize("kind", ["instances", "clusters"])
def test_every_long_term_period(http, catalog, kind):
    periods = getattr(catalog.long_term_periods, kind)
    expected = [p.model_dump() for p in periods]
    assert http.get(f"/v1/long-term/periods/{kind}").json() == expected
    assert {p["discount_percentage"] for p in expected} != {0}


# (type, size): the monthly price is the catalog's per-GB price times the size,
# to the cent fraction the catalog states (0.05 * 7 is 0.35000000000000003 in floats).
VOLUMES = [("HDD", 7), ("NVMe", 3), ("HDD_Shared", 123), ("NVMe_Shared", 1)]


@pytest.mark.parametrize("currency", CURRENCIES)
def test_volume_costs(live, client_of, catalog, currency):
    http = client_of(live.new_project(currency=currency))
    per_gb = {v.type: getattr(v.price_per_month_per_gb, currency) for v in catalog.volume_types}
    for volume_type, size in VOLUMES:
        volume_id = create(http, type=volume_type, size=size)
        monthly = float(Decimal(str(per_gb[volume_type])) * size)
        for body in (
            http.get(f"/v1/volumes/{volume_id}").json(),
            next(v for v in http.get("/v1/volumes").json() if v["id"] == volume_id),
        ):
            where = f"{size} GB {volume_type}"
            assert body["currency"] == currency, where
            assert body["monthly_price"] == monthly, where
            # The hourly rate the ledger charges: a 730-hour month, to 12 places.
            hourly = (Decimal(str(per_gb[volume_type])) * size / 730).quantize(Decimal("1e-12"))
            assert body["base_hourly_cost"] == float(hourly), where
        delete = http.request("DELETE", f"/v1/volumes/{volume_id}")
        assert delete.status_code == 202, delete.text
        trashed = next(v for v in http.get("/v1/volumes/trash").json() if v["id"] == volume_id)
        assert (trashed["monthly_price"], trashed["currency"]) == (monthly, currency)


def test_a_project_in_eur_is_billed_in_eur_whatever_it_asks(live, client_of, catalog):
    """The volume's cost follows the project's currency, not a query parameter."""
    client = client_of(live.new_project(currency="eur"))
    volume_id = create(client, type="HDD", size=10)
    body = client.get(f"/v1/volumes/{volume_id}", params={"currency": "usd"}).json()
    hdd = next(v for v in catalog.volume_types if v.type == "HDD")
    monthly = float(Decimal(str(hdd.price_per_month_per_gb.eur)) * 10)
    assert (body["monthly_price"], body["currency"]) == (monthly, "eur")


@pytest.mark.parametrize(
    "path", ["/v1/instance-types", "/v1/cluster-types", "/v1/container-types", "/v1/locations"]
)
def test_the_catalog_lists_are_served_as_compact_json(http, path):
    """Pre-rendered once, without whitespace between tokens (they are the hot path)."""
    response = http.get(path, params={"currency": "eur"} if "types" in path else {})
    compact = json.dumps(response.json(), separators=(",", ":"), ensure_ascii=False)
    assert response.content == compact.encode()
