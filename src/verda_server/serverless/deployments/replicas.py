"""Replicas by the server clock, and the instants a deployment changes by itself.

A replica is `{id, started_at, ready_at}`: initializing until `ready_at`, then
running. Replacing them (restart, a new version) gives new ids and start times;
a new count keeps the oldest and adds or drops at the end. The row's `due_at`
is the next instant its status or a replica's changes, so the due machinery
(lifecycle/reconcile.py) and the read model know when its answers change."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from verda_server.clock import isoformat
from verda_server.serverless.deployments.models import ServerlessDeployment
from verda_server.serverless.deployments.states import TIMED, ReplicaStatus, Status

Replica = dict[str, Any]


def replica_id(deployment: ServerlessDeployment, index: int, started_at: datetime) -> str:
    """Pod-like: `<deployment>-<10 hex>-<5 hex>`, new for each version and start."""
    seed = f"{deployment.id}/{deployment.version}/{index}/{isoformat(started_at)}"
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return f"{deployment.name}-{digest[:10]}-{digest[10:15]}"


def listed(deployment: ServerlessDeployment) -> list[Replica]:
    return json.loads(deployment.replicas)  # type: ignore[no-any-return]


def _store(deployment: ServerlessDeployment, replicas: list[Replica]) -> None:
    deployment.replicas = json.dumps(replicas, separators=(",", ":"))
    deployment.replica_count = len(replicas)


def _new(deployment: ServerlessDeployment, index: int, now: datetime, ready: float) -> Replica:
    return {
        "id": replica_id(deployment, index, now),
        "started_at": isoformat(now),
        "ready_at": isoformat(now + timedelta(seconds=ready)),
    }


def replace_all(deployment: ServerlessDeployment, count: int, now: datetime, ready: float) -> None:
    deployment.version += 1
    _store(deployment, [_new(deployment, n, now, ready) for n in range(count)])


def resize(deployment: ServerlessDeployment, count: int, now: datetime, ready: float) -> None:
    kept = listed(deployment)[:count]
    added = [_new(deployment, n, now, ready) for n in range(len(kept), count)]
    _store(deployment, kept + added)


def status_at(replica: Replica, now: datetime) -> ReplicaStatus:
    return (
        ReplicaStatus.RUNNING
        if isoformat(now) >= replica["ready_at"]
        else (ReplicaStatus.INITIALIZING)
    )


def begin(deployment: ServerlessDeployment, status: Status, now: datetime, ready: float) -> None:
    """Enter `status`; a timed one ends `ready` seconds from now."""
    deployment.status = status.value
    deployment.status_until = now + timedelta(seconds=ready) if status in TIMED else None


def reschedule(deployment: ServerlessDeployment, now: datetime, replayed: bool = False) -> None:
    """Apply what is due by `now` to the status, and set the next due instant
    (`replayed`: the queue was just brought to `now`)."""
    until = deployment.status_until
    status = Status(deployment.status) if deployment.kind == "deployment" else None
    if until is not None and until <= now and status in TIMED:
        deployment.status = TIMED[status].value  # type: ignore[index]
        deployment.status_until = None
        until = None
    stamp = isoformat(now)
    pending = [r["ready_at"] for r in listed(deployment) if r["ready_at"] > stamp]
    instants = [datetime.fromisoformat(p) for p in pending]
    if until is not None:
        instants.append(until)
    if deployment.queue_due_at is not None:
        # A live queue is replayed at once after any other change of the row (its
        # policy may have changed: serverless/endpoint/fleet.py), then when due.
        instants.append(deployment.queue_due_at if replayed else now)
    deployment.due_at = min(instants, default=None)


def pause(deployment: ServerlessDeployment, now: datetime) -> None:
    """Paused by the server (the money ran out): no replicas until resumed."""
    if deployment.kind == "deployment":
        begin(deployment, Status.PAUSED, now, 0)
    else:
        deployment.status = "paused"
    resize(deployment, 0, now, 0)
    deployment.updated_at = now
    reschedule(deployment, now)
