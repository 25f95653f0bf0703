"""Route templates (`/v1/instances/{instance_id}`) of an app, its mounted apps included.

A request that reached a route is named by that route (one dict look-up); one
answered before routing (a body refused at the edge, a limit) by the first
template whose pattern takes its path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from starlette.routing import BaseRoute, Mount, compile_path


def _contexts(routes: Sequence[BaseRoute]) -> Iterator[Any]:
    """Each route with its full path: recent FastAPI keeps an included router whole
    and applies its prefix at match time, older ones copy its routes flat."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - FastAPI before included-router contexts
        for route in routes:
            yield route, route
        return
    for context in iter_route_contexts(routes):
        yield context.original_route, context


class RouteTemplates:
    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._routes = routes
        self._by_route: dict[int, str] | None = None
        self._templates: list[str] = []
        # Compiled on the first request no route took: compiling every template
        # was most of the first request's cost, and so of the time to start.
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None

    def _build(self) -> dict[int, str]:
        by_route: dict[int, str] = {}
        self._collect(self._routes, "", by_route)
        self._by_route = by_route
        return by_route

    def _collect(self, routes: Sequence[BaseRoute], prefix: str, into: dict[int, str]) -> None:
        for route, context in _contexts(routes):
            if isinstance(route, Mount):
                self._collect(route.routes, prefix + route.path, into)
                continue
            path = getattr(context, "path", None)
            if path is None:
                continue
            template = prefix + path
            into.setdefault(id(route), template)
            self._templates.append(template)

    def of(self, route: Any, path: str) -> str | None:
        by_route = self._by_route if self._by_route is not None else self._build()
        if route is not None:
            found = by_route.get(id(route))
            if found is not None:
                return found
        if self._patterns is None:
            self._patterns = [(compile_path(t)[0], t) for t in self._templates]
        for pattern, template in self._patterns:
            if pattern.match(path):
                return template
        return None
