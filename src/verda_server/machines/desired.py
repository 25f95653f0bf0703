"""The machines the store wants, read in four statements however many there
are: every live instance that has (or is getting) a machine."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from verda_server.catalog.service import Catalog
from verda_server.instances.models import Instance, InstanceSshKey
from verda_server.instances.states import REMOVED, UNPLACED, Status
from verda_server.machines.spec import Machine, Scale, mount_paths
from verda_server.ssh_keys.models import SshKey
from verda_server.startup_scripts.models import StartupScript
from verda_server.volumes.models import Volume, VolumeAttachment

_NO_MACHINE = [status.value for status in UNPLACED | REMOVED]


def machines(session: Session, catalog: Catalog, scale: Scale) -> dict[str, Machine]:
    rows = session.execute(
        select(
            Instance.id, Instance.project_id, Instance.status, Instance.hostname,
            Instance.location, Instance.ip, Instance.os_volume_id, Instance.instance_type,
            Instance.startup_script_id,
        ).where(Instance.deleted_at.is_(None), Instance.status.not_in(_NO_MACHINE))
    ).all()  # fmt: skip
    if not rows:
        return {}
    ids = [row.id for row in rows]
    attached: dict[str, list[tuple[str, str, bool]]] = defaultdict(list)
    for a in session.execute(
        select(
            VolumeAttachment.instance_id, Volume.id, Volume.pseudo_path, Volume.is_os_volume,
            VolumeAttachment.target,
        )
        .join(Volume, Volume.id == VolumeAttachment.volume_id)
        .where(VolumeAttachment.instance_id.in_(ids))
        .order_by(VolumeAttachment.instance_id, VolumeAttachment.target)
    ):  # fmt: skip
        if a.target != "vda":
            attached[a.instance_id].append((a.id, a.pseudo_path, a.is_os_volume))
    keys: dict[str, list[str]] = defaultdict(list)
    for k in session.execute(
        select(InstanceSshKey.instance_id, SshKey.key)
        .join(SshKey, SshKey.id == InstanceSshKey.ssh_key_id)
        .where(InstanceSshKey.instance_id.in_(ids))
        .order_by(InstanceSshKey.instance_id, InstanceSshKey.position)
    ):
        keys[k.instance_id].append(k.key.strip())
    script_ids = {row.startup_script_id for row in rows if row.startup_script_id}
    scripts: dict[str, str] = {
        script.id: script.script
        for script in session.execute(
            select(StartupScript.id, StartupScript.script).where(StartupScript.id.in_(script_ids))
        )
    }
    wanted: dict[str, Machine] = {}
    for row in rows:
        # A type no longer in the catalog (a replaced catalog file) runs on the least.
        kind = catalog.instance_types.get(row.instance_type)
        cores = kind.cpu.number_of_cores if kind else 1
        gigabytes = kind.memory.size_in_gigabytes if kind else 1
        wanted[row.id] = Machine(
            instance_id=row.id,
            project_id=row.project_id,
            status=Status(row.status),
            hostname=row.hostname,
            location=row.location,
            ip=row.ip,
            os_volume_id=row.os_volume_id,
            volumes=tuple(mount_paths(attached[row.id])),
            cpus=scale.cpus(cores),
            memory_mb=scale.memory_mb(gigabytes),
            keys=tuple(keys[row.id]),
            startup_script=scripts.get(row.startup_script_id) if row.startup_script_id else None,
        )
    return wanted


def kept_volumes(session: Session) -> set[str]:
    """Volumes whose data must stay (in the trash included): all but purged ones."""
    return set(session.scalars(select(Volume.id).where(Volume.is_permanently_deleted.is_(False))))
