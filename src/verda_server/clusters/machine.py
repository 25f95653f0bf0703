"""What a cluster's real machines (machines/) report, by the cluster state
table: every node answering ends provisioning, which the clock does not drive
for real machines."""

from __future__ import annotations

from verda_server.clusters.models import Cluster
from verda_server.clusters.states import TIMED, Status


def answered(cluster: Cluster) -> bool:
    """Provisioning is over; False when the cluster was not provisioning."""
    status = Status(cluster.status)
    if status not in TIMED or cluster.deleted_at is not None:
        return False
    cluster.status = TIMED[status].value
    cluster.due_at = None
    return True
