"""The base root filesystem every instance's overlay sits on: built once with
debootstrap, or unpacked from a user's archive (`--instance-image`), under
`<machines>/images/<name>/`, whose READY file is written last.

Stdlib only: CI builds the base with `python -m verda_server.machines.image DIR`
before the package's dependencies are installed."""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from importlib import resources
from pathlib import Path

from verda_server.machines import archive as archive_files
from verda_server.machines.errors import MachineSetupError
from verda_server.machines.mirror import apt_mirror

SUITE = "bookworm"
BASE_NAME = f"debian-{SUITE}"
PACKAGES = (
    "openssh-server", "sudo", "python3", "python3-pip", "iproute2", "ca-certificates", "procps",
)  # fmt: skip
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
        build: Callable[[Path], None] = partial(_debootstrap, mirror=mirror or apt_mirror(SUITE))
    else:
        name = f"custom-{archive_files.sha256(archive)[:16]}"
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
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, OSError):  # the disk full, say: still one line
                raise MachineSetupError(f"building {image_dir}: {exc}") from exc
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
    if not archive_files.inside(rootfs, target.parent):
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


def _unpack(rootfs: Path, archive: Path) -> None:
    archive_files.unpack(rootfs, archive)
    install_init(rootfs)


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
