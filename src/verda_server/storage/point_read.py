"""One-row reads for the hottest paths, straight on a pooled driver connection.

An ORM session costs about 0.4 ms per read on SQLite (begin, commit, reset),
ten times the query itself. A check that runs on every authenticated request
(`TokenService.authenticate`) cannot afford that, so it runs its one statement,
compiled once for the store's dialect, on a raw pooled connection. A single
statement is its own consistent snapshot on both backends. Values come back as
the driver gives them: use it for plain columns (strings, integers), not for
types that need SQLAlchemy's result processing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from starlette.concurrency import run_in_threadpool

from verda_server.storage.database import Database


class PointRead:
    def __init__(self, db: Database, statement: Select[*tuple[Any, ...]]) -> None:
        self._db = db
        self._statement = statement
        # Compiled on first use, not while the server starts.
        self._compiled: tuple[str, list[str] | None] | None = None
        self._inline = db.engine.dialect.name == "sqlite"

    def _sql_and_args(self, params: dict[str, Any]) -> tuple[str, Any]:
        if self._compiled is None:
            compiled = self._statement.compile(dialect=self._db.engine.dialect)
            positions = compiled.positiontup if compiled.positional else None
            self._compiled = (compiled.string, positions)
        sql, positions = self._compiled
        if positions is None:
            return sql, params
        return sql, tuple(params[name] for name in positions)

    def first(self, **params: Any) -> tuple[Any, ...] | None:
        sql, args = self._sql_and_args(params)
        connection = self._db.engine.raw_connection()
        try:
            if self._inline:
                # pysqlite runs here without transactions of its own (see
                # database.py): the one statement is its own read transaction.
                return _fetch(connection, sql, args)
            # Autocommit spares the round trips of BEGIN and ROLLBACK; the pool
            # hands out idle connections and gets this one back idle.
            driver: Any = connection.driver_connection
            driver.autocommit = True
            try:
                return _fetch(connection, sql, args)
            finally:
                driver.autocommit = False
        finally:
            connection.close()

    async def run(self, **params: Any) -> tuple[Any, ...] | None:
        """`first`, in the style of `Database.run_read`: inline on the embedded
        SQLite store, in a worker thread for a network database."""
        if self._inline:
            return _fetch(self._db.inline_connection(), *self._sql_and_args(params))
        return await run_in_threadpool(lambda: self.first(**params))


def _fetch(connection: Any, sql: str, args: Any) -> tuple[Any, ...] | None:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, args)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else tuple(row)
