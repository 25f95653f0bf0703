"""Every request, observed once: its id, its log line, its metrics, its journal entry.

A plain ASGI middleware, outermost, so that every response carries the id
(404s and 500s too), and cheap: no store round trip, and the route template
comes from the router's own match.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verda_server.clock import Clock, isoformat
from verda_server.observability import request_id
from verda_server.observability.journal import Journal, JournalEntry
from verda_server.observability.logs import ACCESS_LOGGER
from verda_server.observability.metrics import Metrics

access_logger = logging.getLogger(ACCESS_LOGGER)
_HEADER = request_id.HEADER.lower().encode()


def _route_path(route: Any, root: str, scope: Scope) -> str | None:
    if route is None or isinstance(route, Mount):
        return None
    # Below a mount the router saw the path less the mount's prefix.
    prefix = scope.get("root_path", "")[len(root) :]
    return f"{prefix}{route.path}"


def _find(routes: list[BaseRoute], scope: Scope, prefix: str = "") -> str | None:
    """The template of the route that would have taken the request, for responses
    given before routing (a body refused at the edge) or without a route (404)."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            return _find(route.routes, {**scope, **child}, prefix + route.path)
        return prefix + getattr(route, "path", "")
    return None


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
        self._routes = routes
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
        root = scope.get("root_path", "")
        status = 500

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
        finally:
            seconds = time.perf_counter() - started
            request_id.current.reset(token)
            route = scope.get("route")
            template = (
                _route_path(route, root, scope)
                if route is not None
                else _find(self._routes, {**scope, "root_path": root})
            )
            await self._done(scope, state, rid, template, status, seconds)

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
        entry: JournalEntry = {
            "time": isoformat(self._clock.now()),
            "method": method,
            "path": scope["path"],
            "route": template,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "request_id": rid,
        }
        if log:
            access_logger.info(
                "%s %s %s",
                method,
                template,
                status,
                extra={
                    "access": {
                        "time": entry["time"],
                        "request_id": rid,
                        "project_id": project_id,
                        "method": method,
                        "route": template,
                        "status": status,
                        "duration_ms": entry["duration_ms"],
                    }
                },
            )
        if project_id is not None:
            await self._journal.record(project_id, entry)
