from __future__ import annotations

from typing import Annotated

from fastapi import Body, Depends, Query
from sqlalchemy.orm import Session
from starlette.responses import Response

from verda_server.api.context import Context
from verda_server.api.ids import PathId
from verda_server.api.routing import lazy_router
from verda_server.api.security import CurrentPrincipal, SettledPrincipal, require_principal
from verda_server.clusters import actions, deploy, service
from verda_server.clusters.schemas import (
    ClusterStatusName,
    DeployClusterPublicDto,
    DeployClusterResponsePublicApiDto,
    GetClusterResponsePublicApiDto,
    PerformClusterActionPublicDto,
    PerformClusterActionsBulkDto,
)
from verda_server.readmodel.marks import cached_read
from verda_server.tags.views import TagFilter

router = lazy_router(tags=["Clusters"], dependencies=[Depends(require_principal)])


@router.get(
    "/v1/clusters",
    summary="Get clusters",
    description=(
        "All live clusters of the project, or those with the given status. Discontinued "
        "clusters are left out; `status=discontinued` lists them. `tag` keeps those "
        "carrying every tag given."
    ),
    response_model=list[GetClusterResponsePublicApiDto],
)
@cached_read
async def list_clusters(
    context: Context,
    principal: SettledPrincipal,
    status: Annotated[
        ClusterStatusName | None, Query(description="Only clusters with this status")
    ] = None,
    tag: TagFilter = None,
) -> list[GetClusterResponsePublicApiDto]:
    def read(session: Session) -> list[GetClusterResponsePublicApiDto]:
        rows = service.list_clusters(session, principal.project_id, status, tag)
        return service.to_dtos(session, context.catalog, rows)

    return await context.db.run_read(read)


@router.post(
    "/v1/clusters",
    summary="Deploy cluster",
    description=(
        "Creates the cluster (`provisioning`, then `running`) with its shared /home volume "
        "(type NVMe_Shared_Cluster, listed in GET /v1/volumes as attached with the cluster's "
        "id as `instance_id`), and attaches `existing_volumes`. Holds one unit of the cluster "
        "type's capacity in the location until discontinued."
    ),
    status_code=201,
    response_model=DeployClusterResponsePublicApiDto,
    responses={
        404: {"description": "An SSH key, startup script or existing volume named does not exist"},
        402: {
            "description": "The balance can't pay for the cluster and its /home volume for an hour"
        },
        503: {"description": "Not enough capacity for the cluster type in the location"},
    },
)
def deploy_cluster(
    context: Context, principal: CurrentPrincipal, body: DeployClusterPublicDto
) -> DeployClusterResponsePublicApiDto:
    with context.work(principal.project_id) as (session, now):
        cluster = deploy.deploy(
            session,
            now,
            context.catalog,
            context.lifecycle.current,
            principal.project_id,
            body,
        )
    return DeployClusterResponsePublicApiDto(id=cluster.id)


@router.put(
    "/v1/clusters",
    summary="Perform action on a cluster or multiple clusters",
    description=(
        "One action (`{action, id}`) or several (`{actions: [...]}`); only `discontinue` "
        "exists (`delete` is an alias). All or nothing. Discontinuing releases the "
        "capacity and the jump host's address and detaches the shared volumes, which are "
        "kept and should be deleted manually. A cluster that is already discontinued is "
        'refused with 403 ("Can\'t discontinue a discontinued cluster").'
    ),
    status_code=202,
    response_class=Response,
    responses={
        202: {"description": "Done; empty body"},
        403: {"description": "The cluster's status does not allow the action"},
        404: {"description": "Cluster not found"},
    },
)
def perform_cluster_action(
    context: Context,
    principal: CurrentPrincipal,
    body: Annotated[PerformClusterActionPublicDto | PerformClusterActionsBulkDto, Body()],
) -> Response:
    pairs = actions.requested(body)
    with context.work(principal.project_id) as (session, now):
        actions.perform(session, now, principal.project_id, pairs)
    return Response(status_code=202)


@router.get(
    "/v1/clusters/{cluster_id}",
    summary="Get cluster by id",
    description="Discontinued clusters still answer, with status `discontinued`.",
    response_model=GetClusterResponsePublicApiDto,
    responses={404: {"description": "Cluster not found"}},
)
@cached_read
async def get_cluster(
    context: Context, principal: SettledPrincipal, cluster_id: PathId
) -> GetClusterResponsePublicApiDto:
    def read(session: Session) -> GetClusterResponsePublicApiDto:
        row = service.get_cluster(session, principal.project_id, cluster_id)
        return service.to_dtos(session, context.catalog, [row])[0]

    return await context.db.run_read(read)
