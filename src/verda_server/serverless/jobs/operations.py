"""What each job operation of BEYOND.md §4 does, by the job state table."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from verda_server.api.errors import ApiError
from verda_server.serverless.deployments import containers as stored
from verda_server.serverless.deployments import service
from verda_server.serverless.deployments.models import JOB, ServerlessDeployment
from verda_server.serverless.deployments.service import Work
from verda_server.serverless.deployments.states import (
    JOB_RULES,
    JobAction,
    JobStatus,
    job_legal,
)
from verda_server.serverless.jobs.schemas import (
    DEFAULT_DEADLINE,
    DEFAULT_TTL,
    CreateJobDto,
    JobScalingDto,
    PatchJobDto,
)

# A delete waits 60 s unless told otherwise, and never more than 300 s.
DEFAULT_TIMEOUT_MS = 60_000.0
MAX_TIMEOUT_MS = 300_000.0
_DEFAULTS = {
    "max_replica_count": 1,
    "queue_message_ttl_seconds": DEFAULT_TTL,
    "deadline_seconds": DEFAULT_DEADLINE,
}


def _scaling(current: dict[str, Any], change: JobScalingDto | None) -> dict[str, Any]:
    result = dict(current)
    if change is not None:
        for key in _DEFAULTS:
            value = getattr(change, key)
            if value is not None:
                result[key] = value
    return result


def create(work: Work, body: CreateJobDto, created_by: str) -> ServerlessDeployment:
    service.require_free_name(work.session, work.project_id, body.name)
    containers = stored.new_containers(body.containers, work.now)
    stored.check_references(
        work.session, work.project_id, containers, body.container_registry_settings
    )
    offer = service.offer_for(work, body.compute)
    row = service.new_row(work, JOB, body.name, created_by, containers)
    row.is_spot = False  # jobs have no spot variant (the CLI never sends it)
    row.status = JobStatus.RUNNING.value
    row.scaling = json.dumps(_scaling(_DEFAULTS, body.scaling), separators=(",", ":"))
    service.set_compute(row, offer)
    service.set_registry(row, body.container_registry_settings)
    # A job's replicas come with requests at its endpoint: only an empty balance refuses.
    service.require_funds(work, Decimal(0), f"the job {body.name}")
    work.session.add(row)
    work.session.flush()
    return row


def _live(work: Work, name: str) -> ServerlessDeployment:
    return service.get(work.session, work.project_id, JOB, name)


def patch(work: Work, name: str, body: PatchJobDto) -> ServerlessDeployment:
    row = _live(work, name)
    if row.status == JobStatus.TERMINATING:
        raise ApiError("conflict", f"The job deployment {name!r} is terminating")
    if body.containers:
        containers = stored.patched_containers(
            stored.load(row.containers), body.containers, work.now
        )
        stored.check_references(work.session, work.project_id, containers, None)
        row.containers = stored.dump(containers)
    if body.container_registry_settings is not None:
        stored.check_registry(work.session, work.project_id, body.container_registry_settings)
        service.set_registry(row, body.container_registry_settings)
    if body.compute is not None:
        offer = service.offer_for(work, body.compute)
        if (offer.name, offer.size) != (row.compute_name, row.compute_size):
            # The replicas working now move to the new compute: room for them there.
            service.require_units(
                work, row, offer.name, offer.units, row.replica_count, on_create=True
            )
        service.set_compute(row, offer)
    if body.scaling is not None:
        row.scaling = json.dumps(
            _scaling(json.loads(row.scaling), body.scaling), separators=(",", ":")
        )
    row.updated_at = work.now
    # Its queue's policy may have changed: replayed before anyone reads it.
    service.settle(row, work.now)
    return row


def act(work: Work, name: str, action: JobAction) -> None:
    """Idempotent: an action with nothing to do from the status changes nothing."""
    row = _live(work, name)
    if job_legal(action, JobStatus(row.status)):
        if action is JobAction.RESUME:
            # As a create: only an empty balance refuses.
            service.require_funds(work, Decimal(0), f"the job {name}")
        row.status = JOB_RULES[action].to.value
        row.updated_at = work.now
        # Its queue's policy changed: replayed before anyone reads it (as a deployment's).
        service.settle(row, work.now)


def timeout_ms(timeout: float | None) -> float:
    if timeout is None or timeout < 0:
        return DEFAULT_TIMEOUT_MS
    return min(timeout, MAX_TIMEOUT_MS)


def delete(work: Work, name: str, timeout: float | None) -> None:
    """Within the wait the job is gone before the answer; without one
    (`timeout=0`) it is `terminating` for the lifecycle's ready time, then gone."""
    row = _live(work, name)
    if timeout_ms(timeout) > 0 or work.ready_seconds == 0:
        service.remove(row, work.now)
        return
    if job_legal(JobAction.TERMINATE, JobStatus(row.status)):
        row.status = JobStatus.TERMINATING.value
        row.status_until = work.now + timedelta(seconds=work.ready_seconds)
        row.updated_at = work.now
        # Its replicas stop at once; only the name stays taken until it is gone.
        service.replicas.resize(row, 0, work.now, 0)
        service.settle(row, work.now)


def render(row: ServerlessDeployment, base_url: str) -> dict[str, Any]:
    deployment = service.render(row, base_url)
    return {
        "name": deployment["name"],
        "containers": deployment["containers"],
        "endpoint_base_url": deployment["endpoint_base_url"],
        "created_at": deployment["created_at"],
        "created_by_user_id": row.created_by,
        "compute": deployment["compute"],
        "container_registry_settings": deployment["container_registry_settings"],
        "scaling": deployment["scaling"],
    }


def short(row: ServerlessDeployment) -> dict[str, Any]:
    deployment = service.render(row, "")
    return {
        "name": row.name,
        "created_at": deployment["created_at"],
        "created_by_user_id": row.created_by,
        "compute": deployment["compute"],
    }
