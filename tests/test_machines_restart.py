"""Real instances outlive the server: its own module, since one process at a
time drives a machines directory (the module server of test_machines_podman
has gone by now)."""

from __future__ import annotations

from tests.support.machines import KeyPair, needs_podman, ssh, wait_for
from tests.test_machines_podman import client_of, deploy, podman_names, podman_server

pytestmark = needs_podman


def test_instances_outlive_a_restart_of_the_server(tmp_path):
    key = KeyPair()
    with podman_server(tmp_path) as first:
        instance = deploy(client_of(first), key, "survivor")
        ssh(instance.ip, key, "echo before > /root/state")
    # The server is gone; its machine is not.
    assert ssh(instance.ip, key, "cat /root/state") == "before\n"
    with podman_server(tmp_path) as second:
        sdk = client_of(second)
        assert sdk.instances.get_by_id(instance.id).status == "running"
        assert ssh(instance.ip, key, "cat /root/state") == "before\n"
        sdk.instances.action(instance.id, "delete")
        wait_for(lambda: f"verda-{instance.id}" not in podman_names(), what="container removed")
