"""Deploys that arrive together, made in one unit of work.

A deploy's own work is small; what it cost was the unit around it (the
writer's turn, the due check, the generation, the commit) and the reads every
check repeats (the project and its quotas, the capacity held). Deploys that
wait for the writer's turn meanwhile are made by whichever of their threads
gets it first, one after the other in one unit: each is checked as if the
ones before it were already written (the counts read once, then what the
batch took added), the new rows of all are written together at the end, and
each answers alone: one refused by a check (which comes before anything is
written) leaves the others be; an unexpected failure fails the unit, and so
all of them. Nothing is answered before the unit is committed, so a deploy is
still acknowledged only once it is durable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, ExitStack
from datetime import datetime
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError
from verda_server.availability.service import UsageKey, usage_of
from verda_server.catalog.service import Catalog
from verda_server.instances import rows as deploy_rows
from verda_server.instances.addresses import free_run
from verda_server.projects import quotas
from verda_server.projects.models import Project

_COUNTED = (quotas.Kind.INSTANCES, quotas.Kind.VOLUMES)
# How long a batch waits for company when the batch before it had some: its
# deploys' clients send their next soon after their answers, and every deploy
# more in a unit shares its cost (as PostgreSQL's commit_delay waits when
# commit_siblings are active). A lone deploy never waits.
LINGER_SECONDS = 0.002


class DeployBatch:
    """What the deploys of one unit took so far, for the checks of the next."""

    def __init__(self, session: Session, catalog: Catalog) -> None:
        self._session = session
        self._catalog = catalog
        self._holding: dict[str, tuple[Project, dict[quotas.Kind, int]]] = {}
        self._usage: dict[UsageKey, int] = {}
        # Per location: the next address of a run of free ones, and its end.
        self._runs: dict[str, list[int]] = {}
        self._rows: dict[Any, list[dict[str, Any]]] = {}

    def require_room(self, project_id: str, adding: Mapping[quotas.Kind, int]) -> Project:
        """`quotas.require_all` counting what this batch took for the project."""
        held = self._holding.get(project_id)
        if held is None:
            held = self._holding[project_id] = quotas.holding(self._session, project_id, _COUNTED)
        quotas.require_room(held[0], held[1], adding)
        return held[0]

    def held(self, key: UsageKey) -> int:
        """The units held of (location, type, spot), this batch's included."""
        if key not in self._usage:
            self._usage[key] = usage_of(self._session, self._catalog, key).get(key, 0)
        return self._usage[key]

    def address(self, location: str, pool: IPv4Network) -> str:
        """The lowest free address of the location's pool, this batch's given
        ones (not yet written) counted: off a run of free addresses read once,
        as long as it lasts. Given for good: nothing after it refuses."""
        run = self._runs.get(location)
        if run is None or run[0] >= run[1]:
            above = None if run is None else run[0] - 1
            run = self._runs[location] = list(free_run(self._session, location, pool, above))
        address = run[0]
        run[0] += 1
        return str(IPv4Address(address))

    def take(
        self,
        project_id: str,
        adding: Mapping[quotas.Kind, int],
        key: UsageKey,
        rows: Mapping[Any, list[dict[str, Any]]],
    ) -> None:
        """A deploy made: what it holds now counts for the next ones."""
        counts = self._holding[project_id][1]
        for kind, n in adding.items():
            counts[kind] += n
        self._usage[key] = self._usage[key] + 1
        for model, new in rows.items():
            self._rows.setdefault(model, []).extend(new)

    def write(self) -> None:
        """The new rows taken so far, each table in one statement."""
        if self._rows:
            deploy_rows.write(self._session.connection(), self._rows)
            self._rows = {}


class _Waiting:
    __slots__ = ("body", "error", "finished", "project_id", "result", "taken")

    def __init__(self, project_id: str, body: Any) -> None:
        self.project_id = project_id
        self.body = body
        self.taken = False
        self.finished = threading.Event()
        self.result: str | None = None
        self.error: BaseException | None = None


Deploy = Callable[[Session, datetime, str, Any, DeployBatch], str]
Unit = Callable[[list[str]], AbstractContextManager[tuple[Session, datetime]]]


class DeployQueue:
    """Combines waiting deploys: the thread that gets the turn makes every
    deploy queued by then, its own among them, in one unit."""

    def __init__(self, unit: Unit, deploy: Deploy, catalog: Catalog) -> None:
        # `unit(project_ids)`: a write unit at one instant after those
        # projects' due transitions (api/context.py).
        self._unit = unit
        self._deploy = deploy
        self._catalog = catalog
        self._turn = threading.Lock()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._queue: list[_Waiting] = []
        # The size of the last batch: how many to wait for (LINGER_SECONDS).
        self._last = 1

    def deploy(self, project_id: str, body: Any) -> str:
        mine = _Waiting(project_id, body)
        with self._arrived:
            self._queue.append(mine)
            self._arrived.notify()
        batch: list[_Waiting] = []
        unit = ExitStack()
        try:
            with self._turn:
                if not mine.taken:
                    batch = self._take()
                    self._make(unit, batch)
            # The turn is the next batch's while this one's unit commits (or
            # hands on to the store's group commit, storage/group_commit.py).
            unit.close()
        except BaseException as exc:
            for waiting in batch:
                if waiting.error is None:
                    waiting.error, waiting.result = exc, None
        finally:
            for waiting in batch:
                waiting.finished.set()
        mine.finished.wait()
        if mine.error is not None:
            raise mine.error
        assert mine.result is not None
        return mine.result

    def _take(self) -> list[_Waiting]:
        """Every deploy queued (one left behind would wait for a turn nobody
        takes), once as many as last time are, or LINGER_SECONDS went by."""
        with self._arrived:
            if self._last > 1:
                self._arrived.wait_for(
                    lambda: len(self._queue) >= self._last, timeout=LINGER_SECONDS
                )
            taken, self._queue = self._queue, []
        self._last = len(taken)
        for waiting in taken:
            waiting.taken = True
        return taken

    def _make(self, unit: ExitStack, batch: list[_Waiting]) -> None:
        """The batch's work in a unit left open in `unit`; a failure closes it
        (rolled back) and is raised."""
        with unit.pop_all() as opened:
            projects = list(dict.fromkeys(w.project_id for w in batch))
            session, now = opened.enter_context(self._unit(projects))
            made = DeployBatch(session, self._catalog)
            for waiting in batch:
                self._one(session, now, made, waiting)
            made.write()
            unit.push(opened.pop_all())

    def _one(self, session: Session, now: datetime, made: DeployBatch, waiting: _Waiting) -> None:
        try:
            waiting.result = self._deploy(session, now, waiting.project_id, waiting.body, made)
        except ApiError as refused:
            # Refused by a check, before it wrote anything (instances/deploy.py):
            # its answer alone; the others go on. Anything else ends the unit.
            waiting.error = refused
