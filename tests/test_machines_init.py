"""The init script of every instance, run for real in a container on the base
image: hostname, keys for root and the default user at every boot, the startup
script once per OS volume with its output in /var/log/startup.log, the
environment once; a user's archive gets the same."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.support.machines import base_rootfs, overlay, wait_for_ssh
from verda_server.machines.image import ensure_base
from verda_server.machines.podman import EngineError, Podman, RunSpec

STARTUP = """#!/bin/sh
echo "started as $(id -un) in $PWD with PIP_CERT=$PIP_CERT"
echo ran >> /root/runs
"""
ENVIRONMENT = "PIP_CERT=/etc/ssl/certs/ca-certificates.crt\n"


@pytest.fixture(scope="module")
def network() -> Iterator[tuple[Podman, str, str]]:
    base_rootfs()  # skips, or fails, before anything is made
    engine = Podman()
    name, prefix = f"verda-init-{os.getpid()}", f"10.252.{os.getpid() % 250}"
    # Without the driver's labels: a server running meanwhile removes what it did not make.
    subprocess.run(
        ["podman", "network", "create", "--subnet", f"{prefix}.0/24", "--gateway",
         f"{prefix}.254", name],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield engine, name, prefix
    finally:
        engine.remove_network(name)


def _key(directory: Path, name: str) -> tuple[Path, str]:
    private = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(private)], check=True
    )
    return private, (directory / f"{name}.pub").read_text()


@contextmanager
def _instance(engine: Podman, network: str, ip: str, root: Path, config: Path) -> Iterator[str]:
    name = f"verda-init-{os.getpid()}-{ip.rsplit('.', 1)[1]}"
    engine.run(
        RunSpec(
            name=name,
            rootfs=str(root),
            command=["/usr/local/sbin/instance-init"],
            hostname="init-test-1",
            networks=[(network, ip)],
            labels={},
            mounts=[(str(config), "/etc/verda", True)],
        )
    )
    try:
        assert wait_for_ssh(ip).startswith("SSH-2.0-OpenSSH")
        yield name
    finally:
        with suppress(EngineError):
            engine.remove(name)


def _sh(engine: Podman, name: str, script: str) -> str:
    return engine.exec(name, "sh", "-c", script).strip()


def _startup_log(engine: Podman, name: str) -> str:
    deadline = time.monotonic() + 10
    while True:  # the script runs in the background of the boot
        log = _sh(engine, name, "cat /var/log/startup.log 2>/dev/null || true")
        if log or time.monotonic() > deadline:
            return log
        time.sleep(0.1)


def _ssh(key: Path, user: str, ip: str, command: str) -> str:
    done = subprocess.run(
        ["ssh", "-i", str(key), "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "LogLevel=ERROR", f"{user}@{ip}", command],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_init_prepares_the_machine_once_per_os_volume(tmp_path, network):
    engine, net, prefix = network
    ip = f"{prefix}.2"
    key, public = _key(tmp_path, "first")
    config = tmp_path / "config"
    config.mkdir()
    (config / "authorized_keys").write_text(public)
    (config / "startup-script").write_text(STARTUP)
    (config / "environment").write_text(ENVIRONMENT)

    with overlay(base_rootfs(), tmp_path / "os-volume", tmp_path / "root") as root:
        with _instance(engine, net, ip, root, config) as name:
            assert _sh(engine, name, "hostname") == "init-test-1"
            assert _sh(engine, name, "cat /root/.ssh/authorized_keys") == public.strip()
            assert (
                _sh(
                    engine,
                    name,
                    "stat -c '%U %a' /home/ubuntu/.ssh /home/ubuntu/.ssh/authorized_keys",
                )
                == "ubuntu 700\nubuntu 600"
            )
            assert _startup_log(engine, name) == (
                "started as root in /root with PIP_CERT=/etc/ssl/certs/ca-certificates.crt"
            )
            assert _sh(engine, name, "grep -c PIP_CERT /etc/environment") == "1"
            host_key = _sh(engine, name, "cat /etc/ssh/ssh_host_ed25519_key.pub")
            if shutil.which("ssh"):
                assert _ssh(key, "root", ip, "hostname") == "init-test-1"
                assert _ssh(key, "ubuntu", ip, "sudo -n id -un") == "root"

            # Keys change between boots; the startup script and environment do not run again.
            second, second_public = _key(tmp_path, "second")
            (config / "authorized_keys").write_text(second_public)
            engine.stop(name)
            engine.start(name)
            wait_for_ssh(ip)
            assert _sh(engine, name, "cat /home/ubuntu/.ssh/authorized_keys") == (
                second_public.strip()
            )
            if shutil.which("ssh"):
                assert _ssh(second, "ubuntu", ip, "id -un") == "ubuntu"

        # A new container on the same OS volume (a re-created instance) is the same machine.
        with _instance(engine, net, ip, root, config) as name:
            assert _sh(engine, name, "cat /etc/ssh/ssh_host_ed25519_key.pub") == host_key
            time.sleep(0.5)  # what would start a second run has had its chance
            assert _sh(engine, name, "cat /root/runs") == "ran"
            assert _startup_log(engine, name).count("started") == 1
            assert _sh(engine, name, "grep -c PIP_CERT /etc/environment") == "1"


def test_an_archived_root_without_the_default_user_gets_one_at_boot(tmp_path, network):
    engine, net, prefix = network
    archive = tmp_path / "exported.tar"
    subprocess.run(["tar", "-C", str(base_rootfs()), "-cf", str(archive), "."], check=True)
    rootfs = ensure_base(tmp_path / "machines", archive=archive)
    subprocess.run(["userdel", "--root", str(rootfs), "--remove", "ubuntu"], check=True)
    (rootfs / "etc/sudoers.d/90-verda-ubuntu").unlink()
    archive.unlink()
    _, public = _key(tmp_path, "key")
    config = tmp_path / "config"
    config.mkdir()
    (config / "authorized_keys").write_text(public)

    with (
        overlay(rootfs, tmp_path / "os-volume", tmp_path / "root") as root,
        _instance(engine, net, f"{prefix}.3", root, config) as name,
    ):
        assert _sh(engine, name, "getent passwd ubuntu | cut -d: -f6,7") == "/home/ubuntu:/bin/bash"
        assert _sh(engine, name, "cat /home/ubuntu/.ssh/authorized_keys") == public.strip()
        assert _sh(engine, name, "su ubuntu -c 'sudo -n id -un'") == "root"
        assert _sh(engine, name, "test -e /var/log/startup.log || echo none") == "none"
