"""Instances: lookups, capacity usage and the response shape."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, object_session, selectinload

from verda_server.api.errors import not_found
from verda_server.catalog.service import Catalog
from verda_server.clock import isoformat
from verda_server.instances.models import Instance, InstanceSshKey
from verda_server.instances.schemas import GetInstanceResponsePublicApiDto
from verda_server.instances.states import REMOVED, Status
from verda_server.storage.owned import canonical_id
from verda_server.tags import service as tag_service
from verda_server.volumes.models import VolumeAttachment
from verda_server.volumes.schemas import LongTermDto

# dstack reads exactly this message as "already gone".
INVALID_ID = "Invalid instance id"


def _owned(project_id: str) -> Select[Instance]:
    """Every instance the project ever had, removed ones included."""
    return (
        select(Instance)
        .options(selectinload(Instance.ssh_keys))
        .where(Instance.project_id == project_id)
    )


def status_of(instance: Instance) -> Status:
    """Removal is recorded by `deleted_at`; rows removed before the status was
    also set to discontinued read as discontinued all the same."""
    return Status.DISCONTINUED if instance.deleted_at is not None else Status(instance.status)


def get_instance(session: Session, project_id: str, instance_id: str) -> Instance:
    """Any instance the project had, removed ones too (they read discontinued);
    "Invalid instance id" is for ids it never had."""
    key = canonical_id(instance_id)
    if key is None:
        raise not_found(INVALID_ID)
    found = session.scalars(_owned(project_id).where(Instance.id == key)).first()
    if found is None:
        raise not_found(INVALID_ID)
    return found


def owned_instances(session: Session, project_id: str, ids: Sequence[str]) -> dict[str, Instance]:
    """Those of `ids` the project has (removed ones too), by canonical id: one
    select for a bulk action, however many ids it names."""
    keys = list(dict.fromkeys(k for k in map(canonical_id, ids) if k is not None))
    if not keys:
        return {}
    return {row.id: row for row in session.scalars(_owned(project_id).where(Instance.id.in_(keys)))}


def taggable_id(session: Session, project_id: str, instance_id: str) -> str:
    """An instance that can carry tags: a removed one has dropped its tags and
    answers 404, as it is out of the instance list."""
    instance = get_instance(session, project_id, instance_id)
    if instance.deleted_at is not None:
        raise not_found(INVALID_ID)
    return instance.id


def get_instances(session: Session, project_id: str, ids: Sequence[str]) -> list[Instance]:
    keys = [canonical_id(i) for i in ids]
    found = [k for k in keys if k is not None]
    rows = {r.id: r for r in session.scalars(_owned(project_id).where(Instance.id.in_(found)))}
    for instance_id, key in zip(ids, keys, strict=True):
        if key is None or key not in rows:
            raise not_found(f"{INVALID_ID}: {instance_id}")
    return [rows[k] for k in keys if k is not None]


def list_instances(
    session: Session, project_id: str, status: str | None, tags: Sequence[str] | None = None
) -> Sequence[Instance]:
    """Live instances; removed ones only when asked for by `status=discontinued`;
    those carrying every tag filter (`key` or `key=value`) given."""
    query = (
        _owned(project_id)
        .where(*tag_service.tag_filter("instance", Instance.id, tags))
        .order_by(Instance.created_at, Instance.id)
    )
    if status is not None and Status(status) in REMOVED:
        return session.scalars(query.where(Instance.deleted_at.is_not(None))).all()
    query = query.where(Instance.deleted_at.is_(None))
    if status is not None:
        query = query.where(Instance.status == status)
    return session.scalars(query).all()


def remove(instance: Instance, now: datetime) -> None:
    """Discontinued: out of the list and of capacity, still readable by id
    (without tags: its tag links go with it)."""
    session = object_session(instance)
    if session is not None:
        tag_service.drop_links(session, "instance", [instance.id])
    instance.status = Status.DISCONTINUED.value
    instance.deleted_at = now
    instance.due_at = None
    instance.evict_at = None  # a removed instance is never evicted
    instance.ip = None  # back to the location's pool


def public_ip(instance: Instance) -> str | None:
    """The address is reserved at deploy, but shown once the machine is up."""
    return None if instance.status == Status.PROVISIONING else instance.ip


def set_ssh_keys(instance: Instance, key_ids: Sequence[str]) -> None:
    instance.ssh_keys = [
        InstanceSshKey(ssh_key_id=key_id, position=n) for n, key_id in enumerate(key_ids)
    ]


def _long_term(catalog: Catalog, instance: Instance) -> LongTermDto | None:
    if instance.contract != "LONG_TERM" or instance.contract_ends_at is None:
        return None
    # The period as deployed, even if the catalog has dropped it since.
    name = next(
        (
            p.name
            for p in catalog.long_term_periods.instances
            if p.code == instance.long_term_period
        ),
        instance.long_term_period or "",
    )
    hours = (instance.contract_ends_at - instance.created_at) // timedelta(hours=1)
    return LongTermDto(
        end_date=isoformat(instance.contract_ends_at),
        long_term_period=name,
        discount_percentage=instance.discount_percentage or 0,
        auto_rental_extension=False,
        current_period_price=float(instance.price_per_hour * hours),
        # It goes on at pay-as-you-go prices: a next period costs that much.
        next_period_price=float((instance.payg_price or instance.price_per_hour) * hours),
    )


def to_dtos(
    session: Session, catalog: Catalog, instances: Sequence[Instance]
) -> list[GetInstanceResponsePublicApiDto]:
    volume_ids: dict[str, list[str]] = defaultdict(list)
    if instances:
        rows = session.execute(
            select(VolumeAttachment.instance_id, VolumeAttachment.volume_id)
            .where(VolumeAttachment.instance_id.in_([i.id for i in instances]))
            .order_by(VolumeAttachment.target)
        )
        for instance_id, volume_id in rows:
            volume_ids[instance_id].append(volume_id)
    tags = tag_service.tags_by_resource(session, "instance", [i.id for i in instances])
    result = []
    for instance in instances:
        spec = catalog.instance_types.get(instance.instance_type)
        hardware = (
            spec.model_dump(include={"cpu", "gpu", "gpu_memory", "memory", "storage"})
            if spec
            else {}
        )
        result.append(
            GetInstanceResponsePublicApiDto(
                id=instance.id,
                ip=public_ip(instance),
                status=status_of(instance).value,  # type: ignore[arg-type]
                created_at=isoformat(instance.created_at),
                hostname=instance.hostname,
                description=instance.description,
                location=instance.location,
                price_per_hour=float(instance.price_per_hour),
                is_spot=instance.is_spot,
                instance_type=instance.instance_type,
                image=instance.image,
                os_name=instance.os_name,
                startup_script_id=instance.startup_script_id,
                ssh_key_ids=[k.ssh_key_id for k in instance.ssh_keys],
                os_volume_id=instance.os_volume_id,
                jupyter_token=instance.jupyter_token,
                contract=instance.contract,  # type: ignore[arg-type]
                pricing=instance.pricing,  # type: ignore[arg-type]
                volume_ids=volume_ids[instance.id],
                long_term=_long_term(catalog, instance),
                coupon=instance.coupon,
                tags=tags[instance.id],
                **hardware,
            )
        )
    return result
