"""GET and PUT /_admin/v1/projects/{project_id}/rate-limits: a project's own limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field

from verda_server.api.context import AppContext, Context
from verda_server.api.request import RequestModel
from verda_server.api.routing import lazy_router
from verda_server.control.access import Admin
from verda_server.ratelimits.config import (
    ENDPOINT_LIMIT,
    MAX_LIMIT,
    PROJECT_LIMIT,
    WINDOW_SECONDS,
    ProjectRateLimits,
)
from verda_server.ratelimits.service import get_project_limits, set_project_limits

router = lazy_router(prefix="/_admin/v1/projects", tags=["Rate limits"], dependencies=[Admin])

ProjectId = Annotated[str, Path(description="The project's id", max_length=36)]
_NOT_FOUND = {404: {"description": "No such project"}}


class RateLimitsDto(BaseModel):
    enabled: bool = Field(
        description="Whether the project's requests are limited; when not, they get no 429 "
        "and no RateLimit headers"
    )
    project: int | None = Field(
        description=f"Requests per window for the whole project; null: the server's "
        f"({PROJECT_LIMIT})"
    )
    endpoint: int | None = Field(
        description=f"Requests per window per method + path, for every path of the project; "
        f"null: the server's ({ENDPOINT_LIMIT}, or a route policy's)"
    )
    window_seconds: int = Field(description="The length of a window, by the server clock")
    server_enabled: bool = Field(
        description="Whether the server limits at all: false when it runs with "
        "--rate-limits off, whatever the project's setting"
    )


class SetRateLimitsDto(RequestModel):
    enabled: bool = Field(default=True, description="false: no limits for the project")
    project: int | None = Field(
        default=None, ge=1, le=MAX_LIMIT, description="null or absent: the server's"
    )
    endpoint: int | None = Field(
        default=None, ge=1, le=MAX_LIMIT, description="null or absent: the server's"
    )


def _answer(context: AppContext, limits: ProjectRateLimits) -> RateLimitsDto:
    return RateLimitsDto(
        enabled=limits.enabled is not False,
        project=limits.project,
        endpoint=limits.endpoint,
        window_seconds=WINDOW_SECONDS,
        server_enabled=context.rate_limiter is not None,
    )


@router.get(
    "/{project_id}/rate-limits",
    summary="Read a project's rate limits",
    response_model=RateLimitsDto,
    responses=_NOT_FOUND,
)
async def read_rate_limits(context: Context, project_id: ProjectId) -> RateLimitsDto:
    limits = await context.db.run_read(lambda session: get_project_limits(session, project_id))
    return _answer(context, limits)


@router.put(
    "/{project_id}/rate-limits",
    summary="Set a project's rate limits",
    description="Replaces the project's setting (a field left out: the server's default). "
    "Applies from the project's next request, on every replica.",
    response_model=RateLimitsDto,
    responses=_NOT_FOUND,
)
def set_rate_limits(
    context: Context, project_id: ProjectId, body: SetRateLimitsDto
) -> RateLimitsDto:
    limits = ProjectRateLimits(
        # Stored as "the default" (NULL) when on: on is what every project starts with.
        enabled=None if body.enabled else False,
        project=body.project,
        endpoint=body.endpoint,
    )
    with context.db.write() as session:
        set_project_limits(session, project_id, limits)
    return _answer(context, limits)
