"""Helpers for the cluster tests. Cluster capacity is scarce and shared by every
project of a server, so each test gives back what it deployed (`give_back`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.support.live import LiveServer
from verda_server.billing.follow import billed
from verda_server.clusters.actions import discontinue
from verda_server.clusters.models import Cluster

TYPE = "16B200"
WHERE = "FIN-03"
IMAGE = "ubuntu-22.04-cuda-12.9-cluster"
BOOT = 10  # seconds of server clock from provisioning to running


def cluster_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "cluster_type": TYPE,
        "image": IMAGE,
        "hostname": "c1",
        "description": "a test cluster",
        "location_code": WHERE,
        "shared_volume": {"name": "c1-home", "size": 1000},
    }
    body.update(overrides)
    return body


def deploy(client: Any, **overrides: Any) -> str:
    response = client.post("/v1/clusters", json=cluster_body(**overrides))
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"id"}
    return str(body["id"])


def get(client: Any, cluster_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/clusters/{cluster_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def discontinue_all(client: Any, *ids: str) -> Any:
    return client.put(
        "/v1/clusters", json={"actions": [{"action": "discontinue", "id": i} for i in ids]}
    )


def give_back(live: LiveServer) -> None:
    """Discontinue every live cluster of every project on the server."""
    with live.context.db.write() as session:
        now = live.clock.now()
        billed(session, now, live.context.catalog)
        for cluster in session.scalars(select(Cluster).where(Cluster.deleted_at.is_(None))):
            discontinue(session, cluster, now)
