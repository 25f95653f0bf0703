"""What a machine's reports do to its instance or cluster, by the state
tables, whatever the status they arrive in (the controller re-checks the
status too, but a report must be safe on its own)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from verda_server.clusters import machine as cluster_reports
from verda_server.clusters.models import Cluster
from verda_server.instances import machine as instance_reports
from verda_server.instances.models import Instance

NOW = datetime(2026, 11, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "deleted", "after", "changed"),
    [
        ("provisioning", False, "running", True),
        ("running", False, "running", False),
        ("offline", False, "offline", False),
        ("provisioning", True, "provisioning", False),
    ],
)
def test_answering_ends_provisioning_only(status, deleted, after, changed):
    instance = Instance(status=status, deleted_at=NOW if deleted else None, due_at=NOW)
    cluster = Cluster(status=status, deleted_at=NOW if deleted else None, due_at=NOW)
    assert instance_reports.answered(instance) is changed
    assert cluster_reports.answered(cluster) is changed
    assert (instance.status, cluster.status) == (after, after)
    assert (instance.due_at is None, cluster.due_at is None) == (changed, changed)


@pytest.mark.parametrize(
    ("status", "deleted", "after", "changed"),
    [
        ("running", False, "error", True),
        ("provisioning", False, "error", True),
        ("offline", False, "error", True),
        ("error", False, "error", False),
        ("running", True, "running", False),
        ("no_capacity", False, "no_capacity", False),
    ],
)
def test_a_machine_that_died_breaks_its_instance_where_the_table_allows(
    status, deleted, after, changed
):
    instance = Instance(status=status, deleted_at=NOW if deleted else None)
    assert instance_reports.died(instance) is changed
    assert instance.status == after
