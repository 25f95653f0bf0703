"""Container registry credentials: their fields are write-only."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError, invalid, not_found
from verda_server.clock import Clock
from verda_server.serverless import usage
from verda_server.serverless.registry.models import RegistryCredential
from verda_server.serverless.registry.schemas import REQUIRED


def list_credentials(session: Session, project_id: str) -> Sequence[RegistryCredential]:
    """Oldest first (by name within one instant)."""
    return session.scalars(
        select(RegistryCredential)
        .where(RegistryCredential.project_id == project_id)
        .order_by(RegistryCredential.created_at, RegistryCredential.name)
    ).all()


def find_credential(session: Session, project_id: str, name: str) -> RegistryCredential | None:
    return session.scalar(
        select(RegistryCredential).where(
            RegistryCredential.project_id == project_id, RegistryCredential.name == name
        )
    )


def add_credential(
    session: Session,
    clock: Clock,
    project_id: str,
    name: str,
    registry_type: str,
    fields: Mapping[str, str],
) -> None:
    missing = [field for field in REQUIRED[registry_type] if field not in fields]
    if missing:
        raise invalid(f"{missing[0]}: required for registry type {registry_type}")
    if find_credential(session, project_id, name) is not None:
        raise ApiError("conflict", f"Registry credentials named {name} already exist")
    session.add(
        RegistryCredential(
            id=str(uuid.uuid4()),
            project_id=project_id,
            name=name,
            registry_type=registry_type,
            fields=json.dumps(dict(fields), separators=(",", ":")),
            created_at=clock.now(),
        )
    )


def delete_credential(session: Session, project_id: str, name: str, force: bool) -> None:
    """Credentials in use by deployments or jobs go only with `force`."""
    row = find_credential(session, project_id, name)
    if row is None:
        raise not_found(f"Registry credentials {name} not found")
    users = usage.credential_users(session, project_id, name)
    if users and not force:
        raise ApiError(
            "conflict",
            f"Registry credentials {name} are in use by {', '.join(users)}; "
            "delete with force=true to delete them anyway",
        )
    session.delete(row)
