"""What the host lacks to run podman instances, said in one line with its remedy."""

from __future__ import annotations

import os

from verda_server.machines.image import which
from verda_server.machines.podman import EngineError, Podman

# The Debian package that brings each command.
PACKAGES = {"podman": "podman", "runc": "runc", "debootstrap": "debootstrap"}


def missing(need_debootstrap: bool) -> str | None:
    """None when instances can run here; else what is missing and how to get it."""
    if os.geteuid() != 0:
        return "podman instances need root: run verda-server as root"
    commands = ["podman", "runc", *(["debootstrap"] if need_debootstrap else [])]
    absent = [name for name in commands if which(name) is None]
    if absent:
        packages = " ".join(PACKAGES[name] for name in absent)
        return f"{', '.join(absent)} not found: apt-get install {packages}"
    try:
        Podman(binary=which("podman") or "podman", timeout=60).info()
    except EngineError as exc:
        return f"podman cannot run here: {exc}"
    return None
