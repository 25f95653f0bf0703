"""Volumes: creation, attachment and the trash (the answers are render.py's)."""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session

from verda_server.api.errors import ApiError, invalid, not_found
from verda_server.api.ids import MAX_SIZE_GB
from verda_server.catalog.service import Catalog
from verda_server.clusters.service import cluster_of_volumes
from verda_server.instances.models import Instance
from verda_server.instances.service import status_of
from verda_server.instances.states import REMOVED, SHUT_DOWN
from verda_server.lifecycle.timings import Timings
from verda_server.projects.models import Project
from verda_server.storage.owned import get_all_owned, get_owned
from verda_server.tags import service as tags
from verda_server.validation import clean_name
from verda_server.volumes.models import Volume, VolumeAttachment, VolumeSshKey
from verda_server.volumes.states import Status

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


def volume_values(
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
    volume_id: str | None = None,
) -> dict[str, Any]:
    """A new volume's columns (those the store would default too, so that a
    Core insert and the ORM write the same row)."""
    return {
        "id": volume_id or str(uuid.uuid4()),
        "project_id": project_id,
        "name": clean_name(name),
        "size": size,
        "type": volume_type,
        "location": location,
        "status": status.value,
        "is_os_volume": is_os_volume,
        "image_type": image_type,
        "contract": "PAY_AS_YOU_GO",
        "pseudo_path": f"volume-{suffix or new_suffix()}",
        "cloned_from": None,
        "on_spot_discontinue": on_spot_discontinue,
        "created_at": now,
        "deleted_at": None,
        "is_permanently_deleted": False,
        "due_at": None,
    }


def new_volume(session: Session, values: dict[str, Any]) -> Volume:
    """A new volume of `volume_values`' columns, added to the session."""
    volume = Volume(**values)
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
    attach_to(session, volume, instance.id, target)


def free_targets(taken: Iterable[str]) -> Iterator[str]:
    """The devices after the OS disk not in `taken`, in order."""
    held = set(taken)
    return (t for t in (f"vd{letter}" for letter in string.ascii_lowercase[1:]) if t not in held)


def no_free_device(instance_id: str) -> ApiError:
    return invalid(f"Instance {instance_id} has no free device for another volume")


def attach_to(
    session: Session, volume: Volume, instance_id: str, target: str | None = None
) -> None:
    """`attach` for an instance that is a row, not an object in the session (a
    deploy writes it with a Core insert, naming its OS disk itself): at
    `target`, or at the next free device."""
    # The query autoflushes, so attachments made earlier in this unit of work count.
    taken = set(
        session.scalars(
            select(VolumeAttachment.target).where(VolumeAttachment.instance_id == instance_id)
        )
    )
    if target is None:
        target = next(free_targets(taken), None)
        if target is None:
            raise no_free_device(instance_id)
    # Position orders a volume's instances: the first one attached stays first.
    position = max((a.position for a in volume.attachments), default=-1) + 1
    volume.attachments.append(
        VolumeAttachment(instance_id=instance_id, target=target, position=position)
    )
    volume.status = Status.ATTACHED.value


def attach_new(volume: Volume, instance: Instance, key_ids: Sequence[str]) -> VolumeAttachment:
    """A volume made in this unit of work, not flushed yet, as the new instance's
    OS disk with the instance's keys: its collections start empty, so nothing is
    read back. Returns the attachment, for the caller to add once the instance
    is in the store."""
    instance.os_volume_id = volume.id
    volume.status = Status.ATTACHED.value
    volume.ssh_keys = [VolumeSshKey(ssh_key_id=k, position=n) for n, k in enumerate(key_ids)]
    volume.attachments = []
    return VolumeAttachment(instance_id=instance.id, target="vda", position=0)


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


def copy_ssh_keys(volume: Volume, key_ids: Iterable[str]) -> None:
    volume.ssh_keys = [
        VolumeSshKey(ssh_key_id=key_id, position=n) for n, key_id in enumerate(key_ids)
    ]
