"""What the driver keeps on disk for what the store no longer has: machines'
directories (their roots unmounted first), clusters' keys, volumes' data."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Container
from pathlib import Path

from verda_server.machines import mounts
from verda_server.machines.layout import Layout

logger = logging.getLogger("verda_server.machines")


def machines(layout: Layout, wanted: Container[str]) -> None:
    """The directories of machines not wanted, their root mounts first."""
    if not layout.instances.is_dir():
        return
    for directory in layout.instances.iterdir():
        if directory.name in wanted:
            continue
        try:
            mounts.unmount(directory / "root")
        except mounts.MountError as exc:
            logger.warning("unmounting %s: %s", directory / "root", exc)
        # rmtree goes into mounts: through a root still mounted it would
        # delete the OS volume's files. Kept for a later pass.
        if not mounts.mounts_under(directory):
            shutil.rmtree(directory, ignore_errors=True)


def clusters(layout: Layout, wanted: Container[str]) -> None:
    """The key pairs of clusters not wanted."""
    _keep_only(layout.clusters, wanted)


def volumes(layout: Layout, kept: Container[str]) -> None:
    """The data of volumes other than these (purged from the store)."""
    _keep_only(layout.volumes, kept)


def _keep_only(parent: Path, kept: Container[str]) -> None:
    if parent.is_dir():
        for directory in parent.iterdir():
            if directory.name not in kept:
                shutil.rmtree(directory, ignore_errors=True)
