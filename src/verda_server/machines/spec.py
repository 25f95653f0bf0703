"""What one instance's machine should be, read off the store: the container
to run (or keep stopped), its mounts, limits, keys and startup script."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from enum import StrEnum

from verda_server.instances.states import Status

# The documented mount command puts a volume at /mnt/volume: the first data
# volume is there too, besides its own /mnt/<pseudo_path>.
DOCUMENTED_MOUNT_POINT = "/mnt/volume"
RUNS = frozenset({Status.PROVISIONING, Status.RUNNING})


class Want(StrEnum):
    RUN = "run"
    STOP = "stop"


@dataclass(frozen=True)
class VolumeMount:
    volume_id: str
    is_os_volume: bool
    # Inside the instance.
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Machine:
    instance_id: str
    project_id: str
    status: Status
    hostname: str
    location: str
    ip: str | None
    os_volume_id: str | None
    volumes: tuple[VolumeMount, ...]
    cpus: float
    memory_mb: int
    keys: tuple[str, ...]
    startup_script: str | None

    @property
    def want(self) -> Want:
        return Want.RUN if self.status in RUNS else Want.STOP

    @property
    def name(self) -> str:
        return container_name(self.instance_id)

    def fingerprint(self) -> str:
        """What a container cannot change once made: another one is made
        (on the same OS volume) when any of it differs."""
        fixed = [
            self.hostname, self.location, self.ip, self.os_volume_id, self.cpus, self.memory_mb,
            [(v.volume_id, v.is_os_volume, v.paths) for v in self.volumes],
        ]  # fmt: skip
        return hashlib.sha256(json.dumps(fixed).encode()).hexdigest()[:16]


def container_name(instance_id: str) -> str:
    return f"verda-{instance_id}"


def mount_paths(attached: list[tuple[str, str, bool]]) -> list[VolumeMount]:
    """Data volumes (every attachment but the OS disk at vda), in target order:
    each at /mnt/<pseudo_path>, the first also where the documented mount
    command puts it."""
    mounts: list[VolumeMount] = []
    for volume_id, pseudo_path, is_os_volume in attached:
        paths = [f"/mnt/{pseudo_path}"]
        if not mounts:
            paths.append(DOCUMENTED_MOUNT_POINT)
        mounts.append(VolumeMount(volume_id, is_os_volume, tuple(paths)))
    return mounts


@dataclass(frozen=True)
class Scale:
    """Instance types' CPUs and memory, times `factor`, within the host's."""

    factor: float | None = None  # None: the type's own, as far as the host has them
    host_cpus: int = os.cpu_count() or 1
    host_memory_mb: int = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20

    def cpus(self, cores: int) -> float:
        wanted = max(cores, 1) * (self.factor or 1.0)
        return round(min(float(self.host_cpus), max(0.1, wanted)), 2)

    def memory_mb(self, gigabytes: int) -> int:
        wanted = max(gigabytes, 1) * 1024 * (self.factor or 1.0)
        return int(min(self.host_memory_mb, max(256.0, wanted)))
