"""Timed transitions: applied before any request can see them, and by the sweep."""

from __future__ import annotations

import time

import httpx

from tests.support.live import TLS, start_live_server
from tests.test_instances import BOOT, deploy
from verda_server.config import Lifecycle
from verda_server.instances.models import Instance
from verda_server.volumes.models import Volume

TICK = 0.001


def _status(live, instance_id: str) -> str:
    with live.context.db.read() as session:
        return session.get(Instance, instance_id).status


def test_nothing_changes_before_it_is_due(live, authed, project):
    instance_id = deploy(authed)
    live.clock.advance(BOOT - TICK)
    assert live.context.reconciler.settle(project.project_id) == 0
    assert _status(live, instance_id) == "provisioning"
    live.clock.advance(TICK)  # exactly due
    assert live.context.reconciler.settle(project.project_id) == 1
    assert _status(live, instance_id) == "running"


def test_a_settle_without_any_request_applies_what_is_due_for_every_project(live, client_of):
    ids = [deploy(client_of(live.new_project())) for _ in range(2)]
    live.clock.advance(BOOT)
    assert all(_status(live, i) == "provisioning" for i in ids)  # nobody asked yet
    assert live.context.reconciler.settle() >= 2
    assert all(_status(live, i) == "running" for i in ids)


def test_the_background_sweep_applies_what_is_due_without_any_request(empty_database_url):
    """On a server of its own with the sweep on: the store changes although no
    request (which would settle what is due) is ever made again."""
    sweeping = Lifecycle(sweep_interval=0.02)
    with start_live_server(empty_database_url, lifecycle=sweeping) as server:
        with httpx.Client(verify=TLS, base_url=server.base_url) as client:
            token = server.new_project().access_token(client)
            client.headers["Authorization"] = f"Bearer {token}"
            instance_id = deploy(client)
            volume = {"type": "NVMe", "name": "v", "size": 10, "location_code": "FIN-01"}
            volume_id = client.post("/v1/volumes", json=volume).text
            trashed = client.put("/v1/volumes", json={"action": "delete", "id": volume_id})
            assert trashed.status_code == 202

        def state() -> tuple[str, bool]:
            with server.context.db.read() as session:
                volume = session.get(Volume, volume_id)
                return session.get(Instance, instance_id).status, volume.is_permanently_deleted

        # Sweeps run meanwhile; on the frozen clock nothing is due yet.
        for _ in range(10):
            assert state() == ("provisioning", False)
            time.sleep(0.02)
        server.clock.advance(96 * 3600)
        deadline = time.monotonic() + 20
        while state() != ("running", True) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert state() == ("running", True)
