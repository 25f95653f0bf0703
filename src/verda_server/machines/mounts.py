"""The overlay mounts that make an instance's root filesystem: the base image
below, the OS volume's directory above, so that what the instance writes is
the OS volume's and outlives any container."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


class MountError(RuntimeError):
    pass


def mounted(target: Path) -> bool:
    return str(target.resolve()) in mount_points()


def mounts_under(directory: Path) -> list[str]:
    """The mount points at or below directory."""
    root = str(directory.resolve())
    return [p for p in mount_points() if p == root or p.startswith(root + "/")]


def mount_points(table: Path = Path("/proc/self/mountinfo")) -> list[str]:
    with open(table, encoding="utf-8", errors="surrogateescape") as lines:
        # Field 5 is the mount point, with space, tab, newline and backslash
        # written as \ooo.
        return [unescape(line.split()[4]) for line in lines]


def unescape(field: str) -> str:
    if "\\" not in field:
        return field
    # Octal escapes stand for bytes: undo them on bytes, so that a name in UTF-8
    # comes back whole rather than as one character per byte.
    raw = field.encode("utf-8", "surrogateescape")
    return re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m[1], 8)]), raw).decode(
        "utf-8", "surrogateescape"
    )


def mount_overlay(lower: Path, os_volume: Path, target: Path) -> None:
    """Mount (once) `lower` with `os_volume`'s upper layer at `target`."""
    if mounted(target):
        return
    upper, work = os_volume / "upper", os_volume / "work"
    for directory in (upper, work, target):
        directory.mkdir(parents=True, exist_ok=True)
    options = f"lowerdir={lower},upperdir={upper},workdir={work}"
    _run("mount", "-t", "overlay", "overlay", "-o", options, str(target))


def unmount(target: Path) -> None:
    if mounted(target):
        # Lazy: a process still inside (a dying container) must not keep it.
        _run("umount", "--lazy", str(target))


def _run(*args: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise MountError(f"{args[0]}: {done.stderr.strip() or done.returncode}")
