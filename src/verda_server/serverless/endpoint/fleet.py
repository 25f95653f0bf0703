"""A deployment's (or job's) queue and replica count in the store, played forward
by serverless/autoscale.py.

The row keeps where the replay stands (`fleet_as_of`), the pending scale wish
(`scale_target` from `scale_since`) and the next instant its queue changes by
itself (`queue_due_at`, part of the row's `due_at`). An operation that changes
the policy (pause, a scaling patch) only updates the row: nothing happens
between two events, so a replay that starts at `max(fleet_as_of, updated_at)`
under the new policy is exact, and `replicas.reschedule` makes a row with a
live queue due at once so that the replay happens before anyone reads it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from verda_server.billing.follow import scope_of
from verda_server.catalog.service import Catalog
from verda_server.lifecycle.timings import Timings
from verda_server.serverless.autoscale import Fleet, Message, Policy, advance, next_event
from verda_server.serverless.autoscale import wanted as wanted_count
from verda_server.serverless.compute import service as compute
from verda_server.serverless.deployments import replicas
from verda_server.serverless.deployments import scaling as scalings
from verda_server.serverless.deployments.models import JOB, ServerlessDeployment
from verda_server.serverless.deployments.states import JobStatus, Status
from verda_server.serverless.endpoint.models import InferenceRequest

# Statuses in which a deployment or job takes no requests and runs no replicas.
STOPPED = frozenset(
    {
        Status.PAUSED.value,
        Status.QUOTA_REACHED.value,
        JobStatus.PAUSED.value,
        JobStatus.TERMINATING.value,
    }
)


def policy_of(row: ServerlessDeployment, work: float, room: int) -> Policy:
    """What the fleet follows; `room`: replicas the free capacity allows beyond now."""
    scaling = scalings.load(row.scaling)
    ttl = timedelta(seconds=scaling["queue_message_ttl_seconds"])
    if row.status in STOPPED:
        zero = timedelta(0)
        return Policy(0, 0, zero, zero, 1.0, 1, ttl, timedelta(seconds=work))
    top = min(scaling["max_replica_count"], row.replica_count + room)
    if row.kind == JOB:
        # A job runs one message per replica, scaling out at once and back to none.
        zero = timedelta(0)
        return Policy(0, top, zero, zero, 1.0, 1, ttl, timedelta(seconds=work))
    return Policy(
        min_replicas=min(scaling["min_replica_count"], top),
        max_replicas=top,
        scale_up_delay=timedelta(seconds=scaling["scale_up_policy"]["delay_seconds"]),
        scale_down_delay=timedelta(seconds=scaling["scale_down_policy"]["delay_seconds"]),
        queue_threshold=float(scaling["scaling_triggers"]["queue_load"]["threshold"]),
        concurrency=scaling["concurrent_requests_per_replica"],
        message_ttl=ttl,
        work=timedelta(seconds=work),
    )


def open_requests(session: Session, row: ServerlessDeployment) -> list[InferenceRequest]:
    return list(
        session.scalars(
            select(InferenceRequest)
            .where(InferenceRequest.deployment_id == row.id, InferenceRequest.outcome.is_(None))
            .order_by(InferenceRequest.arrived_at, InferenceRequest.id)
        )
    )


def wanted_now(session: Session, row: ServerlessDeployment) -> int:
    """The replica count its queue asks for now, within min..max (0 stopped)."""
    policy = policy_of(row, 0.0, room=_UNBOUNDED)
    return wanted_count(policy, len(open_requests(session, row)))


# Room enough for any maximum: capacity is checked where replicas are added.
_UNBOUNDED = 1 << 30


def _fleet(row: ServerlessDeployment) -> Fleet:
    start = max(row.fleet_as_of or row.created_at, row.updated_at)
    up = row.scale_target is not None and row.scale_target > row.replica_count
    return Fleet(row.replica_count, start, wish_since=row.scale_since, wish_up=up)


def _messages(rows: Sequence[InferenceRequest]) -> list[Message]:
    return [Message(r.id, r.arrived_at, r.started_at, r.finished_at) for r in rows]


def room(session: Session, catalog: Catalog, row: ServerlessDeployment) -> int:
    if row.units_per_replica <= 0:
        return 0
    free = compute.units_left(session, catalog, row.compute_name)
    return max(0, free // row.units_per_replica)


def replay(
    row: ServerlessDeployment, rows: Sequence[InferenceRequest], policy: Policy, until: datetime
) -> tuple[Fleet, list[Message]]:
    """The fleet and messages at `until`, computed without writing anything."""
    fleet, messages = _fleet(row), _messages(rows)
    advance(fleet, messages, policy, until)
    return fleet, messages


def play(
    session: Session,
    catalog: Catalog,
    row: ServerlessDeployment,
    now: datetime,
    timings: Timings,
) -> None:
    """Bring the row and its open requests to `now` and store the result: each
    replica count change at its own instant (its meter re-rated then), the wish
    still pending, and when the queue next changes by itself."""
    rows = open_requests(session, row)
    policy = policy_of(row, timings.serverless_inference_seconds, room(session, catalog, row))
    fleet, messages = replay(row, rows, policy, now)
    for stored, message in zip(rows, messages, strict=True):
        stored.started_at, stored.finished_at = message.started_at, message.finished_at
        stored.outcome = message.outcome.value if message.outcome else None
    _apply_changes(session, row, fleet.changes, now, timings.serverless_ready_seconds)
    row.fleet_as_of = now
    row.scale_since = fleet.wish_since
    open_now = sum(1 for m in messages if m.open)
    row.scale_target = wanted_count(policy, open_now) if fleet.wish_since else None
    row.queue_due_at = next_event(fleet, messages, policy)
    replicas.reschedule(row, now, replayed=True)


def _apply_changes(
    session: Session,
    row: ServerlessDeployment,
    changes: list[tuple[datetime, int]],
    now: datetime,
    ready: float,
) -> None:
    """Each change flushed at its own instant, so that its meter is re-rated then
    (the due machinery plays a fleet before it charges any meter up to now)."""
    if not changes:
        return
    scope = scope_of(session)
    for at, count in changes:
        if scope is not None:
            scope.now = at
        replicas.resize(row, count, at, ready)
        # Where billing closes the meter when the count reaches zero.
        row.updated_at = at
        session.flush()
    if scope is not None:
        scope.now = now
