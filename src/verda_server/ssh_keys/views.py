"""SSH keys, served on both /v1/sshkeys (Python SDK) and /v1/ssh-keys (Go SDK, Terraform)."""

from __future__ import annotations

from fastapi import Depends
from fastapi.responses import PlainTextResponse
from starlette.responses import Response

from verda_server.api.context import Context
from verda_server.api.ids import PathId
from verda_server.api.responses import EMPTY_OK, bare_id_response, created_id, not_found_response
from verda_server.api.routing import lazy_router
from verda_server.api.security import CurrentPrincipal, require_principal
from verda_server.clock import isoformat
from verda_server.readmodel.marks import cached_read
from verda_server.ssh_keys import service
from verda_server.ssh_keys.models import SshKey
from verda_server.ssh_keys.schemas import AddKeyDto, DeleteKeysPublicDto, GetKeysResponseDto

router = lazy_router(tags=["SSH Keys"], dependencies=[Depends(require_principal)])
NOT_FOUND = not_found_response("SSH key not found")


def _dto(row: SshKey) -> GetKeysResponseDto:
    return GetKeysResponseDto(
        id=row.id,
        name=row.name,
        key=row.key,
        fingerprint=row.fingerprint,
        created_at=isoformat(row.created_at),
    )


@cached_read
async def list_keys(context: Context, principal: CurrentPrincipal) -> list[GetKeysResponseDto]:
    return await context.db.run_read(
        lambda session: [_dto(row) for row in service.list_keys(session, principal.project_id)]
    )


def add_key(context: Context, principal: CurrentPrincipal, body: AddKeyDto) -> PlainTextResponse:
    with context.db.write() as session:
        row = service.add_key(session, context.clock, principal.project_id, body.name, body.key)
    return created_id(row.id)


def delete_keys(
    context: Context, principal: CurrentPrincipal, body: DeleteKeysPublicDto
) -> Response:
    with context.db.write() as session:
        service.delete_keys(session, principal.project_id, body.keys)
    return Response(status_code=200)


@cached_read
async def get_key(
    context: Context, principal: CurrentPrincipal, key_id: PathId
) -> list[GetKeysResponseDto]:
    return await context.db.run_read(
        lambda session: [_dto(service.get_key(session, principal.project_id, key_id))]
    )


def delete_key(context: Context, principal: CurrentPrincipal, key_id: PathId) -> Response:
    with context.db.write() as session:
        service.delete_keys(session, principal.project_id, [key_id])
    return Response(status_code=200)


for prefix in ("/v1/sshkeys", "/v1/ssh-keys"):
    spelling = prefix.rsplit("/", 1)[1]
    router.add_api_route(
        prefix,
        list_keys,
        methods=["GET"],
        summary="Get SSH keys",
        response_model=list[GetKeysResponseDto],
        response_description="Returns a list of the project's SSH keys",
        operation_id=f"list_{spelling}",
    )
    router.add_api_route(
        prefix,
        add_key,
        methods=["POST"],
        summary="Add new SSH key",
        status_code=201,
        response_class=PlainTextResponse,
        responses=bare_id_response("Returns the ID of the newly created SSH key", 201),
        operation_id=f"add_{spelling}",
    )
    router.add_api_route(
        prefix,
        delete_keys,
        methods=["DELETE"],
        summary="Delete ssh keys",
        description="All or nothing: if one id is unknown, no key is deleted.",
        response_class=Response,
        responses={**EMPTY_OK, **NOT_FOUND},
        operation_id=f"delete_{spelling}",
    )
    router.add_api_route(
        prefix + "/{key_id}",
        get_key,
        methods=["GET"],
        summary="Get single SSH key by ID",
        description="Answers an array holding the one key, as the SDKs expect.",
        response_model=list[GetKeysResponseDto],
        responses=NOT_FOUND,
        operation_id=f"get_{spelling}_by_id",
    )
    router.add_api_route(
        prefix + "/{key_id}",
        delete_key,
        methods=["DELETE"],
        summary="Delete single SSH key by ID",
        response_class=Response,
        responses={**EMPTY_OK, **NOT_FOUND},
        operation_id=f"delete_{spelling}_by_id",
    )
