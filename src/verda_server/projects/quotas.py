"""Per-project quotas: how many of each kind of resource a project may hold.

Only what a project still holds counts: instances and clusters until they are
discontinued, volumes until they are permanently deleted (a volume in the trash
still counts, as the API document says of `move_to_trash`). A quota lowered
below what a project holds takes nothing away; it only refuses new creations
until the project is under it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from verda_server.api.errors import ApiError, invalid, not_found
from verda_server.clusters.models import Cluster
from verda_server.instances.models import Instance
from verda_server.projects.models import Project
from verda_server.startup_scripts.models import StartupScript
from verda_server.volumes.models import Volume
from verda_server.volumes.states import Status as VolumeStatus


class Kind(StrEnum):
    STARTUP_SCRIPTS = "startup_scripts"
    INSTANCES = "instances"
    VOLUMES = "volumes"
    CLUSTERS = "clusters"


@dataclass(frozen=True)
class Quota:
    column: InstrumentedAttribute[int]
    default: int
    hard_max: int
    # Singular and plural, for messages: "Volume limit exceeded: … 100 volumes".
    noun: str
    plural: str


# Startup scripts: the API document's changelog (default 100, hard maximum 1000).
# The rest: what a new account of a GPU cloud is typically given, raised on request.
QUOTAS: Mapping[Kind, Quota] = {
    Kind.STARTUP_SCRIPTS: Quota(
        Project.startup_script_quota, 100, 1000, "startup script", "scripts"
    ),
    Kind.INSTANCES: Quota(Project.instance_quota, 50, 10_000, "instance", "instances"),
    Kind.VOLUMES: Quota(Project.volume_quota, 100, 10_000, "volume", "volumes"),
    Kind.CLUSTERS: Quota(Project.cluster_quota, 5, 1000, "cluster", "clusters"),
}


_HELD_VOLUME_STATUSES = [s.value for s in VolumeStatus if s is not VolumeStatus.CANCELED]


def _held(kind: Kind, project_id: object) -> tuple[type, list[ColumnElement[bool]]]:
    if kind is Kind.INSTANCES:
        return Instance, [Instance.project_id == project_id, Instance.deleted_at.is_(None)]
    if kind is Kind.CLUSTERS:
        return Cluster, [Cluster.project_id == project_id, Cluster.deleted_at.is_(None)]
    if kind is Kind.VOLUMES:
        return Volume, [
            Volume.project_id == project_id,
            # Every status but canceled, named: a seek per status on the
            # project's index, past neither the canceled nor the long gone.
            Volume.status.in_(_HELD_VOLUME_STATUSES),
            Volume.is_permanently_deleted.is_(False),
        ]
    return StartupScript, [StartupScript.project_id == project_id]


def _count(kind: Kind, project_id: object) -> Select[int]:
    model, where = _held(kind, project_id)
    return select(func.count()).select_from(model).where(*where)


def usage(session: Session, project_id: str, kind: Kind) -> int:
    return session.scalar(_count(kind, project_id)) or 0


def usages(session: Session, project_id: str) -> dict[Kind, int]:
    return {kind: usage(session, project_id, kind) for kind in Kind}


def limits(project: Project) -> dict[Kind, int]:
    return {kind: int(getattr(project, quota.column.key)) for kind, quota in QUOTAS.items()}


def require(session: Session, project_id: str, kind: Kind, adding: int = 1) -> None:
    """Refuse (403 forbidden_action, like the startup script quota) what would
    take the project past its quota of `kind`. The project row is locked first,
    so that concurrent creations cannot both slip under it."""
    if adding <= 0:
        return
    require_all(session, project_id, {kind: adding})


@cache
def _project_holding(kinds: tuple[Kind, ...]) -> Select[tuple[Project, ...]]:
    """The project (locked) and what it holds of each kind: built once per set
    of kinds, as every deploy runs it."""
    project_id = bindparam("project_id")
    return (
        select(Project, *(_count(kind, project_id).scalar_subquery() for kind in kinds))
        .where(Project.id == project_id)
        .with_for_update()
    )


def require_all(session: Session, project_id: str, adding: Mapping[Kind, int]) -> Project:
    """`require` for several kinds at once, in their order, and the project: one
    statement reads the project (locked) and what it holds of each kind."""
    kinds = tuple(kind for kind, n in adding.items() if n > 0)
    project, held = holding(session, project_id, kinds)
    require_room(project, held, adding)
    return project


def holding(
    session: Session, project_id: str, kinds: tuple[Kind, ...]
) -> tuple[Project, dict[Kind, int]]:
    """The project (locked) and what it holds of each kind, in one statement."""
    row = session.execute(_project_holding(kinds), {"project_id": project_id}).one()
    return row[0], dict(zip(kinds, row[1:], strict=True))


def require_room(project: Project, held: Mapping[Kind, int], adding: Mapping[Kind, int]) -> None:
    """Refuse, for the first kind in `adding`'s order that would go over, what
    the project holding `held` can't take."""
    for kind, n in adding.items():
        if n <= 0:
            continue
        quota = QUOTAS[kind]
        limit = int(getattr(project, quota.column.key))
        if held[kind] + n > limit:
            needs = "" if n == 1 else f"; this needs {n} more"
            raise ApiError(
                "forbidden_action",
                f"{quota.noun.capitalize()} limit exceeded: the project's {quota.noun} quota is "
                f"{limit} and it holds {held[kind]} {quota.plural}{needs}",
            )


def check(kind: Kind, value: object) -> int:
    """A quota value as given by an operator: an integer from 0 to the hard maximum."""
    hard_max = QUOTAS[kind].hard_max
    # type(): JSON true is a bool, and bool is an int.
    if type(value) is not int or not 0 <= value <= hard_max:
        raise invalid(f"{kind.value}: must be an integer from 0 to {hard_max}")
    return value


def set_quotas(session: Session, project_id: str, values: Mapping[Kind, int]) -> Project:
    """Set some quotas, all or none (each value checked first)."""
    checked = {kind: check(kind, value) for kind, value in values.items()}
    project = session.get(Project, project_id)
    if project is None:
        raise not_found(f"Project {project_id} not found")
    for kind, value in checked.items():
        setattr(project, QUOTAS[kind].column.key, value)
    return project
