"""What a project's open meters owe, without reading every meter.

A deploy asks twice what the balance is (can the project pay? when does its
money run out?), and a project's open meters grow with its resources: reading
them all made a deploy cost grow with the project. Here the open meters are
kept as sums (their rates, their rates times their openings, what they have
charged), from which what they owe at an instant is known to within one money
quantum per meter: each meter's charge is floored on its own (rates.cost), and
a sum of floors is below the floor of the sum by less than the number of terms.
Meters whose rate ends (long-term contracts) are kept one by one, exactly.

The sums of a project are remembered per generation (storage/generation.py):
a write transaction that changes a project's meters moves its generation, and
its own changes, followed from its flushes, give the sums of the new
generation, remembered once the unit is committed. A unit that finds nothing
remembered for the generation it reads sums the meters once. Within
`EXACT_UP_TO` meters, and whenever the bounds cannot decide, the callers read
every meter and compute exactly, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, inspect, select
from sqlalchemy.orm import Session, SessionTransaction

from verda_server.billing.ledger import Accrual, Metered
from verda_server.billing.models import Meter
from verda_server.billing.rates import US_PER_HOUR, epoch_us
from verda_server.projects.models import Project
from verda_server.storage.generation import MOVED, STORE_MEMORY, Moved, wrote_in_bulk

# Up to this many open meters a project's balance is computed exactly, meter by
# meter (cheap at that size); beyond it from the sums when they decide.
EXACT_UP_TO = 64
# Keys: the memo in the store's memory (Database.memory), a unit's work in Session.info.
MEMO = "verda.meter_sums"
_WORK = "verda.meter_work"
# Projects remembered at most; beyond, the memo starts again.
_MOST = 4096


@dataclass(frozen=True, slots=True)
class Sums:
    """The open meters of a project: those without an end as sums, the others one by one."""

    count: int = 0
    rate: int = 0  # quanta per hour
    weighted: int = 0  # sum of rate x opening (epoch microseconds)
    charged: int = 0  # quanta
    # No meter counted opened after this instant (microseconds): before it the
    # sums can't tell, since a meter owes nothing before it opens.
    latest: int = 0
    ending: tuple[tuple[str, Accrual], ...] = ()

    def plus(self, meter_id: str, accrual: Accrual, sign: int) -> Sums:
        if accrual.until is not None:
            kept = tuple(e for e in self.ending if e[0] != meter_id)
            return Sums(
                self.count,
                self.rate,
                self.weighted,
                self.charged,
                self.latest,
                (*kept, (meter_id, accrual)) if sign > 0 else kept,
            )
        return Sums(
            self.count + sign,
            self.rate + sign * accrual.rate,
            self.weighted + sign * accrual.rate * accrual.opened,
            self.charged + sign * accrual.charged,
            max(self.latest, accrual.opened) if sign > 0 else self.latest,
            self.ending,
        )

    @property
    def meters(self) -> int:
        return self.count + len(self.ending)

    def owed_between(self, at: datetime) -> tuple[int, int] | None:
        """The least and the most the open meters owe at `at`, in quanta; None
        when the sums can't tell."""
        at_us = epoch_us(at)
        if at_us < self.latest:
            return None
        ending = sum(accrual.owed(at_us) for _, accrual in self.ending)
        most = (self.rate * at_us - self.weighted) // US_PER_HOUR - self.charged + ending
        return most - max(self.count - 1, 0), most

    def rate_at(self, at: datetime) -> int:
        """What the open meters charge per hour at `at`, in quanta (exact)."""
        at_us = epoch_us(at)
        ending = sum(
            a.then if a.until is not None and at_us >= a.until else a.rate for _, a in self.ending
        )
        return self.rate + ending


def _accrual(meter: Metered) -> Accrual:
    return Accrual.of(meter)


def of_meters(rows: Iterable[Any]) -> Sums:
    """The sums of rows of Meter's id and terms."""
    sums = Sums()
    for row in rows:
        sums = sums.plus(row.id, _accrual(row), 1)
    return sums


_OPEN = select(
    Meter.id,
    Meter.rate_per_hour,
    Meter.opened_at,
    Meter.charged,
    Meter.rate_until,
    Meter.next_rate,
).where(Meter.project_id == bindparam("project_id"), Meter.closed_at.is_(None))


class Memo:
    """Each project's sums at one generation; one per store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[int, Sums]] = {}

    def get(self, project_id: str, generation: int) -> Sums | None:
        with self._lock:
            held = self._entries.get(project_id)
        return held[1] if held is not None and held[0] == generation else None

    def put(self, project_id: str, generation: int, sums: Sums) -> None:
        with self._lock:
            if len(self._entries) >= _MOST and project_id not in self._entries:
                self._entries.clear()
            self._entries[project_id] = (generation, sums)

    def forward(self, project_id: str, old: int, new: int) -> None:
        """The project went from generation `old` to `new` by a unit that
        changed none of its meters: sums known at `old` hold at `new`."""
        with self._lock:
            held = self._entries.get(project_id)
            if held is not None and held[0] == old:
                self._entries[project_id] = (new, held[1])

    def drop(self, project_id: str) -> None:
        with self._lock:
            self._entries.pop(project_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class _Working:
    base: Sums
    # Changes of the unit already in `base` (a base summed from the store
    # includes those flushed before it).
    start: int


@dataclass
class _Work:
    changes: dict[str, list[tuple[str, Accrual, int]]] = field(default_factory=dict)
    working: dict[str, _Working] = field(default_factory=dict)
    # A savepoint rolled back: its flushed changes are in `changes`, but undone.
    reread: bool = False
    # The projects summed, held for the unit (the session holds its objects
    # weakly: billing reads each again when the unit commits).
    projects: list[Project] = field(default_factory=list)


def _work(session: Session) -> _Work:
    work = session.info.get(_WORK)
    if work is None:
        work = session.info[_WORK] = _Work()
    return work  # type: ignore[no-any-return]


def _current(working: _Working, changes: list[tuple[str, Accrual, int]]) -> Sums:
    sums = working.base
    for meter_id, accrual, sign in changes[working.start :]:
        sums = sums.plus(meter_id, accrual, sign)
    return sums


def terms(session: Session, project: Project) -> tuple[Sums, Sequence[Any] | None]:
    """The sums of the project's open meters as this unit sees them now (pending
    changes flushed first, as for any query), and the terms of every open meter
    when they were read: for a project of few meters always, else only when
    nothing was remembered."""
    session.flush()
    work = _work(session)
    work.projects.append(project)
    changes = work.changes.get(project.id, [])
    working = work.working.get(project.id)
    if working is None:
        # After a statement in bulk or a savepoint's rollback, the meters are
        # read: what those changed is not followed.
        memo = None if work.reread or wrote_in_bulk(session) else _memo(session)
        remembered = memo.get(project.id, project.generation) if memo is not None else None
        if remembered is not None:
            working = work.working[project.id] = _Working(remembered, 0)
    if working is not None:
        sums = _current(working, changes)
        if sums.meters > EXACT_UP_TO:
            return sums, None
    rows = open_terms(session, project.id)
    sums = of_meters(rows)
    work.working[project.id] = _Working(sums, len(changes))
    return sums, rows


def open_terms(session: Session, project_id: str) -> Sequence[Any]:
    """Every open meter's id and terms (what ledger.Metered names)."""
    return session.execute(_OPEN, {"project_id": project_id}).all()


# ---- following a unit's meter changes ------------------------------------------

_TERMS = ("rate_per_hour", "opened_at", "charged", "rate_until", "next_rate", "closed_at")


@dataclass(frozen=True)
class _Before:
    rate_per_hour: Any
    opened_at: Any
    charged: Any
    rate_until: Any
    next_rate: Any
    closed_at: Any


def _before(meter: Meter) -> _Before:
    state = inspect(meter)
    values = []
    for name in _TERMS:
        history = state.attrs[name].history
        values.append(history.deleted[0] if history.deleted else getattr(meter, name))
    return _Before(*values)


def _after_flush(session: Session, _context: object) -> None:
    new = [m for m in session.new if type(m) is Meter]
    dirty = [m for m in session.dirty if type(m) is Meter]
    gone = [m for m in session.deleted if type(m) is Meter]
    if not (new or dirty or gone):
        return
    changes = _work(session).changes
    for meter in dirty + gone:
        before = _before(meter)
        if before.closed_at is None:
            changes.setdefault(meter.project_id, []).append((meter.id, _accrual(before), -1))
    for meter in new + dirty:
        if meter.closed_at is None:
            changes.setdefault(meter.project_id, []).append((meter.id, _accrual(meter), 1))


def opened(session: Session, project_id: str, meter_id: str, terms: Metered) -> None:
    """A meter opened by a Core insert, which no flush follows (billing/follow.py
    `open_new`): counted as `_after_flush` counts a new one."""
    _work(session).changes.setdefault(project_id, []).append((meter_id, _accrual(terms), 1))


def _memo(session: Session) -> Memo | None:
    memory: dict[str, Any] | None = session.info.get(STORE_MEMORY)
    return None if memory is None else memory.setdefault(MEMO, Memo())


def _after_commit(session: Session) -> None:
    work: _Work | None = session.info.pop(_WORK, None)
    moved: Moved | None = session.info.pop(MOVED, None)
    memo = _memo(session)
    if memo is None:
        return
    if moved is not None and moved.projects is not None:
        # Units that write no meters (SSH keys, actions, due transitions)
        # would otherwise leave every project they touch to be summed again.
        untouched = set(moved.previous) - set(work.changes if work is not None else ())
        for project_id in untouched:
            memo.forward(project_id, moved.previous[project_id], moved.value)
    if work is None:
        return
    for project_id in set(work.changes) - set(work.working):
        memo.drop(project_id)  # changed, never summed: not known
    if moved is None:
        return  # nothing changed
    for project_id, working in work.working.items():
        generation = moved.generation_of(project_id)
        if moved.projects is None:
            memo.drop(project_id)  # a statement in bulk: what it changed is not followed
        elif generation is not None:
            changes = work.changes.get(project_id, [])
            memo.put(project_id, generation, _current(working, changes))


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:
        session.info.pop(_WORK, None)
        session.info.pop(MOVED, None)
        return
    work = session.info.get(_WORK)
    if work is not None:  # from here on, each project's meters are read again
        work.working.clear()
        work.reread = True


event.listen(Session, "after_flush", _after_flush)
event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_soft_rollback", _after_soft_rollback)
