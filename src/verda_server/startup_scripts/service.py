from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError
from verda_server.clock import Clock
from verda_server.projects.models import Project
from verda_server.projects.quotas import Kind, set_quotas
from verda_server.startup_scripts.models import StartupScript
from verda_server.storage.owned import get_all_owned, get_owned
from verda_server.validation import clean_name

WHAT = "Startup script"


@dataclass(frozen=True)
class Page:
    items: Sequence[StartupScript]
    total: int


def list_scripts(
    session: Session,
    project_id: str,
    page: int | None = None,
    page_size: int | None = None,
    *,
    name: str | None = None,
    descending: bool = False,
) -> Page:
    """Oldest first (newest first when descending); `name` matches any part, ignoring case."""
    query = select(StartupScript).where(StartupScript.project_id == project_id)
    if name:
        # autoescape: a % or _ in the name is matched literally, not as a wildcard.
        query = query.where(StartupScript.name.icontains(name, autoescape=True))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = (StartupScript.created_at, StartupScript.id)
    query = query.order_by(*(column.desc() for column in order) if descending else order)
    if page is not None and page_size is not None:
        offset = (page - 1) * page_size
        if offset >= total:
            # Past the end; also keeps absurd page numbers away from the store.
            return Page([], total)
        query = query.offset(offset).limit(page_size)
    return Page(session.scalars(query).all(), total)


def add_script(
    session: Session, clock: Clock, project_id: str, name: str, script: str
) -> StartupScript:
    # Lock the project row so that concurrent adds cannot both slip under the quota.
    project = session.scalars(
        select(Project).where(Project.id == project_id).with_for_update()
    ).one()
    count = session.scalar(select(func.count()).where(StartupScript.project_id == project_id)) or 0
    if count >= project.startup_script_quota:
        raise ApiError(
            "forbidden_action",
            f"Startup script quota exceeded: the project already has {count} of its "
            f"{project.startup_script_quota} allowed scripts",
        )
    row = StartupScript(
        id=str(uuid.uuid4()),
        project_id=project_id,
        name=clean_name(name),
        script=script,
        created_at=clock.now(),
    )
    session.add(row)
    return row


def get_script(session: Session, project_id: str, script_id: str) -> StartupScript:
    return get_owned(session, StartupScript, project_id, script_id, WHAT)


def delete_scripts(session: Session, project_id: str, script_ids: Sequence[str]) -> None:
    """All or nothing: one unknown id and no script is deleted."""
    for row in get_all_owned(session, StartupScript, project_id, script_ids, WHAT):
        session.delete(row)


def set_quota(session: Session, project_id: str, quota: int) -> None:
    set_quotas(session, project_id, {Kind.STARTUP_SCRIPTS: quota})
