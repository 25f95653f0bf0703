"""A test suite that drives verda-server with the official SDK and its control API.

Run a server (`verda-server serve`), then:

    VERDA_SERVER_ADMIN_TOKEN=… pytest examples/test_against_verda_server.py

Each test gets a project of its own, moves the server's clock instead of
waiting, and injects a fault to see how the code under test copes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
from verda import VerdaClient
from verda.exceptions import APIException

SERVER = os.environ.get("VERDA_SERVER_URL", "http://127.0.0.1:3010")


@pytest.fixture
def admin() -> Iterator[httpx.Client]:
    token = os.environ["VERDA_SERVER_ADMIN_TOKEN"]
    with httpx.Client(
        base_url=f"{SERVER}/_admin/v1", headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client
        client.delete("/faults")  # no fault outlives its test


@pytest.fixture
def verda(admin: httpx.Client) -> Iterator[VerdaClient]:
    """The SDK, on a fresh project with $100, deleted with everything in it afterwards."""
    project = admin.post("/projects", json={"name": "ci", "balance": "100"}).json()
    credential = project["credential"]
    yield VerdaClient(credential["client_id"], credential["client_secret"], base_url=f"{SERVER}/v1")
    admin.delete(f"/projects/{project['id']}")


def deploy(verda: VerdaClient) -> str:
    instance = verda.instances.create(
        instance_type="CPU.4V.16G", image="ubuntu-24.04", hostname="ci", description="ci"
    )
    return instance.id


def test_an_instance_runs_and_costs_by_the_clock(verda: VerdaClient, admin: httpx.Client) -> None:
    instance_id = deploy(verda)
    assert verda.instances.get_by_id(instance_id).status == "provisioning"
    # Half an hour later, without waiting. (Within the token's hour: the SDK
    # renews its token by the wall clock, the server expires it by its own.)
    admin.post("/clock/advance", json={"seconds": 1800})
    assert verda.instances.get_by_id(instance_id).status == "running"
    assert verda.balance.get().amount < 100


def test_a_deploy_refused_for_lack_of_capacity(verda: VerdaClient, admin: httpx.Client) -> None:
    # The next deploy fails as the real service's would, and creates nothing.
    admin.post(
        "/faults",
        json={"method": "POST", "path": "/v1/instances", "status": 503, "times": 1},
    )
    with pytest.raises(APIException) as refused:
        deploy(verda)
    assert refused.value.code == "service_unavailable"
    assert verda.instances.get() == []
    deploy(verda)  # the rule fired once; the retry succeeds
