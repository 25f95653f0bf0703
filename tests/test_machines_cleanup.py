"""`verda-server instances cleanup`: no container, network, mount or netavark
chain of the driver is left; the images and the volumes' data stay unless --all."""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
from contextlib import suppress
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.machines import base_rootfs, overlay, wait_for_ssh
from verda_server import cli
from verda_server.machines.cleanup import cleanup
from verda_server.machines.errors import MachineSetupError
from verda_server.machines.mounts import mounts_under
from verda_server.machines.podman import MACHINE, MANAGED, EngineError, Podman, RunSpec


class FakeEngine:
    def __init__(self, containers: list[str], networks: list[str]) -> None:
        self._containers, self._networks = containers, networks
        self.calls: list[str] = []

    def containers(self):
        return [type("C", (), {"name": name}) for name in self._containers]

    def networks(self):
        return list(self._networks)

    def remove(self, name: str) -> None:
        self.calls.append(f"rm {name}")

    def remove_network(self, name: str) -> None:
        assert self.calls == [f"rm {c}" for c in self._containers], "containers go first"
        self.calls.append(f"network rm {name}")


def _machines(tmp_path: Path) -> Path:
    machines = tmp_path / "machines"
    for path in ("images/debian-bookworm/rootfs/etc", "volumes/v1/upper/root", "instances/i1/root"):
        (machines / path).mkdir(parents=True)
    (machines / "images/debian-bookworm/READY").write_text("")
    (machines / "volumes/v1/upper/root/data").write_text("kept")
    (machines / "instances/i1/config").mkdir()
    (machines / "instances/i1/config/authorized_keys").write_text("ssh-ed25519 AAAA\n")
    return machines


def test_cleanup_removes_the_instances_and_keeps_images_and_volumes(tmp_path):
    machines = _machines(tmp_path)
    engine = FakeEngine(["verda-i1", "verda-i2"], ["verda-fin-01"])

    removed = cleanup(machines, engine=engine)

    assert engine.calls == ["rm verda-i1", "rm verda-i2", "network rm verda-fin-01"]
    assert removed == [
        "container verda-i1",
        "container verda-i2",
        "network verda-fin-01",
        f"directory {machines / 'instances' / 'i1'}",
    ]
    assert not (machines / "instances").exists()
    assert (machines / "volumes/v1/upper/root/data").read_text() == "kept"
    assert (machines / "images/debian-bookworm/READY").exists()
    assert cleanup(machines, engine=FakeEngine([], [])) == []


def test_cleanup_all_removes_the_whole_machines_directory(tmp_path):
    machines = _machines(tmp_path)
    assert cleanup(machines, everything=True, engine=FakeEngine([], [])) == [
        f"directory {machines}"
    ]
    assert not machines.exists()
    assert cleanup(machines, everything=True, engine=FakeEngine([], [])) == []


def test_cleanup_waits_for_no_server(tmp_path):
    machines = _machines(tmp_path)
    with (machines / "controller.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        engine = FakeEngine(["verda-i1"], [])
        with pytest.raises(MachineSetupError, match=r"controller.lock is locked\): stop it first"):
            cleanup(machines, engine=engine)
    assert engine.calls == []
    assert (machines / "instances/i1/config/authorized_keys").exists()


# With podman, as root.


def _iptables() -> str:
    return "".join(
        subprocess.run(["iptables", *table, "-S"], capture_output=True, text=True).stdout
        for table in ([], ["-t", "nat"])
    )


def _network_chains() -> set[str]:
    """netavark's chains per network: NETAVARK-<hash>, besides its fixed ones."""
    return set(re.findall(r"^-N (NETAVARK-[0-9A-F]+)$", _iptables(), re.MULTILINE))


def _own_podman(directory: Path, monkeypatch) -> None:
    """A podman of the test's own (its containers and networks in `directory`): the command
    removes every managed container of the host's podman, and a server may be running."""
    directory.mkdir()
    (directory / "containers.conf").write_text(
        f'[engine]\ntmp_dir = "{directory}/tmp"\nstatic_dir = "{directory}/static"\n'
        f'volume_path = "{directory}/volumes"\n'
        f'[network]\nnetwork_config_dir = "{directory}/networks"\n'
    )
    (directory / "storage.conf").write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{directory}/graph"\n'
        f'runroot = "{directory}/run"\n'
    )
    monkeypatch.setenv("CONTAINERS_CONF", str(directory / "containers.conf"))
    monkeypatch.setenv("CONTAINERS_STORAGE_CONF", str(directory / "storage.conf"))


def _cleanup(*args: str):
    # Only what the test names: a developer's shell may hold VERDA_SERVER_MACHINES_DIR.
    env = {"VERDA_SERVER_MACHINES_DIR": None, "VERDA_SERVER_DATA_DIR": None}
    return CliRunner().invoke(cli.cli, ["instances", "cleanup", *args], env=env)


def test_the_command_leaves_nothing_of_the_driver(tmp_path, monkeypatch):
    base = base_rootfs()
    _own_podman(tmp_path / "podman", monkeypatch)
    engine = Podman()
    data_dir = tmp_path / "data"
    machines = data_dir / "machines"
    network, subnet = f"verda-cleanup-{os.getpid()}", f"10.251.{os.getpid() % 250}.0/24"
    prefix = subnet.rsplit(".", 1)[0]
    config = machines / "instances/i1/config"
    config.mkdir(parents=True)
    root = machines / "instances/i1/root"
    chains_before = _network_chains()
    engine.create_network(network, subnet, f"{prefix}.254")
    try:
        with overlay(base, machines / "volumes/os1", root):
            engine.run(
                RunSpec(
                    name="verda-cleanup-i1",
                    rootfs=str(root),
                    command=["/usr/local/sbin/instance-init"],
                    hostname="cleanup-i1",
                    networks=[(network, f"{prefix}.2")],
                    labels={MANAGED: "1", MACHINE: "i1"},
                    mounts=[(str(config), "/etc/verda", True)],
                )
            )
            wait_for_ssh(f"{prefix}.2")
            engine.exec("verda-cleanup-i1", "sh", "-c", "echo kept > /root/data")
            assert subnet in _iptables()
            assert _network_chains() - chains_before

            result = _cleanup("--data-dir", str(data_dir))

            assert result.exit_code == 0, result.output
            lines = result.output.splitlines()
            assert "removed container verda-cleanup-i1" in lines
            assert f"removed network {network}" in lines
            assert f"removed mount {root}" in lines
            assert f"removed directory {machines / 'instances' / 'i1'}" in lines
    finally:  # whatever the command left, for the next run
        with suppress(EngineError):
            engine.remove("verda-cleanup-i1")
        with suppress(EngineError):
            engine.remove_network(network)
    assert "verda-cleanup-i1" not in [c.name for c in engine.containers()]
    assert network not in engine.networks()
    assert mounts_under(machines) == []
    assert subnet not in _iptables()
    assert _network_chains() <= chains_before
    assert not (machines / "instances").exists()
    # The OS volume's data and the image stay for the store's volumes.
    assert (machines / "volumes/os1/upper/root/data").read_text() == "kept\n"
    assert (base / "usr/sbin/sshd").exists()

    again = _cleanup("--data-dir", str(data_dir))
    assert (again.exit_code, again.output) == (0, "nothing to remove\n")
    everything = _cleanup("--all", "--machines-dir", str(machines))
    assert (everything.exit_code, everything.output) == (0, f"removed directory {machines}\n")
    assert not machines.exists()
