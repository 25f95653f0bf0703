"""The Podman driver's controller against an engine that only records (no
root, no podman): what each lifecycle action asks of the engine, and what the
engine's reports do to the instance, through the real HTTP stack and store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.keys import ed25519_key
from tests.support.live import TLS, LiveServer, start_live_server
from verda_server.config import Machines
from verda_server.machines import controller as controller_module
from verda_server.machines import driver, mounts, probes
from verda_server.machines.controller import MachineController
from verda_server.machines.layout import Layout
from verda_server.machines.podman import MACHINE, SPEC, Container, RunSpec


class FakeEngine:
    def __init__(self) -> None:
        self.containers_: dict[str, Container] = {}
        self.runs: list[RunSpec] = []
        self.calls: list[tuple[str, str]] = []
        self.networks_: dict[str, tuple[str, str]] = {}
        self.private_networks: list[str] = []
        self.removed_networks: list[str] = []
        self.next_pid = 1000
        self.addresses: list[tuple[int, str, str]] = []

    def containers(self) -> list[Container]:
        return list(self.containers_.values())

    def networks(self) -> list[str]:
        return [*self.networks_, *self.private_networks]

    def create_network(self, name: str, subnet: str, gateway: str) -> None:
        self.networks_[name] = (subnet, gateway)

    def pid(self, name: str) -> int:
        return self.containers_[name].pid if name in self.containers_ else 0

    def create_private_network(self, name: str) -> None:
        self.private_networks.append(name)

    def remove_network(self, name: str) -> None:
        self.removed_networks.append(name)
        if name in self.private_networks:
            self.private_networks.remove(name)

    def run(self, spec: RunSpec) -> None:
        self.runs.append(spec)
        self.calls.append(("run", spec.name))
        self.containers_[spec.name] = Container(spec.name, "running", dict(spec.labels))
        self._set(spec.name, "running")

    def _set(self, name: str, state: str) -> None:
        # A process of its own each time it runs, as on a host.
        self.next_pid += 1
        pid = self.next_pid if state == "running" else 0
        self.containers_[name] = replace(self.containers_[name], state=state, pid=pid)

    def name_of(self, pid: int) -> str | None:
        return next((c.name for c in self.containers_.values() if c.pid == pid), None)

    def start(self, name: str) -> None:
        self.calls.append(("start", name))
        self._set(name, "running")

    def stop(self, name: str, timeout: int = 5) -> None:
        self.calls.append(("stop", name))
        self._set(name, "exited")

    def kill(self, name: str) -> None:
        self.calls.append(("kill", name))
        self._set(name, "exited")

    def remove(self, name: str) -> None:
        self.calls.append(("remove", name))
        self.containers_.pop(name, None)


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def answering(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Addresses whose sshd answers."""
    up: set[str] = set()
    monkeypatch.setattr(probes, "answers_ssh", lambda ip: ip in up)
    return up


@pytest.fixture
def server(
    tmp_path: Path, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    base = tmp_path / "base"
    base.mkdir()
    monkeypatch.setattr(driver, "prepare", lambda config: (Layout(config.root), base))
    monkeypatch.setattr(driver, "Podman", lambda: engine)
    # Never into a host process's namespace: the fake's pids are made up.
    monkeypatch.setattr(
        probes,
        "set_address",
        lambda pid, nic, address: engine.addresses.append((pid, nic, address)),
    )
    monkeypatch.setattr(
        mounts,
        "mount_overlay",
        lambda lower, os_volume, target: os_volume.mkdir(parents=True, exist_ok=True),
    )
    machines = Machines(driver="podman", root=tmp_path / "machines")
    with start_live_server(f"sqlite:///{tmp_path / 'store.db'}", machines=machines) as live:
        # Passes are driven by hand here, not by the thread.
        ctrl = live.context.machines
        assert ctrl is not None
        ctrl.stop()
        yield live


@pytest.fixture
def ctrl(server: LiveServer) -> MachineController:
    assert server.context.machines is not None
    return server.context.machines


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    creds = server.new_project()
    with httpx.Client(base_url=server.base_url, verify=TLS) as bare:
        token = creds.access_token(bare)
    with httpx.Client(
        base_url=server.base_url, verify=TLS, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


def deploy(api: httpx.Client, **more: Any) -> str:
    key = api.post("/v1/ssh-keys", json={"name": "k", "key": ed25519_key()}).text
    body = {
        "instance_type": "CPU.4V.16G",
        "image": "ubuntu-24.04",
        "hostname": "fake-host",
        "description": "d",
        "ssh_key_ids": [key],
        "location_code": "FIN-01",
        **more,
    }
    response = api.post("/v1/instances", json=body)
    assert response.status_code == 202, response.text
    return response.text


def running(
    server: LiveServer, api: httpx.Client, ctrl: MachineController, answering: set[str], **more: Any
) -> str:
    """A deployed instance whose machine was made and answered: running."""
    instance_id = deploy(api, **more)
    ctrl.reconcile()
    answering.add(stored_ip(server, instance_id))
    ctrl.reconcile()
    return instance_id


def status(api: httpx.Client, instance_id: str) -> str:
    return str(api.get(f"/v1/instances/{instance_id}").json()["status"])


def stored_ip(server: LiveServer, instance_id: str) -> str:
    from verda_server.instances.models import Instance

    with server.context.db.read() as session:
        instance = session.get(Instance, instance_id)
        assert instance is not None and instance.ip is not None
        return instance.ip


def test_provisioning_lasts_until_the_machine_answers_whatever_the_clock(
    server, api, ctrl, engine, answering
):
    instance_id = deploy(api)
    server.clock.advance(3000)  # no duration ends it (tokens live 3600 s)
    assert status(api, instance_id) == "provisioning"
    ctrl.reconcile()
    (run,) = engine.runs
    assert run.name == f"verda-{instance_id}" and run.labels[MACHINE] == instance_id
    assert run.hostname == "fake-host"
    assert run.networks == [("verda-fin-01", stored_ip(server, instance_id))]
    assert engine.networks_ == {"verda-fin-01": ("100.64.0.0/20", "100.64.15.254")}
    ctrl.reconcile()
    assert status(api, instance_id) == "provisioning"  # sshd not answering yet
    answering.add(stored_ip(server, instance_id))
    ctrl.reconcile()
    assert status(api, instance_id) == "running"
    assert len(engine.runs) == 1


def test_the_config_carries_keys_and_startup_script(server, api, ctrl, engine, answering, tmp_path):
    key = ed25519_key()
    key_id = api.post("/v1/ssh-keys", json={"name": "mine", "key": key}).text
    script_id = api.post("/v1/scripts", json={"name": "s", "script": "echo hi"}).text
    instance_id = deploy(api, ssh_key_ids=[key_id], startup_script_id=script_id)
    ctrl.reconcile()
    config = tmp_path / "machines" / "instances" / instance_id / "config"
    assert (config / "authorized_keys").read_text() == key.strip() + "\n"
    assert (config / "startup-script").read_text() == "echo hi"
    (run,) = engine.runs
    assert (str(config), "/etc/verda", True) in run.mounts


def test_data_volumes_mount_at_their_pseudo_path_the_first_also_at_mnt_volume(
    server, api, ctrl, engine, tmp_path
):
    instance_id = deploy(
        api,
        volumes=[
            {"name": "a", "size": 10, "type": "NVMe"},
            {"name": "b", "size": 10, "type": "NVMe"},
        ],
    )
    ctrl.reconcile()
    volumes = {v["name"]: v for v in api.get("/v1/volumes").json()}
    a, b = volumes["a"], volumes["b"]
    (run,) = engine.runs
    inside = {(Path(host).name, path) for host, path, read_only in run.mounts if not read_only}
    assert inside == {
        (a["id"], f"/mnt/{a['pseudo_path']}"),
        (a["id"], "/mnt/volume"),
        (b["id"], f"/mnt/{b['pseudo_path']}"),
    }
    assert (tmp_path / "machines" / "volumes" / a["id"]).is_dir()
    assert status(api, instance_id) == "provisioning"


def test_shutdown_stops_start_starts_delete_removes(server, api, ctrl, engine, answering):
    instance_id = running(server, api, ctrl, answering)
    name = f"verda-{instance_id}"
    assert (
        api.put("/v1/instances", json={"action": "shutdown", "id": instance_id}).status_code == 202
    )
    ctrl.reconcile()
    assert engine.calls[-1] == ("stop", name)
    ctrl.reconcile()
    assert engine.calls[-1] == ("stop", name)  # nothing more to do
    assert status(api, instance_id) == "offline"
    api.put("/v1/instances", json={"action": "start", "id": instance_id})
    assert status(api, instance_id) == "provisioning"
    ctrl.reconcile()
    assert engine.calls[-1] == ("start", name)
    ctrl.reconcile()
    assert status(api, instance_id) == "running"
    api.put("/v1/instances", json={"action": "delete", "id": instance_id})
    ctrl.reconcile()
    assert engine.calls[-1] == ("remove", name) and not engine.containers_


def test_a_machine_that_stopped_by_itself_is_an_error_and_stays_stopped(
    server, api, ctrl, engine, answering
):
    instance_id = running(server, api, ctrl, answering)
    engine._set(f"verda-{instance_id}", "exited")
    ctrl.reconcile()
    assert status(api, instance_id) == "error"
    ctrl.reconcile()
    assert engine.calls[-1] == ("run", f"verda-{instance_id}")  # not started again


def test_error_forced_by_the_operator_kills_the_machine(server, api, ctrl, engine, answering):
    instance_id = deploy(api)
    ctrl.reconcile()
    response = server_admin(server).post(
        f"/_admin/v1/instances/{instance_id}/force", json={"status": "error"}
    )
    assert response.status_code == 200, response.text
    ctrl.reconcile()
    assert engine.calls[-1] == ("kill", f"verda-{instance_id}")


def server_admin(server: LiveServer) -> httpx.Client:
    from tests.support.live import ADMIN_TOKEN

    return httpx.Client(
        base_url=server.base_url, verify=TLS, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )


def test_a_missing_machine_is_made_again_on_its_os_volume(server, api, ctrl, engine, answering):
    instance_id = running(server, api, ctrl, answering)
    engine.containers_.clear()  # removed behind the driver's back (or a cleanup)
    ctrl.reconcile()
    assert [r.name for r in engine.runs] == [f"verda-{instance_id}"] * 2
    assert status(api, instance_id) == "running"


def test_a_stopped_machine_whose_mounts_changed_is_made_anew(server, api, ctrl, engine, answering):
    instance_id = running(server, api, ctrl, answering)
    api.put("/v1/instances", json={"action": "shutdown", "id": instance_id})
    ctrl.reconcile()
    volume = api.post(
        "/v1/volumes",
        json={"type": "NVMe", "name": "late", "size": 10, "location_code": "FIN-01",
              "instance_id": instance_id},
    )  # fmt: skip
    assert volume.status_code == 202, volume.text
    first_spec = engine.runs[0].labels[SPEC]
    api.put("/v1/instances", json={"action": "start", "id": instance_id})
    ctrl.reconcile()
    assert engine.calls[-2:] == [
        ("remove", f"verda-{instance_id}"),
        ("run", f"verda-{instance_id}"),
    ]
    assert engine.runs[-1].labels[SPEC] != first_spec
    assert any(path == "/mnt/volume" for _h, path, _ro in engine.runs[-1].mounts)


def test_a_machine_that_cannot_be_made_fails_the_install(server, api, ctrl, engine, monkeypatch):
    from verda_server.machines.podman import EngineError

    def refuse(spec: RunSpec) -> None:
        raise EngineError("podman run: no space left")

    monkeypatch.setattr(engine, "run", refuse)
    now = [1000.0]
    monkeypatch.setattr(controller_module.time, "monotonic", lambda: now[0])
    instance_id = deploy(api)
    for attempt in range(1, controller_module.CREATE_ATTEMPTS):
        ctrl.reconcile()
        assert status(api, instance_id) == "provisioning"
        assert engine.calls[-1] == ("remove", f"verda-{instance_id}")  # the half-made one
        calls = len(engine.calls)
        now[0] += 2.0**attempt - 0.01
        ctrl.reconcile()
        assert len(engine.calls) == calls  # backing off: not tried again yet
        now[0] += 0.01
    ctrl.reconcile()
    assert status(api, instance_id) == "installation_failed"
    ctrl.reconcile()
    assert not ctrl._failures  # no longer wanted: its count is not kept for ever


def test_unwanted_files_and_purged_volumes_data_are_collected(
    server, api, ctrl, engine, answering, tmp_path
):
    instance_id = running(
        server, api, ctrl, answering, volumes=[{"name": "gone", "size": 10, "type": "NVMe"}]
    )
    volume_id = next(v["id"] for v in api.get("/v1/volumes").json() if v["name"] == "gone")
    machines = tmp_path / "machines"
    assert (machines / "instances" / instance_id).is_dir()
    deleted = api.put(
        "/v1/instances",
        json={"action": "delete", "id": instance_id, "volume_ids": [volume_id],
              "delete_permanently": True},
    )  # fmt: skip
    assert deleted.status_code == 202, deleted.text
    ctrl.reconcile()
    assert not (machines / "instances" / instance_id).exists()
    assert not (machines / "volumes" / volume_id).exists()
    # The OS volume went to the trash: its data stays until it is purged.
    os_volume = api.get(f"/v1/instances/{instance_id}").json()["os_volume_id"]
    assert (machines / "volumes" / os_volume).is_dir()


def test_mounts_changed_between_two_passes_still_make_the_machine_anew(
    server, api, ctrl, engine, answering
):
    """Shut down, given a volume and started again before the controller saw
    it stopped: the running container has the old mounts."""
    instance_id = running(server, api, ctrl, answering)
    api.put("/v1/instances", json={"action": "shutdown", "id": instance_id})
    api.post(
        "/v1/volumes",
        json={"type": "NVMe", "name": "late", "size": 10, "location_code": "FIN-01",
              "instance_id": instance_id},
    )  # fmt: skip
    api.put("/v1/instances", json={"action": "start", "id": instance_id})
    ctrl.reconcile()
    assert engine.calls[-2:] == [
        ("remove", f"verda-{instance_id}"),
        ("run", f"verda-{instance_id}"),
    ]
    assert any(path == "/mnt/volume" for _h, path, _ro in engine.runs[-1].mounts)
    ctrl.reconcile()
    assert status(api, instance_id) == "running"


def test_containers_of_another_machines_directory_are_left_alone(server, api, ctrl, engine):
    from verda_server.machines.podman import MANAGED, ROOT

    foreign = {MANAGED: "1", MACHINE: "not-in-this-store", ROOT: "/elsewhere/machines"}
    engine.containers_["verda-not-in-this-store"] = Container(
        "verda-not-in-this-store", "running", foreign
    )
    ctrl.reconcile()
    assert "verda-not-in-this-store" in engine.containers_
    assert ("remove", "verda-not-in-this-store") not in engine.calls


# ---- clusters ----------------------------------------------------------------


@pytest.fixture
def nodes_up(monkeypatch: pytest.MonkeyPatch, engine: FakeEngine) -> set[str]:
    """Containers whose sshd listens (worker nodes: seen from the host by pid)."""
    up: set[str] = set()
    monkeypatch.setattr(probes, "listens_ssh", lambda pid: engine.name_of(pid) in up)
    return up


def test_a_cluster_is_a_jump_host_and_its_workers_on_a_private_network(
    server, api, ctrl, engine, answering, nodes_up
):
    from tests.support.clusters import cluster_body

    created = api.post("/v1/clusters", json=cluster_body(hostname="gpu"))
    assert created.status_code == 201, created.text
    cluster_id = created.json()["id"]
    server.clock.advance(3000)
    ctrl.reconcile()
    runs = {r.name: r for r in engine.runs}
    jump, workers = runs.pop(f"verda-{cluster_id}-jump"), runs
    assert jump.hostname == "gpu"
    assert sorted(w.hostname for w in workers.values()) == ["gpu-1", "gpu-2"]
    assert sorted(workers) == [f"verda-{cluster_id}-1", f"verda-{cluster_id}-2"]  # 16 GPUs: 2 nodes
    network = f"verda-c-{cluster_id}"
    assert engine.private_networks == [network]
    assert jump.networks == [("verda-fin-03", jump.networks[0][1]), (network, None)]
    assert all(w.networks == [(network, None)] for w in workers.values())
    assert sorted(jump.hosts) == [("gpu-1", "10.0.0.2"), ("gpu-2", "10.0.0.3")]
    assert ("gpu", "10.0.0.1") in workers[f"verda-{cluster_id}-1"].hosts
    home = [m for w in workers.values() for m in w.mounts if m[1] == "/home"]
    assert len(home) == 2 and home[0][0] == home[1][0]  # one shared volume, on every node
    shown = api.get(f"/v1/clusters/{cluster_id}").json()
    assert shown["status"] == "provisioning"
    assert [(n["hostname"], n["private_ip"]) for n in shown["worker_nodes"]] == [
        ("gpu-1", "10.0.0.2"),
        ("gpu-2", "10.0.0.3"),
    ]
    answering.add(jump.networks[0][1])
    nodes_up.add(f"verda-{cluster_id}-1")
    ctrl.reconcile()
    assert api.get(f"/v1/clusters/{cluster_id}").json()["status"] == "provisioning"
    nodes_up.add(f"verda-{cluster_id}-2")
    ctrl.reconcile()
    assert api.get(f"/v1/clusters/{cluster_id}").json()["status"] == "running"
    # Each node's address set once per process of it, whatever the passes.
    ctrl.reconcile()
    on = sorted((address, nic) for _pid, nic, address in engine.addresses)
    # The jump host's second interface is its cluster's; a worker has only that one.
    assert on == [("10.0.0.1", "eth1"), ("10.0.0.2", "eth0"), ("10.0.0.3", "eth0")]
    assert len(engine.addresses) == 3
    worker = f"verda-{cluster_id}-1"
    engine.stop(worker)  # a node that stopped is started again, with its address
    ctrl.reconcile()
    assert engine.calls[-1] == ("start", worker)
    assert engine.addresses[-1] == (engine.containers_[worker].pid, "eth0", "10.0.0.2")
    gone = api.put("/v1/clusters", json={"action": "discontinue", "id": cluster_id})
    assert gone.status_code == 202, gone.text
    ctrl.reconcile()
    assert not engine.containers_ and engine.removed_networks == [network]


def test_the_jump_host_holds_the_cluster_key_that_every_node_accepts(
    server, api, ctrl, engine, tmp_path
):
    from tests.support.clusters import cluster_body

    cluster_id = api.post("/v1/clusters", json=cluster_body(hostname="keyed")).json()["id"]
    ctrl.reconcile()
    instances = tmp_path / "machines" / "instances"
    private = (instances / f"{cluster_id}-jump" / "config" / "id_ed25519").read_text()
    assert private.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert not (instances / f"{cluster_id}-1" / "config" / "id_ed25519").exists()
    public = (tmp_path / "machines" / "clusters" / cluster_id / "id_ed25519.pub").read_text()
    for node in ("jump", "1", "2"):
        keys = (instances / f"{cluster_id}-{node}" / "config" / "authorized_keys").read_text()
        assert public.strip() in keys.splitlines()


# ---- review: failures, ordering, paths ---------------------------------------


def test_a_machine_that_fails_unexpectedly_holds_back_no_other(
    server, api, ctrl, engine, answering
):
    """A machine whose making raises something no one foresaw (here: its
    location gone from the catalog) is logged and retried; the others of the
    pass are still made."""
    from sqlalchemy import update

    from verda_server.instances.models import Instance

    broken = deploy(api)
    with server.context.db.write() as session:
        session.execute(update(Instance).where(Instance.id == broken).values(location="GONE-01"))
    fine = deploy(api)
    ctrl.reconcile()
    assert [r.name for r in engine.runs] == [f"verda-{fine}"]
    answering.add(stored_ip(server, fine))
    ctrl.reconcile()
    assert status(api, fine) == "running"


def test_an_os_volume_deployed_again_leaves_its_old_root_before_its_new_one_mounts(
    server, api, ctrl, engine, answering, monkeypatch, tmp_path
):
    """Hibernated and deployed from in one pass: the old instance's overlay on
    that OS volume goes before the new one mounts it (two overlays sharing an
    upper directory are undefined behaviour)."""
    events: list[tuple[str, str]] = []
    monkeypatch.setattr(
        mounts,
        "mount_overlay",
        lambda lower, os_volume, target: events.append(("mount", target.parent.name)),
    )
    monkeypatch.setattr(
        mounts, "unmount", lambda target: events.append(("unmount", target.parent.name))
    )
    first = deploy(api)
    ctrl.reconcile()
    answering.add(stored_ip(server, first))
    ctrl.reconcile()
    api.put("/v1/instances", json={"action": "shutdown", "id": first})
    ctrl.reconcile()
    hibernated = api.put("/v1/instances", json={"action": "hibernate", "id": first})
    assert hibernated.status_code == 202, hibernated.text
    os_volume = api.get(f"/v1/instances/{first}").json()["os_volume_id"]
    second = deploy(api, image=os_volume)
    events.clear()
    ctrl.reconcile()
    assert events.index(("unmount", first)) < events.index(("mount", second))


def test_a_root_that_will_not_unmount_is_kept_and_holds_back_nothing(
    server, api, ctrl, engine, answering, monkeypatch, tmp_path
):
    """Its directory stays (removing it would go into the mount and delete the
    OS volume's files through it), and the pass goes on."""

    def stuck(target: Path) -> None:
        raise mounts.MountError("umount: target is busy")

    gone = deploy(api)
    ctrl.reconcile()
    answering.add(stored_ip(server, gone))
    ctrl.reconcile()
    api.put("/v1/instances", json={"action": "delete", "id": gone})
    monkeypatch.setattr(mounts, "unmount", stuck)
    monkeypatch.setattr(mounts, "mounts_under", lambda directory: [str(directory / "root")])
    fresh = deploy(api)
    ctrl.reconcile()
    assert engine.runs[-1].name == f"verda-{fresh}"
    assert (tmp_path / "machines" / "instances" / gone).is_dir()


def test_a_stored_mount_point_that_is_no_clean_path_is_mounted_at_one(server, api, ctrl, engine):
    """A cluster's mount points as an older server stored them (from the
    volume's name): the driver never hands podman a `:` or a `..`."""
    from sqlalchemy import update

    from tests.support.clusters import cluster_body
    from verda_server.clusters.models import ClusterVolume

    cluster_id = api.post("/v1/clusters", json=cluster_body(hostname="odd")).json()["id"]
    with server.context.db.write() as session:
        session.execute(
            update(ClusterVolume)
            .where(ClusterVolume.cluster_id == cluster_id)
            .values(mount_point="/mnt/../x:ro")
        )
    ctrl.reconcile()
    inside = {path for run in engine.runs for _host, path, _ro in run.mounts}
    assert "/mnt/x-ro" in inside
    assert not any(":" in path or ".." in path for path in inside)


def test_a_node_backing_off_is_not_asked_after_while_it_does_not_exist(
    server, api, ctrl, engine, monkeypatch
):
    """A node that could not be made waits for its next try; meanwhile no pass
    asks podman about it (each such question failed, and was logged, 4 times
    a second)."""
    from tests.support.clusters import cluster_body
    from verda_server.machines.podman import EngineError

    asked: list[str] = []
    made = engine.run

    def run(spec: RunSpec) -> None:
        if spec.name.endswith("-1"):
            raise EngineError("podman run: no space left")
        made(spec)

    def pid(name: str) -> int:
        asked.append(name)
        if name not in engine.containers_:
            raise EngineError(f"podman inspect: no such container {name}")
        return 0

    monkeypatch.setattr(engine, "run", run)
    monkeypatch.setattr(engine, "pid", pid)
    monkeypatch.setattr(controller_module.time, "monotonic", lambda: 1000.0)
    cluster_id = api.post("/v1/clusters", json=cluster_body(hostname="late")).json()["id"]
    ctrl.reconcile()
    asked.clear()
    ctrl.reconcile()  # still backing off
    assert f"verda-{cluster_id}-1" not in asked


# ---- clones ------------------------------------------------------------------


def test_a_clone_starts_as_a_copy_of_its_source_data_and_os_volumes_alike(
    server, api, ctrl, engine, tmp_path
):
    instance_id = deploy(api, volumes=[{"name": "data", "size": 10, "type": "NVMe"}])
    ctrl.reconcile()
    volumes = tmp_path / "machines" / "volumes"
    data_id = next(v["id"] for v in api.get("/v1/volumes").json() if v["name"] == "data")
    os_id = api.get(f"/v1/instances/{instance_id}").json()["os_volume_id"]
    (volumes / data_id / "notes.txt").write_text("on the data disk")
    (volumes / os_id / "upper" / "etc").mkdir(parents=True)
    (volumes / os_id / "upper" / "etc" / "motd").write_text("on the OS disk")
    (volumes / os_id / "work" / "scratch").mkdir(parents=True)
    response = api.put("/v1/volumes", json={"action": "clone", "id": [data_id, os_id]})
    assert response.status_code == 202, response.text
    data_clone, os_clone = response.json()
    ctrl.reconcile()
    assert (volumes / data_clone / "notes.txt").read_text() == "on the data disk"
    assert (volumes / os_clone / "upper" / "etc" / "motd").read_text() == "on the OS disk"
    assert not (volumes / os_clone / "work").exists()  # the overlay's scratch is not data
    # Once: what the clone holds later is its own.
    (volumes / data_clone / "notes.txt").write_text("changed on the clone")
    ctrl.reconcile()
    assert (volumes / data_clone / "notes.txt").read_text() == "changed on the clone"


def test_a_clone_of_a_volume_without_data_starts_empty(server, api, ctrl, tmp_path):
    created = api.post(
        "/v1/volumes",
        json={"type": "NVMe", "name": "never-used", "size": 10, "location_code": "FIN-01"},
    )
    assert created.status_code == 202, created.text
    response = api.put("/v1/volumes", json={"action": "clone", "id": created.text})
    (clone,) = response.json()
    ctrl.reconcile()
    assert not (tmp_path / "machines" / "volumes" / clone).exists()


def test_a_store_left_by_real_machines_provisions_by_the_clock_without_them(tmp_path, server, api):
    """Deployed under --instances podman, then served without it: the clock ends
    the provisioning no machine will."""
    instance_id = deploy(api)
    database_url = server.context.settings.database_url
    assert status(api, instance_id) == "provisioning"
    with start_live_server(database_url) as plain:
        creds_token = api.headers["Authorization"]
        with httpx.Client(
            base_url=plain.base_url, verify=TLS, headers={"Authorization": creds_token}
        ) as again:
            assert status(again, instance_id) == "provisioning"
            plain.clock.advance(plain.context.lifecycle.current.provisioning_seconds)
            assert status(again, instance_id) == "running"


def test_force_shutdown_cuts_the_power_and_shutdown_asks(server, api, ctrl, engine, answering):
    instance_id = running(server, api, ctrl, answering)
    name = f"verda-{instance_id}"
    api.put("/v1/instances", json={"action": "force_shutdown", "id": instance_id})
    ctrl.reconcile()
    assert engine.calls[-1] == ("kill", name)
    api.put("/v1/instances", json={"action": "start", "id": instance_id})
    ctrl.reconcile()
    ctrl.reconcile()
    assert status(api, instance_id) == "running"
    api.put("/v1/instances", json={"action": "shutdown", "id": instance_id})
    ctrl.reconcile()
    assert engine.calls[-1] == ("stop", name)


# ---- sizes, order, what clusters carry ----------------------------------------


def test_scale_multiplies_within_the_host_and_above_the_floors():
    from verda_server.machines.spec import Scale

    host = {"host_cpus": 8, "host_memory_mb": 65536}
    assert (Scale(None, **host).cpus(4), Scale(None, **host).memory_mb(16)) == (4.0, 16384)
    assert (Scale(0.25, **host).cpus(4), Scale(0.25, **host).memory_mb(16)) == (1.0, 4096)
    assert (Scale(None, **host).cpus(22), Scale(None, **host).memory_mb(185)) == (8.0, 65536)
    # At least one core and one GiB are scaled; never under 0.1 CPU or 256 MiB.
    assert (Scale(None, **host).cpus(0), Scale(None, **host).memory_mb(0)) == (1.0, 1024)
    assert (Scale(0.05, **host).cpus(1), Scale(0.1, **host).memory_mb(2)) == (0.1, 256)
    assert (Scale(0.11, **host).cpus(1), Scale(0.2, **host).memory_mb(2)) == (0.11, 409)
    assert Scale(1 / 3, **host).cpus(1) == 0.33  # podman takes two decimals


@pytest.fixture
def quarter(ctrl: MachineController) -> None:
    from verda_server.machines.spec import Scale

    ctrl._scale = Scale(0.25, host_cpus=64, host_memory_mb=1_000_000)


def test_an_instance_gets_its_types_cpus_and_memory_scaled(server, api, ctrl, engine, quarter):
    deploy(api)  # CPU.4V.16G: 4 CPUs, 16 GiB
    ctrl.reconcile()
    (run,) = engine.runs
    assert (run.cpus, run.memory_mb) == (1.0, 4096)


def test_the_first_data_volume_by_target_is_at_mnt_volume_whatever_the_order_made(
    server, api, ctrl, engine, answering
):
    instance_id = running(
        server,
        api,
        ctrl,
        answering,
        volumes=[
            {"name": "first", "size": 10, "type": "NVMe"},
            {"name": "second", "size": 10, "type": "NVMe"},
        ],
    )
    api.put("/v1/instances", json={"action": "shutdown", "id": instance_id})
    volumes = {v["name"]: v for v in api.get("/v1/volumes").json()}
    assert (
        api.put("/v1/volumes", json={"action": "detach", "id": volumes["first"]["id"]}).status_code
        == 202
    )
    late = api.post(
        "/v1/volumes",
        json={"type": "NVMe", "name": "late", "size": 10, "location_code": "FIN-01",
              "instance_id": instance_id},
    ).text  # fmt: skip
    shown = {v["name"]: v for v in api.get("/v1/volumes").json()}
    assert (shown["late"]["target"], shown["second"]["target"]) == ("vdb", "vdc")
    api.put("/v1/instances", json={"action": "start", "id": instance_id})
    ctrl.reconcile()
    at = {path: Path(host).name for host, path, _ro in engine.runs[-1].mounts}
    assert at["/mnt/volume"] == late


def test_cluster_nodes_carry_its_keys_script_home_and_sizes(
    server, api, ctrl, engine, quarter, tmp_path
):
    from tests.support.clusters import cluster_body

    key = ed25519_key()
    key_id = api.post("/v1/ssh-keys", json={"name": "c", "key": key}).text
    script_id = api.post("/v1/scripts", json={"name": "s", "script": "echo node"}).text
    body = cluster_body(hostname="sized", ssh_key_ids=[key_id], startup_script_id=script_id)
    cluster_id = api.post("/v1/clusters", json=body).json()["id"]
    ctrl.reconcile()
    runs = {r.name: r for r in engine.runs}
    jump = runs.pop(f"verda-{cluster_id}-jump")
    # 16B200: 256 CPUs and 4608 GiB over 2 nodes, a quarter of each; the jump host is small.
    assert (jump.cpus, jump.memory_mb) == (0.25, 256)
    assert {(w.cpus, w.memory_mb) for w in runs.values()} == {(32.0, 589824)}
    home_id = api.get(f"/v1/clusters/{cluster_id}").json()["shared_volumes"][0]["id"]
    home = str(tmp_path / "machines" / "volumes" / home_id)
    instances = tmp_path / "machines" / "instances"
    for name, run in {**runs, jump.name: jump}.items():
        assert (home, "/home", False) in run.mounts
        config = instances / name.removeprefix("verda-") / "config"
        assert (config / "startup-script").read_text() == "echo node"
        assert key.strip() in (config / "authorized_keys").read_text().splitlines()
