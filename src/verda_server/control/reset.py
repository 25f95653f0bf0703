"""Reset: every resource of one project, or of every project, goes at once.

Resources are every table that is not a project's identity or money (KEPT):
instances, volumes (the trash too), clusters, SSH keys, startup scripts, tags,
serverless secrets and registry credentials, their links, and the meters and
ledger entries of what they cost. Capacity and
addresses are counted from live rows, so they are free again at once.

A reset project is as it was created, save its name, credentials and quotas:
its balance is its opening amount again (top-ups and corrections go with the
ledger). The next test starts from a known balance, not from whatever the last
one spent or set; one that needs another sets it after the reset.

Generic over the ORM metadata: a table added later is a resource unless it is
named in KEPT, and is scoped to a project by its `project_id` or, failing that,
by a foreign key to a table that is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, Table, delete, or_, select, true
from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError, not_found
from verda_server.billing.ledger import ZERO
from verda_server.billing.models import Funding
from verda_server.control.models import ControlState
from verda_server.projects.models import Project
from verda_server.storage.generation import StoreGeneration
from verda_server.storage.models import Base

OPENING = "opening"
# A project's identity, access and money, kept unless projects are dropped;
# the server's own keys and control state, always kept.
IDENTITY = ("credentials", "refresh_tokens", "fundings")
KEPT = frozenset(
    {
        "projects",
        *IDENTITY,
        "signing_keys",
        ControlState.__tablename__,
        StoreGeneration.__tablename__,
    }
)


@dataclass
class ResetResult:
    projects_reset: int = 0
    projects_dropped: int = 0
    deleted: dict[str, int] = field(default_factory=dict)


def _resources() -> list[Table]:
    """Children before parents, so that every delete finds nothing referring to it."""
    return [t for t in reversed(Base.metadata.sorted_tables) if t.name not in KEPT]


def _owned(table: Table, project_ids: ColumnElement[bool] | None) -> ColumnElement[bool]:
    """Rows of `table` that belong to the chosen projects (None: every project)."""
    if project_ids is None:
        return true()
    if "project_id" in table.c:
        return table.c.project_id.in_(_chosen(project_ids))
    via = [
        fk.parent.in_(select(fk.column).where(_owned(fk.column.table, project_ids)))
        for fk in table.foreign_keys
        if fk.column.table.name not in KEPT
    ]
    if not via:
        raise TypeError(f"{table.name}: no way to tell which project a row belongs to")
    return or_(*via)


def _chosen(project_ids: ColumnElement[bool]) -> Select[tuple[str]]:
    return select(Project.id).where(project_ids)


def reset(session: Session, project_id: str | None, drop_projects: bool) -> ResetResult:
    """Delete the resources of `project_id` (or of every project), and with
    `drop_projects` the projects themselves with their credentials. The default
    project is never dropped: it is the server's own (its credential may be
    configured), and a server without it would not start the same."""
    if project_id is not None:
        project = session.get(Project, project_id)
        if project is None:
            raise not_found(f"Project {project_id} not found")
        if drop_projects and project.is_default:
            raise ApiError(
                "conflict",
                "The default project is the server's own and is never dropped: "
                "reset it without drop_projects",
            )
        chosen: ColumnElement[bool] | None = Project.id == project_id
    else:
        chosen = None
    result = ResetResult()
    for table in _resources():
        result.deleted[table.name] = _deleted(session, table, _owned(table, chosen))
    dropped = Project.is_default.is_(False) if chosen is None else chosen
    if drop_projects:
        for name in IDENTITY:
            table = Base.metadata.tables[name]
            owned = table.c.project_id.in_(_chosen(dropped))
            result.deleted[name] = _deleted(session, table, owned)
        result.projects_dropped = _deleted(session, Project.__table__, dropped)
    remaining = session.scalars(
        select(Project).where(true() if chosen is None else chosen).order_by(Project.id)
    ).all()
    refunded = 0
    for project in remaining:
        refunded += _as_opened(session, project)
    result.deleted["fundings"] = result.deleted.get("fundings", 0) + refunded
    result.projects_reset = len(remaining) + result.projects_dropped
    return result


def _deleted(session: Session, table: Table, where: ColumnElement[bool]) -> int:
    result = session.execute(delete(table).where(where))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _as_opened(session: Session, project: Project) -> int:
    """The project's money as it was created: its opening amount, nothing to
    bill. Returns how many later fundings (top-ups, corrections) went."""
    later = _deleted(
        session, Funding.__table__, (Funding.project_id == project.id) & (Funding.kind != OPENING)
    )
    # Summed here, not by the store: SQLite keeps amounts as text, and its SUM
    # would add them as floats.
    amounts = session.scalars(select(Funding.amount).where(Funding.project_id == project.id))
    project.balance = sum(amounts, ZERO)
    project.billing_due_at = None
    return later
