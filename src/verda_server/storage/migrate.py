"""Schema migrations, applied at start-up before the server accepts requests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from verda_server.storage.database import Database

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision in migrations/versions. A start on a store already there
# skips Alembic altogether (importing it and reading its scripts cost more than
# the rest of the start); tests/test_startup.py checks this is Alembic's head.
HEAD = "0021"
VERSION_TABLE = "alembic_version"

# Any constant works; it only has to be the same for every replica.
_PG_MIGRATION_LOCK = 0x7665726461


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "verda_server.storage:migrations")
    config.attributes["connection"] = connection
    return config


@contextmanager
def startup_lock(db: Database) -> Iterator[Connection]:
    """Serialise migrations and bootstrap across replicas starting together."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            connection.commit()
        try:
            yield connection
        finally:
            if connection.dialect.name == "postgresql":
                connection.rollback()
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                connection.commit()


def stored_revisions(connection: Connection) -> set[str]:
    """The revisions the store says it is at: none for a new store."""
    try:
        if not inspect(connection).has_table(VERSION_TABLE):
            return set()
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
        return set(rows)
    finally:
        connection.rollback()  # only read: end the snapshot, keep no lock


def upgrade(connection: Connection) -> None:
    """Bring the store to the newest schema; a store already there is left as is."""
    if stored_revisions(connection) != {HEAD}:
        _migrate(connection)


def _migrate(connection: Connection) -> None:
    """On SQLite a batch migration rebuilds a table (copy, drop, rename); with
    foreign keys enforced, dropping a parent would cascade into its children
    and delete their rows. So enforcement is off while migrating (SQLite only
    honours that outside a transaction), and the result is checked after.
    """
    from alembic import command

    if connection.dialect.name != "sqlite":
        command.upgrade(alembic_config(connection), "head")
        connection.commit()
        return
    if connection.in_transaction():
        connection.commit()
    raw = connection.connection.dbapi_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        command.upgrade(alembic_config(connection), "head")
        connection.commit()
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
        connection.commit()
        if broken:
            raise RuntimeError(f"the migrated store breaks foreign keys: {broken[:5]}")
    finally:
        raw.execute("PRAGMA foreign_keys=ON")
