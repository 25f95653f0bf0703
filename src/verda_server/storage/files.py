"""The embedded store's files are private to their owner: they hold the token signing key."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PRIVATE_MODE = 0o600
# Files SQLite keeps beside the database: the WAL and its index, and the
# rollback journal used before the first connection switches to WAL.
SIDECAR_SUFFIXES = ("-wal", "-shm", "-journal")


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other backends and in-memory stores."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # not a URL at all: opening the store says so
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or parsed.query.get("uri") == "true":
        return None
    return Path(database)


def make_private(database: Path) -> None:
    """Create the database file 0600 before SQLite opens it, and tighten an existing one.

    SQLite creates its -wal, -shm and -journal files with the main file's
    mode, so that one mode covers the whole store whatever the umask or the
    directory's mode. Sidecars left by an earlier run are tightened as well.
    Raises OSError when a file can't be made private (not ours, say).
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))
    for path in (database, *(Path(f"{database}{s}") for s in SIDECAR_SUFFIXES)):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode != PRIVATE_MODE:
            # The umask can't widen an explicit chmod, unlike the mode given to open().
            os.chmod(path, PRIVATE_MODE)


def shared_directory_mode(directory: Path) -> int | None:
    """The directory's mode when its group or other users have any access to it, else None."""
    mode = stat.S_IMODE(directory.stat().st_mode)
    return mode if mode & 0o077 else None
