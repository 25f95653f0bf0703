from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from verda_server.clock import Clock
from verda_server.ssh_keys.models import SshKey
from verda_server.ssh_keys.parsing import normalise_public_key
from verda_server.storage.owned import get_all_owned, get_owned
from verda_server.validation import clean_name

WHAT = "SSH key"


def list_keys(session: Session, project_id: str) -> Sequence[SshKey]:
    return session.scalars(
        select(SshKey).where(SshKey.project_id == project_id).order_by(SshKey.created_at, SshKey.id)
    ).all()


def add_key(session: Session, clock: Clock, project_id: str, name: str, key: str) -> SshKey:
    line, fingerprint = normalise_public_key(key)
    row = SshKey(
        id=str(uuid.uuid4()),
        project_id=project_id,
        name=clean_name(name),
        key=line,
        fingerprint=fingerprint,
        created_at=clock.now(),
    )
    session.add(row)
    return row


def get_key(session: Session, project_id: str, key_id: str) -> SshKey:
    return get_owned(session, SshKey, project_id, key_id, WHAT)


def get_keys(session: Session, project_id: str, key_ids: Sequence[str]) -> list[SshKey]:
    return get_all_owned(session, SshKey, project_id, key_ids, WHAT)


def delete_keys(session: Session, project_id: str, key_ids: Sequence[str]) -> None:
    """All or nothing: one unknown id and no key is deleted."""
    for row in get_keys(session, project_id, key_ids):
        session.delete(row)
