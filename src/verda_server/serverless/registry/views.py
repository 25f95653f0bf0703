"""Container registry credentials, BEYOND.md §5.4."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from starlette.responses import JSONResponse, Response

from verda_server.api.context import Context
from verda_server.api.responses import CREATED_EMPTY, EMPTY_OBJECT, EMPTY_OK, json_bytes
from verda_server.api.routing import lazy_router
from verda_server.api.security import CurrentPrincipal, require_principal
from verda_server.clock import isoformat
from verda_server.readmodel.marks import cached_read
from verda_server.serverless.registry import service
from verda_server.serverless.registry.schemas import (
    CreateRegistryCredentialDto,
    RegistryCredentialDto,
)

router = lazy_router(
    tags=["Container registry credentials"], dependencies=[Depends(require_principal)]
)


@router.get(
    "/v1/container-registry-credentials",
    summary="Get container registry credentials",
    description="The project's registry credentials, oldest first; their secret fields are "
    "never returned.",
    response_model=list[RegistryCredentialDto],
    response_description="Returns the project's registry credentials",
)
@cached_read
async def list_credentials(
    context: Context, principal: CurrentPrincipal
) -> list[RegistryCredentialDto]:
    return await context.db.run_read(
        lambda session: [
            RegistryCredentialDto(name=row.name, created_at=isoformat(row.created_at))
            for row in service.list_credentials(session, principal.project_id)
        ]
    )


@router.post(
    "/v1/container-registry-credentials",
    summary="Add container registry credentials",
    description="Credentials a private container registry setting names. Each `type` needs "
    "its fields: dockerhub and ghcr `username` and `access_token`; gcr "
    "`service_account_key`; aws-ecr `access_key_id`, `secret_access_key`, `region` and "
    "`ecr_repo`; custom `docker_config_json`; scaleway `scaleway_domain` and "
    "`scaleway_uuid`; verda none (`username` and `access_token` are kept if sent). Fields "
    "of other types are ignored. Nothing of them is ever returned.",
    status_code=201,
    response_class=JSONResponse,
    responses={
        **CREATED_EMPTY,
        409: {"description": "The project already has registry credentials of this name"},
    },
)
def add_credentials(
    context: Context, principal: CurrentPrincipal, body: CreateRegistryCredentialDto
) -> Response:
    with context.work(principal.project_id) as (session, _now):
        service.add_credential(
            session,
            context.clock,
            principal.project_id,
            body.name,
            body.type,
            body.fields_of_type(),
        )
    return json_bytes(EMPTY_OBJECT, 201)


@router.delete(
    "/v1/container-registry-credentials/{credentials_name}",
    summary="Delete container registry credentials",
    response_class=Response,
    responses={
        **EMPTY_OK,
        404: {"description": "The project has no registry credentials of this name"},
        409: {
            "description": "In use by a container deployment or job (the message names them) "
            "and force is not true"
        },
    },
)
def delete_credentials(
    context: Context,
    principal: CurrentPrincipal,
    credentials_name: Annotated[str, Path(description="The credentials' name")],
    force: Annotated[
        bool,
        Query(
            description="Delete even when container deployments or jobs use them (they keep "
            "naming them); without it such a delete is refused with 409"
        ),
    ] = False,
) -> Response:
    with context.work(principal.project_id) as (session, _now):
        service.delete_credential(session, principal.project_id, credentials_name, force)
    return Response(status_code=200)
