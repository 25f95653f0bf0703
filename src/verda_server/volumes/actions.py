"""What POST, PUT and DELETE on /v1/volumes do. Each call is one transaction:
a refused step anywhere leaves every volume as it was."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from verda_server.api.errors import forbidden, invalid
from verda_server.billing.billable import volume_hourly
from verda_server.billing.funds import require_funds
from verda_server.catalog.service import Catalog
from verda_server.instances.models import Instance
from verda_server.instances.service import get_instances
from verda_server.lifecycle.timings import Timings
from verda_server.projects import quotas
from verda_server.tags import service as tags
from verda_server.validation import MAX_NAME_LENGTH, clean_name
from verda_server.volumes import service
from verda_server.volumes.models import Volume
from verda_server.volumes.schemas import CreateVolumePublicDto, PerformVolumeActionPublicDto
from verda_server.volumes.states import LEGAL_FROM, REFUSED, Action, Status, refusal


def _instances_for(
    session: Session, project_id: str, instance_id: str | None, instance_ids: Sequence[str] | None
) -> list[Instance]:
    ids = [*([instance_id] if instance_id is not None else []), *(instance_ids or [])]
    ids = list(dict.fromkeys(ids))
    return get_instances(session, project_id, ids) if ids else []


def _attach_all(session: Session, volume: Volume, instances: Sequence[Instance]) -> None:
    if len(instances) > 1 and not service.is_shared(volume.type):
        raise invalid(f"A {volume.type} volume attaches to one instance only")
    for instance in instances:
        if instance.location != volume.location:
            raise invalid(
                f"Instance {instance.id} is in {instance.location}, the volume in {volume.location}"
            )
    service.check_instances_shut_down(instances)
    attached_to = {a.instance_id for a in volume.attachments}
    for instance in instances:
        if instance.id not in attached_to:
            service.attach(session, volume, instance)


def create(
    session: Session,
    now: datetime,
    catalog: Catalog,
    project_id: str,
    body: CreateVolumePublicDto,
) -> Volume:
    location = service.check_location(catalog, body.location_code)
    service.check_spec(catalog, body.type, body.size)
    instances = _instances_for(session, project_id, body.instance_id, body.instance_ids)
    quotas.require(session, project_id, quotas.Kind.VOLUMES)
    _require_funds(session, now, catalog, project_id, body.type, body.size)
    volume = service.new_volume(
        session,
        service.volume_values(
            now,
            project_id=project_id,
            name=body.name,
            size=body.size,
            volume_type=body.type,
            location=location,
        ),
    )
    session.flush()
    _attach_all(session, volume, instances)
    tags.apply_creation_tags(session, project_id, "volume", volume.id, body.tags)
    return volume


def _require_funds(
    session: Session, now: datetime, catalog: Catalog, project_id: str, volume_type: str, size: int
) -> None:
    currency = service.project_currency(session, project_id)
    hourly = volume_hourly(catalog, volume_type, size, currency)
    require_funds(session, project_id, now, hourly, f"a {size} GB {volume_type} volume")


def perform(
    session: Session,
    now: datetime,
    catalog: Catalog,
    lifecycle: Timings,
    project_id: str,
    body: PerformVolumeActionPublicDto,
) -> list[str]:
    """Apply the action to every listed volume; answer the ids of the volumes it
    created (clone's new volumes; none for the other actions)."""
    if body.action in REFUSED:
        raise invalid(REFUSED[Action(body.action)])
    try:
        action = Action(body.action)
    except ValueError:
        known = ", ".join(a.value for a in Action)
        raise invalid(f"action: unknown action {body.action!r} (one of {known})") from None
    volumes = service.get_volumes(session, project_id, body.id)
    if action in ON_CLUSTER_REFUSED:
        service.refuse_if_on_cluster(session, volumes, action.value)
    for volume in volumes:
        status = Status(volume.status)
        if action is Action.ATTACH and status is Status.ATTACHED:
            if service.is_shared(volume.type):
                continue
            raise forbidden(
                f"A {volume.type} volume attaches to one instance only: detach it first"
            )
        if volume.is_permanently_deleted or (
            status not in LEGAL_FROM[action] and not _purges_trash(action, status, body)
        ):
            raise forbidden(refusal(action, status))
    new_ids: list[str] = []
    for volume in volumes:
        result = _apply(session, now, catalog, lifecycle, project_id, action, volume, body)
        if result is not None:
            new_ids.append(result)
    return new_ids


def _apply(
    session: Session,
    now: datetime,
    catalog: Catalog,
    lifecycle: Timings,
    project_id: str,
    action: Action,
    volume: Volume,
    body: PerformVolumeActionPublicDto,
) -> str | None:
    if action is Action.ATTACH:
        instances = _instances_for(session, project_id, body.instance_id, body.instance_ids)
        if not instances:
            raise invalid("instance_id: name the instance to attach to")
        _attach_all(session, volume, instances)
    elif action is Action.DETACH:
        _check_attached_instances_shut_down(session, volume)
        service.detach(volume)
    elif action is Action.RENAME:
        if body.name is None:
            raise invalid("name: Field required")
        volume.name = clean_name(body.name)
    elif action is Action.RESIZE:
        if body.size is None:
            raise invalid("size: Field required")
        if body.size < volume.size:
            raise invalid(f"size: can't shrink a volume ({body.size} < {volume.size} GB)")
        service.check_spec(catalog, volume.type, body.size, cluster_types_too=True)
        volume.size = body.size
    elif action is Action.DELETE and _purges_trash(action, Status(volume.status), body):
        service.purge(volume)
    elif action is Action.DELETE:
        _check_attached_instances_shut_down(session, volume)
        service.move_to_trash(volume, now, lifecycle, permanent=body.is_permanent)
    elif action is Action.RESTORE:
        volume.status = Status.DETACHED.value
        volume.deleted_at = None
        volume.due_at = None
    elif action is Action.CLONE:
        return _clone(session, now, catalog, lifecycle, project_id, volume, body).id
    elif action is Action.CANCEL:
        service.purge(volume)
        volume.status = Status.CANCELED.value
        volume.deleted_at = now
    return None


# What a cluster's shared volume can't do while the cluster holds it.
ON_CLUSTER_REFUSED = frozenset({Action.ATTACH, Action.DETACH, Action.DELETE})


def _purges_trash(action: Action, status: Status, body: PerformVolumeActionPublicDto) -> bool:
    """A permanent delete of a volume in the trash empties it from the trash."""
    return action is Action.DELETE and status is Status.DELETED and body.is_permanent


def _check_attached_instances_shut_down(session: Session, volume: Volume) -> None:
    """Detaching or deleting needs every instance the volume is on to be shut down."""
    instances = [session.get(Instance, a.instance_id) for a in volume.attachments]
    service.check_instances_shut_down(i for i in instances if i is not None)


def _clone_target(
    catalog: Catalog, source: Volume, body: PerformVolumeActionPublicDto
) -> tuple[str, str]:
    """The clone's (type, location). `type` holds a volume type (Python SDK) or, from
    the Go SDK, the target location: then the clone keeps the source's type."""
    location_code = body.location_code or None
    if body.type is None or body.type in catalog.volume_types:
        location = service.check_location(catalog, location_code) if location_code else None
        return body.type or source.type, location or source.location
    if body.type in catalog.locations:
        if location_code is not None and location_code != body.type:
            raise invalid(
                f"type names the location {body.type!r} but location_code is "
                f"{location_code!r}: send one location"
            )
        return source.type, body.type
    raise invalid(
        f"type: {body.type!r} is neither a volume type ("
        + ", ".join(catalog.volume_types)
        + ") nor a location code ("
        + ", ".join(catalog.location_codes())
        + ")"
    )


def _clone(
    session: Session,
    now: datetime,
    catalog: Catalog,
    lifecycle: Timings,
    project_id: str,
    source: Volume,
    body: PerformVolumeActionPublicDto,
) -> Volume:
    volume_type, location = _clone_target(catalog, source, body)
    service.check_spec(catalog, volume_type, source.size)
    # Counts the clones made before this one in the same call (the count autoflushes).
    quotas.require(session, project_id, quotas.Kind.VOLUMES)
    _require_funds(session, now, catalog, project_id, volume_type, source.size)
    cross_location = location != source.location
    clone = service.new_volume(
        session,
        service.volume_values(
            now,
            project_id=project_id,
            name=body.name or f"{source.name[: MAX_NAME_LENGTH - len('-clone')]}-clone",
            size=source.size,
            volume_type=volume_type,
            location=location,
            is_os_volume=source.is_os_volume,
            image_type=source.image_type,
            status=Status.CLONING if cross_location else Status.DETACHED,
        ),
    )
    if cross_location:
        clone.due_at = now + timedelta(seconds=lifecycle.clone_seconds)
    clone.cloned_from = source.id
    service.copy_ssh_keys(clone, [k.ssh_key_id for k in source.ssh_keys])
    session.flush()
    return clone


def delete_by_id(
    session: Session,
    now: datetime,
    lifecycle: Timings,
    project_id: str,
    volume_id: str,
    permanent: bool,
) -> bool:
    """Trash (or purge) a volume; False when there was nothing left to delete."""
    volume = service.get_volume(session, project_id, volume_id)
    status = Status(volume.status)
    if volume.is_permanently_deleted or status is Status.CANCELED:
        return False
    if status is Status.DELETED:
        if not permanent:
            return False
        service.purge(volume)
        return True
    if status not in LEGAL_FROM[Action.DELETE]:
        raise forbidden(refusal(Action.DELETE, status))
    service.refuse_if_on_cluster(session, [volume], Action.DELETE.value)
    _check_attached_instances_shut_down(session, volume)
    service.move_to_trash(volume, now, lifecycle, permanent=permanent)
    return True
