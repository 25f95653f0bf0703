"""Remove what the podman driver left on the host: its containers live outside
the server's process tree, so nothing else ends them.

Kept unless `everything`: the base images, and the volumes' data, which the
store still describes (an OS volume is its overlay's upper directory)."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from verda_server.machines.errors import MachineSetupError
from verda_server.machines.image import which
from verda_server.machines.layout import Layout
from verda_server.machines.mounts import mounts_under
from verda_server.machines.podman import Podman


def cleanup(
    machines_dir: Path, everything: bool = False, engine: Podman | None = None
) -> list[str]:
    """Every managed container and network, the instances' mounts and files; what was
    removed, one line each."""
    removed: list[str] = []
    with _controller_stopped(machines_dir):
        if engine is None and which("podman") is not None:
            engine = Podman(binary=which("podman") or "podman")
        if engine is not None:
            for container in engine.containers():
                engine.remove(container.name)
                removed.append(f"container {container.name}")
            # After the containers: a network in use cannot go.
            for network in engine.networks():
                engine.remove_network(network)
                removed.append(f"network {network}")
        instances = Layout(machines_dir).instances
        for mount in sorted(mounts_under(instances), reverse=True):  # nested ones first
            _unmount(mount)
            removed.append(f"mount {mount}")
        # rmtree would go into a mount and delete what it shows.
        left = mounts_under(machines_dir)
        if left:
            raise MachineSetupError(f"{left[0]} is still mounted: nothing under it was removed")
        if everything:
            if machines_dir.exists():
                shutil.rmtree(machines_dir)
                removed.append(f"directory {machines_dir}")
        elif instances.is_dir():
            for directory in sorted(instances.iterdir()):
                _remove(directory)
                removed.append(f"directory {directory}")
            instances.rmdir()
    return removed


@contextmanager
def _controller_stopped(machines_dir: Path) -> Iterator[None]:
    """Hold the controller's lock: a running server would re-create what is removed."""
    if not machines_dir.is_dir():
        yield
        return
    path = Layout(machines_dir).lock
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MachineSetupError(
                f"a running verda-server drives these instances ({path} is locked): stop it first"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _unmount(point: str) -> None:
    umount = which("umount") or "umount"
    for args in ([umount, point], [umount, "--lazy", point]):
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return
    raise MachineSetupError(f"cannot unmount {point}: {done.stderr.strip()}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
