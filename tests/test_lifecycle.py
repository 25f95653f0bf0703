"""Timed transitions: applied before any request can see them, and by the sweep."""

from __future__ import annotations

import asyncio

from tests.test_instances import BOOT, deploy
from verda_server.clock import Clock
from verda_server.instances.models import Instance
from verda_server.lifecycle.reconcile import Reconciler
from verda_server.lifecycle.sweeper import periodic


def _status(live, instance_id: str) -> str:
    with live.context.db.read() as session:
        return session.get(Instance, instance_id).status


def test_nothing_changes_before_it_is_due(live, authed, project):
    instance_id = deploy(authed)
    live.clock.advance(BOOT - 0.5)
    assert live.context.reconciler.settle(project.project_id) == 0
    assert _status(live, instance_id) == "provisioning"
    live.clock.advance(0.5)
    assert live.context.reconciler.settle(project.project_id) == 1
    assert _status(live, instance_id) == "running"


def test_a_sweep_without_any_request_applies_what_is_due_for_every_project(live, http):
    a, b = live.new_project(), live.new_project()
    ids = []
    for creds in (a, b):
        http.headers["Authorization"] = f"Bearer {creds.access_token(http)}"
        ids.append(deploy(http))
    live.clock.advance(BOOT)
    assert all(_status(live, i) == "provisioning" for i in ids)  # nobody asked yet
    assert live.context.reconciler.settle() >= 2
    assert all(_status(live, i) == "running" for i in ids)


def test_the_background_sweep_runs_on_its_own(live, authed):
    instance_id = deploy(authed)
    clock = Clock(live.clock.offset)
    reconciler = Reconciler(live.context.db, clock)
    clock.advance(BOOT)

    async def run_briefly() -> None:
        async with periodic((0.01, reconciler.settle)):
            for _ in range(500):
                await asyncio.sleep(0.01)
                if _status(live, instance_id) == "running":
                    return

    asyncio.run(run_briefly())
    assert _status(live, instance_id) == "running"
