from __future__ import annotations

from typing import Annotated

from fastapi import Body, Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from verda_server.api.context import Context
from verda_server.api.ids import PathId
from verda_server.api.responses import (
    bare_id_response,
    created_id,
    json_bytes,
    not_found_response,
)
from verda_server.api.routing import lazy_router
from verda_server.api.security import CurrentPrincipal, SettledPrincipal, require_principal
from verda_server.readmodel.marks import cached_read
from verda_server.tags.views import TagFilter
from verda_server.volumes import actions, render
from verda_server.volumes.schemas import (
    CreateVolumePublicDto,
    DeleteVolumePublicDto,
    GetVolumeInTrashPublicResponseDto,
    GetVolumePublicResponseDto,
    PerformVolumeActionPublicDto,
    VolumeStatusName,
)

router = lazy_router(tags=["Volumes"], dependencies=[Depends(require_principal)])
NOT_FOUND = not_found_response("Volume not found")


@router.get(
    "/v1/volumes",
    summary="Get all volumes",
    description=(
        "Active volumes of the project (not those in the trash), by status if given, carrying "
        "every `tag` given."
    ),
    response_model=list[GetVolumePublicResponseDto],
)
@cached_read
async def list_volumes(
    context: Context,
    principal: SettledPrincipal,
    status: Annotated[
        VolumeStatusName | None, Query(description="Only volumes with this status")
    ] = None,
    tag: TagFilter = None,
) -> Response:
    def read(session: Session) -> bytes:
        return render.list_json(session, context.catalog, principal.project_id, status, tag)

    return json_bytes(await context.db.run_read(read))


@router.post(
    "/v1/volumes",
    summary="Create volume",
    status_code=202,
    response_class=PlainTextResponse,
    responses={
        **bare_id_response("Volume ID", 202),
        402: {"description": "The balance can't pay for the volume for an hour"},
        403: {
            "description": (
                "One or more of the specified instances is not shut down (or is discontinued)"
            )
        },
        404: {"description": "An instance named does not exist"},
    },
)
def create_volume(
    context: Context, principal: CurrentPrincipal, body: CreateVolumePublicDto
) -> PlainTextResponse:
    with context.work(principal.project_id) as (session, now):
        volume = actions.create(session, now, context.catalog, principal.project_id, body)
    return created_id(volume.id, status_code=202)


@router.put(
    "/v1/volumes",
    summary="Perform action on a volume or multiple volumes",
    description=(
        "All or nothing. Every action answers the JSON list of the volume ids it created: "
        "the new volumes for `clone`, `[]` for the others. A clone to another location reads "
        "`cloning` until done and can be stopped with `cancel` on the new id."
    ),
    status_code=202,
    response_class=JSONResponse,
    responses={
        202: {
            "description": (
                "Done: the ids of the volumes created, `clone`'s new volumes (in the "
                "order of `id`), `[]` for every other action."
            ),
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "string"}}}
            },
        },
        402: {"description": "The balance can't pay for a clone for an hour"},
        403: {
            "description": (
                "The action is not allowed from a volume's status, or an instance involved "
                "is not shut down"
            )
        },
        404: NOT_FOUND[404],
    },
)
def perform_volume_action(
    context: Context, principal: CurrentPrincipal, body: PerformVolumeActionPublicDto
) -> Response:
    with context.work(principal.project_id) as (session, now):
        new_ids = actions.perform(
            session,
            now,
            context.catalog,
            context.lifecycle.current,
            principal.project_id,
            body,
        )
    return JSONResponse(new_ids, status_code=202)


@router.get(
    "/v1/volumes/trash",
    summary="Get all volumes that are in trash",
    response_model=list[GetVolumeInTrashPublicResponseDto],
)
@cached_read
async def list_trash(context: Context, principal: SettledPrincipal) -> Response:
    def read(session: Session) -> bytes:
        return render.trash_json(session, context.catalog, principal.project_id)

    return json_bytes(await context.db.run_read(read))


@router.get(
    "/v1/volumes/{volume_id}",
    summary="Get volume by id",
    description="The active shape, or the deleted shape (with deleted_at and "
    "is_permanently_deleted) once the volume is deleted.",
    response_model=GetVolumePublicResponseDto | GetVolumeInTrashPublicResponseDto,
    responses=NOT_FOUND,
)
@cached_read
async def get_volume(context: Context, principal: SettledPrincipal, volume_id: PathId) -> Response:
    def read(session: Session) -> bytes:
        return render.one_json(session, context.catalog, principal.project_id, volume_id)

    return json_bytes(await context.db.run_read(read))


@router.delete(
    "/v1/volumes/{volume_id}",
    summary="Delete volume by id",
    description=(
        "To the trash, or permanently with `force=true` (the Go SDK's spelling) or a JSON "
        'body `{"is_permanent": true}` (the Python SDK\'s).'
    ),
    status_code=202,
    response_class=Response,
    responses={
        202: {"description": "Deleted (to the trash, or permanently)"},
        204: {"description": "The volume was already deleted"},
        403: {
            "description": (
                "The volume can't be deleted in its status (cloning), or an instance it is "
                "attached to is not shut down"
            )
        },
        **NOT_FOUND,
    },
)
def delete_volume(
    context: Context,
    principal: CurrentPrincipal,
    volume_id: PathId,
    body: Annotated[DeleteVolumePublicDto | None, Body()] = None,
    force: Annotated[
        bool, Query(description="Delete permanently, skipping the trash (as is_permanent)")
    ] = False,
) -> Response:
    permanent = force or (body.is_permanent if body is not None else False)
    with context.work(principal.project_id) as (session, now):
        deleted = actions.delete_by_id(
            session,
            now,
            context.lifecycle.current,
            principal.project_id,
            volume_id,
            permanent,
        )
    return Response(status_code=202 if deleted else 204)
