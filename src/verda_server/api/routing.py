"""Routers' routes added to the app as they were declared, each analysed on its
first use.

FastAPI's `include_router` keeps a router whole and, on the first request that
reaches it (or the first walk of the app's routes), builds every route a second
time for the inclusion: signatures, dependencies and response models analysed
again, which was a third of the time to start. Our routers carry their own
prefix, tags and dependencies, and the app adds none, so the routes as declared
are already what an inclusion would make of them.

Analysing a route (its dependencies, parameters, body and response models) was
most of the rest of the time to start, for routes a given run may never serve.
A `LazyRoute` holds what routing needs (path, methods, name, endpoint; the
path's pattern, compiled when a request is first matched against it) and is
analysed, as FastAPI's own `APIRoute`, the first time anything else of it is
asked for: its first request, or the first build of a document.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import compile_path, get_name

_ANALYSING = threading.Lock()
_PATH_PARTS = frozenset({"path_regex", "path_format", "param_convertors"})


class LazyRoute(APIRoute):
    """An `APIRoute` whose analysis waits for the first use of what it makes."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **declared: Any) -> None:
        # Only these are set before the analysis; any other attribute asked
        # for is missing, so `__getattr__` runs the analysis first.
        self._declared = (path, endpoint, declared)
        self.path = path
        self.endpoint = endpoint
        self.methods = {method.upper() for method in declared.get("methods") or ["GET"]}
        name = declared.get("name")
        self.name = get_name(endpoint) if name is None else name
        self.include_in_schema = declared.get("include_in_schema", True)

    def __getattr__(self, name: str) -> Any:
        # Dunder probes (copy, pickle, inspect) must not start an analysis.
        if name.startswith("__") or "_declared" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        if name in _PATH_PARTS:
            # Matching a request needs only these: compiled when a request first
            # reaches this route in the app's list, not all while starting.
            self.path_regex, self.path_format, self.param_convertors = compile_path(self.path)
        else:
            self._analyse()
        return getattr(self, name)

    def _analyse(self) -> None:
        with _ANALYSING:
            declared = self.__dict__.pop("_declared", None)
            if declared is None:  # another thread did it meanwhile
                return
            path, endpoint, kwargs = declared
            # Kept as set since (a copy left out of the document).
            kwargs = {**kwargs, "include_in_schema": self.include_in_schema}
            APIRoute.__init__(self, path, endpoint, **kwargs)

    @property
    def analysed(self) -> bool:
        return "_declared" not in self.__dict__


def lazy_router(**options: Any) -> APIRouter:
    """An `APIRouter` whose routes are `LazyRoute`s."""
    return APIRouter(route_class=LazyRoute, **options)


def add_routes(app: FastAPI, router: APIRouter, *, include_in_schema: bool = True) -> None:
    """Each of the router's routes, in order, onto the app: the routes themselves,
    or shallow copies left out of the app's document when `include_in_schema`
    is false (the router keeps its own, for a document of its own)."""
    parent = app.router
    # What an inclusion would add to each route: none of it may be set here.
    assert not (parent.prefix or parent.tags or parent.dependencies or parent.responses)
    assert not (parent.callbacks or parent.deprecated or parent.max_body_size)
    assert not (router.on_startup or router.on_shutdown)
    for route in router.routes:
        assert isinstance(route, APIRoute), route
        if not include_in_schema:
            route = copy.copy(route)
            route.include_in_schema = False
        parent.routes.append(route)
