from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from verda_server.storage.base import Base, UTCDateTime


class InferenceRequest(Base):
    """One request sent to a deployment's endpoint: a queue message until it is
    completed, expired or purged, then the answer a client may fetch."""

    __tablename__ = "inference_requests"
    __table_args__ = (
        # The open messages of a deployment, in arrival order: what the fleet replays.
        Index("ix_inference_requests_open", "deployment_id", "outcome", "arrived_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("serverless_deployments.id", ondelete="CASCADE")
    )
    # Asked for with `Prefer: respond-async` (or -proxy): answered through /result.
    is_async: Mapped[bool]
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # NULL while queued or in progress; autoscale.Outcome after.
    outcome: Mapped[str | None] = mapped_column(String(16))
    # The request, echoed back as the answer: method, path below the deployment,
    # query string, headers (JSON object, credentials left out) and body.
    method: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(Text)
    query: Mapped[str] = mapped_column(Text)
    headers: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
