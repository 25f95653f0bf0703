"""Two replicas on one PostgreSQL store behave as one server.

Requests alternate between them through one client, as behind a round-robin
balancer; each replica has a clock object of its own, so they agree on the time
only through the store, as separate processes do.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from tests.support.live import ADMIN_TOKEN, TLS, LiveServer
from tests.support.openapi import ContractChecker
from tests.support.replicas import Alternating, replicas
from tests.test_billing import balance, cost, os_volume_rate, price


@pytest.fixture
def pair(fresh_postgres_url: str) -> Iterator[list[LiveServer]]:
    with replicas(fresh_postgres_url) as servers:
        yield servers


@pytest.fixture
def balanced(pair: list[LiveServer]) -> Iterator[tuple[httpx.Client, Alternating]]:
    transport = Alternating(pair)
    with httpx.Client(verify=TLS, base_url=pair[0].base_url) as plain:
        contract = ContractChecker(plain.get("/v1/openapi.json").json())
    with httpx.Client(
        verify=TLS,
        base_url=pair[0].base_url,
        transport=transport,
        timeout=10,
        event_hooks={"response": [lambda r: (r.read(), contract.verify(r))]},
    ) as client:
        yield client, transport


def _admin(server: LiveServer) -> httpx.Client:
    return httpx.Client(
        verify=TLS, base_url=server.base_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )


def test_tokens_from_one_replica_work_on_the_other(
    pair: list[LiveServer], balanced: tuple[httpx.Client, Alternating]
) -> None:
    client, transport = balanced
    creds = pair[0].new_project()
    grant = client.post(
        "/v1/oauth2/token",
        json={
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        },
    ).json()
    bearer = {"Authorization": f"Bearer {grant['access_token']}"}
    assert [client.get("/v1/balance", headers=bearer).status_code for _ in range(4)] == [200] * 4
    refreshed = client.post(
        "/v1/oauth2/token",
        json={"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]},
    )
    assert refreshed.status_code == 200
    # A refresh token is single use on every replica, not once per replica.
    again = client.post(
        "/v1/oauth2/token",
        json={"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]},
    )
    assert again.status_code == 401
    assert len(set(transport.served_by)) == 2


def test_writes_on_one_are_read_on_the_other_and_the_clock_is_one(
    pair: list[LiveServer], balanced: tuple[httpx.Client, Alternating]
) -> None:
    client, _ = balanced
    creds = pair[0].new_project(balance="1000")
    bearer = {"Authorization": f"Bearer {creds.access_token(client)}"}
    client.headers.update(bearer)
    ids = []
    for n in range(4):
        response = client.post(
            "/v1/instances",
            json={
                "instance_type": "CPU.4V.16G",
                "image": "ubuntu-24.04",
                "hostname": f"h{n}",
                "description": "",
                "location_code": "FIN-01",
            },
        )
        assert response.status_code == 202, response.text
        ids.append(response.text)
    listed = [client.get("/v1/instances").json() for _ in range(2)]
    assert [sorted(i["id"] for i in answer) for answer in listed] == [sorted(ids)] * 2
    assert {i["status"] for answer in listed for i in answer} == {"provisioning"}
    # Time moved through one replica's control API is the other's time too.
    with _admin(pair[1]) as admin:
        admin.post("/_admin/v1/clock/advance", json={"seconds": 1800})
    statuses = [{i["status"] for i in client.get("/v1/instances").json()} for _ in range(2)]
    assert statuses == [{"running"}, {"running"}]
    assert pair[0].clock.now() == pair[1].clock.now()
    # Billed exactly once for the half hour, whichever replica applied what was due.
    catalog = pair[0].context.catalog.source
    half_hour = 4 * (
        cost(price(catalog, "CPU.4V.16G"), 1800) + cost(os_volume_rate(catalog, "CPU.4V.16G"), 1800)
    )
    assert [balance(client) for _ in range(4)] == [Decimal(1000) - half_hour] * 4
