"""The machines the store wants, read in a few statements however many there
are: every live instance that has (or is getting) a machine, and every node
of every live cluster."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from verda_server.catalog.service import Catalog
from verda_server.clusters.models import Cluster, ClusterSshKey, ClusterVolume
from verda_server.clusters.service import clean_mount_point, node_count
from verda_server.clusters.states import REMOVED as CLUSTER_REMOVED
from verda_server.instances.models import Instance, InstanceSshKey
from verda_server.instances.states import REMOVED, UNPLACED
from verda_server.machines.spec import Kind, Machine, Private, Scale, VolumeMount, mount_paths
from verda_server.ssh_keys.models import SshKey
from verda_server.startup_scripts.models import StartupScript
from verda_server.volumes.models import Volume, VolumeAttachment

_NO_MACHINE = [status.value for status in UNPLACED | REMOVED]
_CLUSTER_GONE = [status.value for status in CLUSTER_REMOVED]
# A cluster's own network: the jump host first, its workers after it.
CLUSTER_SUBNET = "10.0.0.{}"


def machines(session: Session, catalog: Catalog, scale: Scale) -> dict[str, Machine]:
    wanted = {m.key: m for m in _instances(session, catalog, scale)}
    wanted.update((m.key, m) for m in _clusters(session, catalog, scale))
    return wanted


def kept_volumes(session: Session) -> set[str]:
    """Volumes whose data must stay (in the trash included): all but purged ones."""
    return set(session.scalars(select(Volume.id).where(Volume.is_permanently_deleted.is_(False))))


CLUSTER_NETWORK_PREFIX = "verda-c-"


def cluster_network(cluster_id: str) -> str:
    return f"{CLUSTER_NETWORK_PREFIX}{cluster_id}"


def _instances(session: Session, catalog: Catalog, scale: Scale) -> list[Machine]:
    rows = session.execute(
        select(
            Instance.id, Instance.project_id, Instance.status, Instance.hostname,
            Instance.location, Instance.ip, Instance.os_volume_id, Instance.instance_type,
            Instance.startup_script_id,
        ).where(Instance.deleted_at.is_(None), Instance.status.not_in(_NO_MACHINE))
    ).all()  # fmt: skip
    if not rows:
        return []
    ids = [row.id for row in rows]
    attached: dict[str, list[tuple[str, str, bool]]] = defaultdict(list)
    for a in session.execute(
        select(
            VolumeAttachment.instance_id, Volume.id, Volume.pseudo_path, Volume.is_os_volume,
            VolumeAttachment.target,
        )
        .join(Volume, Volume.id == VolumeAttachment.volume_id)
        .where(VolumeAttachment.instance_id.in_(ids))
        .order_by(VolumeAttachment.instance_id, VolumeAttachment.target)
    ):  # fmt: skip
        if a.target != "vda":
            attached[a.instance_id].append((a.id, a.pseudo_path, a.is_os_volume))
    keys = _keys(
        session,
        select(InstanceSshKey.instance_id, SshKey.key)
        .join(SshKey, SshKey.id == InstanceSshKey.ssh_key_id)
        .where(InstanceSshKey.instance_id.in_(ids))
        .order_by(InstanceSshKey.instance_id, InstanceSshKey.position),
    )
    scripts = _scripts(session, (row.startup_script_id for row in rows))
    found = []
    for row in rows:
        # A type no longer in the catalog (a replaced catalog file) runs on the least.
        kind = catalog.instance_types.get(row.instance_type)
        found.append(
            Machine(
                key=row.id,
                kind=Kind.INSTANCE,
                owner_id=row.id,
                project_id=row.project_id,
                status=row.status,
                hostname=row.hostname,
                location=row.location,
                ip=row.ip,
                os_volume_id=row.os_volume_id,
                volumes=tuple(mount_paths(attached[row.id])),
                cpus=scale.cpus(kind.cpu.number_of_cores if kind else 1),
                memory_mb=scale.memory_mb(kind.memory.size_in_gigabytes if kind else 1),
                keys=tuple(keys[row.id]),
                startup_script=scripts.get(row.startup_script_id),
            )
        )
    return found


def _clusters(session: Session, catalog: Catalog, scale: Scale) -> list[Machine]:
    clusters = session.execute(
        select(
            Cluster.id, Cluster.project_id, Cluster.status, Cluster.hostname, Cluster.location,
            Cluster.ip, Cluster.cluster_type, Cluster.startup_script_id,
        ).where(Cluster.deleted_at.is_(None), Cluster.status.not_in(_CLUSTER_GONE))
    ).all()  # fmt: skip
    if not clusters:
        return []
    ids = [c.id for c in clusters]
    shared: dict[str, list[VolumeMount]] = defaultdict(list)
    for link in session.execute(
        select(ClusterVolume.cluster_id, ClusterVolume.volume_id, ClusterVolume.mount_point)
        .where(ClusterVolume.cluster_id.in_(ids))
        .order_by(ClusterVolume.cluster_id, ClusterVolume.position)
    ):
        inside = clean_mount_point(link.mount_point)
        shared[link.cluster_id].append(VolumeMount(link.volume_id, False, (inside,)))
    keys = _keys(
        session,
        select(ClusterSshKey.cluster_id, SshKey.key)
        .join(SshKey, SshKey.id == ClusterSshKey.ssh_key_id)
        .where(ClusterSshKey.cluster_id.in_(ids))
        .order_by(ClusterSshKey.cluster_id, ClusterSshKey.position),
    )
    scripts = _scripts(session, (c.startup_script_id for c in clusters))
    found = []
    for c in clusters:
        spec = catalog.cluster_types.get(c.cluster_type)
        workers = node_count(spec) if spec else 1
        # The type's CPUs and memory are its workers'; the jump host is small.
        cores = spec.cpu.number_of_cores / workers if spec else 1
        memory = spec.memory.size_in_gigabytes / workers if spec else 1
        network = cluster_network(c.id)
        nodes = [(c.hostname, CLUSTER_SUBNET.format(1))] + [
            (f"{c.hostname}-{n}", CLUSTER_SUBNET.format(n + 1)) for n in range(1, workers + 1)
        ]
        common: dict[str, Any] = {
            "kind": Kind.CLUSTER,
            "owner_id": c.id,
            "project_id": c.project_id,
            "status": c.status,
            "location": c.location,
            "os_volume_id": None,
            "volumes": tuple(shared[c.id]),
            "keys": tuple(keys[c.id]),
            "startup_script": scripts.get(c.startup_script_id),
            "hosts": tuple(nodes),
        }
        found.append(
            Machine(
                key=f"{c.id}-jump",
                hostname=c.hostname,
                ip=c.ip,
                cpus=scale.cpus(1),
                memory_mb=scale.memory_mb(1),
                private=Private(network, nodes[0][1], "eth1"),
                holds_cluster_key=True,
                **common,
            )
        )
        for n, (hostname, address) in enumerate(nodes[1:], start=1):
            found.append(
                Machine(
                    key=f"{c.id}-{n}",
                    hostname=hostname,
                    ip=None,
                    cpus=scale.cpus(cores),
                    memory_mb=scale.memory_mb(memory),
                    private=Private(network, address, "eth0"),
                    **common,
                )
            )
    return found


def _keys(session: Session, statement: Any) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = defaultdict(list)
    for owner_id, key in session.execute(statement):
        keys[owner_id].append(key.strip())
    return keys


def _scripts(session: Session, ids: Iterable[str | None]) -> dict[str | None, str]:
    wanted = {script_id for script_id in ids if script_id}
    if not wanted:
        return {}
    rows = session.execute(
        select(StartupScript.id, StartupScript.script).where(StartupScript.id.in_(wanted))
    )
    return {row.id: row.script for row in rows}
