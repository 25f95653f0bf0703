from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.responses import Response

from verda_server.api.context import Context
from verda_server.api.errors import invalid
from verda_server.api.guard import unstorable
from verda_server.api.ids import PathId
from verda_server.api.responses import EMPTY_OK, bare_id_response, created_id, not_found_response
from verda_server.api.routing import lazy_router
from verda_server.api.security import CurrentPrincipal, require_principal
from verda_server.clock import isoformat
from verda_server.readmodel.marks import cached_read
from verda_server.startup_scripts import service
from verda_server.startup_scripts.models import StartupScript
from verda_server.startup_scripts.schemas import (
    AddScriptDto,
    DeleteScriptsDto,
    GetScriptResponseDto,
)

router = lazy_router(tags=["Startup Scripts"], dependencies=[Depends(require_principal)])
NOT_FOUND = not_found_response("Startup script not found")
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
_PAGE_HEADERS = {
    "X-Page": {
        "description": "Current page (only when paging was asked for)",
        "schema": {"type": "integer"},
    },
    "X-Page-Size": {"description": "Current page size", "schema": {"type": "integer"}},
    "X-Total-Count": {
        "description": "Number of scripts that match (on every page)",
        "schema": {"type": "integer"},
    },
}


def _dto(row: StartupScript) -> GetScriptResponseDto:
    return GetScriptResponseDto(
        id=row.id, name=row.name, script=row.script, created_at=isoformat(row.created_at)
    )


@router.get(
    "/v1/scripts",
    summary="Get startup scripts",
    description=(
        "Oldest first, or newest first with `orderDirection=desc`; `name` keeps the scripts "
        "whose name contains it (ignoring case). The whole list, or one page of it with `page` "
        "and/or `pageSize` (default page size 10, at most 100). Paging keeps the array payload "
        "and adds X-Page, X-Page-Size (the page size asked for) and X-Total-Count (scripts that "
        "match) headers."
    ),
    response_model=list[GetScriptResponseDto],
    responses={
        200: {
            "description": "Returns a list of the project's startup scripts",
            "headers": _PAGE_HEADERS,
        }
    },
)
@cached_read
async def list_scripts(
    context: Context,
    principal: CurrentPrincipal,
    page: Annotated[int | None, Query(ge=1)] = None,
    page_size: Annotated[int | None, Query(alias="pageSize", ge=1, le=MAX_PAGE_SIZE)] = None,
    name: Annotated[
        str | None, Query(description="Only scripts whose name contains this (ignoring case)")
    ] = None,
    # The only sort key there is: checked here, and always applied.
    order_by: Annotated[
        Literal["created_at"] | None,
        Query(alias="orderBy", description="Sort key; scripts are sorted by creation time"),
    ] = None,
    order_direction: Annotated[
        Literal["asc", "desc"] | None,
        Query(alias="orderDirection", description="asc (oldest first, the default) or desc"),
    ] = None,
) -> Response:
    if name is not None and unstorable(name):
        raise invalid("name: contains a NUL character or invalid unicode")
    paging = page is not None or page_size is not None
    number, size = page or 1, page_size or DEFAULT_PAGE_SIZE
    result = await context.db.run_read(
        lambda session: service.list_scripts(
            session,
            principal.project_id,
            *((number, size) if paging else (None, None)),
            name=name,
            descending=order_direction == "desc",
        )
    )
    body = [_dto(row).model_dump() for row in result.items]
    headers = (
        {"X-Page": str(number), "X-Page-Size": str(size), "X-Total-Count": str(result.total)}
        if paging
        else None
    )
    return JSONResponse(body, headers=headers)


@router.post(
    "/v1/scripts",
    summary="Add new startup script",
    status_code=201,
    response_class=PlainTextResponse,
    responses={
        **bare_id_response("Returns the ID of the newly created script", 201),
        403: {"description": "The project's startup script quota is used up"},
    },
)
def add_script(
    context: Context, principal: CurrentPrincipal, body: AddScriptDto
) -> PlainTextResponse:
    with context.db.write() as session:
        row = service.add_script(
            session, context.clock, principal.project_id, body.name, body.script
        )
    return created_id(row.id)


@router.delete(
    "/v1/scripts",
    summary="Delete startup scripts",
    description="All or nothing: if one id is unknown, no script is deleted.",
    response_class=Response,
    responses={**EMPTY_OK, **NOT_FOUND},
)
def delete_scripts(
    context: Context, principal: CurrentPrincipal, body: DeleteScriptsDto
) -> Response:
    with context.db.write() as session:
        service.delete_scripts(session, principal.project_id, body.scripts)
    return Response(status_code=200)


@router.get(
    "/v1/scripts/{script_id}",
    summary="Get single startup script by ID",
    description="Answers an array holding the one script, as the SDKs expect.",
    response_model=list[GetScriptResponseDto],
    responses=NOT_FOUND,
)
@cached_read
async def get_script(
    context: Context, principal: CurrentPrincipal, script_id: PathId
) -> list[GetScriptResponseDto]:
    return await context.db.run_read(
        lambda session: [_dto(service.get_script(session, principal.project_id, script_id))]
    )


@router.delete(
    "/v1/scripts/{script_id}",
    summary="Delete single startup script by ID",
    response_class=Response,
    responses={**EMPTY_OK, **NOT_FOUND},
)
def delete_script(context: Context, principal: CurrentPrincipal, script_id: PathId) -> Response:
    with context.db.write() as session:
        service.delete_scripts(session, principal.project_id, [script_id])
    return Response(status_code=200)
