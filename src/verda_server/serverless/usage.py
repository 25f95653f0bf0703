"""What the serverless resources hold of each other and of the shared capacity.

Secrets, file secrets and registry credentials can't be deleted while a
container deployment or job refers to them (unless forced), and a compute
resource is available while its capacity is not used up. Deployments and jobs
are the only users: each function below is where they answer for their
references, and answers nothing while none of them exists.
"""

from __future__ import annotations

from sqlalchemy.orm import Session


def secret_users(session: Session, project_id: str, name: str) -> list[str]:
    """Names of the project's deployments and jobs with an env var of type
    `secret` naming the generic secret `name`, sorted. Deployments and jobs
    supply their references here."""
    return []


def file_secret_users(session: Session, project_id: str, name: str) -> list[str]:
    """Names of the project's deployments and jobs with a `secret` volume mount
    of the file secret `name`, sorted. Deployments and jobs supply their
    references here."""
    return []


def credential_users(session: Session, project_id: str, name: str) -> list[str]:
    """Names of the project's deployments and jobs whose private registry
    settings name the registry credentials `name`, sorted. Deployments and jobs
    supply their references here."""
    return []


def units_in_use(session: Session) -> dict[str, int]:
    """Units of each serverless compute resource held now, across every project:
    a live replica of size N holds N units of its resource. Resources nothing
    holds may be left out. Deployments and jobs supply their replicas here."""
    return {}
