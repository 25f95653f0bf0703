"""The base root filesystem every instance's overlay sits on: built once with
debootstrap, or unpacked from a user's archive (`--instance-image`), under
`<machines>/images/<name>/`, whose READY file is written last.

Stdlib only: CI builds the base with `python -m verda_server.machines.image DIR`
before the package's dependencies are installed."""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from importlib import resources
from pathlib import Path, PurePosixPath

from verda_server.machines.errors import MachineSetupError

SUITE = "bookworm"
BASE_NAME = f"debian-{SUITE}"
PACKAGES = (
    "openssh-server", "sudo", "python3", "python3-pip", "iproute2", "ca-certificates", "procps",
)  # fmt: skip
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_USER = "ubuntu"
INIT = "usr/local/sbin/instance-init"
READY = "READY"
# root's tools live in sbin, which a non-login shell's PATH may lack.
SBIN_PATH = "/usr/local/sbin:/usr/sbin:/sbin"
BUILD_TIMEOUT = 1800


def ensure_base(machines_dir: Path, archive: Path | None = None, mirror: str | None = None) -> Path:
    """The ready base rootfs (`images/<name>/rootfs`), built or unpacked first if need be."""
    images = machines_dir.absolute() / "images"  # useradd --root takes no relative path
    if archive is None:
        name = BASE_NAME
        build: Callable[[Path], None] = partial(_debootstrap, mirror=mirror or apt_mirror())
    else:
        name = f"custom-{_sha256(archive)[:16]}"
        build = partial(_unpack, archive=archive)
    image_dir = _build_once(images / name, build)
    rootfs = image_dir / "rootfs"
    # A base built by an older verda-server keeps its files, but boots this one's init.
    if _installed_init(rootfs) != _packaged_init():
        with _locked(images / f".{name}.lock"):
            install_init(rootfs)
    return rootfs


def built(machines_dir: Path) -> bool:
    """Whether the Debian base is ready (ensure_base then needs no debootstrap)."""
    return (machines_dir / "images" / BASE_NAME / READY).is_file()


def which(name: str) -> str | None:
    return shutil.which(name, path=f"{os.environ.get('PATH', '')}:{SBIN_PATH}")


def apt_mirror(apt_dir: Path = Path("/etc/apt"), suite: str = SUITE) -> str:
    """The Debian mirror this host's apt fetches `suite` from (it may be the only one reachable)."""
    one_line = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]
    for path in one_line:
        for uri, suites in _one_line_entries(_read(path)):
            if suite in suites:
                return uri
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        for uri, suites in _deb822_entries(_read(path)):
            if suite in suites:
                return uri
    return DEFAULT_MIRROR


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _one_line_entries(text: str) -> Iterator[tuple[str, list[str]]]:
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 2:
            yield words[0], [words[1]]


def _deb822_entries(text: str) -> Iterator[tuple[str, list[str]]]:
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, value = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "deb" not in fields.get("types", "").split():
            continue
        for uri in fields.get("uris", "").split():
            yield uri, fields.get("suites", "").split()


def _sha256(archive: Path) -> str:
    digest = hashlib.sha256()
    try:
        with archive.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise MachineSetupError(f"--instance-image {archive}: {exc.strerror or exc}") from exc
    return digest.hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_once(image_dir: Path, build: Callable[[Path], None]) -> Path:
    """image_dir, made by build(<staging>/rootfs) and renamed into place by one process."""
    if (image_dir / READY).is_file():
        return image_dir
    parent = image_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MachineSetupError(f"cannot create {parent}: {exc.strerror or exc}") from exc
    with _locked(parent / f".{image_dir.name}.lock"):
        if (image_dir / READY).is_file():
            return image_dir  # another process built it while this one waited
        # Leftovers of a build that died: nobody uses a directory without READY.
        for stale in parent.glob(f".{image_dir.name}.build-*"):
            shutil.rmtree(stale, ignore_errors=True)
        if image_dir.exists():
            shutil.rmtree(image_dir)
        staging = Path(tempfile.mkdtemp(prefix=f".{image_dir.name}.build-", dir=parent))
        try:
            staging.chmod(0o755)
            build(staging / "rootfs")
            os.sync()  # READY must not outlive the files it vouches for
            (staging / READY).write_text(f"{image_dir.name}\n")
            staging.rename(image_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return image_dir


def _debootstrap(rootfs: Path, mirror: str) -> None:
    binary = which("debootstrap")
    if binary is None:
        raise MachineSetupError(
            "debootstrap not found: `apt-get install debootstrap` to build the base image"
        )
    command = [
        binary, "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(rootfs), mirror,
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MachineSetupError(f"debootstrap {SUITE} from {mirror}: {exc}") from exc
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("E:")]
        reason = (errors or lines or [f"exit status {done.returncode}"])[-1]
        raise MachineSetupError(f"debootstrap {SUITE} from {mirror} failed: {reason}")
    _prepare_base(rootfs)


def _prepare_base(rootfs: Path) -> None:
    # Host keys are made at each OS volume's first boot: no two instances share them.
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*_*"):
        for path in rootfs.glob(pattern):
            path.unlink()
    useradd = which("useradd")
    if useradd is None:
        raise MachineSetupError("useradd not found: `apt-get install passwd`")
    # '*': no password to log in with, yet not a locked account that sshd would refuse.
    done = subprocess.run(
        [useradd, "--root", str(rootfs), "--create-home", "--shell", "/bin/bash",
         "--groups", "sudo", "--password", "*", DEFAULT_USER],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise MachineSetupError(f"useradd {DEFAULT_USER} in the base image: {done.stderr.strip()}")
    sudoers = rootfs / "etc/sudoers.d" / f"90-verda-{DEFAULT_USER}"
    sudoers.write_text(f"{DEFAULT_USER} ALL=(ALL:ALL) NOPASSWD:ALL\n")
    sudoers.chmod(0o440)
    install_init(rootfs)


def install_init(rootfs: Path) -> None:
    """Put the packaged init script at /usr/local/sbin/instance-init (replaced at once: it
    may be running), never through a link that leads out of rootfs (a user's archive
    decides what its directories are)."""
    target = rootfs / INIT
    target.parent.mkdir(parents=True, exist_ok=True)
    if not _inside(rootfs, target.parent):
        raise MachineSetupError(f"/{INIT.rsplit('/', 1)[0]} of the image leads out of it")
    fresh = target.with_name(f".{target.name}.new")
    if fresh.is_symlink() or fresh.exists():
        fresh.unlink()
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o755)
    with os.fdopen(fd, "wb") as out:
        out.write(_packaged_init())
    if os.geteuid() == 0:
        os.chown(fresh, 0, 0)
    fresh.chmod(0o755)
    os.replace(fresh, target)  # a link there is replaced, not followed


def _packaged_init() -> bytes:
    return resources.files("verda_server.machines").joinpath("data/instance-init").read_bytes()


def _installed_init(rootfs: Path) -> bytes | None:
    try:
        with open(rootfs / INIT, "rb", opener=_no_follow) as script:
            return script.read()
    except OSError:
        return None


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)


def _inside(root: Path, path: Path) -> bool:
    """Whether path, its links followed on this host, stays within root."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def _unpack(rootfs: Path, archive: Path) -> None:
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
    if not (_inside(rootfs, sshd.parent) and os.path.lexists(sshd)):
        raise MachineSetupError(
            f"--instance-image {archive} has no /usr/sbin/sshd: install openssh-server in it"
        )
    install_init(rootfs)


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
    if not _inside(root, target.parent):
        raise MachineSetupError(f"--instance-image {archive}: {member.name!r} goes through a link")
    if member.islnk():
        member.linkname = _member_path(member.linkname, archive)
        if not _inside(root, root / member.linkname):
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m verda_server.machines.image",
        description="Build (once) the base root filesystem of podman instances.",
    )
    parser.add_argument("machines_dir", type=Path, help="the data directory's machines/")
    parser.add_argument("--archive", type=Path, help="a tar of a root filesystem instead")
    parser.add_argument("--mirror", help="the Debian mirror (default: the one apt uses)")
    args = parser.parse_args(argv)
    try:
        rootfs = ensure_base(args.machines_dir, args.archive, args.mirror)
    except MachineSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(rootfs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
