"""What the serverless resources hold of each other and of the shared capacity.

Secrets, file secrets and registry credentials can't be deleted while a
container deployment or job refers to them (unless forced), and a compute
resource is available while its capacity is not used up. Deployments and jobs
are the only users; serverless/deployments/references.py answers for them.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from verda_server.serverless.deployments import references


def secret_users(session: Session, project_id: str, name: str) -> list[str]:
    """Names of the project's deployments and jobs with an env var of type
    `secret` naming the generic secret `name`, sorted."""
    return sorted(references.secret_users(session, project_id, name))


def file_secret_users(session: Session, project_id: str, name: str) -> list[str]:
    """Names of the project's deployments and jobs with a `secret` volume mount
    of the file secret `name`, sorted."""
    return sorted(references.file_secret_users(session, project_id, name))


def credential_users(session: Session, project_id: str, name: str) -> list[str]:
    """Names of the project's deployments and jobs whose private registry
    settings name the registry credentials `name`, sorted."""
    return sorted(references.credential_users(session, project_id, name))


def units_in_use(session: Session, excluding: str | None = None) -> dict[str, int]:
    """Units of each serverless compute resource held now, across every project:
    a live replica of size N holds N units of its resource (without the
    deployment or job `excluding`)."""
    return references.units_in_use(session, excluding)
