"""GET, PUT and DELETE /_admin/v1/capacity: the capacity per location and type, live."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from verda_server.api.context import AppContext, Context
from verda_server.api.errors import invalid
from verda_server.api.routing import lazy_router
from verda_server.availability import capacity, service
from verda_server.catalog.service import Catalog
from verda_server.control import capacity as stored_capacity
from verda_server.control.access import Admin

router = lazy_router(prefix="/_admin/v1/capacity", tags=["Capacity"], dependencies=[Admin])

# More than any location holds; small enough to stay an exact number everywhere.
MAX_UNITS = 1_000_000
Units = Field(default=None, ge=0, le=MAX_UNITS)


class UnitsDto(BaseModel):
    total: int = Field(description="Units the location has (the catalog's, or as set)")
    in_use: int = Field(description="Units held by live instances or clusters of every project")
    free: int = Field(description="Units a deploy may take now: total - in_use, at least 0")
    catalog: int = Field(description="The catalog's figure (what a reset goes back to)")


class InstanceUnitsDto(BaseModel):
    on_demand: UnitsDto
    spot: UnitsDto


class LocationCapacityDto(BaseModel):
    instances: dict[str, InstanceUnitsDto] = Field(description="By instance type")
    clusters: dict[str, UnitsDto] = Field(description="By cluster type (clusters are never spot)")


class CapacityDto(BaseModel):
    locations: dict[str, LocationCapacityDto] = Field(description="By location code")


class _Strict(BaseModel):
    # A misspelt name must not pass for a change that did nothing.
    model_config = ConfigDict(extra="forbid")


class InstanceUnitsChangeDto(_Strict):
    on_demand: int | None = Units
    spot: int | None = Units


class LocationCapacityChangeDto(_Strict):
    instances: dict[str, InstanceUnitsChangeDto] | None = Field(
        default=None, description="By instance type: the new on-demand and/or spot total"
    )
    clusters: dict[str, Annotated[int, Field(ge=0, le=MAX_UNITS)]] | None = Field(
        default=None, description="By cluster type: the new total"
    )


class CapacityChangeDto(_Strict):
    locations: dict[str, LocationCapacityChangeDto] = Field(
        description="By location code; what is not named keeps its capacity"
    )


def _patch(catalog: Catalog, body: CapacityChangeDto) -> capacity.Overrides:
    """The body as overrides, every name checked against the catalog."""
    patch: capacity.Overrides = {}
    for code, change in body.locations.items():
        if code not in catalog.locations:
            known = ", ".join(catalog.location_codes())
            raise invalid(f"locations: unknown location {code!r} (known: {known})")
        where = f"locations.{code}"
        instances: dict[str, dict[str, int]] = {}
        for name, units in (change.instances or {}).items():
            if name not in catalog.instance_types:
                raise invalid(f"{where}.instances: unknown instance type {name!r}")
            instances[name] = units.model_dump(exclude_none=True)
        clusters: dict[str, int] = {}
        for name, total in (change.clusters or {}).items():
            if name not in catalog.cluster_types:
                raise invalid(f"{where}.clusters: unknown cluster type {name!r}")
            clusters[name] = total
        patch[code] = {"instances": instances, "clusters": clusters}
    return patch


async def _answer(context: AppContext) -> CapacityDto:
    # Evictions that fell due give their units back first, as for availability.
    await context.reconciler.settle_evictions_before_read()
    usage, cluster_usage = await context.db.run_read(
        lambda session: (service.capacity_usage(session), service.cluster_usage(session))
    )
    catalog = context.catalog
    table = catalog.capacity

    def units(code: str, name: str, spot: bool) -> UnitsDto:
        held = table.get(code)
        have = held.instances.get(name) if held else None
        kind = "spot" if spot else "on_demand"
        return UnitsDto(
            total=0 if have is None else getattr(have, kind),
            in_use=usage.get(service.UsageKey(code, name, spot), 0),
            free=service.free_instance_units(catalog, code, name, spot, usage),
            catalog=capacity.catalog_units(catalog, code, name, kind),
        )

    def cluster_units(code: str, name: str) -> UnitsDto:
        held = table.get(code)
        return UnitsDto(
            total=0 if held is None else held.clusters.get(name, 0),
            in_use=cluster_usage.get(service.ClusterUsageKey(code, name), 0),
            free=service.free_cluster_units(catalog, code, name, cluster_usage),
            catalog=capacity.catalog_cluster_units(catalog, code, name),
        )

    return CapacityDto(
        locations={
            code: LocationCapacityDto(
                instances={
                    name: InstanceUnitsDto(
                        on_demand=units(code, name, False), spot=units(code, name, True)
                    )
                    for name in catalog.instance_types
                },
                clusters={name: cluster_units(code, name) for name in catalog.cluster_types},
            )
            for code in catalog.location_codes()
        }
    )


@router.get(
    "",
    summary="Read the capacity",
    description="Per location, each instance type's on-demand and spot units and each "
    "cluster type's units: the total in force, how many live instances or clusters hold, "
    "how many are free, and the catalog's figure.",
    response_model=CapacityDto,
)
async def read_capacity(context: Context) -> CapacityDto:
    return await _answer(context)


@router.put(
    "",
    summary="Set capacities",
    description="Sets the totals named (per location, instance type and on-demand or spot; "
    "per location and cluster type), live, for every replica; the rest keep theirs. A total "
    "below what is in use is allowed: nothing running is evicted, none is free, and new "
    "deploys are refused with 503 until enough is given back. Answers the capacity.",
    response_model=CapacityDto,
)
async def set_capacity(context: Context, body: CapacityChangeDto) -> CapacityDto:
    patch = _patch(context.catalog, body)
    await run_in_threadpool(stored_capacity.update, context.shared, context.catalog, patch)
    return await _answer(context)


@router.delete(
    "",
    summary="Reset the capacity to the catalog's",
    description="Drops every capacity set here: each location has the catalog's again. "
    "Answers the capacity.",
    response_model=CapacityDto,
)
async def reset_capacity(context: Context) -> CapacityDto:
    await run_in_threadpool(stored_capacity.reset, context.shared)
    return await _answer(context)
