"""A cloned volume's data starts as a copy of its source's, made before any
machine mounts the clone (once: the clone's directory existing says done)."""

from __future__ import annotations

import logging
import shutil
import subprocess

from sqlalchemy import select
from sqlalchemy.orm import Session

from verda_server.machines.layout import Layout
from verda_server.volumes.models import Volume

logger = logging.getLogger("verda_server.machines")


def pending(session: Session) -> list[tuple[str, str, bool]]:
    """(clone, source, is an OS volume) of every clone still in the store."""
    rows = session.execute(
        select(Volume.id, Volume.cloned_from, Volume.is_os_volume).where(
            Volume.cloned_from.is_not(None), Volume.is_permanently_deleted.is_(False)
        )
    )
    return [(row.id, row.cloned_from, row.is_os_volume) for row in rows]


def copy(layout: Layout, clones: list[tuple[str, str, bool]]) -> None:
    for clone_id, source_id, is_os_volume in clones:
        target, source = layout.volume(clone_id), layout.volume(source_id)
        if target.exists() or not source.is_dir():
            continue  # copied already, or the source never had data
        # An OS volume's data is its overlay's upper layer; work/ is the kernel's.
        part = "upper" if is_os_volume else "."
        if not (source / part).is_dir():
            continue
        staging = layout.volumes / f".{clone_id}.copy"
        shutil.rmtree(staging, ignore_errors=True)
        (staging if is_os_volume else staging.parent).mkdir(parents=True, exist_ok=True)
        # cp -a keeps owners, modes, links and special files, as a disk copy would.
        done = subprocess.run(
            ["cp", "-a", str(source / part), str(staging / "upper" if is_os_volume else staging)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            logger.warning("copying volume %s to %s: %s", source_id, clone_id, done.stderr.strip())
            shutil.rmtree(staging, ignore_errors=True)
            continue
        staging.rename(target)
