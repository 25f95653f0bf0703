"""The overlay mounts that make an instance's root filesystem: the base image
below, the OS volume's directory above, so that what the instance writes is
the OS volume's and outlives any container."""

from __future__ import annotations

import subprocess
from pathlib import Path


class MountError(RuntimeError):
    pass


def mounted(target: Path) -> bool:
    wanted = str(target.resolve())
    with open("/proc/self/mountinfo", encoding="utf-8") as lines:
        # Field 5 is the mount point, with spaces and the like octal-escaped.
        return any(_unescape(line.split()[4]) == wanted for line in lines)


def _unescape(field: str) -> str:
    return field.encode().decode("unicode_escape") if "\\" in field else field


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
