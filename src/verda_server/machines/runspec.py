"""How one machine is made: its root filesystem mounted (the base image under
its OS disk) and the `podman run` that starts it on that root."""

from __future__ import annotations

from pathlib import Path

from verda_server.machines import files, mounts
from verda_server.machines.layout import Layout
from verda_server.machines.networks import network_name
from verda_server.machines.podman import MACHINE, MANAGED, ROOT, SPEC, RunSpec
from verda_server.machines.spec import Machine

INIT = "/usr/local/sbin/instance-init"


def mount_root(layout: Layout, base: Path, machine: Machine) -> None:
    if machine.ephemeral:
        upper = layout.ephemeral_os(machine.key)
    else:
        assert machine.os_volume_id is not None
        upper = layout.volume(machine.os_volume_id)
    mounts.mount_overlay(base, upper, layout.rootfs(machine.key))


def run_spec(layout: Layout, machine: Machine) -> RunSpec:
    volume_mounts: list[tuple[str, str, bool]] = [
        (str(layout.config(machine.key)), "/etc/verda", True)
    ]
    if files.CA_BUNDLE.is_file():
        volume_mounts.append((str(files.CA_BUNDLE), str(files.CA_BUNDLE), True))
    for volume in machine.volumes:
        data = layout.volume(volume.volume_id)
        # An OS disk attached as data shows what its instance wrote.
        data = data / "upper" if volume.is_os_volume else data
        data.mkdir(parents=True, exist_ok=True)
        volume_mounts += [(str(data), path, False) for path in volume.paths]
    networks: list[tuple[str, str | None]] = []
    if machine.ip is not None:
        networks.append((network_name(machine.location), machine.ip))
    if machine.private is not None:
        networks.append((machine.private.network, None))
    return RunSpec(
        name=machine.name,
        rootfs=str(layout.rootfs(machine.key)),
        command=[INIT],
        hostname=machine.hostname,
        networks=networks,
        labels={
            MANAGED: "1",
            ROOT: str(layout.root),
            MACHINE: machine.key,
            SPEC: machine.fingerprint(),
        },
        mounts=volume_mounts,
        hosts=[(name, ip) for name, ip in machine.hosts if name != machine.hostname],
        cpus=machine.cpus,
        memory_mb=machine.memory_mb,
    )
