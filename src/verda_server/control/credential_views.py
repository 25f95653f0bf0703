"""/_admin/v1/projects/{id}/credentials: list, add, revoke."""

from __future__ import annotations

from fastapi import Response
from sqlalchemy.orm import Session

from verda_server.api.context import Context
from verda_server.api.routing import lazy_router
from verda_server.clock import isoformat
from verda_server.control.access import Admin
from verda_server.control.project_schemas import AddCredentialDto, CredentialDto, NewCredentialDto
from verda_server.projects import service as projects

router = lazy_router(
    prefix="/_admin/v1/projects/{project_id}/credentials",
    tags=["Credentials"],
    dependencies=[Admin],
)


@router.get(
    "",
    summary="List a project's credentials",
    description="Client ids only: secrets are kept as hashes and never shown again.",
    response_model=list[CredentialDto],
    responses={404: {"description": "No such project"}},
)
async def list_credentials(context: Context, project_id: str) -> list[CredentialDto]:
    def read(session: Session) -> list[CredentialDto]:
        projects.get_project(session, project_id)
        return [
            CredentialDto(client_id=c.client_id, created_at=isoformat(c.created_at))
            for c in projects.credentials_of(session, project_id)
        ]

    return await context.db.run_read(read)


@router.post(
    "",
    summary="Add a credential pair",
    description="The pair given, or a generated one; the secret is shown this once.",
    response_model=NewCredentialDto,
    status_code=201,
    responses={
        404: {"description": "No such project"},
        409: {"description": "The client id given is taken"},
    },
)
def add_credential(
    context: Context, project_id: str, body: AddCredentialDto | None = None
) -> NewCredentialDto:
    given = body or AddCredentialDto()
    with context.db.write() as session:
        client_id, secret = projects.new_credential(
            session, context.clock, project_id, given.client_id, given.client_secret
        )
        created = projects.credentials_of(session, project_id, client_id)[0]
        return NewCredentialDto(
            project_id=project_id,
            client_id=client_id,
            client_secret=secret,
            created_at=isoformat(created.created_at),
        )


@router.delete(
    "/{client_id}",
    summary="Revoke a credential",
    description="Its access tokens answer 401 from the very next request, on every "
    "replica; its refresh tokens are refused.",
    status_code=204,
    response_class=Response,
    responses={404: {"description": "No such project, or no such credential in it"}},
)
def revoke_credential(context: Context, project_id: str, client_id: str) -> Response:
    with context.db.write() as session:
        projects.revoke_project_credential(session, project_id, client_id)
    return Response(status_code=204)
