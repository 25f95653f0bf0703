"""What live deployments and jobs use, for the rules of other resources: a
secret, file secret or registry credential in use can't be deleted (without
`force`), and a compute resource's units in use are not available.

Each answers from the project's live rows (deployments and jobs alike)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verda_server.serverless.deployments import containers as stored
from verda_server.serverless.deployments.models import ServerlessDeployment


def _live(session: Session, project_id: str) -> Iterator[ServerlessDeployment]:
    yield from session.scalars(
        select(ServerlessDeployment)
        .where(
            ServerlessDeployment.project_id == project_id,
            ServerlessDeployment.deleted_at.is_(None),
        )
        .order_by(ServerlessDeployment.created_at, ServerlessDeployment.id)
    )


def secret_users(session: Session, project_id: str, secret_name: str) -> list[str]:
    """Names of the deployments and jobs with an env var from this generic secret."""
    return [
        row.name
        for row in _live(session, project_id)
        if any(
            item["type"] == "secret" and item["value_or_reference_to_secret"] == secret_name
            for container in stored.load(row.containers)
            for item in container["env"]
        )
    ]


def file_secret_users(session: Session, project_id: str, secret_name: str) -> list[str]:
    """Names of the deployments and jobs mounting this file secret."""
    return [
        row.name
        for row in _live(session, project_id)
        if any(
            mount["type"] == "secret" and mount["secret_name"] == secret_name
            for container in stored.load(row.containers)
            for mount in container["volume_mounts"]
        )
    ]


def credential_users(session: Session, project_id: str, credential_name: str) -> list[str]:
    """Names of the deployments and jobs pulling with these registry credentials."""
    return [
        row.name
        for row in _live(session, project_id)
        if row.registry_is_private and row.registry_credentials == credential_name
    ]


def volume_users(session: Session, project_id: str, volume_id: str) -> list[str]:
    """Names of the deployments and jobs mounting this shared volume."""
    return [
        row.name
        for row in _live(session, project_id)
        if any(
            mount["type"] == "shared" and mount["volume_id"] == volume_id
            for container in stored.load(row.containers)
            for mount in container["volume_mounts"]
        )
    ]


_UNITS = (
    select(
        ServerlessDeployment.compute_name,
        func.sum(ServerlessDeployment.replica_count * ServerlessDeployment.units_per_replica),
    )
    .where(ServerlessDeployment.deleted_at.is_(None))
    .group_by(ServerlessDeployment.compute_name)
)


def units_in_use(session: Session, excluding: str | None = None) -> dict[str, int]:
    """Capacity units held per compute resource name, every project together;
    without the deployment `excluding` (one about to change its holding)."""
    statement = _UNITS
    if excluding is not None:
        statement = statement.where(ServerlessDeployment.id != excluding)
    used: dict[str, int] = defaultdict(int)
    for name, units in session.execute(statement):
        used[name] += int(units or 0)
    return dict(used)
