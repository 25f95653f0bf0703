"""Routers' routes added to the app as they were built.

FastAPI's `include_router` keeps a router whole and, on the first request that
reaches it (or the first walk of the app's routes), builds every route a second
time for the inclusion: signatures, dependencies and response models analysed
again, which was a third of the time to start. Our routers carry their own
prefix, tags and dependencies, and the app adds none, so the routes as built
are already what an inclusion would make of them.
"""

from __future__ import annotations

import copy

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute


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
