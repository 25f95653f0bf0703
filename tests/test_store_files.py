"""The embedded store's files are private whatever the umask and the directory's mode."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.live import TLS
from tests.support.process import run_server

CREDENTIALS = {"VERDA_CLIENT_ID": "files-client", "VERDA_CLIENT_SECRET": "files-secret"}
WARNING = "warning: the store's directory"


def _modes(directory: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()}


def _shared_directory(tmp_path: Path) -> Path:
    directory = tmp_path / "shared"
    directory.mkdir()
    directory.chmod(0o755)
    return directory


def _write_some(base_url: str) -> None:
    token = httpx.post(
        base_url + "/v1/oauth2/token",
        json={
            "grant_type": "client_credentials",
            "client_id": CREDENTIALS["VERDA_CLIENT_ID"],
            "client_secret": CREDENTIALS["VERDA_CLIENT_SECRET"],
        },
        verify=TLS,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for n in range(3):
        created = httpx.post(
            base_url + "/v1/scripts",
            json={"name": f"s{n}", "script": "#!/bin/sh\necho hi"},
            headers=headers,
            verify=TLS,
        )
        assert created.status_code == 201, created.text


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask-022", "umask-000"])
@pytest.mark.parametrize("how", ["data-dir", "database-url"])
def test_every_file_of_the_store_is_private_in_a_shared_directory(tmp_path, umask, how):
    directory = _shared_directory(tmp_path)
    args = (
        ["--data-dir", str(directory)]
        if how == "data-dir"
        else [
            "--data-dir",
            str(tmp_path / "unused"),
            "--database-url",
            f"sqlite:///{directory}/x.db",
        ]
    )
    with run_server(*args, env=CREDENTIALS, umask=umask) as server:
        started = _modes(directory)
        _write_some(server.base_url)
        written = _modes(directory)
        warnings = [line for line in server.output if line.startswith(WARNING)]
    assert started and set(started.values()) == {0o600}, started
    db = "verda.db" if how == "data-dir" else "x.db"
    assert {db, f"{db}-wal", f"{db}-shm"} <= set(written), written
    assert set(written.values()) == {0o600}, written
    assert warnings == [
        f"{WARNING} {directory} is open to other users (mode 0755); "
        f"run 'chmod 700 {directory}' to keep it private\n"
    ]
    assert stat.S_IMODE(directory.stat().st_mode) == 0o755  # warned about, not changed


def test_a_readable_store_left_by_a_crash_is_made_private_on_start(tmp_path):
    directory = _shared_directory(tmp_path)
    with run_server("--data-dir", str(directory), env=CREDENTIALS, umask=0) as server:
        _write_some(server.base_url)
        server.stop(signal.SIGKILL)
    left = _modes(directory)
    assert {"verda.db", "verda.db-wal", "verda.db-shm"} <= set(left)
    for name in left:
        (directory / name).chmod(0o644)

    with run_server("--data-dir", str(directory), env=CREDENTIALS, umask=0) as server:
        assert set(_modes(directory).values()) == {0o600}
        _write_some(server.base_url)
        assert set(_modes(directory).values()) == {0o600}


def test_a_directory_the_server_creates_is_private_and_not_warned_about(tmp_path):
    directory = tmp_path / "new"
    with run_server("--data-dir", str(directory), env=CREDENTIALS, umask=0) as server:
        _write_some(server.base_url)
        assert set(_modes(directory).values()) == {0o600}
        assert WARNING not in server.text
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def _projects(*args: str, umask: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERDA_")}
    return subprocess.run(
        [sys.executable, "-m", "verda_server", "projects", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        umask=umask,
    )


def test_the_projects_commands_keep_the_store_private(tmp_path):
    directory = _shared_directory(tmp_path)
    created = _projects("create", "--data-dir", str(directory), umask=0)
    assert created.returncode == 0, created.stderr
    assert created.stderr.count(WARNING) == 1 and "mode 0755" in created.stderr
    assert set(_modes(directory).values()) == {0o600}

    (directory / "verda.db").chmod(0o644)
    listed = _projects("list", "--data-dir", str(directory), umask=0)
    assert listed.returncode == 0, listed.stderr
    assert set(_modes(directory).values()) == {0o600}


def test_a_group_readable_directory_is_warned_about_too(tmp_path):
    directory = tmp_path / "group"
    directory.mkdir()
    directory.chmod(0o710)
    result = _projects("list", "--data-dir", str(directory), umask=0o077)
    assert result.returncode == 0, result.stderr
    assert f"{WARNING} {directory} is open to other users (mode 0710)" in result.stderr
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    result = _projects("list", "--data-dir", str(private), umask=0o077)
    assert result.returncode == 0 and WARNING not in result.stderr
