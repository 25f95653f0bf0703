"""How long what was sent to an endpoint is kept: a finished request's answer for a
day (the async result path reads it), nothing once its deployment is gone."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from verda_server.serverless.endpoint.models import InferenceRequest
from verda_server.storage.generation import TOUCHED

KEPT = timedelta(hours=24)


def prune(session: Session, deployment_id: str, now: datetime) -> None:
    """Drop the deployment's requests that finished more than KEPT ago."""
    _drop(
        session,
        InferenceRequest.deployment_id == deployment_id,
        InferenceRequest.outcome.is_not(None),
        InferenceRequest.finished_at < now - KEPT,
    )


def forget(session: Session, deployment_id: str) -> None:
    """Drop every request of a deployment that is gone."""
    _drop(session, InferenceRequest.deployment_id == deployment_id)


def _drop(session: Session, *where: object) -> None:
    # No cached answer shows a request (status and result are read afresh), so
    # no project's generation needs to move.
    session.execute(
        delete(InferenceRequest).where(*where),  # type: ignore[arg-type]
        execution_options={TOUCHED: True, "synchronize_session": False},
    )
