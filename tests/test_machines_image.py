"""The base root filesystem of podman instances: the apt mirror it is built from,
the build once per directory (two processes included), a user's archive unpacked
without escaping its root, and the base's content."""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import tarfile
import time
from pathlib import Path

import pytest

from tests.support.machines import base_rootfs
from verda_server.machines import image
from verda_server.machines.errors import MachineSetupError
from verda_server.machines.image import READY, ensure_base
from verda_server.machines.mirror import DEFAULT_MIRROR, apt_mirror

ROOT = os.geteuid() == 0


def test_the_mirror_is_the_one_apt_fetches_the_suite_from(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\n"
        "# http://snapshot.debian.org/archive/debian/20250520T000000Z\n"
        "URIs: http://mirror.example/debian-security\n"
        "Suites: bookworm-security\n"
        "Components: main\n"
        "\n"
        "Types: deb-src deb\n"
        "URIs: http://disabled.example/debian\n"
        "Suites: bookworm\n"
        "Enabled: no\n"
        "\n"
        "Types: deb\n"
        "URIs: http://mirror.example/debian\n"
        "Suites: bookworm bookworm-updates\n"
        "Components: main\n"
    )
    assert apt_mirror("bookworm", tmp_path) == "http://mirror.example/debian"

    (tmp_path / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one-line.example/debian bookworm main\n"
    )
    assert apt_mirror("bookworm", tmp_path) == "http://one-line.example/debian"


def test_without_a_source_for_the_suite_the_mirror_is_debians(tmp_path):
    (tmp_path / "sources.list").write_text("deb http://old.example/debian bullseye main\n")
    assert apt_mirror("bookworm", tmp_path) == DEFAULT_MIRROR


def _tar(path: Path, entries: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]], mode="w"):
    with tarfile.open(path, mode) as tar:
        for entry in entries:
            if isinstance(entry, tuple):
                tar.addfile(entry[0], io.BytesIO(entry[1]))
            else:
                tar.addfile(entry)
    return path


def _dir(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info


def _file(name: str, data: bytes = b"x", mode: int = 0o644, uid: int = 0):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.uid = len(data), mode, uid
    return info, data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE, mode: int = 0o777):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, target, mode
    return info


def _rootfs_entries() -> list:
    device = tarfile.TarInfo("./dev/sda")
    device.type, device.devmajor, device.devminor = tarfile.BLKTYPE, 8, 0
    return [
        _dir("./"),
        _dir("./usr"),
        _dir("./usr/sbin"),
        _dir("./usr/bin"),
        _dir("./dev"),
        _file("./usr/sbin/sshd", b"#!/bin/sh\n", 0o755),
        _file("./usr/bin/sudo", b"sudo", 0o4755),
        _file("/etc/owned", b"data", uid=4321),
        _link("./sbin", "usr/sbin"),
        _link("./etc/alternative", "/usr/bin/sudo"),
        _link("./usr/bin/sudoedit", "usr/bin/sudo", tarfile.LNKTYPE, 0o4755),
        device,
    ]


def test_an_archive_becomes_an_image_named_by_its_digest(tmp_path):
    archive = _tar(tmp_path / "image.tar.gz", _rootfs_entries(), "w:gz")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()

    rootfs = ensure_base(tmp_path / "machines", archive=archive)

    assert rootfs == tmp_path / "machines" / "images" / f"custom-{digest[:16]}" / "rootfs"
    assert (rootfs.parent / READY).is_file()
    init = rootfs / "usr/local/sbin/instance-init"
    assert init.read_bytes().startswith(b"#!/bin/sh\n")
    assert init.stat().st_mode & 0o7777 == 0o755
    assert (rootfs / "usr/bin/sudo").stat().st_mode & 0o7777 == 0o4755
    assert os.readlink(rootfs / "etc/alternative") == "/usr/bin/sudo"
    assert os.readlink(rootfs / "sbin") == "usr/sbin"
    assert (rootfs / "usr/bin/sudoedit").stat().st_ino == (rootfs / "usr/bin/sudo").stat().st_ino
    assert not (rootfs / "dev/sda").exists()
    if ROOT:  # numeric owners, not this host's names for them
        assert (rootfs / "etc/owned").stat().st_uid == 4321
    # Unpacked once: the next call finds READY.
    (rootfs / "marker").write_text("kept")
    assert ensure_base(tmp_path / "machines", archive=archive) == rootfs
    assert (rootfs / "marker").read_text() == "kept"
    # An image made by an older version boots this version's init script.
    init.write_text("#!/bin/sh\necho old\n")
    assert ensure_base(tmp_path / "machines", archive=archive) == rootfs
    assert init.read_bytes() == image._packaged_init()
    assert (rootfs / "marker").read_text() == "kept"


@pytest.mark.parametrize(
    "entries",
    [
        [_file("../escaped")],
        [_file("usr/../../escaped")],
        [_link("out", "{outside}"), _file("out/escaped")],
        [_link("usr", "../.."), _file("usr/escaped")],
        [_link("hard", "../../escaped", tarfile.LNKTYPE)],
        [_link("out", "{outside}/victim"), _link("hard", "out", tarfile.LNKTYPE)],
    ],
    ids=[
        "dotdot",
        "inner-dotdot",
        "through-symlink",
        "through-relative-link",
        "hardlink",
        "hardlink-via-symlink",
    ],
)
def test_an_archive_cannot_write_outside_its_root(tmp_path, entries):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("intact")
    for entry in entries:
        info = entry[0] if isinstance(entry, tuple) else entry
        info.linkname = info.linkname.replace("{outside}", str(outside))
    archive = _tar(tmp_path / "evil.tar", [_dir("usr"), _dir("usr/sbin"), *entries])

    with pytest.raises(MachineSetupError) as caught:
        ensure_base(tmp_path / "machines", archive=archive)

    assert "\n" not in str(caught.value)
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
    assert (outside / "victim").read_text() == "intact"
    assert not list((tmp_path / "machines" / "images").glob("*custom*build*"))
    assert not list((tmp_path / "machines" / "images").glob("custom-*"))


def test_a_file_over_a_link_replaces_the_link_not_its_target(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("intact")
    entries = [*_rootfs_entries(), _link("etc/passwd", str(victim)), _file("etc/passwd", b"mine")]
    rootfs = ensure_base(tmp_path / "machines", archive=_tar(tmp_path / "i.tar", entries))
    assert victim.read_text() == "intact"
    assert (rootfs / "etc/passwd").read_text() == "mine"


def test_an_archive_without_sshd_is_refused_by_name(tmp_path):
    archive = _tar(tmp_path / "nossh.tar", [_dir("etc"), _file("etc/hostname")])
    with pytest.raises(MachineSetupError, match=r"has no /usr/sbin/sshd"):
        ensure_base(tmp_path / "machines", archive=archive)


def test_what_is_not_an_archive_is_refused_in_one_line(tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all\n" * 100)
    with pytest.raises(MachineSetupError, match=r"cannot unpack it") as caught:
        ensure_base(tmp_path / "machines", archive=junk)
    assert "\n" not in str(caught.value)
    with pytest.raises(MachineSetupError, match=r"absent.tar"):
        ensure_base(tmp_path / "machines", archive=tmp_path / "absent.tar")


def _slow_build(counter: Path, started: multiprocessing.synchronize.Event, rootfs: Path) -> None:
    with counter.open("a") as out:
        out.write("built\n")
    started.set()
    time.sleep(0.5)  # long enough for the other process to be waiting on the lock
    rootfs.mkdir()


def _build_in_child(image_dir: Path, counter: Path, started, results) -> None:
    results.put(str(image._build_once(image_dir, lambda r: _slow_build(counter, started, r))))


def test_two_processes_build_an_image_once(tmp_path):
    context = multiprocessing.get_context("fork")
    started, results = context.Event(), context.Queue()
    counter, image_dir = tmp_path / "count", tmp_path / "images" / "x"
    first = context.Process(target=_build_in_child, args=(image_dir, counter, started, results))
    second = context.Process(target=_build_in_child, args=(image_dir, counter, started, results))
    first.start()
    assert started.wait(10)
    second.start()
    first.join(20)
    second.join(20)

    assert counter.read_text() == "built\n"
    assert {results.get(timeout=1), results.get(timeout=1)} == {str(image_dir)}
    assert (image_dir / READY).is_file()
    assert (image_dir / "rootfs").is_dir()


def test_a_failed_debootstrap_says_why_and_leaves_nothing(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "debootstrap"
    fake.write_text(
        "#!/bin/sh\necho 'I: Retrieving InRelease'\n"
        "echo 'E: Failed getting release file http://mirror.invalid/debian/dists/bookworm/Release'\n"
        "exit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")

    with pytest.raises(MachineSetupError) as caught:
        ensure_base(tmp_path / "machines", mirror="http://mirror.invalid/debian")

    assert str(caught.value) == (
        "debootstrap bookworm from http://mirror.invalid/debian failed: "
        "E: Failed getting release file http://mirror.invalid/debian/dists/bookworm/Release"
    )
    assert [p.name for p in (tmp_path / "machines" / "images").iterdir()] == [
        ".debian-bookworm.lock"
    ]


def test_without_debootstrap_the_base_cannot_be_built(tmp_path, monkeypatch):
    monkeypatch.setattr(image, "which", lambda name: None)
    with pytest.raises(MachineSetupError, match=r"^debootstrap not found: .*apt-get install"):
        ensure_base(tmp_path / "machines", mirror="http://mirror.invalid/debian")


def test_a_build_that_fails_on_the_disk_says_so_in_one_line(tmp_path):
    def build(rootfs: Path) -> None:
        rootfs.mkdir()
        raise OSError(28, "No space left on device")

    with pytest.raises(MachineSetupError, match=r"^building .*/images/x: .*No space left"):
        image._build_once(tmp_path / "images" / "x", build)
    assert [p.name for p in (tmp_path / "images").iterdir()] == [".x.lock"]


# The real base, built once into VERDA_TEST_MACHINES_DIR.


def test_the_base_has_sshd_the_default_user_and_no_host_keys():
    rootfs = base_rootfs()

    assert (rootfs.parent / READY).is_file()
    assert rootfs.name == "rootfs"
    assert rootfs.parent.name == image.BASE_NAME
    for tool in ("usr/sbin/sshd", "usr/bin/sudo", "usr/bin/python3", "usr/bin/pip3", "sbin/ip"):
        assert (rootfs / tool).exists(), tool
    assert not list((rootfs / "etc/ssh").glob("ssh_host_*"))
    assert not list((rootfs / "var/cache/apt/archives").glob("*.deb"))
    assert (rootfs / "usr/local/sbin/instance-init").stat().st_mode & 0o777 == 0o755
    users = {line.split(":")[0]: line.split(":") for line in (rootfs / "etc/passwd").open()}
    assert users["ubuntu"][6].strip() == "/bin/bash"
    assert (rootfs / users["ubuntu"][5].lstrip("/")).is_dir()
    assert "ubuntu" in next(
        line for line in (rootfs / "etc/group").open() if line.startswith("sudo:")
    )
    sudoers = rootfs / "etc/sudoers.d/90-verda-ubuntu"
    assert sudoers.read_text() == "ubuntu ALL=(ALL:ALL) NOPASSWD:ALL\n"
    assert sudoers.stat().st_mode & 0o777 == 0o440
