"""A user's root filesystem archive (`--instance-image`: a tar, maybe compressed, e.g.
from `podman export`) unpacked as root without writing anywhere but its root: no
`..`, nothing through a link, no hard link to a file outside, no device files."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import zlib
from pathlib import Path, PurePosixPath

from verda_server.machines.errors import MachineSetupError


def sha256(archive: Path) -> str:
    digest = hashlib.sha256()
    try:
        with archive.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise MachineSetupError(f"--instance-image {archive}: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def inside(root: Path, path: Path) -> bool:
    """Whether path, its links followed on this host, stays within root."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def unpack(rootfs: Path, archive: Path) -> None:
    rootfs.mkdir(mode=0o755)
    try:
        tar = tarfile.open(archive, "r:*")  # noqa: SIM115 (closed below, once its errors differ)
    except tarfile.ReadError as exc:
        raise MachineSetupError(
            f"--instance-image {archive}: cannot unpack it: not a tar archive "
            "(plain or compressed with gzip, bzip2 or xz)"
        ) from exc
    try:
        with tar:
            for member in tar:
                _extract(tar, member, rootfs, archive)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MachineSetupError(f"--instance-image {archive}: cannot unpack it: {reason}") from exc
    sshd = rootfs / "usr/sbin/sshd"
    if not (inside(rootfs, sshd.parent) and os.path.lexists(sshd)):
        raise MachineSetupError(
            f"--instance-image {archive} has no /usr/sbin/sshd: install openssh-server in it"
        )


def _member_path(name: str, archive: Path) -> str:
    parts = [part for part in PurePosixPath(name.lstrip("/")).parts if part != "."]
    if ".." in parts:
        raise MachineSetupError(f"--instance-image {archive}: {name!r} points out of the root")
    return "/".join(parts)


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, root: Path, archive: Path) -> None:
    name = _member_path(member.name, archive)
    # podman gives each container its own /dev: device files have no use, and some harm.
    if not name or member.ischr() or member.isblk():
        return
    target = root / name
    if not inside(root, target.parent):
        raise MachineSetupError(f"--instance-image {archive}: {member.name!r} goes through a link")
    if member.islnk():
        member.linkname = _member_path(member.linkname, archive)
        if not inside(root, root / member.linkname):
            raise MachineSetupError(
                f"--instance-image {archive}: hard link {member.name!r} leads out of the root"
            )
    # Replace what an earlier member put there: writing a file through a link would
    # follow it; only a directory over a directory merges.
    if target.is_symlink() or (target.exists() and not (member.isdir() and target.is_dir())):
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()
    member.name = name
    tar.extract(member, root, numeric_owner=True, filter="fully_trusted")
