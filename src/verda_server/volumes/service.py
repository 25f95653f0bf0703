"""Volumes: creation, attachment, the trash, and their response shapes."""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session, selectinload

from verda_server.api.errors import ApiError, invalid, not_found
from verda_server.api.ids import MAX_SIZE_GB
from verda_server.billing.billable import volume_hourly
from verda_server.catalog.service import Catalog
from verda_server.clock import isoformat
from verda_server.clusters.service import cluster_of_volumes
from verda_server.instances.models import Instance
from verda_server.instances.service import public_ip, status_of
from verda_server.instances.states import REMOVED, SHUT_DOWN
from verda_server.lifecycle.timings import Timings
from verda_server.projects.models import Project
from verda_server.storage.owned import get_all_owned, get_owned
from verda_server.tags import service as tags
from verda_server.tags.schemas import TagDto
from verda_server.validation import clean_name
from verda_server.volumes.models import Volume, VolumeAttachment, VolumeSshKey
from verda_server.volumes.schemas import (
    GetVolumeInTrashPublicResponseDto,
    GetVolumePublicResponseDto,
    VolumeInstanceDto,
)
from verda_server.volumes.states import ACTIVE, Status

WHAT = "Volume"
CLUSTER_ONLY_TYPES = frozenset({"NVMe_Shared_Cluster", "NVMe_OS_Cluster"})
NOT_SHUT_DOWN = "One or more of the specified instances is not shut down"
_SUFFIX_ALPHABET = string.ascii_letters + string.digits


def is_shared(volume_type: str) -> bool:
    return "_Shared" in volume_type


def new_suffix() -> str:
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(8))


def check_spec(
    catalog: Catalog,
    volume_type: str,
    size: int,
    field: str = "size",
    cluster_types_too: bool = False,
) -> None:
    """Users choose among the catalog's types but the clusters' own; a cluster
    deploy (and a resize, which chooses no type) may name those too."""
    if volume_type not in catalog.volume_types:
        raise invalid(f"type: unknown volume type {volume_type!r}")
    if volume_type in CLUSTER_ONLY_TYPES and not cluster_types_too:
        raise invalid(f"type: {volume_type} volumes belong to clusters")
    if not 1 <= size <= MAX_SIZE_GB:
        raise invalid(f"{field}: must be between 1 and {MAX_SIZE_GB} GB")


def check_location(catalog: Catalog, location_code: str | None) -> str:
    if not location_code:
        raise invalid("location_code: Field required")
    if location_code not in catalog.locations:
        raise invalid(f"location_code: unknown location {location_code!r}")
    return location_code


def new_volume(
    session: Session,
    now: datetime,
    *,
    project_id: str,
    name: str,
    size: int,
    volume_type: str,
    location: str,
    is_os_volume: bool = False,
    image_type: str | None = None,
    on_spot_discontinue: str = "keep_detached",
    status: Status = Status.DETACHED,
    suffix: str | None = None,
) -> Volume:
    volume = Volume(
        id=str(uuid.uuid4()),
        project_id=project_id,
        name=clean_name(name),
        size=size,
        type=volume_type,
        location=location,
        status=status.value,
        is_os_volume=is_os_volume,
        image_type=image_type,
        contract="PAY_AS_YOU_GO",
        pseudo_path=f"volume-{suffix or new_suffix()}",
        on_spot_discontinue=on_spot_discontinue,
        created_at=now,
    )
    session.add(volume)
    return volume


def get_volume(session: Session, project_id: str, volume_id: str) -> Volume:
    return get_owned(session, Volume, project_id, volume_id, WHAT)


def taggable_id(session: Session, project_id: str, volume_id: str) -> str:
    """A volume that can carry tags: one in the trash can (it may be restored), one
    permanently deleted (or canceled) has dropped its tags and answers 404."""
    volume = get_volume(session, project_id, volume_id)
    if volume.is_permanently_deleted:
        raise not_found(f"{WHAT} not found")
    return volume.id


def get_volumes(session: Session, project_id: str, volume_ids: Sequence[str]) -> list[Volume]:
    return get_all_owned(session, Volume, project_id, volume_ids, WHAT)


def attach(session: Session, volume: Volume, instance: Instance, target: str | None = None) -> None:
    """Attach at the given target, or where it belongs: an OS volume becomes the
    OS disk (vda) of an instance that has none, anything else the next free device."""
    if target is None and volume.is_os_volume and instance.os_volume_id is None:
        target = "vda"
    if target == "vda":
        instance.os_volume_id = volume.id
    # The query autoflushes, so attachments made earlier in this unit of work count.
    taken = set(
        session.scalars(
            select(VolumeAttachment.target).where(VolumeAttachment.instance_id == instance.id)
        )
    )
    if target is None:
        free = (f"vd{letter}" for letter in string.ascii_lowercase[1:])
        target = next((t for t in free if t not in taken), None)
        if target is None:
            raise invalid(f"Instance {instance.id} has no free device for another volume")
    # Position orders a volume's instances: the first one attached stays first.
    position = max((a.position for a in volume.attachments), default=-1) + 1
    volume.attachments.append(
        VolumeAttachment(instance_id=instance.id, target=target, position=position)
    )
    volume.status = Status.ATTACHED.value


def detach(volume: Volume, instance_id: str | None = None) -> None:
    """Detach from one instance, or from all of them. An instance losing its OS
    disk this way no longer has one (and can't start until it gets one)."""
    leaving = [a.instance_id for a in volume.attachments if instance_id in (None, a.instance_id)]
    volume.attachments = [a for a in volume.attachments if a.instance_id not in leaving]
    session = object_session(volume)
    if leaving and session is not None:
        session.execute(
            update(Instance)
            .where(Instance.id.in_(leaving), Instance.os_volume_id == volume.id)
            .values(os_volume_id=None)
        )
    if not volume.attachments and volume.status == Status.ATTACHED.value:
        volume.status = Status.DETACHED.value


def move_to_trash(volume: Volume, now: datetime, lifecycle: Timings, permanent: bool) -> None:
    detach(volume)
    volume.status = Status.DELETED.value
    volume.deleted_at = now
    if permanent:
        purge(volume)
    else:
        volume.due_at = now + timedelta(seconds=lifecycle.trash_seconds)


def purge(volume: Volume) -> None:
    """Gone for good: still answers GET by id (without tags), never in a list again."""
    detach(volume)
    session = object_session(volume)
    if session is not None:
        tags.drop_links(session, "volume", [volume.id])
    volume.status = Status.DELETED.value
    volume.is_permanently_deleted = True
    volume.due_at = None


def project_currency(session: Session, project_id: str) -> str:
    project = session.get(Project, project_id)
    assert project is not None
    return project.currency


def refuse_if_on_cluster(session: Session, volumes: Sequence[Volume], action: str) -> None:
    """A cluster's shared volumes stay until the cluster is discontinued, which
    detaches them."""
    held = cluster_of_volumes(session, [v.id for v in volumes])
    for volume in volumes:
        if volume.id in held:
            raise ApiError(
                "forbidden_action",
                f"Can't {action} volume {volume.id}: it is attached to cluster "
                f"{held[volume.id]}; discontinue the cluster first (that detaches it)",
            )


def check_instances_shut_down(instances: Iterable[Instance]) -> None:
    statuses = [status_of(i) for i in instances]
    if any(s in REMOVED for s in statuses):
        raise ApiError("forbidden_action", "Can't attach a volume to a discontinued instance")
    if any(s not in SHUT_DOWN for s in statuses):
        raise ApiError("forbidden_action", NOT_SHUT_DOWN)


# ---- reading -------------------------------------------------------------


_WITH_LINKS = (selectinload(Volume.attachments), selectinload(Volume.ssh_keys))


def list_active(
    session: Session, project_id: str, status: str | None, tag_filters: Sequence[str] | None = None
) -> Sequence[Volume]:
    """Volumes out of the trash; those carrying every tag filter given."""
    query = (
        select(Volume)
        .options(*_WITH_LINKS)
        .where(Volume.project_id == project_id, Volume.status.in_([s.value for s in ACTIVE]))
        .where(*tags.tag_filter("volume", Volume.id, tag_filters, project_id))
        .order_by(Volume.created_at, Volume.is_os_volume.desc(), Volume.name, Volume.id)
    )
    if status is not None:
        query = query.where(Volume.status == status)
    return session.scalars(query).all()


def list_trash(session: Session, project_id: str) -> Sequence[Volume]:
    return session.scalars(
        select(Volume)
        .options(*_WITH_LINKS)
        .where(
            Volume.project_id == project_id,
            Volume.status == Status.DELETED.value,
            Volume.is_permanently_deleted.is_(False),
        )
        .order_by(Volume.deleted_at, Volume.id)
    ).all()


class VolumeView:
    """Builds response shapes; loads the attached instances once for many volumes."""

    def __init__(self, session: Session, catalog: Catalog, currency: str) -> None:
        self._session = session
        self._catalog = catalog
        self._currency = currency

    def _instances(self, volumes: Sequence[Volume]) -> dict[str, Instance]:
        ids = {a.instance_id for v in volumes for a in v.attachments}
        if not ids:
            return {}
        rows = self._session.scalars(select(Instance).where(Instance.id.in_(ids)))
        return {row.id: row for row in rows}

    def _clusters(self, volumes: Sequence[Volume]) -> dict[str, str]:
        return cluster_of_volumes(self._session, [v.id for v in volumes])

    def _tags(self, volumes: Sequence[Volume]) -> dict[str, list[TagDto]]:
        return tags.tags_by_resource(self._session, "volume", [v.id for v in volumes])

    def _common(
        self,
        volume: Volume,
        instances: dict[str, Instance],
        clusters: dict[str, str],
        tagged: dict[str, list[TagDto]],
    ) -> dict[str, object]:
        hourly = volume_hourly(self._catalog, volume.type, volume.size, self._currency)
        monthly_per_gb = self._catalog.volume_types[volume.type].price_per_month_per_gb.of(  # type: ignore[index]
            self._currency  # type: ignore[arg-type]
        )
        attached = [instances[a.instance_id] for a in volume.attachments]
        return {
            "id": volume.id,
            # A cluster's volume names the cluster here, and no instances.
            "instance_id": attached[0].id if attached else clusters.get(volume.id),
            "instances": [
                VolumeInstanceDto(
                    id=i.id,
                    ip=public_ip(i),
                    instance_type=i.instance_type,
                    status=i.status,
                    os_volume_id=i.os_volume_id,
                    hostname=i.hostname,
                )
                for i in attached
            ],
            "name": volume.name,
            "created_at": isoformat(volume.created_at),
            "status": volume.status,
            "size": volume.size,
            "is_os_volume": volume.is_os_volume,
            "target": volume.attachments[0].target if volume.attachments else None,
            "type": volume.type,
            "location": volume.location,
            "ssh_key_ids": [k.ssh_key_id for k in volume.ssh_keys],
            "contract": volume.contract,
            # What the ledger charges per hour, exactly.
            "base_hourly_cost": float(hourly),
            "monthly_price": float(Decimal(str(monthly_per_gb)) * volume.size),
            "currency": self._currency,
            "on_spot_discontinue": volume.on_spot_discontinue,
            "tags": tagged[volume.id],
        }

    def active(self, volumes: Sequence[Volume]) -> list[GetVolumePublicResponseDto]:
        instances = self._instances(volumes)
        clusters = self._clusters(volumes)
        tagged = self._tags(volumes)
        result = []
        for volume in volumes:
            host = f"nfs.{volume.location.lower()}.datacrunch.io:{volume.pseudo_path}"
            mount_point = "/mnt/volume"
            fstab = f"{host} {mount_point} nfs defaults 0 0"
            result.append(
                GetVolumePublicResponseDto(
                    **self._common(volume, instances, clusters, tagged),  # type: ignore[arg-type]
                    pseudo_path=volume.pseudo_path,
                    create_directory_command=f"mkdir -p {mount_point}",
                    mount_command=f"mount -t nfs -o nconnect=16 {host} {mount_point}",
                    filesystem_to_fstab_command=(
                        f"grep -qxF '{fstab}' /etc/fstab || echo '{fstab}' | sudo tee -a /etc/fstab"
                    ),
                    long_term=None,
                )
            )
        return result

    def deleted(self, volumes: Sequence[Volume]) -> list[GetVolumeInTrashPublicResponseDto]:
        instances = self._instances(volumes)
        clusters = self._clusters(volumes)
        tagged = self._tags(volumes)
        return [
            GetVolumeInTrashPublicResponseDto(
                **self._common(volume, instances, clusters, tagged),  # type: ignore[arg-type]
                deleted_at=isoformat(volume.deleted_at or volume.created_at),
                is_permanently_deleted=volume.is_permanently_deleted,
            )
            for volume in volumes
        ]

    def one(self, volume: Volume) -> GetVolumePublicResponseDto | GetVolumeInTrashPublicResponseDto:
        if volume.status in (Status.DELETED.value, Status.CANCELED.value):
            return self.deleted([volume])[0]
        return self.active([volume])[0]


def copy_ssh_keys(volume: Volume, key_ids: Iterable[str]) -> None:
    volume.ssh_keys = [
        VolumeSshKey(ssh_key_id=key_id, position=n) for n, key_id in enumerate(key_ids)
    ]
