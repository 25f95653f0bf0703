"""For the tests of podman instances: they run only with VERDA_TEST_PODMAN=1 (as in
CI, which then makes a host that cannot run them a failure, not a skip), on the base
rootfs built once into VERDA_TEST_MACHINES_DIR (default: the checkout's .cache)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest

from verda_server.machines.image import BASE_NAME, READY, ensure_base
from verda_server.machines.requirements import missing

PODMAN_ENV = "VERDA_TEST_PODMAN"
MACHINES_ENV = "VERDA_TEST_MACHINES_DIR"
REPO = Path(__file__).resolve().parents[2]


def needs_podman() -> None:
    if os.environ.get(PODMAN_ENV) != "1":
        pytest.skip(f"podman instance tests need {PODMAN_ENV}=1 (and root, podman, runc)")
    ready = (machines_dir() / "images" / BASE_NAME / READY).is_file()
    problem = missing(need_debootstrap=not ready)
    if problem:
        pytest.fail(f"{PODMAN_ENV}=1 but {problem}")


def machines_dir() -> Path:
    return Path(os.environ.get(MACHINES_ENV) or REPO / ".cache" / "machines")


@cache
def base_rootfs() -> Path:
    """The cached base (built on first use; other processes wait for it, never rebuild)."""
    needs_podman()
    return ensure_base(machines_dir())


@contextmanager
def overlay(lower: Path, volume: Path, mount_point: Path) -> Iterator[Path]:
    """The instance root as the driver makes it: volume/upper over the base."""
    for directory in (volume / "upper", volume / "work", mount_point):
        directory.mkdir(parents=True, exist_ok=True)
    options = f"lowerdir={lower},upperdir={volume / 'upper'},workdir={volume / 'work'}"
    subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o", options, str(mount_point)], check=True
    )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False, capture_output=True)


def wait_for_ssh(ip: str, timeout: float = 20) -> str:
    """sshd's banner, once it answers (a stopped address hangs: each try has a timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((ip, 22), timeout=0.5) as conn:
                conn.settimeout(2)
                return conn.recv(64).decode(errors="replace")
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
