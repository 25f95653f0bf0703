"""Where the driver keeps what it makes, under one directory (default
`<data-dir>/machines`): volumes' data, each instance's configuration and root
mount point (base images: machines/image.py, by default here too)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def volumes(self) -> Path:
        return self.root / "volumes"

    @property
    def instances(self) -> Path:
        return self.root / "instances"

    @property
    def lock(self) -> Path:
        return self.root / "controller.lock"

    @property
    def clusters(self) -> Path:
        return self.root / "clusters"

    def cluster(self, cluster_id: str) -> Path:
        """A cluster's own key pair."""
        return self.clusters / cluster_id

    def volume(self, volume_id: str) -> Path:
        """A data volume's files; an OS volume's overlay `upper/` and `work/`."""
        return self.volumes / volume_id

    def instance(self, key: str) -> Path:
        """A machine's own files (an instance's, or a cluster node's)."""
        return self.instances / key

    def config(self, key: str) -> Path:
        """Mounted read-only at /etc/verda in the machine."""
        return self.instance(key) / "config"

    def rootfs(self, key: str) -> Path:
        """The overlay mount point the container runs on."""
        return self.instance(key) / "root"

    def ephemeral_os(self, key: str) -> Path:
        """A cluster node's OS disk: the machine's own, gone with it."""
        return self.instance(key) / "os"
