"""What a serverless compute resource of a size costs, and whether it is free.

The offer is the catalog's (its `serverless` section); units in use come from
the deployments and jobs (serverless/usage.py), across every project.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from verda_server.api.errors import invalid
from verda_server.billing.rates import exact
from verda_server.catalog.service import Catalog
from verda_server.catalog.source import ComputeResourceSource, Currency, Prices
from verda_server.projects.models import Project
from verda_server.serverless import usage


@dataclass(frozen=True)
class ComputeOffer:
    """One replica of `name` at `size`: the units it holds and its hourly prices."""

    name: str
    size: int
    units: int
    currency: Currency
    price_per_hour: Decimal
    spot_price_per_hour: Decimal

    def price(self, is_spot: bool) -> Decimal:
        return self.spot_price_per_hour if is_spot else self.price_per_hour


@dataclass(frozen=True)
class Listed:
    name: str
    size: int
    is_available: bool


def unit_prices(catalog: Catalog, resource: ComputeResourceSource) -> tuple[Prices, Prices]:
    """(on demand, spot) per unit and hour: the resource's own, or its container type's."""
    if resource.price_per_unit_hour is not None:
        assert resource.spot_price_per_unit_hour is not None
        return resource.price_per_unit_hour, resource.spot_price_per_unit_hour
    # The source checked that a resource without prices is some container type's model.
    kind = next(t for t in catalog.source.container_types if t.model == resource.name)
    return kind.serverless_price, kind.serverless_spot_price


def _resource(catalog: Catalog, name: str) -> ComputeResourceSource | None:
    return next((r for r in catalog.source.serverless.compute_resources if r.name == name), None)


def find_offer(catalog: Catalog, name: str, size: int, currency: Currency) -> ComputeOffer:
    """The offer of (name, size), or a 400 naming the pair."""
    resource = _resource(catalog, name)
    if resource is None or size not in resource.sizes:
        raise invalid(
            f"compute: no serverless compute resource {name!r} of size {size} "
            "(see GET /v1/serverless-compute-resources)"
        )
    price, spot = unit_prices(catalog, resource)
    return ComputeOffer(
        name=name,
        size=size,
        units=size,
        currency=currency,
        price_per_hour=exact(Decimal(price.of(currency)) * size),
        spot_price_per_hour=exact(Decimal(spot.of(currency)) * size),
    )


def project_offer(
    session: Session, catalog: Catalog, project_id: str, name: str, size: int
) -> ComputeOffer:
    """find_offer in the project's currency."""
    project = session.get(Project, project_id)
    assert project is not None
    return find_offer(catalog, name, size, project.currency)  # type: ignore[arg-type]


def capacity_of(catalog: Catalog, name: str) -> int:
    """Units of the compute resource `name` the whole server has (0: not offered)."""
    resource = _resource(catalog, name)
    return resource.capacity if resource is not None else 0


def units_left(session: Session, catalog: Catalog, name: str, excluding: str | None = None) -> int:
    """Units of `name` no replica holds, counting the deployment `excluding`'s
    as free (below 0 when more is held than there is)."""
    return capacity_of(catalog, name) - usage.units_in_use(session, excluding).get(name, 0)


def free_units(session: Session, catalog: Catalog) -> dict[str, int]:
    """Units of each compute resource not held by any project's replicas (never below 0)."""
    held = usage.units_in_use(session)
    return {
        r.name: max(0, r.capacity - held.get(r.name, 0))
        for r in catalog.source.serverless.compute_resources
    }


def is_available(session: Session, catalog: Catalog, name: str, size: int) -> bool:
    """Whether one more replica of (name, size) fits now."""
    return free_units(session, catalog).get(name, 0) >= size


def list_resources(session: Session, catalog: Catalog) -> list[Listed]:
    """Every offered (name, size), in catalog order, sizes ascending."""
    free = free_units(session, catalog)
    return [
        Listed(name=r.name, size=size, is_available=free[r.name] >= size)
        for r in catalog.source.serverless.compute_resources
        for size in r.sizes
    ]
