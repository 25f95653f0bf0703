"""What this process's committed writes changed, step by step, per project.

A project's generation (storage/generation.py) says only that something
changed. A reader that remembers answers item by item (readmodel/) can keep
those a write did not touch if it knows what the write touched: each unit of
work that moves a project's generation from `old` to `new` leaves a step here,
with the keys (a family and an id, e.g. ("instance", <id>)) of the answers its
rows are part of, or None when it changed something it cannot name (a bulk
statement, a delete the store cascades on its own).

Only a complete chain of steps from the generation an answer was read at to
the one the store holds now says what changed in between; a missing step (a
write by another process or replica, a step forgotten) means: not known. Kept
in the store's memory (Database.memory), which is emptied when a batch of
writes fails to commit, so a step of a write that never happened is never
followed. Written by writer threads, read on the event loop: hence the lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

Key = tuple[str, str]
# Keys in the store's memory.
_LOG = "verda.changes"
# Projects followed at most, and steps per project: beyond, the oldest go.
MOST_PROJECTS = 4096
MOST_STEPS = 64


class ChangeLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # project id -> generation before a step -> (generation after, keys)
        self._steps: OrderedDict[str, dict[int, tuple[int, frozenset[Key] | None]]] = OrderedDict()

    def add(self, previous: Mapping[str, int], new: int, keys: frozenset[Key] | None) -> None:
        """One unit's steps: every project in `previous` (its generation before
        the unit) moved to `new`."""
        with self._lock:
            for project_id, old in previous.items():
                steps = self._steps.get(project_id)
                if steps is None:
                    steps = self._steps[project_id] = {}
                    if len(self._steps) > MOST_PROJECTS:
                        self._steps.popitem(last=False)
                else:
                    self._steps.move_to_end(project_id)
                steps[old] = (new, keys)
                if len(steps) > MOST_STEPS:
                    del steps[next(iter(steps))]

    def between(self, project_id: str, old: int, new: int) -> frozenset[Key] | None:
        """The keys changed from generation `old` to `new` of the project; None
        when that is not known."""
        found: set[Key] = set()
        with self._lock:
            steps = self._steps.get(project_id)
            if steps is None:
                return None
            at = old
            while at != new:
                step = steps.get(at)
                if step is None or step[0] > new:
                    return None
                at, keys = step
                if keys is None:
                    return None
                found.update(keys)
        return frozenset(found)


def change_log(memory: dict[str, Any]) -> ChangeLog:
    log = memory.get(_LOG)
    if log is None:
        log = memory.setdefault(_LOG, ChangeLog())
    return log  # type: ignore[no-any-return]
