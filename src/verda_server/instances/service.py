"""Instances: lookups and removal (the answers are render.py's)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import Session, object_session, selectinload

from verda_server.api.errors import not_found
from verda_server.instances.models import Instance, InstanceSshKey
from verda_server.instances.states import Status
from verda_server.storage.owned import canonical_id
from verda_server.tags import service as tag_service

# dstack reads exactly this message as "already gone".
INVALID_ID = "Invalid instance id"


def _owned(*where: ColumnElement[bool]) -> Select[tuple[Instance]]:
    """Instances of the project (removed ones included) that `where` picks.

    Built once, on bound parameters: building a select with its loader
    options and its cache key cost more than running it."""
    return (
        select(Instance)
        .options(selectinload(Instance.ssh_keys))
        .where(Instance.project_id == bindparam("project_id"), *where)
    )


_OWNED_ONE = _owned(Instance.id == bindparam("instance_id"))
_OWNED_SOME = _owned(Instance.id.in_(bindparam("ids", expanding=True)))


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
    found = session.scalars(_OWNED_ONE, {"project_id": project_id, "instance_id": key}).first()
    if found is None:
        raise not_found(INVALID_ID)
    return found


def owned_instances(session: Session, project_id: str, ids: Sequence[str]) -> dict[str, Instance]:
    """Those of `ids` the project has (removed ones too), by canonical id: one
    select for a bulk action, however many ids it names."""
    keys = list(dict.fromkeys(k for k in map(canonical_id, ids) if k is not None))
    if not keys:
        return {}
    rows = session.scalars(_OWNED_SOME, {"project_id": project_id, "ids": keys})
    return {row.id: row for row in rows}


def taggable_id(session: Session, project_id: str, instance_id: str) -> str:
    """An instance that can carry tags: a removed one has dropped its tags and
    answers 404, as it is out of the instance list."""
    instance = get_instance(session, project_id, instance_id)
    if instance.deleted_at is not None:
        raise not_found(INVALID_ID)
    return instance.id


def picked(owned: dict[str, Instance], instance_id: str) -> Instance | None:
    """The instance `instance_id` names among `owned_instances`, in any spelling."""
    key = canonical_id(instance_id)
    return None if key is None else owned.get(key)


def get_instances(session: Session, project_id: str, ids: Sequence[str]) -> list[Instance]:
    owned = owned_instances(session, project_id, ids)
    found = []
    for instance_id in ids:
        instance = picked(owned, instance_id)
        if instance is None:
            raise not_found(f"{INVALID_ID}: {instance_id}")
        found.append(instance)
    return found


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


def public_ip(status: str, ip: str | None) -> str | None:
    """The address is reserved at deploy, but shown once the machine is up."""
    return None if status == Status.PROVISIONING else ip


def set_ssh_keys(instance: Instance, key_ids: Sequence[str]) -> None:
    instance.ssh_keys = [
        InstanceSshKey(ssh_key_id=key_id, position=n) for n, key_id in enumerate(key_ids)
    ]
