"""Availability computed from the catalog's per-location capacity.

A type is available in a location while the capacity there exceeds the units
held by live instances, or live clusters for a cluster type (of every project:
capacity is shared).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from sqlalchemy import Integer, Select, bindparam, func, literal, select
from sqlalchemy.orm import Session

from verda_server.api.errors import invalid
from verda_server.catalog.service import Catalog
from verda_server.clusters.models import Cluster
from verda_server.instances.models import Instance
from verda_server.instances.states import UNPLACED

_UNPLACED = sorted(s.value for s in UNPLACED)


class UsageKey(NamedTuple):
    location: str
    type_name: str
    spot: bool


Usage = Mapping[UsageKey, int]
NO_USAGE: Usage = {}


def capacity_usage(session: Session) -> Usage:
    """Units held by live instances, per (location, type, spot); one that never
    got its machine (no capacity, installation failed) holds none."""
    rows = session.execute(
        select(Instance.location, Instance.instance_type, Instance.is_spot, func.count())
        .where(Instance.deleted_at.is_(None), Instance.status.not_in(_UNPLACED))
        .group_by(Instance.location, Instance.instance_type, Instance.is_spot)
    )
    return {UsageKey(loc, name, bool(spot)): count for loc, name, spot, count in rows}


def _held_up_to(spot: bool) -> Select[tuple[int]]:
    """The units held in :location of :type_name, counted up to :total; built
    once for each of spot and on-demand (a literal there, as the index's third
    column), as every deploy runs it."""
    held = (
        select(literal(1).label("held"))
        .where(
            Instance.location == bindparam("location"),
            Instance.instance_type == bindparam("type_name"),
            Instance.is_spot == spot,
            Instance.deleted_at.is_(None),
            Instance.status.not_in(_UNPLACED),
        )
        .limit(bindparam("total", type_=Integer()))
        .subquery()
    )
    return select(func.count()).select_from(held)


_HELD_UP_TO = {spot: _held_up_to(spot) for spot in (False, True)}


def usage_of(session: Session, catalog: Catalog, key: UsageKey) -> Usage:
    """What `capacity_usage` says of one (location, type, spot), counted only as
    far as the capacity there: off one index, so a deploy's check costs the same
    whatever else the store holds, and `free_instance_units` answers the same."""
    capacity = catalog.capacity.get(key.location)
    units = capacity.instances.get(key.type_name) if capacity else None
    total = 0 if units is None else int(units.spot if key.spot else units.on_demand)
    if total <= 0:
        return NO_USAGE
    parameters = {"location": key.location, "type_name": key.type_name, "total": total}
    return {key: session.scalar(_HELD_UP_TO[bool(key.spot)], parameters) or 0}


class ClusterUsageKey(NamedTuple):
    location: str
    cluster_type: str


ClusterUsage = Mapping[ClusterUsageKey, int]
NO_CLUSTER_USAGE: ClusterUsage = {}


def cluster_usage(session: Session) -> ClusterUsage:
    """Units held by live (not discontinued) clusters, per (location, type)."""
    rows = session.execute(
        select(Cluster.location, Cluster.cluster_type, func.count())
        .where(Cluster.deleted_at.is_(None))
        .group_by(Cluster.location, Cluster.cluster_type)
    )
    return {ClusterUsageKey(loc, name): count for loc, name, count in rows}


def check_location(catalog: Catalog, location_code: str | None) -> list[str]:
    """The locations a query covers: one when filtered, all otherwise."""
    if location_code is None:
        return catalog.location_codes()
    if location_code not in catalog.locations:
        known = ", ".join(catalog.location_codes())
        raise invalid(f"location_code: unknown location {location_code!r} (known: {known})")
    return [location_code]


def free_instance_units(
    catalog: Catalog, location: str, instance_type: str, spot: bool, usage: Usage = NO_USAGE
) -> int:
    capacity = catalog.capacity.get(location)
    if capacity is None or instance_type not in capacity.instances:
        return 0
    units = capacity.instances[instance_type]
    total = units.spot if spot else units.on_demand
    return max(0, total - usage.get(UsageKey(location, instance_type, spot), 0))


def free_cluster_units(
    catalog: Catalog, location: str, cluster_type: str, usage: ClusterUsage = NO_CLUSTER_USAGE
) -> int:
    capacity = catalog.capacity.get(location)
    if capacity is None:
        return 0
    total = capacity.clusters.get(cluster_type, 0)
    return max(0, total - usage.get(ClusterUsageKey(location, cluster_type), 0))


def available_instance_types(
    catalog: Catalog, location: str, spot: bool, usage: Usage = NO_USAGE
) -> list[str]:
    return [
        name
        for name in catalog.instance_types
        if free_instance_units(catalog, location, name, spot, usage) > 0
    ]


def available_cluster_types(
    catalog: Catalog, location: str, usage: ClusterUsage = NO_CLUSTER_USAGE
) -> list[str]:
    return [
        name
        for name in catalog.cluster_types
        if free_cluster_units(catalog, location, name, usage) > 0
    ]
