"""GET /metrics: Prometheus's text format."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from verda_server.api.context import Context
from verda_server.api.routing import lazy_router
from verda_server.control.access import SCHEME_NAME, require_admin
from verda_server.observability.metrics import CONTENT_TYPE

router = lazy_router(tags=["Operations"])

_admin = HTTPBearer(
    auto_error=False,
    scheme_name=SCHEME_NAME,
    description="The server's admin token; a project's access token never opens /metrics. "
    "Not needed when the server runs with --metrics-public.",
)


async def metrics_access(
    request: Request,
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_admin)],
) -> None:
    if not context.settings.metrics_public:
        await require_admin(request, context, credentials)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Requests by route template, method and status; latency by route template; "
    "resources by kind and status (counted in the store at each scrape); rate-limit "
    "refusals; injected faults. Open with the admin token, or to anyone with "
    "--metrics-public.",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition format, version 0.0.4",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
    },
    dependencies=[Depends(metrics_access)],
)
async def metrics(context: Context) -> Response:
    body = await run_in_threadpool(context.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE)
