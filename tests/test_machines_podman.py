"""Real instances (`serve --instances podman`), end to end: the official SDK
deploys and drives them, paramiko logs into them. Needs root, podman and runc
(`.ci/run` installs them and sets VERDA_TEST_PODMAN=1); skipped elsewhere."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.machines import MACHINES_DIR, KeyPair, needs_podman, reachable, ssh, wait_for
from tests.support.process import ServerProcess, run_server

pytestmark = needs_podman

CLIENT_ID, CLIENT_SECRET = "podman-client", "podman-secret-0123456789"
TYPE, IMAGE, LOCATION = "CPU.4V.16G", "ubuntu-24.04", "FIN-01"


def podman_names() -> set[str]:
    out = subprocess.run(
        ["podman", "ps", "--all", "--filter", "label=io.verda.managed=1", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {item["Names"][0] for item in json.loads(out or "[]")}


# The options as their variables (README, Command line): each is checked here.
SCALE = 0.25


@contextmanager
def podman_server(data_dir: Path, **env: str) -> Iterator[ServerProcess]:
    with run_server(
        "--data-dir", str(data_dir),
        "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET,
        "--rate-limits", "off",
        env={
            "VERDA_SERVER_INSTANCES": "podman",
            "VERDA_SERVER_MACHINES_DIR": str(MACHINES_DIR),
            "VERDA_SERVER_INSTANCE_SCALE": str(SCALE),
            **env,
        },
    ) as server:  # fmt: skip
        try:
            yield server
        finally:
            print(server.text)  # the server's log, shown when a test fails


def client_of(server: ServerProcess) -> Any:
    from verda import VerdaClient

    return VerdaClient(CLIENT_ID, CLIENT_SECRET, base_url=server.base_url + "/v1")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with podman_server(tmp_path_factory.mktemp("podman-store")) as server:
        yield server
        # What the tests left is deleted through the API: the driver removes it.
        client = client_of(server)
        live = [i.id for i in client.instances.get()]
        if live:
            client.instances.action(live, "delete")
        wait_for(lambda: not podman_names(), what="every container removed")


@pytest.fixture(scope="module")
def key() -> KeyPair:
    return KeyPair()


@pytest.fixture(scope="module")
def sdk(server: ServerProcess) -> Any:
    return client_of(server)


def deploy(sdk: Any, key: KeyPair, hostname: str, **more: Any) -> Any:
    key_id = sdk.ssh_keys.create(f"key-{hostname}", key.public).id
    instance = sdk.instances.create(
        TYPE, IMAGE, hostname, "real", ssh_key_ids=[key_id], location=LOCATION, **more
    )
    # Its machine answering is what ends provisioning.
    return wait_status(sdk, instance.id, "running")


def wait_status(sdk: Any, instance_id: str, status: str) -> Any:
    return wait_for(
        lambda: (i := sdk.instances.get_by_id(instance_id)).status == status and i,
        what=f"instance {status}",
    )


def test_a_deployed_instance_is_a_machine_to_log_into(sdk, key):
    script = sdk.startup_scripts.create("hello", "#!/bin/sh\necho first boot of $(hostname)\n")
    instance = deploy(
        sdk,
        key,
        "real-one",
        startup_script_id=script.id,
        volumes=[{"name": "data", "size": 10, "type": "NVMe"}],
    )
    assert ssh(instance.ip, key, "hostname").strip() == "real-one"
    assert key.public.split()[1] in ssh(instance.ip, key, "cat /root/.ssh/authorized_keys")
    assert ssh(instance.ip, key, "sudo -n id -u", user="ubuntu").strip() == "0"
    log = wait_for(
        lambda: ssh(instance.ip, key, "cat /var/log/startup.log 2>/dev/null || true"),
        what="the startup script's output",
    )
    assert log == "first boot of real-one\n"
    data = next(v for v in sdk.volumes.get() if v.name == "data")
    # Where the documented mount command puts it, and at its own pseudo path.
    ssh(instance.ip, key, f"echo kept > /mnt/volume/file && test -f /mnt/{data.pseudo_path}/file")


def test_shutdown_stops_the_machine_and_start_brings_back_its_data(sdk, key):
    script = sdk.startup_scripts.create("once", "#!/bin/sh\necho ran\n")
    instance = deploy(sdk, key, "stop-start", startup_script_id=script.id)
    wait_for(lambda: ssh(instance.ip, key, "cat /var/log/startup.log || true"), what="script")
    ssh(instance.ip, key, "echo on-the-os-disk > /root/mark")
    sdk.instances.action(instance.id, "shutdown")
    assert sdk.instances.get_by_id(instance.id).status == "offline"
    wait_for(lambda: not reachable(instance.ip, key), what="ssh to fail")
    sdk.instances.action(instance.id, "start")
    wait_status(sdk, instance.id, "running")
    assert ssh(instance.ip, key, "cat /root/mark") == "on-the-os-disk\n"
    # Run once per OS disk: not again at the second boot.
    assert ssh(instance.ip, key, "cat /var/log/startup.log") == "ran\n"


def test_a_volume_moves_with_its_data_to_another_instance(sdk, key):
    first = deploy(sdk, key, "giver", volumes=[{"name": "moving", "size": 10, "type": "NVMe"}])
    ssh(first.ip, key, "echo travelled > /mnt/volume/note")
    volume = next(v for v in sdk.volumes.get() if v.name == "moving")
    second = deploy(sdk, key, "taker")
    for instance in (first, second):
        sdk.instances.action(instance.id, "shutdown")
    sdk.volumes.detach(volume.id)
    sdk.volumes.attach(volume.id, second.id)
    sdk.instances.action(second.id, "start")
    wait_status(sdk, second.id, "running")
    assert ssh(second.ip, key, "cat /mnt/volume/note") == "travelled\n"


def test_a_clone_holds_what_its_source_held_when_cloned(sdk, key):
    instance = deploy(
        sdk, key, "cloner", volumes=[{"name": "original", "size": 10, "type": "NVMe"}]
    )
    ssh(instance.ip, key, "echo before-clone > /mnt/volume/note")
    sdk.instances.action(instance.id, "shutdown")
    original = next(v for v in sdk.volumes.get() if v.name == "original")
    clone = sdk.volumes.clone(original.id, "copy")
    sdk.volumes.attach(clone.id, instance.id)
    sdk.instances.action(instance.id, "start")
    wait_status(sdk, instance.id, "running")
    assert ssh(instance.ip, key, f"cat /mnt/{clone.pseudo_path}/note") == "before-clone\n"


def test_limits_are_the_instance_types_times_the_scale(sdk, key):
    instance = deploy(sdk, key, "limited")  # CPU.4V.16G: 4 CPUs, 16 GiB
    limit = int(ssh(instance.ip, key, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes"))
    assert limit == int(16 * SCALE * 2**30)
    quota = int(ssh(instance.ip, key, "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us"))
    period = int(ssh(instance.ip, key, "cat /sys/fs/cgroup/cpu/cpu.cfs_period_us"))
    assert quota / period == min(4 * SCALE, os.cpu_count() or 1)


def test_an_instance_image_without_sshd_stops_start_up_with_one_line(tmp_path):
    archive = tmp_path / "empty.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("etc/hostname")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"x\n\n"))
    store = tmp_path / "store"
    with (
        pytest.raises(RuntimeError) as failed,
        podman_server(store, VERDA_SERVER_INSTANCE_IMAGE=str(archive)),
    ):
        pass
    lines = [line for line in str(failed.value).splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "sshd" in lines[0]


def test_delete_removes_the_machine(sdk, key):
    instance = deploy(sdk, key, "short-lived")
    assert f"verda-{instance.id}" in podman_names()
    sdk.instances.action(instance.id, "delete")
    wait_for(lambda: f"verda-{instance.id}" not in podman_names(), what="container removed")
    assert not reachable(instance.ip, key)


def test_a_machine_that_dies_puts_its_instance_in_error(sdk, key):
    instance = deploy(sdk, key, "fragile")
    subprocess.run(["podman", "kill", f"verda-{instance.id}"], check=True, capture_output=True)
    wait_status(sdk, instance.id, "error")


def test_a_cluster_is_a_jump_host_and_its_worker_nodes_sharing_home(sdk, key):
    key_id = sdk.ssh_keys.create("cluster-key", key.public).id
    created = sdk.clusters.create(
        "16B200", "ubuntu-22.04-cuda-12.9-cluster", "gpu", ssh_key_ids=[key_id]
    )
    cluster = wait_for(
        lambda: (c := sdk.clusters.get_by_id(created.id)).status == "running" and c,
        what="cluster running",
    )
    assert [n.hostname for n in cluster.worker_nodes] == ["gpu-1", "gpu-2"]
    jump = cluster.ip
    assert ssh(jump, key, "hostname").strip() == "gpu"
    ssh(jump, key, "echo shared > /home/from-jump")
    for node in cluster.worker_nodes:
        # From the jump host, by name, with the cluster's own key.
        assert ssh(jump, key, f"ssh {node.hostname} hostname").strip() == node.hostname
        assert ssh(jump, key, f"ssh {node.private_ip} cat /home/from-jump") == "shared\n"
    sdk.clusters.delete(cluster.id)
    wait_for(
        lambda: not {n for n in podman_names() if n.startswith(f"verda-{cluster.id}")},
        what="the cluster's containers removed",
    )
    wait_for(lambda: f"verda-c-{cluster.id}" not in podman_networks(), what="network removed")


def podman_networks() -> set[str]:
    out = subprocess.run(
        ["podman", "network", "ls", "--format", "{{.Name}}"], capture_output=True, text=True
    ).stdout
    return set(out.split())
