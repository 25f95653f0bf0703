"""Catalog endpoints: public ones first, then those that need a token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from starlette.responses import Response

from verda_server.api.context import Context
from verda_server.api.params import CurrencyParam, LocationParam, SpotFlag
from verda_server.api.responses import json_bytes, not_found_response
from verda_server.api.routing import lazy_router
from verda_server.api.security import require_principal
from verda_server.availability.service import check_location
from verda_server.catalog import dtos
from verda_server.catalog.service import instance_type_dto, render

public = lazy_router()
private = lazy_router(dependencies=[Depends(require_principal)])

NOT_FOUND = not_found_response("Not found")


@public.get(
    "/v1/instance-types",
    tags=["Instance Types"],
    summary="Get instance types",
    response_model=list[dtos.InstanceType],
)
async def get_instance_types(context: Context, currency: CurrencyParam = "usd") -> Response:
    return json_bytes(context.catalog.rendered("instance-types", currency))


@public.get(
    "/v1/cluster-types",
    tags=["Cluster Types"],
    summary="Get cluster types",
    response_model=list[dtos.ClusterType],
)
async def get_cluster_types(context: Context, currency: CurrencyParam = "usd") -> Response:
    return json_bytes(context.catalog.rendered("cluster-types", currency))


@public.get(
    "/v1/container-types",
    tags=["Container Types"],
    summary="Get container types",
    response_model=list[dtos.ContainerType],
)
async def get_container_types(context: Context, currency: CurrencyParam = "usd") -> Response:
    return json_bytes(context.catalog.rendered("container-types", currency))


@public.get(
    "/v1/long-term/periods",
    tags=["Long Term"],
    summary="Get long term periods",
    description="Deprecated: use /v1/long-term/periods/instances or /clusters.",
    deprecated=True,
    response_model=list[dtos.LongTermPeriodResponseDto],
    response_description="Returns the long term periods",
)
async def get_long_term_periods(context: Context) -> Response:
    return json_bytes(context.catalog.rendered("long-term-instances"))


@public.get(
    "/v1/long-term/periods/instances",
    tags=["Long Term"],
    summary="Get long term periods for instances",
    response_model=list[dtos.LongTermPeriodResponseDto],
    response_description="Returns the long term periods for instances",
)
async def get_instance_long_term_periods(context: Context) -> Response:
    return json_bytes(context.catalog.rendered("long-term-instances"))


@public.get(
    "/v1/long-term/periods/clusters",
    tags=["Long Term"],
    summary="Get long term periods for clusters",
    response_model=list[dtos.LongTermPeriodResponseDto],
    response_description="Returns the long term periods for clusters",
)
async def get_cluster_long_term_periods(context: Context) -> Response:
    return json_bytes(context.catalog.rendered("long-term-clusters"))


@private.get(
    "/v1/instance-types/price-history",
    tags=["Instance Types"],
    summary="Get daily dynamic price history - Not supported anymore",
    description=(
        "Dynamic pricing was removed, so the history is always empty: an object "
        "mapping instance types to their daily price records."
    ),
    deprecated=True,
    response_model=dict[str, list[dtos.PriceHistoryRecord]],
)
async def get_price_history(
    num_of_months: Annotated[int | None, Query(ge=1, le=12)] = None,
    currency: CurrencyParam = "usd",
) -> Response:
    return json_bytes(b"{}")


@private.get(
    "/v1/instance-types/{instance_type}",
    tags=["Instance Types"],
    summary="Get instance type",
    response_model=dtos.InstanceType,
    responses=NOT_FOUND,
)
async def get_instance_type(
    context: Context,
    instance_type: str,
    spot: SpotFlag,
    location_code: LocationParam = None,
    currency: CurrencyParam = "usd",
) -> Response:
    check_location(context.catalog, location_code)
    found = context.catalog.instance_type(instance_type)
    return json_bytes(
        instance_type_dto(found, currency).model_dump_json(exclude_none=True).encode()
    )


@private.get(
    "/v1/instances/types",
    tags=["Instances"],
    summary="Get instance types - deprecated",
    description="Deprecated alias of GET /v1/instance-types.",
    deprecated=True,
    response_model=list[dtos.InstanceType],
)
async def get_instance_types_deprecated(
    context: Context, currency: CurrencyParam = "usd"
) -> Response:
    return json_bytes(context.catalog.rendered("instance-types", currency))


@private.get(
    "/v1/images",
    tags=["Images", "OS Images"],
    summary="Get images types for instances",
    response_model=list[dtos.Os],
    response_description="Returns available image types for instances",
    responses={404: {"description": "Instance type not found"}},
)
async def get_images(
    context: Context,
    instance_type: Annotated[
        str | None, Query(description="Only images this instance type supports")
    ] = None,
) -> Response:
    if instance_type is None:
        return json_bytes(context.catalog.rendered("images"))
    supported = context.catalog.instance_type(instance_type).supported_os
    return json_bytes(render(context.catalog.os_images(supported)))


@private.get(
    "/v1/images/cluster",
    tags=["Images", "Clusters"],
    summary="Get images types for cluster",
    response_model=list[dtos.Os],
    response_description="Returns available image types for cluster",
    responses={404: {"description": "Cluster type not found"}},
)
async def get_cluster_images(
    context: Context,
    instance_type: Annotated[
        str | None, Query(description="Only images this cluster type supports")
    ] = None,
) -> Response:
    if instance_type is None:
        return json_bytes(context.catalog.rendered("cluster-images"))
    supported = context.catalog.cluster_type(instance_type).supported_os
    return json_bytes(render(context.catalog.cluster_os_images(supported)))


@private.get(
    "/v1/volume-types",
    tags=["Volume Types"],
    summary="Get volume types",
    response_model=list[dtos.VolumeType],
    response_description="Returns the list of available volume types",
)
async def get_volume_types(context: Context, currency: CurrencyParam = "usd") -> Response:
    return json_bytes(context.catalog.rendered("volume-types", currency))


@private.get(
    "/v1/locations",
    tags=["Locations"],
    summary="Returns a list of available locations",
    response_model=list[dtos.Location],
    response_description="Returns a list of available locations",
)
async def get_locations(context: Context) -> Response:
    return json_bytes(context.catalog.rendered("locations"))
