"""/_admin/v1/projects: list, create, read, delete; a project's quotas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from verda_server.api.context import AppContext, Context
from verda_server.api.errors import invalid
from verda_server.api.routing import lazy_router
from verda_server.billing import funds
from verda_server.clock import isoformat
from verda_server.control.access import Admin
from verda_server.control.project_schemas import (
    CreatedProjectDto,
    CreateProjectDto,
    CredentialDto,
    NewCredentialDto,
    ProjectDto,
    QuotaDto,
    QuotasDto,
    SetQuotasDto,
)
from verda_server.lifecycle.reconcile import apply_due
from verda_server.projects import quotas
from verda_server.projects import service as projects
from verda_server.projects.models import Project

router = lazy_router(prefix="/_admin/v1/projects", tags=["Projects"], dependencies=[Admin])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such project"}}


@contextmanager
def settled(context: AppContext, project_id: str | None) -> Iterator[tuple[Session, datetime]]:
    """A write at one instant after what fell due (transitions, trash expiry,
    billing) is applied, so that balances and counts are those of now."""
    now = context.clock.now()
    with context.db.write() as session:
        apply_due(session, now, context.catalog, context.lifecycle.current, project_id)
        yield session, now


async def exact_body(request: Request) -> dict[str, Any]:
    """The body again with its numbers as exact decimals (the validated model's
    would have gone through a float). `null` is absent, as in every request model."""
    data = json.loads(await request.body() or b"{}", parse_float=Decimal)
    return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else {}


def amount_of(field: str, raw: object, *, positive: bool = False) -> Decimal:
    if isinstance(raw, str):
        return funds.parse_amount(field, raw, positive=positive)
    assert isinstance(raw, Decimal | int) and not isinstance(raw, bool)
    return funds.check_amount(field, Decimal(raw), positive=positive)


def quotas_dto(session: Session, project: Project) -> QuotasDto:
    limits, used = quotas.limits(project), quotas.usages(session, project.id)
    return QuotasDto(
        **{
            kind.value: QuotaDto(
                quota=limits[kind],
                used=used[kind],
                hard_max=quotas.QUOTAS[kind].hard_max,
                default=quotas.QUOTAS[kind].default,
            )
            for kind in quotas.Kind
        }
    )


def project_dto(session: Session, project: Project, now: datetime) -> dict[str, Any]:
    balance = funds.balance_now(session, project, now)
    return {
        "id": project.id,
        "name": project.name,
        "is_default": project.is_default,
        "created_at": isoformat(project.created_at),
        "balance": money(balance),
        "currency": project.currency,
        "quotas": quotas_dto(session, project),
        "credentials": [
            CredentialDto(client_id=c.client_id, created_at=isoformat(c.created_at))
            for c in projects.credentials_of(session, project.id)
        ],
    }


def money(amount: Decimal) -> str:
    return f"{amount.normalize() if amount else Decimal(0):f}"  # never "-0" or "1E+3"


@router.get("", summary="List projects", response_model=list[ProjectDto])
def list_projects(context: Context) -> list[ProjectDto]:
    with settled(context, None) as (session, now):
        return [ProjectDto(**project_dto(session, p, now)) for p in projects.all_projects(session)]


@router.post(
    "",
    summary="Create a project",
    description="With a first credential pair (generated, or the `client_id` and "
    "`client_secret` given), its secret shown this once; `credentials: false` makes none. "
    "Isolated from every other project.",
    response_model=CreatedProjectDto,
    status_code=201,
    responses={409: {"description": "The client id given is taken"}},
)
async def create_project(
    context: Context, body: CreateProjectDto, request: Request
) -> CreatedProjectDto:
    balance = amount_of("balance", (await exact_body(request)).get("balance", "1000"))
    if not body.credentials and body.client_id is not None:
        raise invalid("client_id: not with credentials false")
    return await run_in_threadpool(_create, context, body, balance)


def _create(context: AppContext, body: CreateProjectDto, balance: Decimal) -> CreatedProjectDto:
    now = context.clock.now()
    with context.db.write() as session:
        project = projects.create_project(
            session, context.clock, name=body.name, balance=balance, currency=body.currency
        )
        if body.quotas is not None:
            quotas.set_quotas(session, project.id, body.quotas.given())
        credential = None
        if body.credentials:
            client_id, secret = projects.new_credential(
                session, context.clock, project.id, body.client_id, body.client_secret
            )
            credential = NewCredentialDto(
                project_id=project.id,
                client_id=client_id,
                client_secret=secret,
                created_at=isoformat(now),
            )
        return CreatedProjectDto(**project_dto(session, project, now), credential=credential)


@router.get(
    "/{project_id}",
    summary="Read a project",
    description="Its balance, quotas with what it holds, and its credentials' client ids.",
    response_model=ProjectDto,
    responses=NOT_FOUND,
)
def read_project(context: Context, project_id: str) -> ProjectDto:
    with settled(context, project_id) as (session, now):
        return ProjectDto(**project_dto(session, projects.get_project(session, project_id), now))


@router.delete(
    "/{project_id}",
    summary="Delete a project with everything in it",
    description="Instances, volumes, clusters, SSH keys, startup scripts, tags, serverless "
    "secrets and registry credentials, credentials and their tokens, and its billing records "
    "go at once; the capacity and addresses it "
    "held are free for others. The default project is refused (403): every start would "
    "create it again.",
    status_code=204,
    response_class=Response,
    responses={**NOT_FOUND, 403: {"description": "The default project"}},
)
def delete_project(context: Context, project_id: str) -> Response:
    with context.db.write() as session:
        projects.delete_project(session, project_id)
    return Response(status_code=204)


@router.get(
    "/{project_id}/quotas",
    summary="Read a project's quotas",
    response_model=QuotasDto,
    responses=NOT_FOUND,
)
def read_quotas(context: Context, project_id: str) -> QuotasDto:
    with settled(context, project_id) as (session, _):
        return quotas_dto(session, projects.get_project(session, project_id))


@router.put(
    "/{project_id}/quotas",
    summary="Set some of a project's quotas",
    description="Only the quotas given change. Refusals are 403 `forbidden_action` naming "
    "the quota and its limit. A quota below what the project holds takes nothing away: it "
    "refuses new creations until the project is under it again.",
    response_model=QuotasDto,
    responses=NOT_FOUND,
)
def set_quotas(context: Context, project_id: str, body: SetQuotasDto) -> QuotasDto:
    with settled(context, project_id) as (session, _):
        project = quotas.set_quotas(session, project_id, body.given())
        session.flush()
        return quotas_dto(session, project)
