"""GET /_admin/v1/projects/{project_id}/journal: a project's last requests, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

from verda_server.api.context import Context
from verda_server.api.errors import not_found
from verda_server.api.routing import lazy_router
from verda_server.control.access import Admin
from verda_server.observability.journal import MAX_SIZE
from verda_server.projects.models import Project

router = lazy_router(prefix="/_admin/v1/projects", tags=["Journal"], dependencies=[Admin])


class JournalEntryDto(BaseModel):
    time: str = Field(description="When it was answered, by the server's clock (RFC 3339)")
    method: str = Field(description="HTTP method")
    path: str = Field(description="Path as requested, without the query string")
    route: str | None = Field(
        description="The route template that took it, e.g. /v1/instances/{instance_id}"
    )
    status: int = Field(description="HTTP status answered")
    duration_ms: float = Field(description="Time to answer, in milliseconds (real time)")
    request_id: str = Field(description="The X-Request-Id of the response")


class JournalDto(BaseModel):
    project_id: str
    size: int = Field(description="How many requests the journal keeps per project")
    entries: list[JournalEntryDto] = Field(description="Newest first")


@router.get(
    "/{project_id}/journal",
    summary="A project's last requests",
    description="The project's last authenticated requests (at most the server's "
    "--journal-size), newest first. Shared by every replica when the server runs with "
    "--redis-url; held by each process otherwise.",
    response_model=JournalDto,
    responses={404: {"description": "No such project"}},
)
async def read_journal(
    context: Context,
    project_id: str,
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_SIZE, description="At most this many (default: all)")
    ] = None,
) -> JournalDto:
    exists = await context.db.run_read(lambda session: session.get(Project, project_id))
    if exists is None:
        raise not_found(f"Project not found: {project_id}")
    journal = context.journal
    entries = await journal.recent(project_id, limit or journal.size)
    return JournalDto(
        project_id=project_id,
        size=journal.size,
        entries=[JournalEntryDto.model_validate(entry) for entry in entries],
    )
