"""Rendered answers per project, valid for one generation until a due instant.

When the store's generation of a project has moved on by writes of this
process only, whose steps say what they changed (storage/changes.py), the
entry follows them instead of starting again: the instance answers those
writes did not touch stay (readmodel/instances.py), everything else goes, and
the due instant is read again.

Bounded by the bytes of the bodies held: the projects read least recently go
first. Used from the event loop only: nothing here needs a lock.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from verda_server.projects.service import BalanceParts
from verda_server.readmodel.instances import FAMILY, InstanceView
from verda_server.storage.changes import ChangeLog

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
    # False once writes were followed: `due` must be read again.
    due_known: bool = True
    view: InstanceView | None = None

    def current(self, generation: int, now: datetime) -> bool:
        return (
            self.generation == generation
            and self.due_known
            and (self.due is None or now < self.due)
        )


class Answers:
    def __init__(
        self, budget: int = DEFAULT_BUDGET, changes: Callable[[], ChangeLog] | None = None
    ) -> None:
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._budget = budget
        self._size = 0
        self._changes = changes

    def find(
        self, project_id: str, generation: int, now: datetime, key: tuple[str, bytes]
    ) -> Answer | None:
        entry = self._entries.get(project_id)
        if entry is None or not entry.current(generation, now):
            return None
        self._entries.move_to_end(project_id)
        return entry.answers.get(key)

    def reusable(self, project_id: str, generation: int) -> Entry | None:
        """The project's entry, brought to `generation` if it was at an earlier
        one (None if it can't be: then it is dropped). Its due instant is not
        checked."""
        entry = self._entries.get(project_id)
        if entry is None or entry.generation == generation:
            return entry
        if entry.generation > generation:
            return None  # this request read its generation before a later one's
        keys = None
        if self._changes is not None:
            keys = self._changes().between(project_id, entry.generation, generation)
        if keys is None:
            self._drop(project_id)
            return None
        entry.generation = generation
        entry.answers.clear()
        entry.balance = None
        entry.due_known = False
        if entry.view is not None:
            entry.view.mark(key for family, key in keys if family == FAMILY)
        self.resize(project_id, entry)
        return entry

    def resize(self, project_id: str, entry: Entry) -> None:
        """Count the entry's bytes again (its instance view changed)."""
        if self._entries.get(project_id) is not entry:
            return
        size = sum(_cost(key, answer) for key, answer in entry.answers.items())
        if entry.view is not None:
            size += entry.view.size
        self._size += size - entry.size
        entry.size = size
        self._spend()

    def open(self, project_id: str, generation: int, due: datetime | None) -> Entry:
        """A new entry for the project; one for a later generation (generations
        only grow) is kept, and the new one held by nobody."""
        held = self._entries.get(project_id)
        if held is not None and held.generation > generation:
            return Entry(generation, due)
        self._drop(project_id)
        entry = self._entries[project_id] = Entry(generation, due)
        return entry

    def held(self, project_id: str, entry: Entry, generation: int) -> bool:
        """Whether the entry is still the project's, at `generation`."""
        return self._entries.get(project_id) is entry and entry.generation == generation

    def keep(
        self,
        project_id: str,
        entry: Entry,
        key: tuple[str, bytes],
        answer: Answer,
        generation: int | None = None,
    ) -> None:
        """Keep an answer rendered for the entry (at `generation`, when given)."""
        if not self.held(project_id, entry, entry.generation if generation is None else generation):
            return  # replaced, dropped or moved on while the answer was rendered
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
        self._spend()

    def _spend(self) -> None:
        while self._size > self._budget:
            self._drop(next(iter(self._entries)))

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
