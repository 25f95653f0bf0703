"""`--instances podman` names, in one line, what the host lacks and the packages
that bring it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from verda_server.machines import requirements


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A host whose commands are exactly the fakes a test puts in `bin`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setattr(requirements.os, "geteuid", lambda: 0)
    monkeypatch.setattr(
        requirements, "which", lambda name: str(p) if (p := bin_dir / name).exists() else None
    )
    return bin_dir


def _command(bin_dir: Path, name: str, script: str = "exit 0") -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def test_a_user_other_than_root_is_told_to_be_root(host, monkeypatch):
    monkeypatch.setattr(requirements.os, "geteuid", lambda: 1000)
    assert requirements.missing(need_debootstrap=False) == (
        "podman instances need root: run verda-server as root"
    )


def test_every_missing_command_is_named_with_its_package(host):
    assert requirements.missing(need_debootstrap=True) == (
        "podman, runc, debootstrap not found: apt-get install podman runc debootstrap"
    )
    _command(host, "podman")
    assert requirements.missing(need_debootstrap=False) == ("runc not found: apt-get install runc")
    _command(host, "runc")
    assert requirements.missing(need_debootstrap=True) == (
        "debootstrap not found: apt-get install debootstrap"
    )


def test_a_podman_that_cannot_run_says_why(host):
    _command(host, "runc")
    _command(
        host,
        "podman",
        'echo "time=x level=warning msg=\\"syslog\\"" >&2\n'
        'echo "Error: cgroups in hybrid mode not supported" >&2\nexit 125',
    )
    assert requirements.missing(need_debootstrap=False) == (
        "podman cannot run here: podman info: Error: cgroups in hybrid mode not supported"
    )


def test_a_host_with_everything_has_nothing_missing(host):
    for name in ("podman", "runc", "debootstrap"):
        _command(host, name, '[ "$1 $2 $3" = "--runtime runc info" ] || exit 1')
    assert requirements.missing(need_debootstrap=True) is None


@pytest.mark.skipif(os.environ.get("VERDA_TEST_PODMAN") != "1", reason="needs VERDA_TEST_PODMAN=1")
def test_this_host_runs_podman_instances():
    assert requirements.missing(need_debootstrap=True) is None
