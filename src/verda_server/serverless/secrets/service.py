"""Generic secrets and file secrets: one name space per project.

Values are write-only: nothing here hands them back to the HTTP layer.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from verda_server.api.errors import ApiError, not_found
from verda_server.clock import Clock
from verda_server.serverless import usage
from verda_server.serverless.secrets.models import FILE_SECRET, GENERIC, Secret, SecretFile

WHAT = {GENERIC: "Secret", FILE_SECRET: "File secret"}


def list_secrets(session: Session, project_id: str, kind: str | None = None) -> Sequence[Secret]:
    """Oldest first (by name within one instant); `kind` None lists both kinds."""
    query = select(Secret).where(Secret.project_id == project_id)
    if kind is not None:
        query = query.where(Secret.kind == kind)
    if kind == FILE_SECRET:
        query = query.options(selectinload(Secret.files))
    return session.scalars(query.order_by(Secret.created_at, Secret.name)).all()


def _refuse_taken(session: Session, project_id: str, name: str) -> None:
    taken = session.scalar(
        select(Secret.kind).where(Secret.project_id == project_id, Secret.name == name)
    )
    if taken is not None:
        raise ApiError("conflict", f"A {WHAT[taken].lower()} named {name} already exists")


def add_secret(session: Session, clock: Clock, project_id: str, name: str, value: str) -> None:
    _refuse_taken(session, project_id, name)
    session.add(
        Secret(
            id=str(uuid.uuid4()),
            project_id=project_id,
            name=name,
            kind=GENERIC,
            value=value,
            created_at=clock.now(),
        )
    )


def add_file_secret(
    session: Session, clock: Clock, project_id: str, name: str, files: Sequence[tuple[str, str]]
) -> None:
    """`files` as (file name, base64 content); a name sent twice keeps its last
    content, at the place it was first sent."""
    _refuse_taken(session, project_id, name)
    contents = dict(files)
    session.add(
        Secret(
            id=str(uuid.uuid4()),
            project_id=project_id,
            name=name,
            kind=FILE_SECRET,
            value=None,
            created_at=clock.now(),
            files=[
                SecretFile(file_name=file_name, position=position, base64_content=content)
                for position, (file_name, content) in enumerate(contents.items())
            ],
        )
    )


def _users(session: Session, secret: Secret) -> list[str]:
    if secret.kind == FILE_SECRET:
        return usage.file_secret_users(session, secret.project_id, secret.name)
    return usage.secret_users(session, secret.project_id, secret.name)


def find_secret(
    session: Session, project_id: str, name: str, kind: str | None = None
) -> Secret | None:
    """The project's secret `name` of `kind` (GENERIC or FILE_SECRET; None: either)."""
    query = select(Secret).where(Secret.project_id == project_id, Secret.name == name)
    if kind is not None:
        query = query.where(Secret.kind == kind)
    return session.scalar(query)


def delete_secret(
    session: Session, project_id: str, name: str, force: bool, kind: str | None = None
) -> None:
    """`kind` None deletes either kind. One in use by deployments or jobs goes
    only with `force`: they keep naming it."""
    secret = find_secret(session, project_id, name, kind)
    if secret is None:
        raise not_found(f"{WHAT[kind or GENERIC]} {name} not found")
    users = _users(session, secret)
    if users and not force:
        raise ApiError(
            "conflict",
            f"{WHAT[secret.kind]} {name} is in use by {', '.join(users)}; "
            "delete with force=true to delete it anyway",
        )
    session.delete(secret)
