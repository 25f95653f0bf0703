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
INSTANCE = "io.verda.instance"
SPEC = "io.verda.spec"
# Setting one of these limits makes podman raise the other to a default the
# process may not be allowed: both are always named.
ULIMITS = ("--ulimit", "nofile=16384:16384", "--ulimit", "nproc=32768:32768")


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
    network: str
    ip: str
    labels: dict[str, str]
    # (host path, container path, read-only)
    mounts: Sequence[tuple[str, str, bool]] = ()
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

    def remove_network(self, name: str) -> None:
        self._run("network", "rm", "--force", name)

    def run(self, spec: RunSpec) -> None:
        args = [
            "run", "--detach", "--init", "--name", spec.name, *ULIMITS,
            "--hostname", spec.hostname, "--network", spec.network, "--ip", spec.ip,
            "--pids-limit", str(spec.pids_limit),
        ]  # fmt: skip
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
