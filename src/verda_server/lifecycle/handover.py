"""Provisioning that real machines (--instances podman) were to end has no
due instant; a server started without them hands it to the clock, so that
nothing waits for a machine no one will make."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from verda_server.clusters.models import Cluster
from verda_server.instances.models import Instance
from verda_server.lifecycle.timings import Timings

PROVISIONING = "provisioning"


def clock_unended(session: Session, now: datetime, timings: Timings) -> None:
    if timings.machines:
        return
    for model, seconds in (
        (Instance, timings.provisioning_seconds),
        (Cluster, timings.cluster_provisioning_seconds),
    ):
        where = (model.status == PROVISIONING, model.due_at.is_(None), model.deleted_at.is_(None))
        # Looked for first: an update, even of no row, would move every
        # project's generation (storage/generation.py) at each start.
        if session.scalar(select(exists().where(*where))):
            session.execute(
                update(model).where(*where).values(due_at=now + timedelta(seconds=seconds))
            )
