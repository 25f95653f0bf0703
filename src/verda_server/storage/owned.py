"""Lookups of project-owned rows: another project's row is exactly as missing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from verda_server.api.errors import not_found

T = TypeVar("T")


def canonical_id(value: str) -> str | None:
    """Ids are UUIDs, stored in their canonical lowercase form; anything that is
    not a UUID can't exist, so it never reaches the store."""
    try:
        canonical = str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        return None
    return canonical if canonical == value.lower() else None


def is_uuid(value: str) -> bool:
    return canonical_id(value) is not None


def get_owned(session: Session, model: type[T], project_id: str, row_id: str, what: str) -> T:
    key = canonical_id(row_id)
    row = session.get(model, key) if key is not None else None
    if row is None or getattr(row, "project_id", None) != project_id:
        raise not_found(f"{what} not found")
    return row


def get_all_owned(
    session: Session, model: type[T], project_id: str, ids: Sequence[str], what: str
) -> list[T]:
    """All of `ids`, in order, or 404 naming the first that is missing."""
    wanted = []
    for row_id in ids:
        key = canonical_id(row_id)
        if key is None:
            raise not_found(f"{what} {row_id} not found")
        wanted.append(key)
    wanted = list(dict.fromkeys(wanted))
    if not wanted:
        return []  # most deploys name no keys and no volumes: no query for them
    found = {
        row.id: row  # type: ignore[attr-defined]
        for row in session.scalars(
            select(model).where(
                model.project_id == project_id,  # type: ignore[attr-defined]
                model.id.in_(wanted),  # type: ignore[attr-defined]
            )
        )
    }
    for row_id in wanted:
        if row_id not in found:
            raise not_found(f"{what} {row_id} not found")
    return [found[row_id] for row_id in wanted]
