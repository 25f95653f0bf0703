"""GET /v1/volumes, /v1/volumes/trash and /v1/volumes/{id}: what the answer
needs, in four statements whatever the number of volumes, rendered once to JSON.

The volumes come with their project's currency and the cluster they are on (one
statement); then their attachments with the instances' columns the answer shows,
their SSH keys and their tags, each in one statement scoped by the volumes'
conditions (a subquery, not a list of ids); the statements of the usual reads
are built once, at import. The answer is built as plain dicts
in the field order of the response models and serialised by pydantic, as
FastAPI serialises them (by alias, nulls kept); tests hold the two to the same
bytes.
"""

from __future__ import annotations

from collections import defaultdict, namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, select
from sqlalchemy.orm import Session

from verda_server.api.errors import not_found
from verda_server.api.responses import to_json
from verda_server.billing.billable import volume_hourly
from verda_server.catalog.service import Catalog
from verda_server.clock import isoformat
from verda_server.clusters.models import ClusterVolume
from verda_server.instances.models import Instance
from verda_server.instances.service import public_ip
from verda_server.projects.models import Project
from verda_server.storage.owned import canonical_id
from verda_server.tags import service as tags
from verda_server.volumes.models import Volume, VolumeAttachment, VolumeSshKey
from verda_server.volumes.states import ACTIVE, Status

Answer = dict[str, Any]

WHAT = "Volume"
_COLUMNS = (
    Volume.id,
    Volume.name,
    Volume.created_at,
    Volume.status,
    Volume.size,
    Volume.is_os_volume,
    Volume.type,
    Volume.location,
    Volume.contract,
    Volume.pseudo_path,
    Volume.on_spot_discontinue,
    Volume.deleted_at,
    Volume.is_permanently_deleted,
    Project.currency,
    ClusterVolume.cluster_id,
)
_ACTIVE = [s.value for s in ACTIVE]
_IN_TRASH = (Status.DELETED.value, Status.CANCELED.value)
_MOUNT_POINT = "/mnt/volume"


_ATTACHED = (
    VolumeAttachment.volume_id,
    VolumeAttachment.target,
    Instance.id,
    Instance.ip,
    Instance.instance_type,
    Instance.status,
    Instance.os_volume_id,
    Instance.hostname,
)
# Rows as named tuples: a Row's attributes by name cost ten times more.
_Row = namedtuple("_Row", [c.key for c in _COLUMNS])
_Attached = namedtuple("_Attached", [c.key for c in _ATTACHED])

# The conditions of each kind of read, on bound parameters: the statements of
# the usual reads are built once, here, not per request.
_PROJECT = Volume.project_id == bindparam("project_id")
_ITEM = (_PROJECT, Volume.id == bindparam("volume_id"))
_ACTIVE_ALL = (_PROJECT, Volume.status.in_(_ACTIVE))
_ACTIVE_BY_STATUS = (*_ACTIVE_ALL, Volume.status == bindparam("status"))
_TRASH = (
    _PROJECT,
    Volume.status == Status.DELETED.value,
    Volume.is_permanently_deleted.is_(False),
)
_LIST_ORDER = (Volume.created_at, Volume.is_os_volume.desc(), Volume.name, Volume.id)


@dataclass(frozen=True)
class _Reads:
    """The statements of one kind of read: the volumes (with their project's
    currency and their cluster), then what they link to (for the volumes'
    conditions: a subquery, not a list of ids)."""

    volumes: Select[Any]
    attached: Select[Any]
    keys: Select[tuple[str, str]]
    tags: Select[Any]


def _reads(
    conditions: Sequence[ColumnElement[bool]],
    order: Sequence[Any] = (),
    filters: Sequence[ColumnElement[bool]] = (),
) -> _Reads:
    """The linked rows are read for `conditions` alone: the tag filters are read
    once, by the volumes' own statement."""
    scope = select(Volume.id).where(*conditions)
    return _Reads(
        volumes=select(*_COLUMNS)
        .join(Project, Project.id == Volume.project_id)
        .outerjoin(ClusterVolume, ClusterVolume.volume_id == Volume.id)
        .where(*conditions, *filters)
        .order_by(*order),
        attached=select(*_ATTACHED)
        .join(Instance, Instance.id == VolumeAttachment.instance_id)
        .where(VolumeAttachment.volume_id.in_(scope))
        .order_by(VolumeAttachment.volume_id, VolumeAttachment.position),
        keys=select(VolumeSshKey.volume_id, VolumeSshKey.ssh_key_id)
        .where(VolumeSshKey.volume_id.in_(scope))
        .order_by(VolumeSshKey.volume_id, VolumeSshKey.position),
        tags=tags.tags_statement("volume", scope),
    )


_READ_ITEM = _reads(_ITEM)
_READ_ACTIVE = _reads(_ACTIVE_ALL, _LIST_ORDER)
_READ_ACTIVE_BY_STATUS = _reads(_ACTIVE_BY_STATUS, _LIST_ORDER)
_READ_TRASH = _reads(_TRASH, (Volume.deleted_at, Volume.id))


class _Linked:
    """What the volumes of a read are linked to: instances, keys, tags."""

    def __init__(self, db: Connection, reads: _Reads, params: dict[str, str]) -> None:
        self.attachments: dict[str, list[Any]] = defaultdict(list)
        for row in db.execute(reads.attached, params).all():
            self.attachments[row[0]].append(_Attached._make(row))
        self.keys: dict[str, list[str]] = defaultdict(list)
        for volume_id, key_id in db.execute(reads.keys, params).all():
            self.keys[volume_id].append(key_id)
        self.tags = tags.tags_by_owner(db.execute(reads.tags, params).all())


def _rows(db: Connection, reads: _Reads, params: dict[str, str]) -> list[Any]:
    return [_Row._make(row) for row in db.execute(reads.volumes, params).all()]


class _Prices:
    """Hourly and monthly prices, worked out once per type, size and currency."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._known: dict[tuple[str, int, str], tuple[float, float]] = {}

    def of(self, volume_type: str, size: int, currency: str) -> tuple[float, float]:
        key = (volume_type, size, currency)
        found = self._known.get(key)
        if found is None:
            hourly = volume_hourly(self._catalog, volume_type, size, currency)
            per_gb = self._catalog.volume_types[volume_type].price_per_month_per_gb.of(currency)  # type: ignore[arg-type]
            # What the ledger charges per hour, exactly.
            found = (float(hourly), float(Decimal(str(per_gb)) * size))
            self._known[key] = found
        return found


def _common(row: Any, linked: _Linked, prices: _Prices) -> Answer:
    attached = linked.attachments.get(row.id, [])
    hourly, monthly = prices.of(row.type, row.size, row.currency)
    return {
        "id": row.id,
        # A cluster's volume names the cluster here, and no instances.
        "instance_id": attached[0].id if attached else row.cluster_id,
        "instances": [
            {
                "id": a.id,
                "auto_rental_extension": None,
                "ip": public_ip(a.status, a.ip),
                "instance_type": a.instance_type,
                "status": a.status,
                "os_volume_id": a.os_volume_id,
                "hostname": a.hostname,
            }
            for a in attached
        ],
        "name": row.name,
        "created_at": isoformat(row.created_at),
        "status": row.status,
        "size": row.size,
        "is_os_volume": row.is_os_volume,
        "target": attached[0].target if attached else None,
        "type": row.type,
        "location": row.location,
        "ssh_key_ids": linked.keys.get(row.id, []),
        "contract": row.contract,
        "base_hourly_cost": hourly,
        "monthly_price": monthly,
        "currency": row.currency,
        "on_spot_discontinue": row.on_spot_discontinue,
        "tags": linked.tags.get(row.id, []),
    }


def _active(row: Any, linked: _Linked, prices: _Prices) -> Answer:
    host = f"nfs.{row.location.lower()}.datacrunch.io:{row.pseudo_path}"
    fstab = f"{host} {_MOUNT_POINT} nfs defaults 0 0"
    return {
        **_common(row, linked, prices),
        "pseudo_path": row.pseudo_path,
        "create_directory_command": f"mkdir -p {_MOUNT_POINT}",
        "mount_command": f"mount -t nfs -o nconnect=16 {host} {_MOUNT_POINT}",
        "filesystem_to_fstab_command": (
            f"grep -qxF '{fstab}' /etc/fstab || echo '{fstab}' | sudo tee -a /etc/fstab"
        ),
        "long_term": None,
    }


def _deleted(row: Any, linked: _Linked, prices: _Prices) -> Answer:
    return {
        **_common(row, linked, prices),
        "deleted_at": isoformat(row.deleted_at or row.created_at),
        "is_permanently_deleted": row.is_permanently_deleted,
    }


def list_json(
    session: Session,
    catalog: Catalog,
    project_id: str,
    status: str | None,
    tag_filters: Sequence[str] | None,
) -> bytes:
    """Volumes out of the trash, by status if given, carrying every tag filter
    given."""
    params = {"project_id": project_id}
    conditions, reads = _ACTIVE_ALL, _READ_ACTIVE
    if status is not None:
        conditions, reads = _ACTIVE_BY_STATUS, _READ_ACTIVE_BY_STATUS
        params["status"] = status
    if tag_filters:
        filters = tags.tag_filter("volume", Volume.id, tag_filters, project_id)
        reads = _reads(conditions, _LIST_ORDER, filters)
    db = session.connection()
    rows = _rows(db, reads, params)
    if not rows:
        return to_json([])
    linked, prices = _Linked(db, reads, params), _Prices(catalog)
    return to_json([_active(row, linked, prices) for row in rows])


def trash_json(session: Session, catalog: Catalog, project_id: str) -> bytes:
    db, params = session.connection(), {"project_id": project_id}
    rows = _rows(db, _READ_TRASH, params)
    if not rows:
        return to_json([])
    linked, prices = _Linked(db, _READ_TRASH, params), _Prices(catalog)
    return to_json([_deleted(row, linked, prices) for row in rows])


def one_json(session: Session, catalog: Catalog, project_id: str, volume_id: str) -> bytes:
    """The active shape, or the deleted one once the volume is deleted; 404 for
    an id the project never had."""
    key = canonical_id(volume_id)
    if key is None:
        raise not_found(f"{WHAT} not found")
    db, params = session.connection(), {"project_id": project_id, "volume_id": key}
    rows = _rows(db, _READ_ITEM, params)
    if not rows:
        raise not_found(f"{WHAT} not found")
    row = rows[0]
    linked, prices = _Linked(db, _READ_ITEM, params), _Prices(catalog)
    shape = _deleted if row.status in _IN_TRASH else _active
    return to_json(shape(row, linked, prices))
