"""One table for container deployments and jobs: they share one name space per
project (both live under `<endpoint base>/<name>`, BEYOND.md Open point 27), the
container model, the capacity they hold and the meter they run."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from verda_server.storage.base import Base, UTCDateTime
from verda_server.storage.money import Money

DEPLOYMENT = "deployment"
JOB = "job"


class ServerlessDeployment(Base):
    __tablename__ = "serverless_deployments"
    __table_args__ = (
        # A live name is taken once per project, across deployments and jobs;
        # removed rows are kept (billing, audit) and free their name.
        Index(
            "uq_serverless_deployments_live_name",
            "project_id",
            "name",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    # DEPLOYMENT or JOB.
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(63))
    status: Mapped[str] = mapped_column(String(32))
    compute_name: Mapped[str] = mapped_column(String(64))
    compute_size: Mapped[int]
    is_spot: Mapped[bool]
    registry_is_private: Mapped[bool]
    registry_credentials: Mapped[str | None] = mapped_column(String(255))
    # JSON: the containers as stored (serverless/deployments/containers.py) and
    # the scaling object exactly as it is answered.
    containers: Mapped[str] = mapped_column(Text)
    scaling: Mapped[str] = mapped_column(Text)
    # JSON: the replicas now, [{id, started_at, ready_at}]: `replica_count` of
    # them. An autoscaler moves replica_count between min and max; a decision it
    # waits to apply (a scale-up/down delay) is `scale_target` from `scale_since`.
    replicas: Mapped[str] = mapped_column(Text)
    replica_count: Mapped[int]
    scale_target: Mapped[int | None]
    scale_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Capacity units one replica holds, and what one replica-hour costs.
    units_per_replica: Mapped[int]
    price_per_replica_hour: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    # Rolled by every new version (a patch, env vars) and restart: replica ids.
    version: Mapped[int]
    # The API credential (client id) that created it: jobs' `created_by_user_id`.
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the current timed status ends (states.TIMED).
    status_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The next instant anything of it changes by the clock alone (its status, a
    # replica's readiness, a removal): what the due machinery looks at.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The endpoint's queue (serverless/endpoint/fleet.py): the instant its replay
    # stands at, and the next instant it changes by itself (None: it won't).
    fleet_as_of: Mapped[datetime | None] = mapped_column(UTCDateTime())
    queue_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
