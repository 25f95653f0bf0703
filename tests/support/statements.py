"""The statements the server runs, watched on its engine (the live server runs in
the test's process)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

Statement = tuple[str, Any]


@contextmanager
def watched(live) -> Iterator[list[Statement]]:
    """The statements the server runs while the block runs, with their parameters."""
    seen: list[Statement] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
        seen.append((statement, parameters))

    engine = live.context.db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
