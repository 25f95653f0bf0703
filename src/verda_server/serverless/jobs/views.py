"""The ten operations of /v1/job-deployments (BEYOND.md §4)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Depends, Path
from sqlalchemy.orm import Session
from starlette.responses import Response

from verda_server.api.context import Context
from verda_server.api.responses import EMPTY_OK, Responses
from verda_server.api.routing import lazy_router
from verda_server.api.security import CurrentPrincipal, SettledPrincipal, require_principal
from verda_server.readmodel.marks import cached_read
from verda_server.serverless.deployments import service
from verda_server.serverless.deployments.models import JOB
from verda_server.serverless.deployments.states import JobAction
from verda_server.serverless.deployments.views import REFUSED, Timeout, answer, working
from verda_server.serverless.endpoint import service as endpoint
from verda_server.serverless.jobs import operations
from verda_server.serverless.jobs.schemas import (
    CreateJobDto,
    JobDto,
    JobScalingOutDto,
    JobShortDto,
    JobStatusDto,
    PatchJobDto,
)

router = lazy_router(tags=["Job deployments"], dependencies=[Depends(require_principal)])
PREFIX = "/v1/job-deployments"
JobName = Annotated[str, Path(description="The job deployment's name")]
NOT_FOUND: Responses = {404: {"description": "No such job deployment in the project"}}


@router.get(
    PREFIX,
    summary="List job deployments",
    description="Short information on every job deployment of the project, in creation order.",
    response_model=list[JobShortDto],
)
@cached_read
async def list_jobs(context: Context, principal: SettledPrincipal) -> Response:
    def read(session: Session) -> list[Any]:
        return [operations.short(row) for row in service.live(session, principal.project_id, JOB)]

    return answer(await context.db.run_read(read))


@router.post(
    PREFIX,
    summary="Create a job deployment",
    description="`running` at once. Its replicas come with the work it is given; until then "
    "it holds no capacity and costs nothing. `is_spot` is ignored.",
    status_code=201,
    response_model=JobDto,
    responses={
        **REFUSED,
        402: {"description": "The balance is empty"},
        409: {"description": "The name is taken by a deployment or job of the project"},
    },
)
def create_job(context: Context, principal: CurrentPrincipal, body: CreateJobDto) -> Response:
    with working(context, principal.project_id) as work:
        row = operations.create(work, body, principal.client_id)
        rendered = operations.render(row, context.settings.serverless_url)
    return answer(rendered, 201)


@router.get(
    PREFIX + "/{job_name}",
    summary="Get a job deployment",
    response_model=JobDto,
    responses=NOT_FOUND,
)
@cached_read
async def get_job(context: Context, principal: SettledPrincipal, job_name: JobName) -> Response:
    base = context.settings.serverless_url

    def read(session: Session) -> Any:
        return operations.render(service.get(session, principal.project_id, JOB, job_name), base)

    return answer(await context.db.run_read(read))


@router.patch(
    PREFIX + "/{job_name}",
    summary="Update a job deployment",
    description="Partial: absent or null fields stay. Each container sent names an existing "
    "one and replaces the fields it sends; `scaling` is partial too.",
    response_model=JobDto,
    responses={
        **REFUSED,
        **NOT_FOUND,
        409: {"description": "The job deployment is terminating"},
    },
)
def update_job(
    context: Context,
    principal: CurrentPrincipal,
    job_name: JobName,
    body: Annotated[PatchJobDto | None, Body()] = None,
) -> Response:
    # An empty body changes nothing (BEYOND.md §0: empty bodies are accepted).
    with working(context, principal.project_id) as work:
        row = operations.patch(work, job_name, body or PatchJobDto())
        rendered = operations.render(row, context.settings.serverless_url)
    return answer(rendered)


@router.delete(
    PREFIX + "/{job_name}",
    summary="Delete a job deployment",
    description="With a wait (absent `timeout`: 60000 ms) the job is gone before the answer; "
    "with `timeout=0` it is `terminating` for a moment, then gone (404).",
    response_class=Response,
    responses={**EMPTY_OK, **NOT_FOUND},
)
def delete_job(
    context: Context, principal: CurrentPrincipal, job_name: JobName, timeout: Timeout = None
) -> Response:
    with working(context, principal.project_id) as work:
        operations.delete(work, job_name, timeout)
    return Response(status_code=200)


@router.get(
    PREFIX + "/{job_name}/status",
    summary="Get a job deployment's status",
    response_model=JobStatusDto,
    responses=NOT_FOUND,
)
@cached_read
async def get_job_status(
    context: Context, principal: SettledPrincipal, job_name: JobName
) -> Response:
    def read(session: Session) -> Any:
        return {"status": service.get(session, principal.project_id, JOB, job_name).status}

    return answer(await context.db.run_read(read))


@router.get(
    PREFIX + "/{job_name}/scaling",
    summary="Get a job deployment's scaling",
    response_model=JobScalingOutDto,
    responses=NOT_FOUND,
)
@cached_read
async def get_job_scaling(
    context: Context, principal: SettledPrincipal, job_name: JobName
) -> Response:
    def read(session: Session) -> Any:
        return operations.render(service.get(session, principal.project_id, JOB, job_name), "")[
            "scaling"
        ]

    return answer(await context.db.run_read(read))


def _action(name: str, action: JobAction | None, summary: str, description: str) -> None:
    def act(context: Context, principal: CurrentPrincipal, job_name: JobName) -> Response:
        with working(context, principal.project_id) as work:
            if action is None:
                row = service.get(work.session, work.project_id, JOB, job_name)
                endpoint.purge(work.session, work.catalog, context.lifecycle.current, row, work.now)
            else:
                operations.act(work, job_name, action)
        return Response(status_code=200)

    router.add_api_route(
        PREFIX + "/{job_name}/" + name,
        act,
        methods=["POST"],
        summary=summary,
        description=description + " Idempotent; no body; answers an empty body.",
        response_class=Response,
        responses={**EMPTY_OK, **NOT_FOUND, **extra.get(name, {})},
        operation_id=f"{name.replace('-', '_')}_job_deployment",
    )


extra: dict[str, Responses] = {"resume": {402: {"description": "The balance is empty"}}}
_action("pause", JobAction.PAUSE, "Pause a job deployment", "`paused`.")
_action(
    "resume",
    JobAction.RESUME,
    "Resume a job deployment",
    "`running` again (402 with an empty balance).",
)
_action(
    "purge-queue",
    None,
    "Purge a job deployment's queue",
    "Drops the requests waiting in the endpoint's queue (those a replica is working on finish).",
)
