"""Container deployments and what they share with jobs: lookups, the name space,
compute offers, capacity, money, and the answers' shapes."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from verda_server.api.errors import ApiError, invalid, not_found
from verda_server.billing.funds import balance_now
from verda_server.catalog.service import Catalog
from verda_server.clock import isoformat
from verda_server.projects.models import Project
from verda_server.serverless.compute import service as compute
from verda_server.serverless.deployments import containers as stored
from verda_server.serverless.deployments import replicas
from verda_server.serverless.deployments.models import DEPLOYMENT, JOB, ServerlessDeployment
from verda_server.serverless.deployments.schemas import ComputeDto, RegistrySettingsDto
from verda_server.serverless.deployments.states import JobStatus
from verda_server.serverless.endpoint import retention

KIND_NAMES = {DEPLOYMENT: "Deployment", JOB: "Job deployment"}


@dataclass(frozen=True)
class Work:
    """What every change reads: one transaction at one instant, in one project."""

    session: Session
    now: datetime
    catalog: Catalog
    project_id: str
    # The lifecycle's serverless_ready_seconds in force.
    ready_seconds: float


# ---- lookups and the name space ---------------------------------------------


def live(session: Session, project_id: str, kind: str) -> list[ServerlessDeployment]:
    return list(
        session.scalars(
            select(ServerlessDeployment)
            .where(
                ServerlessDeployment.project_id == project_id,
                ServerlessDeployment.kind == kind,
                ServerlessDeployment.deleted_at.is_(None),
            )
            .order_by(ServerlessDeployment.created_at, ServerlessDeployment.id)
        )
    )


def get(session: Session, project_id: str, kind: str, name: str) -> ServerlessDeployment:
    """A live deployment (or job) of the project; 404 otherwise, another
    project's included."""
    found = session.scalars(
        select(ServerlessDeployment).where(
            ServerlessDeployment.project_id == project_id,
            ServerlessDeployment.kind == kind,
            ServerlessDeployment.name == name,
            ServerlessDeployment.deleted_at.is_(None),
        )
    ).first()
    if found is None:
        raise not_found(f"{KIND_NAMES[kind]} {name!r} not found")
    return found


def require_free_name(session: Session, project_id: str, name: str) -> None:
    taken = session.scalars(
        select(ServerlessDeployment.kind).where(
            ServerlessDeployment.project_id == project_id,
            ServerlessDeployment.name == name,
            ServerlessDeployment.deleted_at.is_(None),
        )
    ).first()
    if taken is not None:
        what = "a container deployment" if taken == DEPLOYMENT else "a job deployment"
        raise ApiError("conflict", f"The name {name!r} is taken by {what} of the project")


# ---- compute, capacity, money -----------------------------------------------


def offer_for(work: Work, body: ComputeDto) -> compute.ComputeOffer:
    """The offer of the compute named, in the project's currency; 400 when none."""
    return compute.project_offer(work.session, work.catalog, work.project_id, body.name, body.size)


def require_units(
    work: Work, row: ServerlessDeployment, name: str, units: int, count: int, *, on_create: bool
) -> None:
    """Room for `count` replicas of `units` each, beside everything else held.
    Unavailable compute on a create or a compute change is a 400 (the Go tests
    skip on it); more replicas for a deployment that exists, a 503."""
    if count * units <= compute.units_left(work.session, work.catalog, name, excluding=row.id):
        return
    message = (
        f"Not enough capacity for {count} replica(s) of compute {name}: unavailable at the "
        "moment, try fewer replicas, another compute resource, or later"
    )
    raise invalid(message) if on_create else ApiError("service_unavailable", message)


def require_funds(work: Work, per_hour: Decimal, what: str) -> None:
    """402 when the balance is empty, or can't pay one hour of the minimum replicas."""
    project = work.session.get(Project, work.project_id)
    assert project is not None
    balance = balance_now(work.session, project, work.now)
    if balance <= 0 or balance < per_hour:
        currency = project.currency.upper()
        raise ApiError(
            "insufficient_funds",
            f"Insufficient funds: {what} costs {per_hour.normalize():f} {currency} per hour "
            f"and the balance is {balance.normalize():f} {currency}; top up to deploy",
        )


def set_compute(row: ServerlessDeployment, offer: compute.ComputeOffer) -> None:
    row.compute_name = offer.name
    row.compute_size = offer.size
    row.units_per_replica = offer.units
    row.price_per_replica_hour = offer.price(row.is_spot)


def set_registry(row: ServerlessDeployment, registry: RegistrySettingsDto | None) -> None:
    private = registry is not None and registry.is_private
    row.registry_is_private = private
    row.registry_credentials = (
        registry.credentials.name if private and registry.credentials is not None else None  # type: ignore[union-attr]
    )


def new_row(
    work: Work, kind: str, name: str, created_by: str, containers: list[stored.Stored]
) -> ServerlessDeployment:
    project = work.session.get(Project, work.project_id)
    assert project is not None
    return ServerlessDeployment(
        id=str(uuid.uuid4()),
        project_id=work.project_id,
        kind=kind,
        name=name,
        containers=stored.dump(containers),
        replicas="[]",
        replica_count=0,
        scale_target=None,
        scale_since=None,
        currency=project.currency,
        version=0,
        created_by=created_by,
        created_at=work.now,
        updated_at=work.now,
        deleted_at=None,
        status_until=None,
        due_at=None,
    )


def remove(row: ServerlessDeployment, at: datetime) -> None:
    """Gone: out of every answer, its replicas and capacity released; the meter
    closes at `at` (billing/follow.py); what was sent to its endpoint goes.
    Secrets, credentials and volumes stay."""
    replicas.resize(row, 0, at, 0)
    row.deleted_at = at
    row.queue_due_at = None
    row.status_until = None
    row.due_at = None
    row.scale_target = None
    row.scale_since = None
    session = object_session(row)
    if session is not None:
        # Last: its statement flushes the row, which billing must see gone.
        retention.forget(session, row.id)


def settle(row: ServerlessDeployment, now: datetime) -> None:
    """What is due by `now`: a timed status ends, a terminating job goes."""
    if (
        row.kind == JOB
        and row.status == JobStatus.TERMINATING
        and row.status_until is not None
        and row.status_until <= now
    ):
        remove(row, row.status_until)
        return
    replicas.reschedule(row, now)


# ---- answers ---------------------------------------------------------------


def endpoint_url(base: str, name: str) -> str:
    return f"{base}/{name}"


def registry_answer(row: ServerlessDeployment) -> dict[str, Any]:
    credentials = (
        {"name": row.registry_credentials} if row.registry_credentials is not None else None
    )
    return {"is_private": row.registry_is_private, "credentials": credentials}


def render(row: ServerlessDeployment, base_url: str) -> dict[str, Any]:
    return {
        "name": row.name,
        "containers": [stored.render(c) for c in stored.load(row.containers)],
        "endpoint_base_url": endpoint_url(base_url, row.name),
        "created_at": isoformat(row.created_at),
        "compute": {"name": row.compute_name, "size": row.compute_size},
        "container_registry_settings": registry_answer(row),
        "is_spot": row.is_spot,
        "scaling": json.loads(row.scaling),
    }


def env_answer(container: stored.Stored) -> dict[str, Any]:
    return {"container_name": container["name"], "env": container["env"]}


def replicas_answer(row: ServerlessDeployment, now: datetime) -> dict[str, Any]:
    return {
        "list": [
            {
                "id": r["id"],
                "status": replicas.status_at(r, now).value,
                "started_at": r["started_at"],
            }
            for r in replicas.listed(row)
        ]
    }
