"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from verda_server.storage.files import make_private, sqlite_file
from verda_server.storage.generation import STORE_MEMORY, TOUCHED, Generations
from verda_server.storage.group_commit import GroupCommit

T = TypeVar("T")

# WAL lets readers run beside the single writer. What a commit waits for is
# the store's durability (`serve --sqlite-sync`):
# - full (the default): the WAL is fsynced on every commit, so an
#   acknowledged write survives a crash of the process and of the machine;
# - normal: the WAL is written on every commit and fsynced at checkpoints, so
#   an acknowledged write survives a crash of the process, but the last ones
#   before a power loss or kernel crash may be lost (the store stays
#   consistent). An fsync costs milliseconds on many disks, far more than
#   the rest of a write.
SQLITE_SYNC_MODES = ("full", "normal")
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
)


# Any constant works, as long as every replica uses the same one.
_PG_WRITE_LOCK = 0x76657264617772
# Changes nothing a read answers (storage/generation.py).
_WRITE_LOCK = text("SELECT pg_advisory_xact_lock(:k)").execution_options(**{TOUCHED: True})


def _on_sqlite_connect(sync: str) -> Callable[[Any, Any], None]:
    pragmas = (*SQLITE_PRAGMAS, f"PRAGMA synchronous={sync.upper()}")

    def connected(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide where transactions begin, so that
        # BEGIN IMMEDIATE below takes the write lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    return connected


def _on_sqlite_begin(connection: Any) -> None:
    # Writers take the write lock at BEGIN (IMMEDIATE), which avoids the
    # deadlock-prone upgrade from a read to a write lock half-way through a
    # transaction; readers begin DEFERRED and never block each other.
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def _no_rows(record: logging.LogRecord) -> bool:
    # The engine logs result rows at DEBUG: rows hold signing keys and secret
    # hashes, which no log level may show.
    return record.levelno > logging.DEBUG


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, sqlite_sync: str = "full") -> Engine:
    # Never a bound value in a log line or an error's text: some are secrets.
    logging.getLogger("sqlalchemy.engine.Engine").addFilter(_no_rows)
    if is_sqlite(url):
        engine = create_engine(
            url,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=8,
            max_overflow=8,
            pool_pre_ping=False,
        )
        if sqlite_sync not in SQLITE_SYNC_MODES:
            raise ValueError(f"sqlite_sync: one of {', '.join(SQLITE_SYNC_MODES)}")
        event.listen(engine, "connect", _on_sqlite_connect(sqlite_sync))
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    return create_engine(
        url, hide_parameters=True, pool_size=10, max_overflow=10, pool_pre_ping=True
    )


class Database:
    def __init__(self, url: str, sqlite_sync: str = "full") -> None:
        self.url = url
        database_file = sqlite_file(url)
        if database_file is not None:
            make_private(database_file)
        self.engine = make_engine(url, sqlite_sync)
        self._is_postgres = self.engine.dialect.name == "postgresql"
        self._inline: Any = None
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        # What domain modules remember of this store's committed state (as
        # billing/sums.py the open meters' sums), reached through Session.info;
        # emptied when a batch of writes fails to commit.
        self.memory: dict[str, Any] = {}
        info = {STORE_MEMORY: self.memory}
        self._readers = sessionmaker(self.engine, expire_on_commit=False)
        self._writers = sessionmaker(writer, expire_on_commit=False, info=info)
        generations = Generations()
        generations.install(self._writers)
        # The embedded store's writers commit in groups (storage/group_commit.py):
        # each unit's session joins the batch's transaction in a SAVEPOINT.
        self._group: GroupCommit | None = None
        if not self._is_postgres:
            units = sessionmaker(
                expire_on_commit=False, join_transaction_mode="create_savepoint", info=info
            )
            generations.install(units)
            self._group = GroupCommit(self.engine, units, lost=self.memory.clear)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on error;
        the block returns once its work is durable.

        Writers take turns, on both backends: SQLite through one in-process
        turn before BEGIN IMMEDIATE (a writer refused by BEGIN IMMEDIATE sleeps
        in SQLite's busy handler, up to 100 ms a try, even after the lock is
        free; the busy timeout still covers other processes, the CLI), its
        writers' units committed in groups; PostgreSQL (where several replicas
        may write) through one transaction-scoped advisory lock. Every
        check-then-act in the domain (capacity, a volume's attachments, address
        allocation) is therefore race-free, and writers can't deadlock each other.
        """
        if self._group is not None:
            with self._group.unit() as session:
                yield session
            return
        with self._writers() as session, session.begin():
            session.execute(_WRITE_LOCK, {"k": _PG_WRITE_LOCK})
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only snapshot; never takes the write lock."""
        with self._readers() as session, session.begin():
            yield session

    async def run_read(self, work: Callable[[Session], T]) -> T:
        """Run a read in a snapshot. On the embedded SQLite store it runs inline:
        WAL readers never wait for a lock, and the thread-pool hand-off would
        cost more than the query. A network database gets a worker thread, so
        its round trips never stall the event loop."""

        def read() -> T:
            with self.read() as session:
                return work(session)

        if self._is_postgres:
            return await run_in_threadpool(read)
        return read()

    def inline_connection(self) -> Any:
        """The embedded store's connection for one-statement reads on the event
        loop (PointRead.run): one thread uses it, so it needs no pool, whose
        check-out and return cost more than the read. Each statement is its
        own read transaction (see _on_sqlite_connect), so it sees every commit."""
        if self._inline is None:
            pooled = self.engine.raw_connection()
            pooled.detach()  # closed by dispose(), never returned to the pool
            self._inline = pooled.dbapi_connection
        return self._inline

    def dispose(self) -> None:
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        self.engine.dispose()
