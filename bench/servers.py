"""The processes under test: `verda-server serve` and the bare ASGI app, each
pinned to the server core, started and always stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
SERVER_CORE, CLIENT_CORE = 0, 1
ADMIN_TOKEN = "bench-admin-token-" + "0" * 24
CLIENT_ID, CLIENT_SECRET = "bench", "bench-secret"


class SetupError(RuntimeError):
    """The bench could not set up what it measures; the message says why."""


# Decided once, before the bench pins itself to the client core.
_CAN_PIN = hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2


def can_pin() -> bool:
    return _CAN_PIN


def pinned(command: list[str], core: int | None) -> list[str]:
    """The command run on one core (taskset), when the machine has two to spare."""
    if core is None or not can_pin():
        return command
    return ["taskset", "-c", str(core), *command]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env() -> dict[str, str]:
    """Ours, without any server setting of the caller's shell; PYTHONPATH kept
    (it chooses the checkout under test), made absolute: the servers run in
    this directory, where a relative `src` named nothing, and so measured the
    installed checkout instead."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("VERDA_SERVER_", "VERDA_CLIENT"))
    }
    if env.get("PYTHONPATH"):
        entries = env["PYTHONPATH"].split(os.pathsep)
        env["PYTHONPATH"] = os.pathsep.join(str(Path(e).resolve()) for e in entries if e)
    env.update(
        VERDA_CLIENT_ID=CLIENT_ID,
        VERDA_CLIENT_SECRET=CLIENT_SECRET,
        VERDA_SERVER_ADMIN_TOKEN=ADMIN_TOKEN,
    )
    return env


@dataclass
class Proc:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def wait_ready(proc: Proc, path: str, timeout: float = 60, poll: float = 0.05) -> None:
    """Until `path` answers 200; SetupError if the process dies or never does."""
    started = time.monotonic()
    with httpx.Client(timeout=2) as http:
        while time.monotonic() - started < timeout:
            if proc.process.poll() is not None:
                raise SetupError(f"{proc.url} exited ({proc.process.returncode}):\n{proc.tail()}")
            try:
                if http.get(proc.url + path).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(poll)
        else:
            raise SetupError(
                f"{proc.url}{path} did not answer within {timeout:.0f} s:\n{proc.tail()}"
            )
    if proc.process.poll() is not None:  # another process took the port meanwhile
        raise SetupError(f"{proc.url} exited ({proc.process.returncode}):\n{proc.tail()}")


def spawn(command: list[str], port: int, log: Path, env: dict[str, str]) -> Proc:
    with log.open("ab") as out:
        process = subprocess.Popen(
            pinned(command, SERVER_CORE), env=env, stdout=out, stderr=subprocess.STDOUT, cwd=HERE
        )
    return Proc(process, f"http://127.0.0.1:{port}", log)


def serve_command(port: int, database_url: str, *flags: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "verda_server",
        "serve",
        "--port",
        str(port),
        "--database-url",
        database_url,
        "--log-level",
        "warning",
        *flags,
    ]


@contextmanager
def server(database_url: str, log_dir: Path, *flags: str) -> Iterator[Proc]:
    """`verda-server serve` on the store, ready; stopped on the way out."""
    port = free_port()
    proc = spawn(
        serve_command(port, database_url, *flags), port, log_dir / "server.log", base_env()
    )
    try:
        wait_ready(proc, "/healthz")
        yield proc
    finally:
        proc.stop()


@contextmanager
def bare_app(log_dir: Path) -> Iterator[Proc]:
    """bare_app.py on the server's uvicorn stack (uvloop and httptools when installed,
    as `serve` picks them)."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port)]
    command += ["--log-level", "warning", "--no-server-header", "--no-access-log"]
    proc = spawn(command, port, log_dir / "bare.log", base_env())
    try:
        wait_ready(proc, "/")
        yield proc
    finally:
        proc.stop()


def start_seconds(database_url: str, log_dir: Path, *flags: str) -> tuple[float, float]:
    """From spawning `serve` to its first 200 on /healthz: wall seconds, and the
    CPU seconds the process spent meanwhile (less at the mercy of a busy machine)."""
    port, env = free_port(), base_env()
    command = serve_command(port, database_url, *flags)
    started = time.monotonic()
    proc = spawn(command, port, log_dir / "start.log", env)
    try:
        wait_ready(proc, "/healthz", poll=0.005)
        return time.monotonic() - started, cpu_seconds(proc.pid)
    finally:
        proc.stop()


def cpu_seconds(pid: int) -> float:
    """User and system time of a live process (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")
