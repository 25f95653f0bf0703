"""What one machine should be, read off the store: an instance, or one node
of a cluster (its jump host or a worker); the container to run (or keep
stopped), its networks, mounts, limits, keys and startup script."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from enum import StrEnum

# The documented mount command puts a volume at /mnt/volume: the first data
# volume is there too, besides its own /mnt/<pseudo_path>.
DOCUMENTED_MOUNT_POINT = "/mnt/volume"
# Statuses (instances' and clusters' share the words) whose machine runs.
RUNS = frozenset({"provisioning", "running"})


class Want(StrEnum):
    RUN = "run"
    STOP = "stop"


class Kind(StrEnum):
    INSTANCE = "instance"
    CLUSTER = "cluster"


@dataclass(frozen=True)
class VolumeMount:
    volume_id: str
    is_os_volume: bool
    # Inside the machine.
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Private:
    """A cluster node's address on the cluster's own network (the same
    10.0.0.0/24 in every cluster: each network is a bridge of its own, without
    podman's address management, and the driver sets the address itself)."""

    network: str
    address: str
    interface: str


@dataclass(frozen=True)
class Machine:
    # Its container is `verda-<key>`: an instance's id, `<cluster id>-jump`,
    # `<cluster id>-<n>`.
    key: str
    kind: Kind
    # The instance or cluster whose status it follows and reports into.
    owner_id: str
    project_id: str
    status: str
    hostname: str
    location: str
    # On the location's bridge; None: a worker node, reached from its jump host.
    ip: str | None
    # Its root filesystem's upper layer; None: an instance without one can't
    # boot, a cluster node's is its own (ephemeral, as the API says).
    os_volume_id: str | None
    volumes: tuple[VolumeMount, ...]
    cpus: float
    memory_mb: int
    keys: tuple[str, ...]
    startup_script: str | None
    private: Private | None = None
    # (hostname, address) of the other nodes of its cluster.
    hosts: tuple[tuple[str, str], ...] = ()
    # A jump host holds its cluster's key, which every node of it accepts.
    holds_cluster_key: bool = False

    @property
    def want(self) -> Want:
        return Want.RUN if self.status in RUNS else Want.STOP

    @property
    def name(self) -> str:
        return container_name(self.key)

    @property
    def ephemeral(self) -> bool:
        return self.kind is Kind.CLUSTER

    def fingerprint(self) -> str:
        """What a container cannot change once made: another one is made
        (on the same OS volume) when any of it differs."""
        fixed = [
            self.hostname, self.location, self.ip, self.os_volume_id, self.cpus, self.memory_mb,
            [(v.volume_id, v.is_os_volume, v.paths) for v in self.volumes],
            self.private and [self.private.network, self.private.address], self.hosts,
        ]  # fmt: skip
        return hashlib.sha256(json.dumps(fixed).encode()).hexdigest()[:16]


def container_name(key: str) -> str:
    return f"verda-{key}"


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

    def cpus(self, cores: float) -> float:
        wanted = max(cores, 1) * (self.factor or 1.0)
        return round(min(float(self.host_cpus), max(0.1, wanted)), 2)

    def memory_mb(self, gigabytes: float) -> int:
        wanted = max(gigabytes, 1) * 1024 * (self.factor or 1.0)
        return int(min(self.host_memory_mb, max(256.0, wanted)))
