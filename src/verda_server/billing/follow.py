"""Billing follows resource state: whenever a billable resource is created or
changes in a way that matters to its price, its meter is opened, re-rated or
closed in the same flush. No code path that creates, deletes or resizes a
resource can forget to bill it, and no billing call is sprinkled through the
domain code.

A unit of work that may change billable resources declares its instant and
catalog with `billed(session, now, catalog)`; a change outside one is a bug
and raises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, event, insert, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from verda_server.billing import ledger, sums
from verda_server.billing.billable import (
    UNBILLED_INSTANCE_STATUSES,
    cluster_rate,
    instance_rate,
    serverless_rate,
    volume_rate,
)
from verda_server.billing.due import refresh_due
from verda_server.billing.ledger import Rate
from verda_server.billing.models import Meter
from verda_server.catalog.service import Catalog
from verda_server.clusters.models import Cluster
from verda_server.instances.models import Instance
from verda_server.projects.models import Project
from verda_server.serverless.deployments.models import ServerlessDeployment
from verda_server.storage.generation import touch
from verda_server.volumes.models import Volume

_KEY = "billing"


@dataclass
class Scope:
    now: datetime
    catalog: Catalog
    touched: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Kind:
    name: str
    # Attributes whose change can change what the resource costs.
    watched: tuple[str, ...]
    rate: Callable[[Any, Catalog, str], Rate | None]
    # When a resource stopped costing, if it records it.
    ended_at: Callable[[Any], datetime | None]
    # A change beyond `watched` that can change what it costs.
    also_matters: Callable[[Any], bool] = lambda _obj: False


def _billed_status_changed(instance: Instance) -> bool:
    """Only a status change into or out of the unbilled statuses matters: the
    usual ones (provisioning, running, offline) cost the same."""
    history = inspect(instance).attrs.status.history
    unbilled = {v in UNBILLED_INSTANCE_STATUSES for v in (*history.added, *history.deleted)}
    return len(unbilled) > 1 or (not history.deleted and True in unbilled)


KINDS: dict[type, Kind] = {
    Instance: Kind(
        "instance",
        ("deleted_at", "price_per_hour", "contract", "contract_ends_at", "payg_price"),
        lambda obj, _catalog, _currency: instance_rate(obj),
        lambda obj: obj.deleted_at,
        _billed_status_changed,
    ),
    Cluster: Kind(
        "cluster",
        ("deleted_at", "price_per_hour"),
        lambda obj, _catalog, _currency: cluster_rate(obj),
        lambda obj: obj.deleted_at,
    ),
    ServerlessDeployment: Kind(
        "serverless",
        ("deleted_at", "replica_count", "price_per_replica_hour"),
        lambda obj, _catalog, _currency: serverless_rate(obj),
        # Paused by the clock (the money ran out) at its own instant, not the sweep's.
        lambda obj: obj.deleted_at or obj.updated_at,
    ),
    Volume: Kind(
        "volume",
        ("status", "size", "type", "is_permanently_deleted"),
        volume_rate,
        lambda obj: obj.deleted_at,
    ),
}


def billed(session: Session, now: datetime, catalog: Catalog) -> Scope:
    """The unit bills at `now`; said again at the same instant (a unit for
    several projects), what it touched so far stays."""
    scope: Scope | None = session.info.get(_KEY)
    if scope is None or scope.now != now or scope.catalog is not catalog:
        scope = session.info[_KEY] = Scope(now, catalog)
    return scope


def scope_of(session: Session) -> Scope | None:
    return session.info.get(_KEY)


def _matters(obj: object, kind: Kind) -> bool:
    state = inspect(obj)
    return any(
        state.attrs[name].history.has_changes() for name in kind.watched
    ) or kind.also_matters(obj)


def _follow(
    session: Session, scope: Scope, obj: Any, kind: Kind, is_new: bool, meter: Meter | None
) -> None:
    project = session.get(Project, obj.project_id)
    assert project is not None
    wanted = kind.rate(obj, scope.catalog, project.currency)
    scope.touched.add(project.id)
    if meter is None:
        if wanted is not None:
            at = obj.created_at if is_new else scope.now
            ledger.start(session, project, kind.name, obj.id, wanted, at)
        return
    if wanted is None:
        ended = kind.ended_at(obj) or scope.now
        ledger.stop(session, project, meter, max(ended, meter.charged_until))
        return
    meter = ledger.charge(session, project, meter, scope.now)
    if (meter.rate_per_hour, meter.rate_until, meter.next_rate) != (
        wanted.per_hour,
        wanted.until,
        wanted.then if wanted.until is not None else None,
    ):
        ledger.stop(session, project, meter, scope.now)
        ledger.start(session, project, kind.name, obj.id, wanted, scope.now)


_INSERT_METERS = insert(Meter.__table__)  # type: ignore[arg-type]


def open_new(session: Session, project: Project, created: Sequence[tuple[type, Any]]) -> None:
    """What a flush does for new billable objects, for rows of the project that
    a Core insert wrote (no flush sees them): `created` holds each one's model
    and its columns (as attributes, as the rate rules read them). Each one that
    costs gets its meter, opened at its creation, in one statement."""
    scope = scope_of(session)
    if scope is None:
        raise RuntimeError("a billable resource changed outside a billed unit of work")
    scope.touched.add(project.id)
    meters = []
    for model, resource in created:
        kind = KINDS[model]
        wanted = kind.rate(resource, scope.catalog, project.currency)
        if wanted is not None:
            meters.append(
                ledger.meter_values(project.id, kind.name, resource.id, wanted, resource.created_at)
            )
    if not meters:
        return
    session.connection().execute(_INSERT_METERS, meters)
    touch(session, project.id, keys=())  # meters are part of no item's answer
    for meter in meters:
        sums.opened(session, project.id, str(meter["id"]), SimpleNamespace(**meter))  # type: ignore[arg-type]


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: object, _instances: object) -> None:
    changed = [
        (obj, KINDS[type(obj)], obj in session.new)
        for obj in (*session.new, *session.dirty)
        if type(obj) in KINDS and (obj in session.new or _matters(obj, KINDS[type(obj)]))
    ]
    if not changed:
        return
    scope = scope_of(session)
    if scope is None:
        raise RuntimeError("a billable resource changed outside a billed unit of work")
    with session.no_autoflush:
        # One read of the open meters, however many resources a bulk action changed.
        ids = [obj.id for obj, _kind, is_new in changed if not is_new]
        meters = {
            (m.resource_kind, m.resource_id): m
            for m in (
                session.scalars(
                    select(Meter).where(Meter.closed_at.is_(None), Meter.resource_id.in_(ids))
                )
                if ids
                else ()
            )
        }
        for obj, kind, is_new in changed:
            _follow(session, scope, obj, kind, is_new, meters.get((kind.name, obj.id)))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    """Projects whose meters changed get their next billing instant anew."""
    scope = scope_of(session)
    # A savepoint (one id of a bulk action) leaves this to the whole transaction.
    if scope is None or session.in_nested_transaction():
        return
    # Before the check: SQLAlchemy fires this before its own final flush, and a
    # unit that never flushed has its meters' changes still pending.
    session.flush()
    if not scope.touched:
        return
    for project_id in sorted(scope.touched):
        project = session.get(Project, project_id)
        if project is not None:
            refresh_due(session, project, scope.now)
            _write_due(session, project)
    scope.touched.clear()


_SET_DUE = (
    update(Project.__table__)  # type: ignore[arg-type]
    .where(Project.__table__.c.id == bindparam("project_id"))
    .values(billing_due_at=bindparam("due"))
)


def _write_due(session: Session, project: Project) -> None:
    """The new instant, written now with one Core statement rather than by the
    flush to come (whose unit of work, for one column of one row, cost more
    than the rest of the commit): the object then holds it as stored."""
    if not inspect(project).attrs.billing_due_at.history.has_changes():
        return
    due = project.billing_due_at
    session.connection().execute(_SET_DUE, {"project_id": project.id, "due": due})
    set_committed_value(project, "billing_due_at", due)
    touch(session, project.id, keys=())
