"""Group commit for the embedded SQLite store: the units of work of writers that
arrive while another one runs share one transaction and one commit.

With `synchronous=FULL` every commit waits for an fsync (milliseconds on many
disks, far more than a unit's own work), so writers committing one by one
could not go faster than the disk flushes. Here writers still take turns (the
turn is what makes every check-then-act race-free), but a writer that finds
others queued behind it hands its turn on without committing: each unit runs
inside a SAVEPOINT of the batch's transaction, so a failing unit rolls back
alone, and the writer whose turn ends with nobody queued (or the batch full)
commits the batch for everyone in it.

No writer returns before the batch that holds its unit is committed, so
nothing is acknowledged before it is durable, and nothing a batch member
answers (an error included, which may have read another member's work) can
be undone afterwards; if the commit fails, every member fails. Readers see a
batch only once it is committed, generations included (storage/generation.py
moves them inside each unit).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

# Units per batch at most: bounds how long the first writer of a long chain
# waits for its answer.
MOST_UNITS = 32


class BatchFailed(RuntimeError):
    """The batch holding this writer's unit was not committed."""


class _Batch:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.transaction = connection.begin()
        self.units = 0
        self.broken = False
        self.done = threading.Event()
        self.error: BaseException | None = None


def _in_transaction(connection: Connection) -> bool:
    """Whether SQLite still holds the batch's transaction: some errors (a full
    disk, an I/O error) make it roll the whole transaction back by itself."""
    raw: Any = connection.connection.dbapi_connection
    return bool(raw is not None and raw.in_transaction)


class GroupCommit:
    def __init__(
        self, engine: Engine, sessions: sessionmaker[Session], lost: Callable[[], None]
    ) -> None:
        # The batch's transaction takes the write lock up front (BEGIN IMMEDIATE).
        self._engine = engine.execution_options(sqlite_begin="IMMEDIATE")
        # Each unit's session joins the batch's connection inside a SAVEPOINT.
        self._sessions = sessions
        # Called when a batch is not committed: its units' work is undone, so
        # whatever was remembered of it must go.
        self._lost = lost
        self._turn = threading.Lock()
        self._count = threading.Lock()
        self._queued = 0
        self._batch: _Batch | None = None

    @contextmanager
    def unit(self) -> Iterator[Session]:
        with self._count:
            self._queued += 1
        self._turn.acquire()
        with self._count:
            self._queued -= 1
        failure: BaseException | None = None
        batch: _Batch | None = None
        try:
            batch = self._batch
            if batch is None:
                batch = self._batch = _Batch(self._engine.connect())
            batch.units += 1
            session = self._sessions(bind=batch.connection)
            try:
                with session.begin():
                    yield session
            finally:
                session.close()
        except BaseException as exc:
            failure = exc
        if batch is None:  # the batch could not even begin
            self._turn.release()
            assert failure is not None
            raise failure
        if not _in_transaction(batch.connection):
            batch.broken = True
        self._end_turn(batch)
        if failure is not None:
            raise failure
        if batch.error is not None:
            raise BatchFailed("the write was not committed") from batch.error

    def _end_turn(self, batch: _Batch) -> None:
        """Hand the turn on to a queued writer and wait for the batch's commit,
        or commit it now."""
        with self._count:
            hand_on = self._queued > 0 and batch.units < MOST_UNITS and not batch.broken
        if hand_on:
            self._turn.release()
            batch.done.wait()
            return
        self._batch = None
        try:
            if batch.broken:
                raise BatchFailed("the store rolled the batch back")
            batch.transaction.commit()
        except BaseException as exc:
            batch.error = exc
            self._lost()
            # The connection is closed below anyway, which ends the transaction.
            with suppress(Exception):
                batch.transaction.rollback()
        finally:
            try:
                batch.connection.close()
            finally:
                batch.done.set()
                self._turn.release()
