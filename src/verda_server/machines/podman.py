"""The container engine, through Podman's command line: the few verbs the
driver needs, each a subprocess with its failure turned into EngineError.

Every call names `--runtime runc`: the default runtime (crun) refuses hosts with
a hybrid cgroup v1/v2 hierarchy, which runc handles."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

MANAGED = "io.verda.managed"
# Which machine of the store it is (machines/spec.py Machine.key).
MACHINE = "io.verda.machine"
SPEC = "io.verda.spec"
# The machines directory whose driver made it: a driver leaves others' alone.
ROOT = "io.verda.root"
# Setting one of these limits makes podman raise the other to a default the
# process may not be allowed: both are always named.
ULIMITS = ("--ulimit", "nofile=16384:16384", "--ulimit", "nproc=32768:32768")


def mac_of(ip: str) -> str:
    """A locally administered MAC made of the address: an address handed out
    again comes with the same MAC, so the host's neighbour cache (which keeps
    the old one for tens of seconds) never points it at a container gone."""
    octets = [int(part) for part in ip.split(".")]
    return ":".join(f"{byte:02x}" for byte in [0x02, 0x42, *octets])


class EngineError(RuntimeError):
    """A podman command failed; the message is its own, on one line."""


@dataclass(frozen=True)
class Container:
    name: str
    state: str  # podman's: created, running, exited, stopped, paused, …
    labels: dict[str, str]
    exit_code: int = 0

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class RunSpec:
    """What one `podman run -d` is given."""

    name: str
    rootfs: str
    command: Sequence[str]
    hostname: str
    # (network, address): an address of ours, with its own MAC; None: none
    # from podman (a cluster network, whose addresses the driver sets).
    networks: Sequence[tuple[str, str | None]]
    labels: dict[str, str]
    # (host path, container path, read-only)
    mounts: Sequence[tuple[str, str, bool]] = ()
    hosts: Sequence[tuple[str, str]] = ()
    cpus: float | None = None
    memory_mb: int | None = None
    pids_limit: int = 4096
    env: dict[str, str] = field(default_factory=dict)


class Podman:
    def __init__(self, binary: str = "podman", runtime: str = "runc", timeout: float = 120) -> None:
        self._base = [binary, "--runtime", runtime]
        self._timeout = timeout

    def _run(self, *args: str) -> str:
        try:
            done = subprocess.run(
                [*self._base, *args],
                capture_output=True,
                text=True,
                timeout=self._timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EngineError(f"podman {args[0]}: {exc}") from exc
        if done.returncode != 0:
            # podman also prints harmless warnings (syslog): keep the last line.
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            raise EngineError(f"podman {args[0]}: {lines[-1] if lines else done.returncode}")
        return done.stdout

    def info(self) -> None:
        """Fails unless podman can work with this runtime on this host."""
        self._run("info", "--format", "{{.Host.OCIRuntime.Name}}")

    def containers(self) -> list[Container]:
        out = self._run("ps", "--all", "--filter", f"label={MANAGED}=1", "--format", "json")
        return [
            Container(
                name=item["Names"][0],
                state=item.get("State", ""),
                labels=item.get("Labels") or {},
                exit_code=int(item.get("ExitCode") or 0),
            )
            for item in json.loads(out or "[]")
        ]

    def networks(self) -> list[str]:
        out = self._run("network", "ls", "--filter", f"label={MANAGED}=1", "--format", "json")
        return [item["name"] for item in json.loads(out or "[]")]

    def create_network(self, name: str, subnet: str, gateway: str) -> None:
        self._run(
            "network", "create", "--label", f"{MANAGED}=1",
            "--subnet", subnet, "--gateway", gateway, name,
        )  # fmt: skip

    def create_private_network(self, name: str) -> None:
        """A bridge of its own without addresses (so that every cluster may use
        the same subnet), not routed to anything else."""
        self._run(
            "network", "create", "--label", f"{MANAGED}=1", "--internal", "--ipam-driver", "none",
            name,
        )  # fmt: skip

    def pid(self, name: str) -> int:
        """The container's first process on the host (0: not running)."""
        return int(self._run("inspect", "--format", "{{.State.Pid}}", name).strip() or 0)

    def remove_network(self, name: str) -> None:
        self._run("network", "rm", "--force", name)

    def run(self, spec: RunSpec) -> None:
        args = [
            "run", "--detach", "--init", "--name", spec.name, *ULIMITS,
            "--hostname", spec.hostname, "--pids-limit", str(spec.pids_limit),
        ]  # fmt: skip
        for network, ip in spec.networks:
            options = f":ip={ip},mac={mac_of(ip)}" if ip else ""
            args += ["--network", network + options]
        for hostname, ip in spec.hosts:
            args += ["--add-host", f"{hostname}:{ip}"]
        for key, value in sorted(spec.labels.items()):
            args += ["--label", f"{key}={value}"]
        for host, inside, read_only in spec.mounts:
            args += ["--volume", f"{host}:{inside}{':ro' if read_only else ''}"]
        for key, value in sorted(spec.env.items()):
            args += ["--env", f"{key}={value}"]
        if spec.cpus is not None:
            args += ["--cpus", f"{spec.cpus:g}"]
        if spec.memory_mb is not None:
            args += ["--memory", f"{spec.memory_mb}m"]
        self._run(*args, "--rootfs", spec.rootfs, *spec.command)

    def start(self, name: str) -> None:
        self._run("start", name)

    def stop(self, name: str, timeout: int = 5) -> None:
        self._run("stop", "--time", str(timeout), name)

    def kill(self, name: str) -> None:
        self._run("kill", name)

    def remove(self, name: str) -> None:
        self._run("rm", "--force", "--time", "1", name)

    def exec(self, name: str, *command: str) -> str:
        return self._run("exec", name, *command)
