"""Reading the host's mount table (no mounts made: runs anywhere)."""

from __future__ import annotations

from pathlib import Path

from verda_server.machines import mounts


def test_mount_points_read_back_escaped_and_non_ascii_names_whole(tmp_path: Path) -> None:
    """mountinfo writes a space as \\040 and leaves UTF-8 bytes alone: a point
    named with both must compare equal to its path (else the driver would
    mount it twice and delete through it)."""
    table = tmp_path / "mountinfo"
    line = "36 25 0:32 / {} rw,relatime shared:1 - overlay overlay rw\n"
    table.write_text(
        line.format("/srv/machines/instances/a/root")
        + line.format("/srv/m\\303\\251tal\\040x/root")  # what the kernel writes as octal
        + line.format("/srv/métal\\040y/root"),
        encoding="utf-8",
    )
    assert mounts.mount_points(table) == [
        "/srv/machines/instances/a/root",
        "/srv/métal x/root",
        "/srv/métal y/root",
    ]
