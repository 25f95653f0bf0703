"""Applies the timed transitions that have fallen due, Kubernetes-controller
style: nothing sleeps; whatever is due by the server's clock is made true
inside the transaction of any request that writes, before any request reads,
and by a background sweep for everyone else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from verda_server.billing import due as billing_due
from verda_server.billing.follow import billed
from verda_server.catalog.service import Catalog
from verda_server.clock import Clock
from verda_server.clusters.models import Cluster
from verda_server.clusters.states import TIMED as CLUSTER_TIMED
from verda_server.clusters.states import Status as ClusterStatus
from verda_server.instances import eviction
from verda_server.instances.models import Instance
from verda_server.instances.states import TIMED as INSTANCE_TIMED
from verda_server.instances.states import Status as InstanceStatus
from verda_server.lifecycle.timings import ActiveLifecycle, Timings
from verda_server.projects.models import Project
from verda_server.serverless.deployments import service as serverless
from verda_server.serverless.deployments.models import ServerlessDeployment
from verda_server.serverless.endpoint import fleet
from verda_server.storage.base import UTCDateTime
from verda_server.storage.database import Database
from verda_server.volumes import service as volumes
from verda_server.volumes.models import Volume
from verda_server.volumes.states import TIMED as VOLUME_TIMED
from verda_server.volumes.states import Status as VolumeStatus

# Each kind of due transition as conditions on `now` and, for one project's,
# `project_id`: plain values when applying, bound parameters in the check.
Now = datetime | BindParameter[datetime]
ProjectId = str | BindParameter[str] | None


def _instances_due(now: Now, project_id: ProjectId) -> list[ColumnElement[bool]]:
    where = [Instance.deleted_at.is_(None), Instance.due_at.is_not(None), Instance.due_at <= now]
    return where if project_id is None else [*where, Instance.project_id == project_id]


def _evictions_due(now: Now) -> list[ColumnElement[bool]]:
    """Of every project: capacity is shared, so whoever comes first applies them."""
    return [Instance.evict_at <= now, Instance.deleted_at.is_(None)]


def _clusters_due(now: Now, project_id: ProjectId) -> list[ColumnElement[bool]]:
    where = [Cluster.deleted_at.is_(None), Cluster.due_at.is_not(None), Cluster.due_at <= now]
    return where if project_id is None else [*where, Cluster.project_id == project_id]


def _volumes_due(now: Now, project_id: ProjectId) -> list[ColumnElement[bool]]:
    where = [Volume.due_at.is_not(None), Volume.due_at <= now]
    return where if project_id is None else [*where, Volume.project_id == project_id]


def _serverless_due(now: Now, project_id: ProjectId) -> list[ColumnElement[bool]]:
    where = [
        ServerlessDeployment.deleted_at.is_(None),
        ServerlessDeployment.due_at.is_not(None),
        ServerlessDeployment.due_at <= now,
    ]
    return where if project_id is None else [*where, ServerlessDeployment.project_id == project_id]


def _billing_due(now: Now, project_id: ProjectId) -> list[ColumnElement[bool]]:
    where = [Project.billing_due_at <= now]
    return where if project_id is None else [*where, Project.id == project_id]


def _due_check(per_project: bool) -> Select[tuple[bool]]:
    """Whether anything is due: built once, since it runs before every read and
    building it cost far more than running it."""
    now = bindparam("now", type_=UTCDateTime())
    project_id = bindparam("project_id") if per_project else None
    return select(
        or_(
            exists().where(*_instances_due(now, project_id)),
            exists().where(*_evictions_due(now)),
            exists().where(*_clusters_due(now, project_id)),
            exists().where(*_volumes_due(now, project_id)),
            exists().where(*_serverless_due(now, project_id)),
            exists().where(*_billing_due(now, project_id)),
        )
    )


def _earliest(column: Any, *where: ColumnElement[bool]) -> Any:
    return select(func.min(column)).where(*where).scalar_subquery()


def _next_due_statement() -> Select[Any]:
    """The instants at which each kind of transition next falls due in one
    project: the conditions above without their `<= now`."""
    project_id = bindparam("project_id")
    far = bindparam("far", type_=UTCDateTime())
    instants = (
        _earliest(Instance.due_at, *_instances_due(far, project_id)),
        _earliest(Instance.evict_at, *_evictions_due(far), Instance.project_id == project_id),
        _earliest(Cluster.due_at, *_clusters_due(far, project_id)),
        _earliest(Volume.due_at, *_volumes_due(far, project_id)),
        _earliest(ServerlessDeployment.due_at, *_serverless_due(far, project_id)),
        _earliest(Project.billing_due_at, *_billing_due(far, project_id)),
    )
    return select(*instants)


_NEXT_DUE = _next_due_statement()
# Later than any instant the store holds: "due by then" is "due at all".
_FAR = datetime(9999, 12, 31, tzinfo=UTC)


def next_due(session: Session, project_id: str) -> datetime | None:
    """The earliest instant at which something of the project falls due (None:
    nothing is scheduled); until then, only a write changes what it reads."""
    row = session.execute(_NEXT_DUE, {"project_id": project_id, "far": _FAR}).one()
    instants = [instant for instant in row if instant is not None]
    return min(instants) if instants else None


_DUE_IN_PROJECT = _due_check(per_project=True)
_DUE_ANYWHERE = _due_check(per_project=False)
_EVICTION_DUE = select(exists().where(*_evictions_due(bindparam("now", type_=UTCDateTime()))))


def _anything_due(session: Session, now: datetime, project_id: str | None) -> bool:
    if project_id is None:
        return bool(session.scalar(_DUE_ANYWHERE, {"now": now}))
    return bool(session.scalar(_DUE_IN_PROJECT, {"now": now, "project_id": project_id}))


def apply_due(
    session: Session,
    now: datetime,
    catalog: Catalog,
    lifecycle: Timings,
    project_id: str | None = None,
) -> int:
    """Make every transition due by `now` true; the caller's transaction holds
    the writer's turn, so nothing else changes these rows meanwhile. Billing
    comes last: it charges for what the transitions left running."""
    billed(session, now, catalog)
    if not _anything_due(session, now, project_id):
        return 0  # the usual case: one cheap query, not one per kind
    changed = 0
    # Evictions first, each at its own instant: what it trashed may be due too.
    due = session.scalars(
        select(Instance).where(*_evictions_due(now)).order_by(Instance.evict_at, Instance.id)
    ).all()
    for instance in due:
        assert instance.evict_at is not None
        eviction.evict(session, instance.evict_at, lifecycle, instance)
        changed += 1
    for instance in session.scalars(
        select(Instance).where(*_instances_due(now, project_id)).order_by(Instance.id)
    ):
        following = INSTANCE_TIMED.get(InstanceStatus(instance.status))
        if following is not None:
            instance.status = following.value
        instance.due_at = None
        changed += 1
    for cluster in session.scalars(
        select(Cluster).where(*_clusters_due(now, project_id)).order_by(Cluster.id)
    ):
        following = CLUSTER_TIMED.get(ClusterStatus(cluster.status))
        if following is not None:
            cluster.status = following.value
        cluster.due_at = None
        changed += 1
    for volume in session.scalars(
        select(Volume).where(*_volumes_due(now, project_id)).order_by(Volume.id)
    ):
        status = VolumeStatus(volume.status)
        if status is VolumeStatus.DELETED:
            volumes.purge(volume)  # its time in the trash is up
        elif status in VOLUME_TIMED:
            volume.status = VOLUME_TIMED[status].value
        volume.due_at = None
        changed += 1
    for deployment in session.scalars(
        select(ServerlessDeployment)
        .where(*_serverless_due(now, project_id))
        .order_by(ServerlessDeployment.id)
    ):
        serverless.settle(deployment, now)
        if deployment.deleted_at is None and (
            deployment.queue_due_at is not None or deployment.scale_since is not None
        ):
            fleet.play(session, catalog, deployment, now, lifecycle)
        changed += 1
    for project in session.scalars(
        select(Project).where(*_billing_due(now, project_id)).order_by(Project.id)
    ):
        billing_due.settle_due(session, project, now)
        changed += 1
    return changed


class Reconciler:
    def __init__(
        self, db: Database, clock: Clock, catalog: Catalog, lifecycle: ActiveLifecycle
    ) -> None:
        self._db = db
        self._clock = clock
        self._catalog = catalog
        self._lifecycle = lifecycle

    def settle(self, project_id: str | None = None) -> int:
        """Apply what is due (for one project, or all); returns how many changed."""
        now = self._clock.now()
        with self._db.read() as session:
            if not _anything_due(session, now, project_id):
                return 0
        with self._db.write() as session:
            return apply_due(session, now, self._catalog, self._lifecycle.current, project_id)

    async def settle_before_read(self, project_id: str) -> bool:
        """`settle` for a request that only reads: the usual nothing-is-due check
        costs no thread hand-off; applying what is due takes a writer's turn.
        Whether anything was due."""
        now = self._clock.now()
        if await self._db.run_read(lambda session: _anything_due(session, now, project_id)):
            await run_in_threadpool(self.settle, project_id)
            return True
        return False

    async def settle_evictions_before_read(self) -> None:
        """For a read of what every project shares (capacity): the evictions
        that fell due give theirs back first."""
        now = self._clock.now()
        if await self._db.run_read(
            lambda session: bool(session.scalar(_EVICTION_DUE, {"now": now}))
        ):
            await run_in_threadpool(self.settle)
