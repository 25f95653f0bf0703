"""Lookups of project-owned rows: another project's row is exactly as missing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from verda_server.api.errors import not_found

T = TypeVar("T")


def is_uuid(value: str) -> bool:
    """Ids are UUIDs: anything else can't exist, so it never reaches the store."""
    try:
        return str(uuid.UUID(value)) == value.lower()
    except (ValueError, AttributeError, TypeError):
        return False


def get_owned(session: Session, model: type[T], project_id: str, row_id: str, what: str) -> T:
    row = session.get(model, row_id) if is_uuid(row_id) else None
    if row is None or getattr(row, "project_id", None) != project_id:
        raise not_found(f"{what} not found")
    return row


def get_all_owned(
    session: Session, model: type[T], project_id: str, ids: Sequence[str], what: str
) -> list[T]:
    """All of `ids`, in order, or 404 naming the first that is missing."""
    wanted = list(dict.fromkeys(ids))
    for row_id in wanted:
        if not is_uuid(row_id):
            raise not_found(f"{what} {row_id} not found")
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
