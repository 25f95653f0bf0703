"""The capacity in force: the catalog's, with the operator's overrides.

Overrides are nested like the catalog's `capacity` section, holding only what
differs from it: `{location: {"instances": {type: {"on_demand": n, "spot": n}},
"clusters": {type: n}}}` (either of on_demand and spot may be absent). The
effective table replaces `Catalog.capacity` as a whole, so availability, deploys
and evictions all read it through their usual path.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from verda_server.catalog.service import Catalog
from verda_server.catalog.source import InstanceCapacity, LocationCapacity

Overrides = dict[str, dict[str, dict[str, Any]]]
KINDS = ("on_demand", "spot")


def effective(
    catalog: Mapping[str, LocationCapacity], overrides: Overrides
) -> dict[str, LocationCapacity]:
    table = dict(catalog)
    for code, changes in overrides.items():
        base = table.get(code) or LocationCapacity()
        instances = dict(base.instances)
        for name, units in changes.get("instances", {}).items():
            old = instances.get(name) or InstanceCapacity(on_demand=0, spot=0)
            instances[name] = old.model_copy(update=units)
        clusters = {**base.clusters, **changes.get("clusters", {})}
        table[code] = base.model_copy(update={"instances": instances, "clusters": clusters})
    return table


def catalog_units(catalog: Catalog, code: str, instance_type: str, kind: str) -> int:
    location = catalog.source.capacity.get(code)
    units = location.instances.get(instance_type) if location else None
    return 0 if units is None else int(getattr(units, kind))


def catalog_cluster_units(catalog: Catalog, code: str, cluster_type: str) -> int:
    location = catalog.source.capacity.get(code)
    return 0 if location is None else location.clusters.get(cluster_type, 0)


def merge(catalog: Catalog, overrides: Overrides, patch: Overrides) -> Overrides:
    """`overrides` with `patch` applied (same shape); a value equal to the
    catalog's is no override, and leaves none behind."""
    merged = copy.deepcopy(overrides)
    for code, changes in patch.items():
        location = merged.setdefault(code, {})
        for name, units in changes.get("instances", {}).items():
            held = location.setdefault("instances", {}).setdefault(name, {})
            for kind, value in units.items():
                if value == catalog_units(catalog, code, name, kind):
                    held.pop(kind, None)
                else:
                    held[kind] = value
        for name, value in changes.get("clusters", {}).items():
            held_clusters = location.setdefault("clusters", {})
            if value == catalog_cluster_units(catalog, code, name):
                held_clusters.pop(name, None)
            else:
                held_clusters[name] = value
    return prune(merged)


def prune(overrides: Overrides) -> Overrides:
    pruned: Overrides = {}
    for code, changes in overrides.items():
        instances = {name: units for name, units in changes.get("instances", {}).items() if units}
        clusters = changes.get("clusters", {})
        location = {
            part: held for part, held in (("instances", instances), ("clusters", clusters)) if held
        }
        if location:
            pruned[code] = location
    return pruned


def known(catalog: Catalog, value: Any) -> Overrides:
    """Stored overrides this catalog can hold: a store kept across a change of
    catalog may name locations or types it no longer has."""
    if not isinstance(value, dict):
        return {}
    kept: Overrides = {}
    for code, changes in value.items():
        if code not in catalog.locations or not isinstance(changes, dict):
            continue
        instances = {
            name: {k: int(v) for k, v in units.items() if k in KINDS and isinstance(v, int)}
            for name, units in (changes.get("instances") or {}).items()
            if name in catalog.instance_types and isinstance(units, dict)
        }
        clusters = {
            name: int(v)
            for name, v in (changes.get("clusters") or {}).items()
            if name in catalog.cluster_types and isinstance(v, int)
        }
        kept[code] = {"instances": instances, "clusters": clusters}
    return prune(kept)


def apply(catalog: Catalog, overrides: Overrides) -> None:
    # One reference replaced: a reader sees the old table or the new, whole.
    catalog.capacity = effective(catalog.source.capacity, overrides)
