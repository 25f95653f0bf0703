"""Helpers shared by the command-line entry points."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from verda_server.config import sqlite_url
from verda_server.storage.files import shared_directory_mode, sqlite_file


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "(unparseable URL)"


def prepare_data_dir(data_dir: Path) -> Path:
    """The data directory, private to its owner: it holds the token signing key."""
    if data_dir.exists() and not data_dir.is_dir():
        fail(f"--data-dir {data_dir} exists and is not a directory")
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"cannot create --data-dir {data_dir}: {exc}")
    return data_dir


def store_url(data_dir: Path, database_url: str | None) -> str:
    """The store's URL: the SQLite file in the data directory unless a URL is given.

    Warns (one line on stderr) when the directory holding a SQLite store is
    open to its group or other users: the files are created 0600 whatever
    that mode, but others may still list them or, with write access, replace them.
    """
    if database_url is None:
        database_url = sqlite_url(prepare_data_dir(data_dir))
    database = sqlite_file(database_url)
    if database is not None:
        directory = database.parent
        try:
            mode = shared_directory_mode(directory)
        except OSError:
            mode = None  # opening the store reports it
        if mode is not None:
            typer.echo(
                f"warning: the store's directory {directory} is open to other users "
                f"(mode {mode:04o}); run 'chmod 700 {directory}' to keep it private",
                err=True,
            )
    return database_url
