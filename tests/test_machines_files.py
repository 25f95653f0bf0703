"""What the driver writes for a machine (no podman: runs anywhere)."""

from __future__ import annotations

import contextlib
import stat
from pathlib import Path

import pytest

from verda_server.machines import files
from verda_server.machines.layout import Layout


def test_a_cluster_private_key_is_never_on_disk_readable_by_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Made with its mode, not chmod-ed after it was written: a local user who
    opened it in between (or after a chmod that failed) would hold a key every
    node of the cluster, its jump host on the host's bridge included, accepts."""

    def refuse(self: Path, mode: int) -> None:
        raise PermissionError("chmod refused")

    monkeypatch.setattr(Path, "chmod", refuse)
    layout = Layout(tmp_path)
    with contextlib.suppress(PermissionError):
        files.cluster_key(layout, "c1")
    private = layout.cluster("c1") / files.CLUSTER_KEY
    if private.exists():
        assert stat.S_IMODE(private.stat().st_mode) & 0o077 == 0


def test_written_files_replace_the_old_whole_with_their_mode(tmp_path: Path) -> None:
    target = tmp_path / "authorized_keys"
    files.write_if_changed(target, "one\n")
    files.write_if_changed(target, "two\n", mode=0o600)
    assert target.read_text() == "two\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["authorized_keys"]
