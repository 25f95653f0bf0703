"""The new rows of a deploy, written with Core statements built once.

A deploy is the busiest write, and the ORM's unit of work (an object per row,
attribute events, the flush's ordering and bookkeeping) cost several times
what the store itself does for it. What the ORM's hooks do for new objects is
done by the callers, explicitly: the project's generation moves
(storage/generation.py `touch`, here) and what costs gets its meter
(billing/follow.py `open_new`, in instances/deploy.py).

The statements run on the session's connection, inside the unit's
transaction, in the order the foreign keys need, each table's rows of all the
deploys of a unit (instances/batch.py) in one; nothing of them is in the
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


def write(connection: Connection, rows: dict[Any, list[dict[str, Any]]]) -> None:
    """Rows of the models (as `deploy_rows` gives them), each table in one
    statement, in the order the foreign keys need."""
    for model in _MODELS:
        if rows.get(model):
            connection.execute(_INSERT[model], rows[model])


def deploy_rows(
    session: Session,
    instance: Any,
    volumes: Sequence[Any],
    attachments: Sequence[tuple[str, str]],
    key_ids: Sequence[str],
    new_os_volume_id: str | None,
) -> dict[Any, list[dict[str, Any]]]:
    """The rows of the instance, its new volumes (each attached at its target,
    in `attachments` as volume id and target, each first on its volume), the
    keys it was deployed with, and the new OS volume's copy of them; what they
    change is noted in the unit (the generation's `touch`)."""
    keys = list(enumerate(key_ids))
    # The new volumes are part of no instance's answer but this one's.
    touch(session, instance.project_id, keys=[("instance", instance.id)])
    return {
        Volume: [_row(Volume, v) for v in volumes],
        Instance: [_row(Instance, instance)],
        VolumeAttachment: [
            {"volume_id": volume_id, "instance_id": instance.id, "target": target, "position": 0}
            for volume_id, target in attachments
        ],
        InstanceSshKey: [
            {"instance_id": instance.id, "ssh_key_id": k, "position": n} for n, k in keys
        ],
        VolumeSshKey: [
            {"volume_id": new_os_volume_id, "ssh_key_id": k, "position": n} for n, k in keys
        ]
        if new_os_volume_id is not None
        else [],
    }
