"""Clusters: lookups, their shared volumes, worker nodes and the response shape."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from verda_server.api.errors import not_found
from verda_server.catalog.service import Catalog
from verda_server.catalog.source import ClusterTypeSource
from verda_server.clock import isoformat
from verda_server.clusters.models import Cluster, ClusterSshKey, ClusterVolume
from verda_server.clusters.schemas import (
    ClusterSharedVolumeDto,
    ClusterWorkerNodeDto,
    GetClusterResponsePublicApiDto,
)
from verda_server.clusters.states import REMOVED, Status
from verda_server.storage.owned import canonical_id
from verda_server.tags import service as tag_service
from verda_server.volumes.models import Volume
from verda_server.volumes.states import Status as VolumeStatus

NOT_FOUND = "Cluster not found"
HOME = "/home"
# What a directory name of a mount point may hold: `:` and `,` would split
# podman's --volume, `/` and `..` lead elsewhere.
_NOT_IN_A_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def path_name(name: str) -> str:
    """A volume's name (free text) as one directory name."""
    return _NOT_IN_A_NAME.sub("-", name).strip("-.") or "volume"


def clean_mount_point(path: str) -> str:
    """A stored mount point as a clean absolute path (rows an older server
    made from raw names)."""
    parts = [path_name(part) for part in path.split("/") if part not in ("", ".", "..")]
    return "/" + "/".join(parts)


GPUS_PER_NODE = 8
# Node ids are derived, not stored: the same cluster always has the same nodes.
_NODE_NAMESPACE = uuid.UUID("6f1c8f55-2a5e-4c3b-9d51-0c7a3e2b9f10")


def _owned(project_id: str) -> Select[Cluster]:
    return (
        select(Cluster)
        .options(selectinload(Cluster.ssh_keys))
        .where(Cluster.project_id == project_id)
    )


def get_cluster(session: Session, project_id: str, cluster_id: str) -> Cluster:
    """Any cluster the project had, discontinued ones too; another project's is missing."""
    key = canonical_id(cluster_id)
    found = session.scalars(_owned(project_id).where(Cluster.id == key)).first() if key else None
    if found is None:
        raise not_found(f"{NOT_FOUND}: {cluster_id}")
    return found


def taggable_id(session: Session, project_id: str, cluster_id: str) -> str:
    """A cluster that can carry tags: a discontinued one has dropped its tags and
    answers 404, as it is out of the cluster list."""
    cluster = get_cluster(session, project_id, cluster_id)
    if cluster.deleted_at is not None:
        raise not_found(f"{NOT_FOUND}: {cluster_id}")
    return cluster.id


def list_clusters(
    session: Session, project_id: str, status: str | None, tags: Sequence[str] | None = None
) -> Sequence[Cluster]:
    """Live clusters; discontinued ones only when asked for by `status=discontinued`;
    those carrying every tag filter (`key` or `key=value`) given."""
    query = (
        _owned(project_id)
        .where(*tag_service.tag_filter("cluster", Cluster.id, tags, project_id))
        .order_by(Cluster.created_at, Cluster.id)
    )
    if status is not None and Status(status) in REMOVED:
        return session.scalars(query.where(Cluster.deleted_at.is_not(None))).all()
    query = query.where(Cluster.deleted_at.is_(None))
    if status is not None:
        query = query.where(Cluster.status == status)
    return session.scalars(query).all()


def set_ssh_keys(cluster: Cluster, key_ids: Sequence[str]) -> None:
    cluster.ssh_keys = [
        ClusterSshKey(ssh_key_id=key_id, position=n) for n, key_id in enumerate(key_ids)
    ]


def node_count(spec: ClusterTypeSource) -> int:
    return max(1, spec.gpu.number_of_gpus // GPUS_PER_NODE)


# ---- shared volumes -------------------------------------------------------


def attach_volume(
    session: Session, cluster: Cluster, volume: Volume, mount_point: str, position: int
) -> None:
    session.add(
        ClusterVolume(
            volume_id=volume.id, cluster_id=cluster.id, mount_point=mount_point, position=position
        )
    )
    volume.status = VolumeStatus.ATTACHED.value


def detach_volumes(session: Session, cluster: Cluster) -> None:
    """Shared volumes outlive the cluster: detached, kept, to be deleted by hand."""
    rows = session.scalars(select(ClusterVolume).where(ClusterVolume.cluster_id == cluster.id))
    for row in rows:
        volume = session.get(Volume, row.volume_id)
        if volume is not None and volume.status == VolumeStatus.ATTACHED.value:
            volume.status = VolumeStatus.DETACHED.value
        session.delete(row)


def cluster_of_volumes(session: Session, volume_ids: Sequence[str]) -> dict[str, str]:
    """The cluster each of these volumes is attached to, for those on one."""
    if not volume_ids:
        return {}
    rows = session.execute(
        select(ClusterVolume.volume_id, ClusterVolume.cluster_id).where(
            ClusterVolume.volume_id.in_(volume_ids)
        )
    )
    return {volume_id: cluster_id for volume_id, cluster_id in rows}


# ---- reading --------------------------------------------------------------


def public_ip(cluster: Cluster) -> str | None:
    """Reserved at deploy, shown once the jump host is up."""
    return cluster.ip if cluster.status == Status.RUNNING else None


def worker_nodes(cluster: Cluster, count: int) -> list[ClusterWorkerNodeDto]:
    return [
        ClusterWorkerNodeDto(
            id=str(uuid.uuid5(_NODE_NAMESPACE, f"{cluster.id}/{n}")),
            hostname=f"{cluster.hostname}-{n}",
            public_ip=None,
            # The cluster's own private network; the jump host is 10.0.0.1.
            private_ip=f"10.0.0.{n + 1}",
            status=cluster.status,  # type: ignore[arg-type]
        )
        for n in range(1, count + 1)
    ]


def _shared_volumes(
    session: Session, clusters: Sequence[Cluster]
) -> dict[str, list[ClusterSharedVolumeDto]]:
    found: dict[str, list[ClusterSharedVolumeDto]] = defaultdict(list)
    if not clusters:
        return found
    rows = session.execute(
        select(ClusterVolume, Volume)
        .join(Volume, Volume.id == ClusterVolume.volume_id)
        .where(ClusterVolume.cluster_id.in_([c.id for c in clusters]))
        .order_by(ClusterVolume.position)
    )
    for link, volume in rows:
        found[link.cluster_id].append(
            ClusterSharedVolumeDto(
                id=volume.id,
                name=volume.name,
                mount_point=link.mount_point,
                size_in_gigabytes=volume.size,
            )
        )
    return found


def to_dtos(
    session: Session, catalog: Catalog, clusters: Sequence[Cluster]
) -> list[GetClusterResponsePublicApiDto]:
    volumes = _shared_volumes(session, clusters)
    tagged = tag_service.tags_by_resource(session, "cluster", [c.id for c in clusters])
    result = []
    for cluster in clusters:
        spec = catalog.cluster_types[cluster.cluster_type]
        result.append(
            GetClusterResponsePublicApiDto(
                id=cluster.id,
                ip=public_ip(cluster),
                status=cluster.status,  # type: ignore[arg-type]
                created_at=isoformat(cluster.created_at),
                cpu=spec.cpu.model_dump(),  # type: ignore[arg-type]
                gpu=spec.gpu.model_dump(),  # type: ignore[arg-type]
                gpu_memory=spec.gpu_memory.model_dump(),  # type: ignore[arg-type]
                memory=spec.memory.model_dump(),  # type: ignore[arg-type]
                hostname=cluster.hostname,
                description=cluster.description,
                # Tags are another package's: the hook point for them.
                tags=tagged[cluster.id],
                location=cluster.location,
                price_per_hour=float(cluster.price_per_hour),
                cluster_type=cluster.cluster_type,
                image=cluster.image,
                os_name=cluster.os_name,
                startup_script_id=cluster.startup_script_id,
                ssh_key_ids=[k.ssh_key_id for k in cluster.ssh_keys],
                contract=cluster.contract,  # type: ignore[arg-type]
                auto_rental_extension=cluster.auto_rental_extension,
                turn_to_pay_as_you_go=cluster.turn_to_pay_as_you_go,
                extension_settings=cluster.extension_settings,  # type: ignore[arg-type]
                long_term_period=None,
                worker_nodes=worker_nodes(cluster, node_count(spec)),
                shared_volumes=volumes[cluster.id],
            )
        )
    return result
