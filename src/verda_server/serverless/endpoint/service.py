"""Requests at a deployment's endpoint: queued, played by the fleet, answered."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError, not_found
from verda_server.catalog.service import Catalog
from verda_server.lifecycle.timings import Timings
from verda_server.serverless.autoscale import Message, Outcome
from verda_server.serverless.deployments import containers as stored
from verda_server.serverless.deployments.models import ServerlessDeployment
from verda_server.serverless.endpoint import echo, fleet, retention
from verda_server.serverless.endpoint.models import InferenceRequest


@dataclass(frozen=True)
class Incoming:
    method: str
    path: str
    query: str
    headers: str
    body: str
    is_async: bool


def target(session: Session, project_id: str, name: str) -> ServerlessDeployment:
    """The live deployment or job of that name; 404 otherwise (another project's too)."""
    found = session.scalars(
        select(ServerlessDeployment).where(
            ServerlessDeployment.project_id == project_id,
            ServerlessDeployment.name == name,
            ServerlessDeployment.deleted_at.is_(None),
        )
    ).first()
    if found is None:
        raise not_found(f"No deployment or job named {name!r} in the project")
    return found


def enqueue(
    session: Session,
    catalog: Catalog,
    timings: Timings,
    project_id: str,
    name: str,
    incoming: Incoming,
    now: datetime,
) -> InferenceRequest:
    row = target(session, project_id, name)
    if row.status in fleet.STOPPED:
        raise ApiError("service_unavailable", f"{name!r} is {row.status}: resume it first")
    retention.prune(session, row.id, now)
    # Up to now under the rules before this request, then with it in the queue.
    fleet.play(session, catalog, row, now, timings)
    message = InferenceRequest(
        id=str(uuid.uuid4()),
        project_id=project_id,
        deployment_id=row.id,
        is_async=incoming.is_async,
        arrived_at=now,
        started_at=None,
        finished_at=None,
        outcome=None,
        method=incoming.method,
        path=incoming.path,
        query=incoming.query,
        headers=incoming.headers,
        body=incoming.body,
    )
    session.add(message)
    session.flush()
    fleet.play(session, catalog, row, now, timings)
    return message


@dataclass(frozen=True)
class Seen:
    """A request as of an instant: stored, or as the fleet's replay has it."""

    message: InferenceRequest
    state: Message
    deployment_name: str
    container: str


def look(
    session: Session,
    catalog: Catalog,
    timings: Timings,
    project_id: str,
    name: str,
    request_id: str,
    now: datetime,
) -> Seen:
    """Where a request stands at `now`, replayed without writing."""
    message = session.get(InferenceRequest, request_id)
    if message is None or message.project_id != project_id:
        raise not_found(f"No request {request_id!r} for {name!r}")
    row = session.get(ServerlessDeployment, message.deployment_id)
    if row is None or row.name != name:
        raise not_found(f"No request {request_id!r} for {name!r}")
    container = stored.load(row.containers)[0]["name"]
    state = Message(
        message.id,
        message.arrived_at,
        message.started_at,
        message.finished_at,
        Outcome(message.outcome) if message.outcome else None,
    )
    if state.open and row.deleted_at is not None:
        # Deleted under it: nothing will work on it any more.
        state.outcome, state.finished_at = Outcome.PURGED, row.deleted_at
    elif state.open:
        rows = fleet.open_requests(session, row)
        policy = fleet.policy_of(
            row, timings.serverless_inference_seconds, fleet.room(session, catalog, row)
        )
        _, messages = fleet.replay(row, rows, policy, now)
        state = next((m for m in messages if m.id == message.id), state)
    return Seen(message, state, row.name, container)


def purge(
    session: Session, catalog: Catalog, timings: Timings, row: ServerlessDeployment, now: datetime
) -> int:
    """Drop the requests still waiting (not those a replica is working on)."""
    fleet.play(session, catalog, row, now, timings)
    dropped = 0
    for message in fleet.open_requests(session, row):
        if message.started_at is None:
            message.outcome, message.finished_at = Outcome.PURGED.value, now
            dropped += 1
    session.flush()
    fleet.play(session, catalog, row, now, timings)
    return dropped


def answer_of(seen: Seen) -> dict[str, object]:
    message = seen.message
    message.started_at, message.finished_at = seen.state.started_at, seen.state.finished_at
    return echo.answer(seen.deployment_name, seen.container, message)


def async_status(state: Message) -> str:
    """The Python SDK's AsyncStatus values: Queue, Inference, Completed."""
    if state.outcome is not None:
        return "Completed"
    return "Inference" if state.started_at is not None else "Queue"
