"""Makes the engine match the store, Kubernetes-controller style: every pass
reads the machines the store wants (desired.py) and the containers that
exist, and does what closes the gap; what the machines report back (sshd
answering, a container that died) goes into the store through the state
tables (instances/machine.py, clusters/machine.py).

Passes run on a thread of their own, often (the store's generation tells
whether anything changed) and fully every few seconds; nothing is driven from
inside a request, so a slow engine never holds a request or a transaction.
One process drives one machines directory (a file lock): other replicas on
the same host stand by and take over if it goes."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from verda_server.catalog.service import Catalog
from verda_server.clusters import machine as cluster_reports
from verda_server.clusters.models import Cluster
from verda_server.instances import forced
from verda_server.instances import machine as instance_reports
from verda_server.instances.models import Instance
from verda_server.instances.states import Status
from verda_server.machines import clones, collect, desired, files, mounts, probes, runspec
from verda_server.machines.layout import Layout
from verda_server.machines.networks import Networks
from verda_server.machines.podman import MACHINE, ROOT, SPEC, Container, EngineError, Podman
from verda_server.machines.spec import Kind, Machine, Scale, Want
from verda_server.storage.generation import StoreGeneration

logger = logging.getLogger("verda_server.machines")

Work = Callable[[str], AbstractContextManager[tuple[Session, datetime]]]
Read = Callable[[], AbstractContextManager[Session]]

# A container that could not be made this many passes in a row: the deploy failed.
CREATE_ATTEMPTS = 3
# What each kind of machine reports into.
_OWNERS: dict[Kind, type[Any]] = {Kind.INSTANCE: Instance, Kind.CLUSTER: Cluster}


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
        self._networks = Networks(podman, catalog)
        # The process whose network each cluster node's address was set in.
        self._addressed: dict[str, int] = {}
        # Machines that could not be made: attempts so far, and when to try again.
        self._failures: dict[str, tuple[int, float]] = {}
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
        # One snapshot: the volumes kept are those the machines and clones name.
        with self._read() as session:
            wanted = desired.machines(session, self._catalog, self._scale)
            cloned = clones.pending(session)
            kept = desired.kept_volumes(session)
        root = str(self._layout.root)
        existing = {
            c.labels[MACHINE]: c
            for c in self._podman.containers()
            if MACHINE in c.labels and c.labels.get(ROOT) == root
        }
        for key, container in existing.items():
            if key not in wanted:
                self._remove(container)
        # Before any machine mounts: an OS volume deployed from again must be
        # off its old instance's root (two overlays on one upper directory are
        # undefined behaviour).
        collect.machines(self._layout, wanted)
        clones.copy(self._layout, cloned)  # before a clone is mounted anywhere
        for key in self._failures.keys() - wanted.keys():
            del self._failures[key]
        for key in self._addressed.keys() - wanted.keys():
            del self._addressed[key]
        self._pending = False
        # Whether every node of each provisioning cluster answers.
        clusters_ready: dict[str, bool] = {}
        for key, machine in wanted.items():
            try:
                ready = self._converge(machine, existing.get(key))
            except (EngineError, mounts.MountError, OSError) as exc:
                logger.warning("machine %s: %s", key, exc)
                self._pending, ready = True, False
            except Exception:  # one machine's surprise must not hold back the others
                logger.exception("machine %s", key)
                self._pending, ready = True, False
            if machine.kind is Kind.CLUSTER and machine.status == Status.PROVISIONING:
                clusters_ready[machine.owner_id] = (
                    clusters_ready.get(machine.owner_id, True) and ready
                )
        for machine in wanted.values():
            if clusters_ready.pop(machine.owner_id, False):
                self._report(machine, cluster_reports.answered)
        self._collect(wanted, kept)

    def _converge(self, machine: Machine, container: Container | None) -> bool:
        """Close the gap for one machine; whether it runs and answers."""
        files.write_config(self._layout, machine)
        if machine.want is Want.STOP:
            if container is not None and container.running:
                if machine.status == Status.ERROR or machine.power_off:
                    self._podman.kill(machine.name)
                else:
                    self._podman.stop(machine.name)
            return False
        if machine.kind is Kind.INSTANCE and (machine.os_volume_id is None or machine.ip is None):
            return False  # nothing to boot from (the state table refuses such a start)
        if container is not None and container.labels.get(SPEC) != machine.fingerprint():
            # Mounts change only while shut down: a machine still running then
            # was shut down and started again between two passes. One running
            # on (another --instance-scale) keeps its size until it stops.
            if container.running and machine.status != Status.PROVISIONING:
                return True
            self._podman.remove(machine.name)
            container = None
        if container is None:
            if not self._create(machine):
                self._pending = True  # backing off: there is nothing to ask yet
                return False
        elif not container.running:
            if machine.status == Status.RUNNING and machine.kind is Kind.INSTANCE:
                # It stopped without being asked to: the machine broke.
                self._report(machine, instance_reports.died)
                return False
            # A cluster node is simply started again (clusters have no error).
            runspec.mount_root(self._layout, self._base, machine)
            self._podman.start(machine.name)
        elif machine.status != Status.PROVISIONING:
            if machine.private is not None:
                self._set_private_address(machine, container.pid)
            return True
        else:
            return self._answering(machine, container.pid)
        self._pending = True
        if machine.private is not None:
            self._set_private_address(machine)
        return False

    def _answering(self, machine: Machine, pid: int) -> bool:
        """A provisioning machine that runs: an instance's provisioning ends
        here; a cluster's once all its nodes answer (reconcile)."""
        if machine.private is not None:
            self._set_private_address(machine, pid)
        if machine.ip is not None:
            ready = probes.answers_ssh(machine.ip)
        else:
            ready = probes.listens_ssh(pid)
        if not ready:
            self._pending = True
        elif machine.kind is Kind.INSTANCE:
            self._report(machine, instance_reports.answered)
        return ready

    def _create(self, machine: Machine) -> bool:
        """Make the machine's container; False while backing off after a failure."""
        attempts, retry_at = self._failures.get(machine.key, (0, 0.0))
        if time.monotonic() < retry_at:
            return False
        try:
            self._networks.ensure(machine)
            runspec.mount_root(self._layout, self._base, machine)
            self._podman.run(runspec.run_spec(self._layout, machine))
            logger.info("machine %s made (%s)", machine.key, machine.ip or machine.private)
        except Exception:  # whatever stops it being made counts as a failed attempt
            self._networks.forget()  # removed behind our back (a cleanup)? Look again.
            with contextlib.suppress(EngineError):
                self._podman.remove(machine.name)  # a half-made one would keep the name
            attempts += 1
            self._failures[machine.key] = (attempts, time.monotonic() + min(30.0, 2.0**attempts))
            if (
                attempts >= CREATE_ATTEMPTS
                and machine.kind is Kind.INSTANCE
                and machine.status == Status.PROVISIONING
            ):
                self._report(machine, _installation_failed)
            raise
        self._failures.pop(machine.key, None)
        return True

    def _set_private_address(self, machine: Machine, pid: int | None = None) -> None:
        """Once per process of the machine: a restart makes its interface anew."""
        assert machine.private is not None
        if pid is None:
            pid = self._podman.pid(machine.name)
        if pid and self._addressed.get(machine.key) != pid:
            probes.set_address(pid, machine.private.interface, machine.private.address)
            self._addressed[machine.key] = pid

    def _remove(self, container: Container) -> None:
        try:
            self._podman.remove(container.name)
        except EngineError as exc:
            logger.warning("removing %s: %s", container.name, exc)

    def _collect(self, wanted: dict[str, Machine], kept: set[str]) -> None:
        """What else belongs to no wanted machine: clusters' networks and keys,
        and the data of volumes purged from the store."""
        clusters = {m.owner_id for m in wanted.values() if m.kind is Kind.CLUSTER}
        collect.clusters(self._layout, clusters)
        self._networks.collect(clusters)
        collect.volumes(self._layout, kept)

    def _report(self, machine: Machine, event: Callable[[Any], bool]) -> None:
        with self._work(machine.project_id) as (session, _now):
            owner = session.get(_OWNERS[machine.kind], machine.owner_id)
            # The store may have moved on since this pass read it.
            if owner is not None and owner.status == machine.status and event(owner):
                logger.info("%s %s is %s", machine.kind, machine.owner_id, owner.status)


def _installation_failed(instance: Instance) -> bool:
    return forced.force(instance, Status.INSTALLATION_FAILED)
