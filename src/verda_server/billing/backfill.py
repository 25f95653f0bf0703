"""Meters for resources that have none: those of a store written before
billing existed start costing when this server first runs on it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from verda_server.billing import ledger
from verda_server.billing.billable import (
    BILLED_VOLUME_STATUSES,
    cluster_rate,
    instance_rate,
    volume_rate,
)
from verda_server.billing.due import refresh_due
from verda_server.billing.models import Meter
from verda_server.catalog.service import Catalog
from verda_server.clusters.models import Cluster
from verda_server.instances.models import Instance
from verda_server.projects.models import Project
from verda_server.volumes.models import Volume


def _unmetered(kind: str, id_column: object) -> object:
    return ~exists().where(
        and_(Meter.resource_kind == kind, Meter.resource_id == id_column)  # type: ignore[arg-type]
    )


def open_missing_meters(session: Session, now: datetime, catalog: Catalog) -> int:
    opened = 0
    touched: set[Project] = set()
    instances = session.scalars(
        select(Instance).where(Instance.deleted_at.is_(None), _unmetered("instance", Instance.id))
    ).all()
    clusters = session.scalars(
        select(Cluster).where(Cluster.deleted_at.is_(None), _unmetered("cluster", Cluster.id))
    ).all()
    volumes = session.scalars(
        select(Volume).where(
            Volume.status.in_(BILLED_VOLUME_STATUSES),
            Volume.is_permanently_deleted.is_(False),
            _unmetered("volume", Volume.id),
        )
    ).all()
    for resource, kind in [
        *((i, "instance") for i in instances),
        *((c, "cluster") for c in clusters),
        *((v, "volume") for v in volumes),
    ]:
        project = session.get(Project, resource.project_id)
        assert project is not None
        if kind == "instance":
            rate = instance_rate(resource)  # type: ignore[arg-type]
        elif kind == "cluster":
            rate = cluster_rate(resource)  # type: ignore[arg-type]
        else:
            rate = volume_rate(resource, catalog, project.currency)  # type: ignore[arg-type]
        if rate is not None:
            ledger.start(session, project, kind, resource.id, rate, now)
            touched.add(project)
            opened += 1
    # Their money runs out, and their contracts end, like everyone else's.
    session.flush()
    for project in sorted(touched, key=lambda p: p.id):
        refresh_due(session, project, now)
    return opened
