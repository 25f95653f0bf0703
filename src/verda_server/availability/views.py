from __future__ import annotations

from fastapi import Depends

from verda_server.api.context import AppContext, Context
from verda_server.api.params import LocationFilter, SpotFlag
from verda_server.api.routing import lazy_router
from verda_server.api.security import require_principal
from verda_server.availability import service
from verda_server.availability.schemas import (
    ClusterAvailabilityResponseDto,
    InstanceAvailabilityResponseDto,
)

router = lazy_router(dependencies=[Depends(require_principal)])
# Clusters have no spot capacity, yet their endpoints take the spot flag like the others.
CLUSTERS_ARE_NEVER_SPOT = "Clusters are never spot: with is_spot=true nothing is available."


async def _usage(context: AppContext) -> service.Usage:
    await context.reconciler.settle_evictions_before_read()
    return await context.db.run_read(service.capacity_usage)


@router.get(
    "/v1/instance-availability",
    tags=["Instance Availability"],
    summary="Get all instance type availabilities for all locations",
    response_model=list[InstanceAvailabilityResponseDto],
    response_description="Returns the instance type availabilities for all locations",
)
async def get_instance_availabilities(
    context: Context, spot: SpotFlag, location_code: LocationFilter
) -> list[InstanceAvailabilityResponseDto]:
    catalog = context.catalog
    codes = service.check_location(catalog, location_code)
    usage = await _usage(context)
    return [
        InstanceAvailabilityResponseDto(
            location_code=code,
            availabilities=service.available_instance_types(catalog, code, spot, usage),
        )
        for code in codes
    ]


async def _instance_type_available(
    context: AppContext, instance_type: str, spot: bool, location_code: str | None
) -> bool:
    codes = service.check_location(context.catalog, location_code)
    if instance_type not in context.catalog.instance_types:
        return False
    usage = await _usage(context)
    return any(
        service.free_instance_units(context.catalog, code, instance_type, spot, usage) > 0
        for code in codes
    )


@router.get(
    "/v1/instance-availability/{instance_type}",
    tags=["Instance Availability"],
    summary="Get instance type availability",
    description="A bare JSON boolean; false for a type that does not exist.",
    response_model=bool,
    response_description="Returns the instance type availability",
)
async def get_instance_type_availability(
    context: Context, instance_type: str, spot: SpotFlag, location_code: LocationFilter
) -> bool:
    return await _instance_type_available(context, instance_type, spot, location_code)


@router.get(
    "/v1/instances/availability/{instanceType}",
    tags=["Instances"],
    summary="Check instance type availability - deprecated",
    description="Deprecated alias of GET /v1/instance-availability/{instance_type}.",
    deprecated=True,
    response_model=bool,
)
async def get_instance_type_availability_deprecated(
    context: Context,
    instanceType: str,
    spot: SpotFlag,
    location_code: LocationFilter,
) -> bool:
    return await _instance_type_available(context, instanceType, spot, location_code)


@router.get(
    "/v1/cluster-availability",
    tags=["Cluster Availability"],
    summary="Get all cluster type availabilities for all locations",
    response_model=list[ClusterAvailabilityResponseDto],
    response_description="Returns the cluster type availabilities for all locations",
    description=CLUSTERS_ARE_NEVER_SPOT,
)
async def get_cluster_availabilities(
    context: Context, spot: SpotFlag, location_code: LocationFilter
) -> list[ClusterAvailabilityResponseDto]:
    catalog = context.catalog
    codes = service.check_location(catalog, location_code)
    usage = await context.db.run_read(service.cluster_usage)
    return [
        ClusterAvailabilityResponseDto(
            location_code=code,
            availabilities=[] if spot else service.available_cluster_types(catalog, code, usage),
        )
        for code in codes
    ]


@router.get(
    "/v1/cluster-availability/{cluster_type}",
    tags=["Cluster Availability"],
    summary="Get cluster type availability",
    description="A bare JSON boolean; false for a type that does not exist. "
    + CLUSTERS_ARE_NEVER_SPOT,
    response_model=bool,
    response_description="Returns the cluster type availability",
)
async def get_cluster_type_availability(
    context: Context, cluster_type: str, spot: SpotFlag, location_code: LocationFilter
) -> bool:
    catalog = context.catalog
    codes = service.check_location(catalog, location_code)
    if spot or cluster_type not in catalog.cluster_types:
        return False
    usage = await context.db.run_read(service.cluster_usage)
    return any(service.free_cluster_units(catalog, code, cluster_type, usage) > 0 for code in codes)
