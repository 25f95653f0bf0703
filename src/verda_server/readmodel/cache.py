"""Rendered answers per project, valid for one generation until a due instant.

Bounded by the bytes of the bodies held: the projects read least recently go
first. Used from the event loop only: nothing here needs a lock.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from verda_server.projects.service import BalanceParts

# What the remembered answers of all projects may hold, bodies counted.
DEFAULT_BUDGET = 16 * 1024 * 1024
# Per answer beside its body: the key, the headers, the bookkeeping.
_OVERHEAD = 256


@dataclass(frozen=True, slots=True)
class Answer:
    headers: list[tuple[bytes, bytes]]
    body: bytes
    # The route that gave it, so that a replay is logged and measured as its route.
    route: Any


@dataclass(slots=True)
class Entry:
    generation: int
    # None: nothing is scheduled; only a write can change the answers.
    due: datetime | None
    answers: dict[tuple[str, bytes], Answer] = field(default_factory=dict)
    size: int = 0
    # The parts the balance is computed from at any instant (GET /v1/balance).
    balance: BalanceParts | None = None

    def current(self, generation: int, now: datetime) -> bool:
        return self.generation == generation and (self.due is None or now < self.due)


class Answers:
    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._budget = budget
        self._size = 0

    def find(
        self, project_id: str, generation: int, now: datetime, key: tuple[str, bytes]
    ) -> Answer | None:
        entry = self._entries.get(project_id)
        if entry is None or not entry.current(generation, now):
            return None
        self._entries.move_to_end(project_id)
        return entry.answers.get(key)

    def entry(self, project_id: str, generation: int, now: datetime) -> Entry | None:
        """The project's entry if it holds for `generation` at `now`; a stale
        one is dropped."""
        entry = self._entries.get(project_id)
        if entry is not None and not entry.current(generation, now):
            if entry.generation > generation:
                return None  # this request read its generation before a later one's
            self._drop(project_id)
            return None
        return entry

    def open(self, project_id: str, generation: int, due: datetime | None) -> Entry:
        """A new entry for the project; one for a later generation (generations
        only grow) is kept, and the new one held by nobody."""
        held = self._entries.get(project_id)
        if held is not None and held.generation > generation:
            return Entry(generation, due)
        self._drop(project_id)
        entry = self._entries[project_id] = Entry(generation, due)
        return entry

    def keep(self, project_id: str, entry: Entry, key: tuple[str, bytes], answer: Answer) -> None:
        if self._entries.get(project_id) is not entry:
            return  # replaced or dropped while the answer was rendered
        size = _cost(key, answer)
        if size > self._budget:
            return
        previous = entry.answers.get(key)
        if previous is not None:
            entry.size -= _cost(key, previous)
            self._size -= _cost(key, previous)
        entry.answers[key] = answer
        entry.size += size
        self._size += size
        self._entries.move_to_end(project_id)
        while self._size > self._budget:
            oldest = next(iter(self._entries))
            self._drop(oldest)

    def clear(self) -> None:
        self._entries.clear()
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def _drop(self, project_id: str) -> None:
        entry = self._entries.pop(project_id, None)
        if entry is not None:
            self._size -= entry.size


def _cost(key: tuple[str, bytes], answer: Answer) -> int:
    return len(answer.body) + len(key[0]) + len(key[1]) + _OVERHEAD
