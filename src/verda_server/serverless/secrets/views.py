"""Secrets (/v1/secrets) and file secrets (/v1/file-secrets), BEYOND.md §5.2-5.3."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from starlette.responses import JSONResponse, Response

from verda_server.api.context import Context
from verda_server.api.responses import CREATED_EMPTY, EMPTY_OBJECT, EMPTY_OK, Responses, json_bytes
from verda_server.api.routing import lazy_router
from verda_server.api.security import CurrentPrincipal, require_principal
from verda_server.clock import isoformat
from verda_server.readmodel.marks import cached_read
from verda_server.serverless.secrets import service
from verda_server.serverless.secrets.models import FILE_SECRET, Secret
from verda_server.serverless.secrets.schemas import (
    CreateFileSecretDto,
    CreateSecretDto,
    FileSecretDto,
    SecretDto,
)

router = lazy_router(tags=["Serverless secrets"], dependencies=[Depends(require_principal)])

CREATED: Responses = {
    **CREATED_EMPTY,
    409: {"description": "The project already has a secret or file secret of this name"},
}


def _deleted(what: str) -> Responses:
    return {
        **EMPTY_OK,
        404: {"description": f"The project has no {what} of this name"},
        409: {
            "description": f"The {what} is in use by a container deployment or job (the "
            "message names them) and force is not true"
        },
    }


SecretName = Annotated[str, Path(description="The secret's name")]
Force = Annotated[
    bool,
    Query(
        description="Delete even when container deployments or jobs use it (they keep naming "
        "it); without it such a delete is refused with 409"
    ),
]


def _secret_dto(row: Secret) -> SecretDto:
    return SecretDto(name=row.name, created_at=isoformat(row.created_at), secret_type=row.kind)  # type: ignore[arg-type]


def _file_secret_dto(row: Secret) -> FileSecretDto:
    return FileSecretDto(
        name=row.name,
        created_at=isoformat(row.created_at),
        secret_type="file-secret",
        file_names=[file.file_name for file in row.files],
    )


@router.get(
    "/v1/secrets",
    summary="Get secrets",
    description="The project's secrets, generic and file secrets alike (each with its "
    "`secret_type`), oldest first. Values are never returned.",
    response_model=list[SecretDto],
    response_description="Returns the project's secrets",
)
@cached_read
async def list_secrets(context: Context, principal: CurrentPrincipal) -> list[SecretDto]:
    return await context.db.run_read(
        lambda session: [
            _secret_dto(row) for row in service.list_secrets(session, principal.project_id)
        ]
    )


@router.post(
    "/v1/secrets",
    summary="Create a secret",
    description="A generic secret, usable as an env var of type `secret` in container "
    "deployments and jobs.",
    status_code=201,
    response_class=JSONResponse,
    responses=CREATED,
)
def create_secret(context: Context, principal: CurrentPrincipal, body: CreateSecretDto) -> Response:
    with context.work(principal.project_id) as (session, _now):
        service.add_secret(session, context.clock, principal.project_id, body.name, body.value)
    return json_bytes(EMPTY_OBJECT, 201)


@router.delete(
    "/v1/secrets/{secret_name}",
    summary="Delete a secret",
    description="Deletes a generic secret or a file secret (both are listed here).",
    response_class=Response,
    responses=_deleted("secret"),
)
def delete_secret(
    context: Context, principal: CurrentPrincipal, secret_name: SecretName, force: Force = False
) -> Response:
    with context.work(principal.project_id) as (session, _now):
        service.delete_secret(session, principal.project_id, secret_name, force)
    return Response(status_code=200)


@router.get(
    "/v1/file-secrets",
    summary="Get file secrets",
    description="The project's file secrets with the names of their files, oldest first. "
    "Contents are never returned.",
    response_model=list[FileSecretDto],
    response_description="Returns the project's file secrets",
)
@cached_read
async def list_file_secrets(context: Context, principal: CurrentPrincipal) -> list[FileSecretDto]:
    return await context.db.run_read(
        lambda session: [
            _file_secret_dto(row)
            for row in service.list_secrets(session, principal.project_id, FILE_SECRET)
        ]
    )


@router.post(
    "/v1/file-secrets",
    summary="Create a file secret",
    description="Files mountable into containers with a volume mount of type `secret`.",
    status_code=201,
    response_class=JSONResponse,
    responses=CREATED,
)
def create_file_secret(
    context: Context, principal: CurrentPrincipal, body: CreateFileSecretDto
) -> Response:
    files = [(file.file_name, file.base64_content) for file in body.files]
    with context.work(principal.project_id) as (session, _now):
        service.add_file_secret(session, context.clock, principal.project_id, body.name, files)
    return json_bytes(EMPTY_OBJECT, 201)


@router.delete(
    "/v1/file-secrets/{secret_name}",
    summary="Delete a file secret",
    response_class=Response,
    responses=_deleted("file secret"),
)
def delete_file_secret(
    context: Context, principal: CurrentPrincipal, secret_name: SecretName, force: Force = False
) -> Response:
    with context.work(principal.project_id) as (session, _now):
        service.delete_secret(session, principal.project_id, secret_name, force, FILE_SECRET)
    return Response(status_code=200)
