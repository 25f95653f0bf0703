"""Assembly of the control API inside the server's one application."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from verda_server.api.routing import add_routes
from verda_server.control import (
    capacity_views,
    clock_views,
    credential_views,
    fault_views,
    instance_views,
    journal_views,
    lifecycle_views,
    money_views,
    project_views,
    rate_limit_views,
    state_views,
)
from verda_server.control.openapi import DOCUMENT_PATH, build_document
from verda_server.control.shared import SharedState

ROUTERS = (
    clock_views.router,
    project_views.router,
    credential_views.router,
    money_views.router,
    rate_limit_views.router,
    journal_views.router,
    state_views.router,
    fault_views.router,
    instance_views.router,
    lifecycle_views.router,
    capacity_views.router,
)


def install(app: FastAPI, server_url: str) -> None:
    for router in ROUTERS:
        add_routes(app, router, include_in_schema=False)
    document: dict[str, Any] = {}

    async def openapi() -> JSONResponse:
        if not document:
            document.update(build_document(ROUTERS, server_url))
        return JSONResponse(document)

    app.add_api_route(DOCUMENT_PATH, openapi, include_in_schema=False)


class FollowSharedState:
    """Before each request, catch up with what other replicas changed (the
    clock, profiles, faults). Installed only on a network store."""

    def __init__(self, app: ASGIApp, shared: SharedState) -> None:
        self.app = app
        self.shared = shared

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.shared.refresh()
        await self.app(scope, receive, send)
