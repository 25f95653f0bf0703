"""GET /v1/instances and /v1/instances/{id}: what the answer needs, in four
statements whatever the number of instances, rendered once to JSON bytes.

Rows are read as plain columns (no ORM objects, no per-instance loads): the
instances, then their SSH keys, volumes and tags, each in one statement scoped by
the conditions of the instances (a subquery, not a list of ids); the statements
of the usual reads are built once, at import. The answer
is built as plain dicts in the field order of `GetInstanceResponsePublicApiDto`
and serialised by pydantic, exactly as FastAPI serialises the model (by
alias, nulls kept); tests hold the two to the same bytes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Connection, Select, bindparam, select
from sqlalchemy.orm import Session

from verda_server.api.errors import not_found
from verda_server.api.responses import to_json
from verda_server.catalog.dtos import CpuDto, GpuDto, MemoryDto, StorageDto
from verda_server.catalog.service import Catalog
from verda_server.clock import isoformat
from verda_server.instances.models import Instance, InstanceSshKey
from verda_server.instances.service import INVALID_ID, public_ip
from verda_server.instances.states import REMOVED, Status
from verda_server.storage.owned import canonical_id
from verda_server.tags import service as tag_service
from verda_server.volumes.models import VolumeAttachment

Answer = dict[str, Any]

_COLUMNS = (
    Instance.id,
    Instance.status,
    Instance.deleted_at,
    Instance.ip,
    Instance.created_at,
    Instance.hostname,
    Instance.description,
    Instance.location,
    Instance.price_per_hour,
    Instance.is_spot,
    Instance.instance_type,
    Instance.image,
    Instance.os_name,
    Instance.startup_script_id,
    Instance.os_volume_id,
    Instance.jupyter_token,
    Instance.contract,
    Instance.pricing,
    Instance.coupon,
    Instance.long_term_period,
    Instance.discount_percentage,
    Instance.contract_ends_at,
    Instance.payg_price,
)
_ORDER = (Instance.created_at, Instance.id)
_DISCONTINUED = Status.DISCONTINUED.value
_LONG_TERM = "LONG_TERM"


class _Hardware(BaseModel):
    """The hardware fields of the answer, as the DTO keeps them of the catalog's."""

    cpu: CpuDto
    gpu: GpuDto
    gpu_memory: MemoryDto
    memory: MemoryDto
    storage: StorageDto


_HARDWARE_FIELDS = set(_Hardware.model_fields)


# The conditions of each kind of read, on bound parameters: the statements of
# the usual reads are built once, here, not per request.
_PROJECT = Instance.project_id == bindparam("project_id")
_ITEM = (_PROJECT, Instance.id == bindparam("instance_id"))
_LIVE = (_PROJECT, Instance.deleted_at.is_(None))
_LIVE_BY_STATUS = (*_LIVE, Instance.status == bindparam("status"))
# Removed instances only when asked for by `status=discontinued`.
_REMOVED = (_PROJECT, Instance.deleted_at.is_not(None))


@dataclass(frozen=True)
class _Reads:
    """The statements of one kind of read: the instances, then what they link to
    (for the instances' conditions: a subquery, not a list of ids)."""

    instances: Select[Any]
    keys: Select[tuple[str, str]]
    volumes: Select[tuple[str, str]]
    tags: Select[Any]


def _reads(
    conditions: Sequence[ColumnElement[bool]], filters: Sequence[ColumnElement[bool]] = ()
) -> _Reads:
    """The linked rows are read for `conditions` alone: the tag filters are read
    once, by the instances' own statement."""
    scope = select(Instance.id).where(*conditions)
    return _Reads(
        instances=select(*_COLUMNS).where(*conditions, *filters).order_by(*_ORDER),
        keys=select(InstanceSshKey.instance_id, InstanceSshKey.ssh_key_id)
        .where(InstanceSshKey.instance_id.in_(scope))
        .order_by(InstanceSshKey.instance_id, InstanceSshKey.position),
        volumes=select(VolumeAttachment.instance_id, VolumeAttachment.volume_id)
        .where(VolumeAttachment.instance_id.in_(scope))
        .order_by(VolumeAttachment.instance_id, VolumeAttachment.target),
        tags=tag_service.tags_statement("instance", scope),
    )


_READ_ITEM = _reads(_ITEM)
_READ_LIVE = _reads(_LIVE)
_READ_LIVE_BY_STATUS = _reads(_LIVE_BY_STATUS)
_READ_REMOVED = _reads(_REMOVED)
# Some instances by id, removed ones too (the read model's refresh of those a
# write changed).
_READ_SOME = _reads((_PROJECT, Instance.id.in_(bindparam("ids", expanding=True))))


def answers(
    db: Connection, catalog: Catalog, reads: _Reads, params: dict[str, Any]
) -> list[Answer]:
    """The answers of the instances `reads` selects, oldest first: Core
    statements on the session's connection, rows as tuples, no ORM loading."""
    return [answer for _order, _removed, answer in _answers(db, catalog, reads, params)]


def _answers(
    db: Connection, catalog: Catalog, reads: _Reads, params: dict[str, Any]
) -> list[tuple[tuple[datetime, str], bool, Answer]]:
    """Each answer with its place in a list (created_at, id) and whether the
    instance is removed (lists leave it out)."""
    rows = db.execute(reads.instances, params).all()
    if not rows:
        return []
    keys = _grouped(db.execute(reads.keys, params).all())
    volumes = _grouped(db.execute(reads.volumes, params).all())
    tags = tag_service.tags_by_owner(db.execute(reads.tags, params).all())
    hardware: dict[str, Answer] = {}
    periods = {p.code: p.name for p in catalog.long_term_periods.instances}
    result = []
    # Rows unpacked by position: a Row's attributes by name cost ten times more.
    for (
        instance_id,
        status,
        deleted_at,
        ip,
        created_at,
        hostname,
        description,
        location,
        price,
        is_spot,
        kind,
        image,
        os_name,
        startup_script_id,
        os_volume_id,
        jupyter_token,
        contract,
        pricing,
        coupon,
        *deal,
    ) in rows:
        shape = hardware.get(kind)
        if shape is None:
            shape = hardware[kind] = _hardware(catalog, kind)
        answer = {
            "id": instance_id,
            "ip": public_ip(status, ip),
            "status": _DISCONTINUED if deleted_at is not None else status,
            "created_at": isoformat(created_at),
            "cpu": shape["cpu"],
            "gpu": shape["gpu"],
            "gpu_memory": shape["gpu_memory"],
            "memory": shape["memory"],
            "storage": shape["storage"],
            "hostname": hostname,
            "description": description,
            "location": location,
            "price_per_hour": float(price),
            "is_spot": is_spot,
            "instance_type": kind,
            "image": image,
            "os_name": os_name,
            "startup_script_id": startup_script_id,
            "ssh_key_ids": keys.get(instance_id, []),
            "os_volume_id": os_volume_id,
            "jupyter_token": jupyter_token,
            "contract": contract,
            "pricing": pricing,
            "volume_ids": volumes.get(instance_id, []),
            "long_term": (
                _long_term(created_at, price, deal, periods) if contract == _LONG_TERM else None
            ),
            "coupon": coupon,
            "tags": tags.get(instance_id, []),
        }
        result.append(((created_at, instance_id), deleted_at is not None, answer))
    return result


def one(db: Connection, catalog: Catalog, project_id: str, instance_id: str) -> Answer:
    """Any instance the project had, removed ones too (they read discontinued);
    404 "Invalid instance id" for an id it never had."""
    key = canonical_id(instance_id)
    if key is None:
        raise not_found(INVALID_ID)
    params = {"project_id": project_id, "instance_id": key}
    found = answers(db, catalog, _READ_ITEM, params)
    if not found:
        raise not_found(INVALID_ID)
    return found[0]


def list_json(
    session: Session,
    catalog: Catalog,
    project_id: str,
    status: str | None,
    tags: Sequence[str] | None,
) -> bytes:
    """Live instances, by status if given; removed ones only when asked for by
    `status=discontinued`; those carrying every tag filter (`key` or
    `key=value`) given."""
    params = {"project_id": project_id}
    if status is not None and Status(status) in REMOVED:
        conditions, reads = _REMOVED, _READ_REMOVED
    elif status is not None:
        conditions, reads = _LIVE_BY_STATUS, _READ_LIVE_BY_STATUS
        params["status"] = status
    else:
        conditions, reads = _LIVE, _READ_LIVE
    if tags:
        reads = _reads(
            conditions, tag_service.tag_filter("instance", Instance.id, tags, project_id)
        )
    return to_json(answers(session.connection(), catalog, reads, params))


@dataclass(frozen=True, slots=True)
class Record:
    """One instance's answer as JSON, and what a list needs of it."""

    order: tuple[datetime, str]
    removed: bool
    body: bytes


def records(
    session: Session, catalog: Catalog, project_id: str, ids: Sequence[str] | None
) -> list[Record]:
    """The project's live instances (`ids` None), or those of `ids` it has,
    removed ones too; each body the bytes `GET /v1/instances/{id}` answers,
    and a list's the same bytes joined (tests hold them to it)."""
    reads, params = (
        (_READ_LIVE, {"project_id": project_id})
        if ids is None
        else (_READ_SOME, {"project_id": project_id, "ids": list(ids)})
    )
    found = _answers(session.connection(), catalog, reads, params)
    return [Record(order, removed, to_json(answer)) for order, removed, answer in found]


def one_json(session: Session, catalog: Catalog, project_id: str, instance_id: str) -> bytes:
    return to_json(one(session.connection(), catalog, project_id, instance_id))


def _grouped(rows: Sequence[Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for owner, value in rows:
        found[owner].append(value)
    return found


def _hardware(catalog: Catalog, instance_type: str) -> Answer:
    spec = catalog.instance_types.get(instance_type)
    if spec is None:
        # The answer can't be told without it (the document requires the fields).
        raise LookupError(f"instance type {instance_type!r} is not in the catalog")
    shape = _Hardware.model_validate(spec.model_dump(include=_HARDWARE_FIELDS))
    return shape.model_dump(mode="json")


def _long_term(
    created_at: datetime, price: Decimal, deal: list[Any], periods: dict[str, str]
) -> Answer | None:
    period, discount, ends_at, payg_price = deal
    if ends_at is None:
        return None
    hours = (ends_at - created_at) // timedelta(hours=1)
    return {
        "end_date": isoformat(ends_at),
        # The period as deployed, even if the catalog has dropped it since.
        "long_term_period": periods.get(period, period or ""),
        "discount_percentage": discount or 0,
        "auto_rental_extension": False,
        # It goes on at pay-as-you-go prices: a next period costs that much.
        "next_period_price": float((payg_price or price) * hours),
        "current_period_price": float(price * hours),
    }
