"""Every request, observed once: its id, its log line, its metrics, its journal entry.

A plain ASGI middleware, outermost, so that every response carries the id
(404s and 500s too), and cheap: no store round trip, and the route template
comes from the route the router chose.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verda_server.api.errors import server_error
from verda_server.clock import Clock, isoformat
from verda_server.observability import request_id
from verda_server.observability.journal import Journal, Visit
from verda_server.observability.logs import ACCESS_LOGGER
from verda_server.observability.metrics import Metrics
from verda_server.observability.routes import RouteTemplates

logger = logging.getLogger("verda_server")
access_logger = logging.getLogger(ACCESS_LOGGER)
# The status of a response never started (the client went away): logged as 500.
_NOT_STARTED = 0
_HEADER = request_id.HEADER.lower().encode()


class ObservabilityMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: list[BaseRoute],
        clock: Clock,
        metrics: Metrics,
        journal: Journal,
    ) -> None:
        self.app = app
        self._templates = RouteTemplates(routes)
        self._clock = clock
        self._metrics = metrics
        self._journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id.incoming_or_new(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        header = (_HEADER, rid.encode("ascii"))
        status = _NOT_STARTED

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = request_id.current.set(rid)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Raised outside the app's own 500 handling (another middleware):
            # still a JSON 500 that carries the id.
            if status != _NOT_STARTED:
                raise
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            await server_error(scope)(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            request_id.current.reset(token)
            template = self._templates.of(scope.get("route"), scope["path"])
            await self._done(scope, state, rid, template, status or 500, seconds)

    async def _done(
        self,
        scope: Scope,
        state: dict[str, Any],
        rid: str,
        template: str | None,
        status: int,
        seconds: float,
    ) -> None:
        method = scope["method"]
        self._metrics.observe(template, method, status, seconds)
        project_id = state.get("project_id")
        log = access_logger.isEnabledFor(logging.INFO)
        if project_id is None and not log:
            return
        # The time stays a number until someone reads it.
        visit = Visit(
            self._clock.timestamp(),
            method,
            scope["path"],
            template,
            status,
            round(seconds * 1000, 3),
            rid,
        )
        # The journal before the line: once the line is out, all of it is recorded.
        if project_id is not None:
            await self._journal.record(project_id, visit)
        if log:
            access_logger.info(
                "%s %s %s",
                method,
                template,
                status,
                extra={
                    "access": {
                        "time": isoformat(datetime.fromtimestamp(visit.timestamp, UTC)),
                        "request_id": rid,
                        "project_id": project_id,
                        "method": method,
                        "route": template,
                        "status": status,
                        "duration_ms": visit.duration_ms,
                    }
                },
            )
