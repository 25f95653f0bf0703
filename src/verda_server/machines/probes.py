"""What the driver asks of a running machine directly, not through podman:
whether its sshd answers, and (for a cluster node, on a network without
podman's addresses) its private address set from the host."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

# /proc/<pid>/net/tcp: a socket bound to port 22 (hex) in state LISTEN (0A).
_SSH_LISTENING = ":0016 00000000:0000 0A"


def answers_ssh(ip: str, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((ip, 22), timeout=timeout) as conn:
            conn.settimeout(timeout)
            return conn.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def listens_ssh(pid: int) -> bool:
    """sshd listening in the machine's own network namespace: for a worker
    node, which the host has no address to reach."""
    try:
        table = Path(f"/proc/{pid}/net/tcp").read_text()
    except OSError:
        return False
    return any(_SSH_LISTENING in line for line in table.splitlines())


def set_address(pid: int, interface: str, address: str, prefix: int = 24) -> None:
    """Give the machine's interface its address (again after a restart: podman
    makes the interface anew); OSError when the namespace can't be entered."""
    done = subprocess.run(
        ["nsenter", "--target", str(pid), "--net",
         "ip", "address", "replace", f"{address}/{prefix}", "dev", interface],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise OSError(f"nsenter ip address: {done.stderr.strip() or done.returncode}")
