"""PUT /v1/clusters: the single and the bulk body, one transaction for all.

All or nothing: one unknown id (404), one cluster whose status refuses the
action (403, e.g. already discontinued) and no cluster is changed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from verda_server.api.errors import forbidden, invalid
from verda_server.clusters import service
from verda_server.clusters.models import Cluster
from verda_server.clusters.schemas import (
    PerformClusterActionPublicDto,
    PerformClusterActionsBulkDto,
)
from verda_server.clusters.states import RULES, Action, Status, parse_action, refusal
from verda_server.tags import service as tags


def requested(
    body: PerformClusterActionPublicDto | PerformClusterActionsBulkDto,
) -> list[tuple[Action, str]]:
    """(action, id) pairs in order, each id once; 400 for an unknown action."""
    items = body.actions if isinstance(body, PerformClusterActionsBulkDto) else [body]
    pairs: dict[str, Action] = {}
    for n, item in enumerate(items):
        action = parse_action(item.action)
        if action is None:
            where = "action" if isinstance(body, PerformClusterActionPublicDto) else f"actions.{n}"
            known = ", ".join(a.value for a in RULES)
            raise invalid(f"{where}: unknown action {item.action!r} (only {known})")
        pairs.setdefault(item.id, action)
    return [(action, cluster_id) for cluster_id, action in pairs.items()]


def perform(
    session: Session, now: datetime, project_id: str, pairs: list[tuple[Action, str]]
) -> list[Cluster]:
    """Apply every action; the clusters changed, in order."""
    clusters = [(action, service.get_cluster(session, project_id, i)) for action, i in pairs]
    for action, cluster in clusters:
        status = Status(cluster.status)
        if status not in RULES[action].legal_from:
            raise forbidden(refusal(action, status))
    for action, cluster in clusters:
        if RULES[action].to is Status.DISCONTINUED:
            discontinue(session, cluster, now)
    return [cluster for _, cluster in clusters]


def discontinue(session: Session, cluster: Cluster, now: datetime) -> None:
    """Nodes gone, capacity and address back to the location, shared volumes
    detached (kept: they are deleted by hand), tags dropped. Its meter closes
    at `now` (billing/follow.py)."""
    tags.drop_links(session, "cluster", [cluster.id])
    cluster.status = Status.DISCONTINUED.value
    cluster.deleted_at = now
    cluster.due_at = None
    cluster.ip = None
    service.detach_volumes(session, cluster)
