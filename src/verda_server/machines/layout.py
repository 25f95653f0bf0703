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

    def volume(self, volume_id: str) -> Path:
        """A data volume's files; an OS volume's overlay `upper/` and `work/`."""
        return self.volumes / volume_id

    def instance(self, instance_id: str) -> Path:
        return self.instances / instance_id

    def config(self, instance_id: str) -> Path:
        """Mounted read-only at /etc/verda in the instance."""
        return self.instance(instance_id) / "config"

    def rootfs(self, instance_id: str) -> Path:
        """The overlay mount point the container runs on."""
        return self.instance(instance_id) / "root"
