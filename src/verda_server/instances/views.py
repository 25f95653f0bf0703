from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from verda_server.api.context import Context
from verda_server.api.ids import PathId
from verda_server.api.responses import bare_id_response, created_id, json_bytes
from verda_server.api.routing import lazy_router
from verda_server.api.security import CurrentPrincipal, SettledPrincipal, require_principal
from verda_server.instances import actions, render
from verda_server.instances.schemas import (
    DeployInstancePublicDto,
    GetInstanceResponsePublicApiDto,
    InstanceStatusName,
    PerformInstanceActionPublicDto,
)
from verda_server.readmodel.marks import cached_read
from verda_server.tags.views import TagFilter

router = lazy_router(tags=["Instances"], dependencies=[Depends(require_principal)])

_RESULTS = {
    "application/json": {
        "schema": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/InstanceActionResultDto"},
        }
    }
}
ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "All actions completed successfully", "content": _RESULTS},
    204: {"description": "Instance is already in the requested state (single action only)"},
    207: {"description": "Some actions failed: per-action results", "content": _RESULTS},
    400: {"description": "Malformed request: unknown or unavailable action, bad body"},
    402: {
        "description": (
            "boot/start with a balance at or below zero: the money ran out (single action only)"
        )
    },
    403: {
        "description": (
            "The action is not allowed from the instance's status, e.g. \"Can't discontinue "
            'a provisioning instance" (single action only)'
        )
    },
    404: {
        "description": (
            "Invalid instance id (single action only), or a listed volume_ids entry not "
            "attached to the instances acted on"
        )
    },
}


@router.get(
    "/v1/instances",
    summary="Get instances",
    description=(
        "All live instances of the project, or those with the given status. Deleted and "
        "hibernated instances are left out; `status=discontinued` lists them. `tag` keeps "
        "those carrying every tag given."
    ),
    response_model=list[GetInstanceResponsePublicApiDto],
)
@cached_read
async def list_instances(
    context: Context,
    principal: SettledPrincipal,
    status: Annotated[
        InstanceStatusName | None, Query(description="Only instances with this status")
    ] = None,
    tag: TagFilter = None,
) -> Response:
    def read(session: Session) -> bytes:
        return render.list_json(session, context.catalog, principal.project_id, status, tag)

    return json_bytes(await context.db.run_read(read))


@router.post(
    "/v1/instances",
    summary="Deploy instance",
    status_code=202,
    response_class=PlainTextResponse,
    responses={
        **bare_id_response("Instance ID", 202),
        400: {
            "description": "Invalid body, or a coupon that is unknown, expired or not for "
            "this instance type"
        },
        402: {
            "description": "The balance can't pay for the instance and its new volumes for an hour"
        },
        404: {"description": "An SSH key, startup script or volume named does not exist"},
        503: {"description": "Not enough capacity for the type in the location"},
    },
)
def deploy_instance(
    context: Context, principal: CurrentPrincipal, body: DeployInstancePublicDto
) -> PlainTextResponse:
    assert context.deploys is not None
    instance_id = context.deploys.deploy(principal.project_id, body)
    return created_id(instance_id, status_code=202)


def _perform(
    context: Context, principal: CurrentPrincipal, body: PerformInstanceActionPublicDto
) -> Response:
    action = actions.parse_action(body.action)
    with context.work(principal.project_id) as (session, now):
        outcome = actions.perform(
            session,
            now,
            context.lifecycle.current,
            principal.project_id,
            action,
            list(dict.fromkeys(body.id)),
            body.volume_ids,
            body.delete_permanently,
        )
    if outcome.nothing_to_do:
        return Response(status_code=204)
    failed = any(r.status == "error" for r in outcome.results)
    payload = [r.model_dump(exclude_none=True) for r in outcome.results]
    return JSONResponse(payload, status_code=207 if failed else 202)


@router.put(
    "/v1/instances",
    summary="Perform action on an instance or multiple instances",
    status_code=202,
    description=(
        "One result per id. 202 when all succeed, 207 when some fail (each result with "
        "its statusCode), 204 for a single action that finds the instance already in the "
        "requested state, 402 for a single boot/start when the balance is at or below zero, "
        "403 for a single one the instance's status refuses, 404 for a "
        "single unknown id. Delete and discontinue: without volume_ids the OS "
        "volume is deleted and the others detached; [] deletes none; listed ids are deleted "
        "and the rest detached; delete_permanently skips the trash. configure_spot (spot "
        "instances only) sets in the same words what an eviction will do to the attached "
        "volumes (their on_spot_discontinue): listed ids deleted, the rest kept detached."
    ),
    response_class=Response,
    responses=ACTION_RESPONSES,
)
def perform_action(
    context: Context, principal: CurrentPrincipal, body: PerformInstanceActionPublicDto
) -> Response:
    return _perform(context, principal, body)


@router.post(
    "/v1/instances/action",
    summary="Perform action - deprecated",
    status_code=202,
    description="Deprecated alias of PUT /v1/instances.",
    deprecated=True,
    response_class=Response,
    responses=ACTION_RESPONSES,
)
def perform_action_deprecated(
    context: Context, principal: CurrentPrincipal, body: PerformInstanceActionPublicDto
) -> Response:
    return _perform(context, principal, body)


@router.get(
    "/v1/instances/{instance_id}",
    summary="Get instance by id",
    description="Deleted and hibernated instances still answer, with status `discontinued`.",
    response_model=GetInstanceResponsePublicApiDto,
    responses={404: {"description": "Invalid instance id"}},
)
@cached_read
async def get_instance(
    context: Context, principal: SettledPrincipal, instance_id: PathId
) -> Response:
    def read(session: Session) -> bytes:
        return render.one_json(session, context.catalog, principal.project_id, instance_id)

    return json_bytes(await context.db.run_read(read))
