"""The new rows of a deploy, written with Core statements built once.

A deploy is the busiest write, and the ORM's unit of work (an object per row,
attribute events, the flush's ordering and bookkeeping) cost several times
what the store itself does for it. What the ORM's hooks do for new objects is
done by the callers, explicitly: the project's generation moves
(storage/generation.py `touch`, here) and what costs gets its meter
(billing/follow.py `open_new`, in instances/deploy.py).

The statements run on the session's connection, inside the unit's
transaction, in the order the foreign keys need; nothing of them is in the
session's identity map (the deploy only answers the new id).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from verda_server.instances.models import Instance, InstanceSshKey
from verda_server.storage.generation import touch
from verda_server.volumes.models import Volume, VolumeAttachment, VolumeSshKey

_MODELS: tuple[Any, ...] = (Volume, Instance, VolumeAttachment, InstanceSshKey, VolumeSshKey)
_INSERT = {model: insert(model.__table__) for model in _MODELS}
_COLUMNS = {model: tuple(c.key for c in model.__table__.columns) for model in _MODELS}


def _row(model: type, values: Any) -> dict[str, Any]:
    """Every column of the table from `values`' attributes of the same names."""
    return {key: getattr(values, key) for key in _COLUMNS[model]}


def _insert(connection: Connection, model: type, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        connection.execute(_INSERT[model], list(rows))


def write_deploy(
    session: Session,
    instance: Any,
    volumes: Sequence[Any],
    attachments: Sequence[tuple[str, str]],
    key_ids: Sequence[str],
    new_os_volume_id: str | None,
) -> None:
    """The instance, its new volumes (each attached at its target, in
    `attachments` as volume id and target, each first on its volume), the keys
    it was deployed with, and the new OS volume's copy of them."""
    connection = session.connection()
    _insert(connection, Volume, [_row(Volume, v) for v in volumes])
    _insert(connection, Instance, [_row(Instance, instance)])
    _insert(
        connection,
        VolumeAttachment,
        [
            {"volume_id": volume_id, "instance_id": instance.id, "target": target, "position": 0}
            for volume_id, target in attachments
        ],
    )
    keys = list(enumerate(key_ids))
    _insert(
        connection,
        InstanceSshKey,
        [{"instance_id": instance.id, "ssh_key_id": k, "position": n} for n, k in keys],
    )
    if new_os_volume_id is not None:
        _insert(
            connection,
            VolumeSshKey,
            [{"volume_id": new_os_volume_id, "ssh_key_id": k, "position": n} for n, k in keys],
        )
    # The new volumes are part of no instance's answer but this one's.
    touch(session, instance.project_id, keys=[("instance", instance.id)])
