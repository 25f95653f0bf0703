"""What every request handler may use, built once per application."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from verda_server.auth.service import TokenService
from verda_server.catalog.service import Catalog
from verda_server.clock import Clock
from verda_server.config import Settings
from verda_server.control.faults import FaultRules
from verda_server.control.shared import SharedState
from verda_server.control.token import AdminToken
from verda_server.lifecycle.reconcile import Reconciler, apply_due
from verda_server.lifecycle.timings import ActiveLifecycle
from verda_server.observability.journal import Journal
from verda_server.observability.metrics import Metrics
from verda_server.ratelimits.limiter import RateLimiter
from verda_server.readmodel.cache import Answers
from verda_server.storage.database import Database

if TYPE_CHECKING:  # only a server with real instances loads the driver
    from verda_server.instances.batch import DeployQueue
    from verda_server.machines.controller import MachineController


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock
    catalog: Catalog
    tokens: TokenService
    reconciler: Reconciler
    shared: SharedState
    admin: AdminToken
    metrics: Metrics
    journal: Journal
    faults: FaultRules
    # The transition durations in force: read when a transition is scheduled.
    lifecycle: ActiveLifecycle
    # None when rate limits are off (`--rate-limits off`).
    rate_limiter: RateLimiter | None = None
    # The read model's remembered answers (readmodel/).
    answers: Answers = field(default_factory=Answers)
    # Real instances' machines (machines/); None: instances are records only.
    machines: MachineController | None = None

    # Deploys made together (instances/batch.py); set when the app is built.
    deploys: DeployQueue | None = None

    @contextmanager
    def work(self, project_id: str) -> Iterator[tuple[Session, datetime]]:
        """A write transaction at one instant, after the project's due transitions.

        The instant is read once the writer's turn is taken, so that units are at
        instants in the order they write: no unit is earlier than what one before
        it wrote (a meter opened later than the unit's instant leaves the open
        meters' sums unable to tell what they owe, billing/sums.py)."""
        with self.work_for((project_id,)) as unit:
            yield unit

    @contextmanager
    def work_for(self, project_ids: Sequence[str]) -> Iterator[tuple[Session, datetime]]:
        """`work` for a unit that writes to several projects."""
        with self.db.write() as session:
            now = self.clock.now()
            for project_id in project_ids:
                apply_due(session, now, self.catalog, self.lifecycle.current, project_id)
            yield session, now


async def get_context(request: Request) -> AppContext:
    return request.app.state.context  # type: ignore[no-any-return]


Context = Annotated[AppContext, Depends(get_context)]
