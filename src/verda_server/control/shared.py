"""Operator-set state, held in the store and mirrored in each replica's memory.

A change is written in the store with a new generation and applied locally by
the handlers registered for its name. Replicas on a network database compare
the store's highest generation with theirs before each request (one indexed
read) and apply what changed, so a change acknowledged by one replica is seen
by the next request to any other. On the embedded SQLite store there is one
process, and nothing to compare.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from verda_server.control.models import ControlState
from verda_server.storage.database import Database
from verda_server.storage.point_read import PointRead

Handler = Callable[[Any], None]


def read_value(session: Session, name: str) -> Any:
    row = session.get(ControlState, name)
    return None if row is None else json.loads(row.value)


def write_value(session: Session, name: str, value: Any) -> int:
    """Store `value` under `name` with the next generation (writers take turns,
    so the maximum plus one is unique)."""
    latest = session.scalar(select(func.max(ControlState.generation))) or 0
    row = session.get(ControlState, name)
    text = json.dumps(value, sort_keys=True)
    if row is None:
        session.add(ControlState(name=name, value=text, generation=latest + 1))
    else:
        row.value, row.generation = text, latest + 1
    return latest + 1


class SharedState:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._handlers: dict[str, Handler] = {}
        self._generation = -1
        self.remote = db.engine.dialect.name != "sqlite"
        self._driver_error: type[Exception] = db.engine.dialect.loaded_dbapi.Error
        self._latest = PointRead(db, select(func.max(ControlState.generation)))

    def on(self, name: str, handler: Handler) -> None:
        """Call `handler(value)` with the stored value of `name` now and after
        every change of it (None when it was never set)."""
        self._handlers[name] = handler

    def load(self) -> None:
        """Apply every stored value (at start-up; None for a name never set)."""
        self._generation = -1
        self._catch_up(everything=True)

    def _catch_up(self, everything: bool = False) -> None:
        # Only what changed since this replica last looked: a value applied
        # again could undo what happened here since (the clock moved on).
        with self.db.read() as session:
            rows = session.execute(
                select(ControlState.name, ControlState.value, ControlState.generation).where(
                    ControlState.generation > self._generation
                )
            ).all()
        changed = {name: json.loads(value) for name, value, _ in rows}
        if everything:
            for name in self._handlers:
                changed.setdefault(name, None)
        for name, value in changed.items():
            self._apply(name, value)
        self._generation = max([self._generation, *(generation for *_, generation in rows)])

    def put(self, name: str, value: Any) -> None:
        """Store a change and apply it here at once."""
        with self.db.write() as session:
            generation = write_value(session, name, value)
        self._apply(name, value)
        self.written(generation)

    def written(self, generation: int) -> None:
        """Note a change this replica wrote and has already applied."""
        if generation == self._generation + 1:
            # Nothing from elsewhere came between: this replica is up to date,
            # and must not apply its own change again later, over what happened
            # here since (a test moving the clock in-process).
            self._generation = generation

    def _apply(self, name: str, value: Any) -> None:
        handler = self._handlers.get(name)
        if handler is not None:
            handler(value)

    async def refresh(self) -> None:
        """Catch up with changes made by other replicas (network stores only)."""
        if not self.remote:
            return
        try:
            row = await self._latest.run()
            if row is not None and (row[0] or 0) > self._generation:
                await run_in_threadpool(self._catch_up)
        except (SQLAlchemyError, self._driver_error):
            # An unreachable store: the request goes on and meets it in its own
            # way (/healthz answers 503); nothing here changed.
            return
