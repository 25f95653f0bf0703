"""The seventeen operations of /v1/container-deployments (BEYOND.md §3)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from fastapi import Body, Depends, Path, Query
from sqlalchemy.orm import Session
from starlette.responses import Response

from verda_server.api.context import AppContext, Context
from verda_server.api.responses import EMPTY_OK, Responses, json_bytes, to_json
from verda_server.api.routing import lazy_router
from verda_server.api.security import CurrentPrincipal, SettledPrincipal, require_principal
from verda_server.readmodel.marks import cached_read
from verda_server.serverless.deployments import operations, service
from verda_server.serverless.deployments import scaling as scalings
from verda_server.serverless.deployments.models import DEPLOYMENT
from verda_server.serverless.deployments.schemas import (
    ContainerEnvDto,
    CreateDeploymentDto,
    DeploymentDto,
    DeploymentStatusDto,
    EnvVarsChangeDto,
    EnvVarsDeleteDto,
    PatchDeploymentDto,
    ReplicasDto,
    ScalingDto,
    ScalingOutDto,
)
from verda_server.serverless.deployments.states import Action
from verda_server.serverless.endpoint import service as endpoint

router = lazy_router(tags=["Container deployments"], dependencies=[Depends(require_principal)])
PREFIX = "/v1/container-deployments"
T = TypeVar("T")

DeploymentName = Annotated[str, Path(description="The deployment's name")]
NOT_FOUND: Responses = {404: {"description": "No such deployment in the project"}}
REFUSED: Responses = {
    400: {
        "description": "Invalid body, or it names what does not exist: a compute resource "
        "(or one unavailable at the moment), a secret, file secret, shared volume or "
        "registry credentials of the project"
    }
}
# Milliseconds to wait for a removal: 0 none, absent 60000, at most 300000.
Timeout = Annotated[
    float | None,
    Query(
        description="Milliseconds to wait for the removal (0: don't wait; absent: 60000; "
        "clamped to 300000; `120000.0` is read as 120000). Deployments are removed at once."
    ),
]


def answer(value: Any, status_code: int = 200) -> Response:
    return json_bytes(to_json(value), status_code)


@contextmanager
def working(context: AppContext, project_id: str) -> Iterator[service.Work]:
    with context.work(project_id) as (session, now):
        yield service.Work(
            session,
            now,
            context.catalog,
            project_id,
            context.lifecycle.current.serverless_ready_seconds,
        )


async def reading(context: AppContext, read: Callable[[Session], T]) -> T:
    return await context.db.run_read(read)


@router.get(
    PREFIX,
    summary="List container deployments",
    description="Every deployment of the project, in creation order (no `status`: see "
    "GET .../{deployment_name}/status). `projectId` (the Go SDK's) is ignored.",
    response_model=list[DeploymentDto],
)
@cached_read
async def list_deployments(context: Context, principal: SettledPrincipal) -> Response:
    base = context.settings.serverless_url

    def read(session: Session) -> list[Any]:
        rows = service.live(session, principal.project_id, DEPLOYMENT)
        return [service.render(row, base) for row in rows]

    return answer(await reading(context, read))


@router.post(
    PREFIX,
    summary="Create a container deployment",
    description="Starts `min_replica_count` replicas (initializing, then running) and the "
    "deployment as `initializing`, then `healthy`. Each replica holds the compute's capacity "
    "units and costs its price per hour (its spot price when `is_spot`). Container names are "
    "generated: `<image base name>-<index>`.",
    status_code=201,
    response_model=DeploymentDto,
    responses={
        **REFUSED,
        402: {"description": "The balance is empty, or can't pay one hour of the minimum replicas"},
        409: {"description": "The name is taken by a deployment or job of the project"},
    },
)
def create_deployment(
    context: Context, principal: CurrentPrincipal, body: CreateDeploymentDto
) -> Response:
    with working(context, principal.project_id) as work:
        row = operations.create(work, body, principal.client_id)
        rendered = service.render(row, context.settings.serverless_url)
    return answer(rendered, 201)


@router.get(
    PREFIX + "/{deployment_name}",
    summary="Get a container deployment",
    response_model=DeploymentDto,
    responses=NOT_FOUND,
)
@cached_read
async def get_deployment(
    context: Context, principal: SettledPrincipal, deployment_name: DeploymentName
) -> Response:
    base = context.settings.serverless_url

    def read(session: Session) -> Any:
        row = service.get(session, principal.project_id, DEPLOYMENT, deployment_name)
        return service.render(row, base)

    return answer(await reading(context, read))


@router.patch(
    PREFIX + "/{deployment_name}",
    summary="Update a container deployment",
    description="Partial: absent or null fields stay, read-only ones are ignored. Each "
    "container sent names an existing one and replaces the fields it sends. A change of "
    "containers, compute, registry settings or `is_spot` is a new version "
    "(`version_updating` with new replicas, then `healthy`); `scaling` applies as "
    "PATCH .../scaling.",
    response_model=DeploymentDto,
    responses={
        **REFUSED,
        **NOT_FOUND,
        503: {"description": "Not enough capacity for the new minimum of replicas"},
    },
)
def update_deployment(
    context: Context,
    principal: CurrentPrincipal,
    deployment_name: DeploymentName,
    body: Annotated[PatchDeploymentDto | None, Body()] = None,
) -> Response:
    # An empty body changes nothing (BEYOND.md §0: empty bodies are accepted).
    with working(context, principal.project_id) as work:
        row = operations.patch(work, deployment_name, body or PatchDeploymentDto())
        rendered = service.render(row, context.settings.serverless_url)
    return answer(rendered)


@router.delete(
    PREFIX + "/{deployment_name}",
    summary="Delete a container deployment",
    description="Removed before the answer, whatever the `timeout`: its replicas and "
    "capacity go and it stops costing. Secrets, credentials and volumes it used stay.",
    response_class=Response,
    responses={**EMPTY_OK, **NOT_FOUND},
)
def delete_deployment(
    context: Context,
    principal: CurrentPrincipal,
    deployment_name: DeploymentName,
    timeout: Timeout = None,
) -> Response:
    with working(context, principal.project_id) as work:
        row = service.get(work.session, work.project_id, DEPLOYMENT, deployment_name)
        service.remove(row, work.now)
    return Response(status_code=200)


@router.get(
    PREFIX + "/{deployment_name}/status",
    summary="Get a container deployment's status",
    response_model=DeploymentStatusDto,
    responses=NOT_FOUND,
)
@cached_read
async def get_deployment_status(
    context: Context, principal: SettledPrincipal, deployment_name: DeploymentName
) -> Response:
    def read(session: Session) -> Any:
        row = service.get(session, principal.project_id, DEPLOYMENT, deployment_name)
        return {"status": row.status}

    return answer(await reading(context, read))


def _action(name: str, action: Action, summary: str, description: str) -> None:
    def act(
        context: Context, principal: CurrentPrincipal, deployment_name: DeploymentName
    ) -> Response:
        with working(context, principal.project_id) as work:
            operations.act(work, deployment_name, action)
        return Response(status_code=200)

    router.add_api_route(
        PREFIX + "/{deployment_name}/" + name,
        act,
        methods=["POST"],
        summary=summary,
        description=description + " Idempotent; no body; answers an empty body.",
        response_class=Response,
        responses={**EMPTY_OK, **NOT_FOUND, **extra.get(name, {})},
        operation_id=f"{name.replace('-', '_')}_container_deployment",
    )


extra: dict[str, Responses] = {
    "resume": {
        402: {"description": "The balance can't pay one hour of the replicas it would start"},
        503: {"description": "Not enough capacity for the minimum of replicas"},
    }
}
_action(
    "restart",
    Action.RESTART,
    "Restart a container deployment",
    "Every replica is replaced (new ids and start times); the deployment is `initializing` "
    "until they run. Nothing to do while paused.",
)
_action(
    "pause",
    Action.PAUSE,
    "Pause a container deployment",
    "`paused`: no replicas, no capacity held, nothing charged.",
)
_action(
    "resume",
    Action.RESUME,
    "Resume a container deployment",
    "Back to `min_replica_count` replicas: `initializing`, then `healthy`. Like a create, "
    "refused (402) when the balance can't pay one hour of them (or is empty).",
)


@router.post(
    PREFIX + "/{deployment_name}/purge-queue",
    summary="Purge a container deployment's queue",
    description="Drops the requests waiting in the endpoint's queue (those a replica is "
    "working on finish). No body; answers an empty body.",
    response_class=Response,
    responses={**EMPTY_OK, **NOT_FOUND},
)
def purge_deployment_queue(
    context: Context, principal: CurrentPrincipal, deployment_name: DeploymentName
) -> Response:
    with working(context, principal.project_id) as work:
        row = service.get(work.session, work.project_id, DEPLOYMENT, deployment_name)
        endpoint.purge(work.session, work.catalog, context.lifecycle.current, row, work.now)
    return Response(status_code=200)


@router.get(
    PREFIX + "/{deployment_name}/scaling",
    summary="Get a container deployment's scaling",
    response_model=ScalingOutDto,
    responses=NOT_FOUND,
)
@cached_read
async def get_deployment_scaling(
    context: Context, principal: SettledPrincipal, deployment_name: DeploymentName
) -> Response:
    def read(session: Session) -> Any:
        row = service.get(session, principal.project_id, DEPLOYMENT, deployment_name)
        return scalings.load(row.scaling)

    return answer(await reading(context, read))


@router.patch(
    PREFIX + "/{deployment_name}/scaling",
    summary="Update a container deployment's scaling",
    description="Any of the seven fields; `scaling_triggers` is partial too. The result "
    "must keep max_replica_count >= min_replica_count. The replica count follows the new "
    "minimum; the status stays.",
    response_model=ScalingOutDto,
    responses={
        400: {"description": "Invalid scaling (max below min, a threshold out of range)"},
        **NOT_FOUND,
        503: {"description": "Not enough capacity for the new minimum of replicas"},
    },
)
def update_deployment_scaling(
    context: Context,
    principal: CurrentPrincipal,
    deployment_name: DeploymentName,
    body: Annotated[ScalingDto | None, Body()] = None,
) -> Response:
    with working(context, principal.project_id) as work:
        row = service.get(work.session, work.project_id, DEPLOYMENT, deployment_name)
        operations.patch_scaling(work, row, body or ScalingDto(), "body")
        scaling = scalings.load(row.scaling)
    return answer(scaling)


@router.get(
    PREFIX + "/{deployment_name}/replicas",
    summary="Get a container deployment's replicas",
    description="`initializing` until ready, then `running`; none while paused.",
    response_model=ReplicasDto,
    responses=NOT_FOUND,
)
@cached_read
async def get_deployment_replicas(
    context: Context, principal: SettledPrincipal, deployment_name: DeploymentName
) -> Response:
    now = context.clock.now()

    def read(session: Session) -> Any:
        row = service.get(session, principal.project_id, DEPLOYMENT, deployment_name)
        return service.replicas_answer(row, now)

    return answer(await reading(context, read))


ENV_PATH = PREFIX + "/{deployment_name}/environment-variables"
ENV_NOT_FOUND: Responses = {
    404: {"description": "No such deployment, container (or, to update, variable)"}
}


@router.get(
    ENV_PATH,
    summary="Get a container deployment's environment variables",
    description="One entry per container.",
    response_model=list[ContainerEnvDto],
    responses=NOT_FOUND,
)
@cached_read
async def get_environment_variables(
    context: Context, principal: SettledPrincipal, deployment_name: DeploymentName
) -> Response:
    def read(session: Session) -> Any:
        row = service.get(session, principal.project_id, DEPLOYMENT, deployment_name)
        return [service.env_answer(c) for c in service.stored.load(row.containers)]

    return answer(await reading(context, read))


@router.post(
    ENV_PATH,
    summary="Add environment variables to a container",
    description="Appended; a name the container has already is updated. A change is a new "
    "version. Answers every container's variables.",
    response_model=list[ContainerEnvDto],
    responses={**REFUSED, **ENV_NOT_FOUND},
)
def add_environment_variables(
    context: Context,
    principal: CurrentPrincipal,
    deployment_name: DeploymentName,
    body: EnvVarsChangeDto,
) -> Response:
    with working(context, principal.project_id) as work:
        containers = operations.add_env(work, deployment_name, body.container_name, body.env)
    return answer([service.env_answer(c) for c in containers])


@router.patch(
    ENV_PATH,
    summary="Update environment variables of a container",
    description="Each must exist already. A change is a new version. Answers the one "
    "container's variables as a single object.",
    response_model=ContainerEnvDto,
    responses={**REFUSED, **ENV_NOT_FOUND},
)
def update_environment_variables(
    context: Context,
    principal: CurrentPrincipal,
    deployment_name: DeploymentName,
    body: EnvVarsChangeDto,
) -> Response:
    with working(context, principal.project_id) as work:
        container = operations.update_env(work, deployment_name, body.container_name, body.env)
    return answer(service.env_answer(container))


@router.delete(
    ENV_PATH,
    summary="Delete environment variables of a container",
    description="The body (on DELETE) names the container and the variables; unknown names "
    "are ignored. A change is a new version. Answers every container's variables.",
    response_model=list[ContainerEnvDto],
    responses={**ENV_NOT_FOUND},
)
def delete_environment_variables(
    context: Context,
    principal: CurrentPrincipal,
    deployment_name: DeploymentName,
    body: EnvVarsDeleteDto,
) -> Response:
    with working(context, principal.project_id) as work:
        containers = operations.delete_env(work, deployment_name, body.container_name, body.env)
    return answer([service.env_answer(c) for c in containers])
