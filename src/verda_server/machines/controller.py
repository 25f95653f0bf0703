"""Makes the engine match the store, Kubernetes-controller style: every pass
reads the machines the store wants (desired.py) and the containers that
exist, and does what closes the gap; what the machines report back (sshd
answering, a container that died) goes into the store through the instance
state table (instances/machine.py).

Passes run on a thread of their own, often (the store's generation tells
whether anything changed) and fully every few seconds; nothing is driven from
inside a request, so a slow engine never holds a request or a transaction.
One process drives one machines directory (a file lock): other replicas on
the same host stand by and take over if it goes."""

from __future__ import annotations

import fcntl
import logging
import shutil
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from ipaddress import IPv4Network
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from verda_server.catalog.service import Catalog
from verda_server.instances import forced
from verda_server.instances import machine as reports
from verda_server.instances.models import Instance
from verda_server.instances.states import Status
from verda_server.machines import desired, mounts
from verda_server.machines.layout import Layout
from verda_server.machines.podman import (
    INSTANCE,
    MANAGED,
    ROOT,
    SPEC,
    Container,
    EngineError,
    Podman,
    RunSpec,
)
from verda_server.machines.spec import Machine, Scale, Want
from verda_server.storage.generation import StoreGeneration

logger = logging.getLogger("verda_server.machines")

Work = Callable[[str], AbstractContextManager[tuple[Session, datetime]]]
Read = Callable[[], AbstractContextManager[Session]]

INIT = "/usr/local/sbin/instance-init"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Instances trust what the host trusts (its egress may re-sign TLS).
CA_ENVIRONMENT = "".join(
    f"{name}={CA_BUNDLE}\n" for name in ("REQUESTS_CA_BUNDLE", "PIP_CERT", "SSL_CERT_FILE")
)
# A container that could not be made this many passes in a row: the deploy failed.
CREATE_ATTEMPTS = 3


def network_name(location: str) -> str:
    return f"verda-{location.lower()}"


def gateway_of(pool: IPv4Network) -> str:
    """The pool's last host address: addresses are handed out from the lowest."""
    return str(pool.broadcast_address - 1)


def answers_ssh(ip: str, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((ip, 22), timeout=timeout) as conn:
            conn.settimeout(timeout)
            return conn.recv(4).startswith(b"SSH-")
    except OSError:
        return False


class MachineController:
    def __init__(
        self,
        *,
        read: Read,
        work: Work,
        catalog: Catalog,
        layout: Layout,
        base: Path,
        podman: Podman,
        scale: Scale,
        interval: float = 0.25,
        full_every: float = 3.0,
    ) -> None:
        self._read = read
        self._work = work
        self._catalog = catalog
        self._layout = layout
        self._base = base
        self._podman = podman
        self._scale = scale
        self._interval = interval
        self._full_every = full_every
        self._networks: set[str] | None = None
        self._failures: dict[str, int] = {}
        self._seen_generation: int | None = None
        self._last_full = 0.0
        self._pending = False  # a machine is provisioning: look again soon
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_file: IO[bytes] | None = None

    # The thread ------------------------------------------------------------

    def start(self) -> None:
        self._layout.root.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._loop, name="machines", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self._leading():
                    self.tick()
            except Exception:  # a failed pass is retried next time, never fatal
                logger.exception("machines pass failed")
            self._stop.wait(self._interval)

    def _leading(self) -> bool:
        if self._lock_file is not None:
            return True
        handle = open(self._layout.lock, "ab")  # noqa: SIM115 - held while leading
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    # Passes ----------------------------------------------------------------

    def tick(self) -> None:
        """A full pass when the store changed, a machine is on its way, or the
        last full pass is old (containers may have died meanwhile)."""
        with self._read() as session:
            generation = session.scalar(select(StoreGeneration.value))
        stale = time.monotonic() - self._last_full >= self._full_every
        if self._pending or stale or generation != self._seen_generation:
            self._seen_generation = generation
            self.reconcile()

    def reconcile(self) -> None:
        """One full pass: every machine made as the store wants it."""
        self._last_full = time.monotonic()
        with self._read() as session:
            wanted = desired.machines(session, self._catalog, self._scale)
        existing = {
            c.labels[INSTANCE]: c
            for c in self._podman.containers()
            if INSTANCE in c.labels and c.labels.get(ROOT) == str(self._layout.root)
        }
        for instance_id, container in existing.items():
            if instance_id not in wanted:
                self._remove(instance_id, container)
        self._pending = False
        for instance_id, machine in wanted.items():
            try:
                self._converge(machine, existing.get(instance_id))
            except (EngineError, mounts.MountError, OSError) as exc:
                logger.warning("machine of instance %s: %s", instance_id, exc)
                self._pending = True
        self._collect(set(wanted))

    def _converge(self, machine: Machine, container: Container | None) -> None:
        self._write_config(machine)
        if machine.want is Want.STOP:
            if container is not None and container.running:
                if machine.status is Status.ERROR:
                    self._podman.kill(machine.name)
                else:
                    self._podman.stop(machine.name)
            return
        if machine.os_volume_id is None or machine.ip is None:
            return  # nothing to boot from (the state table refuses such a start)
        if container is not None and container.labels.get(SPEC) != machine.fingerprint():
            # Mounts change only while shut down: a machine still running then
            # was shut down and started again between two passes. One running
            # on (another --instance-scale) keeps its size until it stops.
            if container.running and machine.status is not Status.PROVISIONING:
                return
            self._podman.remove(machine.name)
            container = None
        if container is None:
            self._create(machine)
            self._pending = True
        elif not container.running:
            if machine.status is Status.RUNNING:
                # It stopped without being asked to: the machine broke.
                self._report(machine, reports.died)
                return
            self._mount_root(machine)
            self._podman.start(machine.name)
            self._pending = True
        elif machine.status is Status.PROVISIONING:
            if answers_ssh(machine.ip):
                self._report(machine, reports.answered)
            else:
                self._pending = True

    def _create(self, machine: Machine) -> None:
        try:
            self._ensure_network(machine.location)
            self._mount_root(machine)
            self._podman.run(self._run_spec(machine))
            logger.info("machine of instance %s made at %s", machine.instance_id, machine.ip)
        except (EngineError, mounts.MountError):
            attempts = self._failures.get(machine.instance_id, 0) + 1
            self._failures[machine.instance_id] = attempts
            if attempts >= CREATE_ATTEMPTS and machine.status is Status.PROVISIONING:
                self._report(machine, _installation_failed)
            raise
        self._failures.pop(machine.instance_id, None)

    def _run_spec(self, machine: Machine) -> RunSpec:
        assert machine.ip is not None
        volume_mounts: list[tuple[str, str, bool]] = [
            (str(self._layout.config(machine.instance_id)), "/etc/verda", True)
        ]
        if CA_BUNDLE.is_file():
            volume_mounts.append((str(CA_BUNDLE), str(CA_BUNDLE), True))
        for volume in machine.volumes:
            data = self._layout.volume(volume.volume_id)
            # An OS disk attached as data shows what its instance wrote.
            data = data / "upper" if volume.is_os_volume else data
            data.mkdir(parents=True, exist_ok=True)
            volume_mounts += [(str(data), path, False) for path in volume.paths]
        return RunSpec(
            name=machine.name,
            rootfs=str(self._layout.rootfs(machine.instance_id)),
            command=[INIT],
            hostname=machine.hostname,
            network=network_name(machine.location),
            ip=machine.ip,
            labels={
                MANAGED: "1",
                ROOT: str(self._layout.root),
                INSTANCE: machine.instance_id,
                SPEC: machine.fingerprint(),
            },
            mounts=volume_mounts,
            cpus=machine.cpus,
            memory_mb=machine.memory_mb,
        )

    def _mount_root(self, machine: Machine) -> None:
        assert machine.os_volume_id is not None
        mounts.mount_overlay(
            self._base,
            self._layout.volume(machine.os_volume_id),
            self._layout.rootfs(machine.instance_id),
        )

    def _ensure_network(self, location: str) -> None:
        if self._networks is None:
            self._networks = set(self._podman.networks())
        name = network_name(location)
        if name not in self._networks:
            pool = self._catalog.locations[location].public_ip_pool
            self._podman.create_network(name, str(pool), gateway_of(pool))
            self._networks.add(name)

    def _write_config(self, machine: Machine) -> None:
        config = self._layout.config(machine.instance_id)
        config.mkdir(parents=True, exist_ok=True)
        keys = "".join(f"{key}\n" for key in machine.keys)
        _write_if_changed(config / "authorized_keys", keys)
        _write_if_changed(config / "environment", CA_ENVIRONMENT)
        script = config / "startup-script"
        if machine.startup_script is None:
            script.unlink(missing_ok=True)
        else:
            _write_if_changed(script, machine.startup_script)

    def _remove(self, instance_id: str, container: Container) -> None:
        try:
            self._podman.remove(container.name)
        except EngineError as exc:
            logger.warning("removing the machine of instance %s: %s", instance_id, exc)

    def _collect(self, wanted: set[str]) -> None:
        """What belongs to no wanted machine: instance directories, and the
        data of volumes purged from the store."""
        if self._layout.instances.is_dir():
            for directory in self._layout.instances.iterdir():
                if directory.name not in wanted:
                    mounts.unmount(directory / "root")
                    shutil.rmtree(directory, ignore_errors=True)
        if self._layout.volumes.is_dir():
            with self._read() as session:
                kept = desired.kept_volumes(session)
            for directory in self._layout.volumes.iterdir():
                if directory.name not in kept:
                    shutil.rmtree(directory, ignore_errors=True)

    def _report(self, machine: Machine, event: Callable[[Instance], bool]) -> None:
        with self._work(machine.project_id) as (session, _now):
            instance = session.get(Instance, machine.instance_id)
            # The store may have moved on since this pass read it.
            if instance is not None and instance.status == machine.status.value and event(instance):
                logger.info("instance %s is %s", instance.id, instance.status)


def _installation_failed(instance: Instance) -> bool:
    return forced.force(instance, Status.INSTALLATION_FAILED)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
