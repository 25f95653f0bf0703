"""The server clock as the store keeps it, so every replica (and a restart) sees one time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from verda_server.clock import Clock, ClockState
from verda_server.control.shared import SharedState, read_value, write_value

NAME = "clock"


def encode(state: ClockState) -> dict[str, Any]:
    offset = state.offset
    return {
        "offset_us": (offset.days * 86400 + offset.seconds) * 1_000_000 + offset.microseconds,
        "frozen_at": None if state.frozen_at is None else state.frozen_at.isoformat(),
    }


def decode(value: dict[str, Any]) -> ClockState:
    frozen_at = value.get("frozen_at")
    return ClockState(
        offset=timedelta(microseconds=int(value["offset_us"])),
        frozen_at=None if frozen_at is None else datetime.fromisoformat(frozen_at),
    )


def follow(shared: SharedState, clock: Clock) -> None:
    """Keep `clock` at the stored state: now and whenever an operator moves it."""

    def apply(value: Any) -> None:
        if value is not None:
            clock.restore(decode(value))

    shared.on(NAME, apply)


def move(shared: SharedState, clock: Clock, how: Callable[[Clock], object]) -> datetime:
    """Move the clock (advance, freeze, unfreeze) from the latest of its stored
    and local states, and store the result: two replicas moving it at once both
    count, since writers take turns."""
    with shared.db.write() as session:
        stored = read_value(session, NAME)
        if stored is not None and decode(stored).now() > clock.now():
            clock.restore(decode(stored))
        how(clock)
        generation = write_value(session, NAME, encode(clock.state()))
    shared.written(generation)
    return clock.now()
