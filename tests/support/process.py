"""`verda-server serve` as a real child process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from tests.support.live import TLS, free_port


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    port: int
    output: list[str] = field(default_factory=list)
    _reader: threading.Thread = field(init=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def text(self) -> str:
        return "".join(self.output)

    def exported(self) -> dict[str, str]:
        """The variables of the `export …` lines the server printed."""
        found: dict[str, str] = {}
        for line in self.output:
            if line.startswith("export "):
                found.update(re.findall(r"(\w+)=(\S+)", line))
        return found

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        self._reader.join(timeout=5)
        return self.process.returncode

    def start_reading(self) -> None:
        def pump() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)

        self._reader = threading.Thread(target=pump, daemon=True)
        self._reader.start()


def _wait_ready(server: ServerProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            server._reader.join(timeout=5)
            raise RuntimeError(f"server exited early:\n{server.text}")
        try:
            if httpx.get(server.base_url + "/healthz", timeout=1, verify=TLS).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not become ready")


@contextmanager
def run_server(
    *args: str, env: dict[str, str] | None = None, module: bool = False, umask: int = -1
) -> Iterator[ServerProcess]:
    """The server as a child process; `umask` is the child's (-1 keeps ours)."""
    port = free_port()
    command = (
        [sys.executable, "-m", "verda_server"]
        if module
        else [os.path.join(os.path.dirname(sys.executable), "verda-server")]
    )
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("VERDA_CLIENT_", "VERDA_SERVER_"))
    }
    full_env.update(env or {})
    full_env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [*command, "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=full_env,
        umask=umask,
    )
    server = ServerProcess(process, port)
    server.start_reading()
    try:
        _wait_ready(server)
        yield server
    finally:
        if process.poll() is None:
            server.stop()
