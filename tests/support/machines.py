"""Real instances for the tests: whether this run has Podman, the machines
directory whose base image is built once per run, and SSH into an instance."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from verda_server.machines.image import ensure_base
from verda_server.machines.requirements import missing

# `.ci/run` sets both: the tests of real instances then must run, not skip.
WANTED = os.environ.get("VERDA_TEST_PODMAN") == "1"
MACHINES_DIR = Path(os.environ.get("VERDA_TEST_MACHINES_DIR", "/tmp/verda-test-machines"))

needs_podman = pytest.mark.skipif(
    not WANTED, reason="real instances: set VERDA_TEST_PODMAN=1 (root, podman, runc)"
)


def require_podman() -> None:
    """Skip without VERDA_TEST_PODMAN=1; with it, a host that can't run instances fails."""
    if not WANTED:
        pytest.skip("real instances: set VERDA_TEST_PODMAN=1 (root, podman, runc)")
    problem = missing(need_debootstrap=False)
    if problem:
        pytest.fail(f"VERDA_TEST_PODMAN=1 but {problem}")


@cache
def base_rootfs() -> Path:
    """The base in MACHINES_DIR: built by the first caller of the run (or by `.ci/run`
    before it), which other processes wait for rather than build again."""
    require_podman()
    return ensure_base(MACHINES_DIR)


@contextmanager
def overlay(lower: Path, volume: Path, mount_point: Path) -> Iterator[Path]:
    """An instance's root as the driver makes it: the volume's upper/ over the base."""
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


def wait_for_ssh(ip: str, timeout: float = 30) -> str:
    """sshd's banner once it answers (a stopped address hangs: each try has a timeout)."""
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


def wait_for(check: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


class KeyPair:
    def __init__(self) -> None:
        import paramiko

        self.private = paramiko.Ed25519Key.from_private_key(io.StringIO(_new_ed25519_pem()))
        self.public = f"{self.private.get_name()} {self.private.get_base64()} test@verda"


def _new_ed25519_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )


def ssh(ip: str, key: KeyPair, command: str, user: str = "root", timeout: float = 5) -> str:
    """Run `command` on the instance; its standard output (AssertionError on a
    non-zero exit, OSError/paramiko errors when it can't be reached)."""
    import paramiko

    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        ip,
        username=user,
        pkey=key.private,
        timeout=timeout,
        banner_timeout=timeout,
        auth_timeout=timeout,
        allow_agent=False,
        look_for_keys=False,
    )
    try:
        _stdin, stdout, stderr = client.exec_command(command, timeout=timeout)
        status = stdout.channel.recv_exit_status()
        out = stdout.read().decode()
        assert status == 0, f"{command!r} exited {status}: {stderr.read().decode()}"
        return out
    finally:
        client.close()


def reachable(ip: str, key: KeyPair) -> bool:
    try:
        ssh(ip, key, "true", timeout=2)
    except Exception:
        return False
    return True
