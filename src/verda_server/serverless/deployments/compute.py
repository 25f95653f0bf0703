"""What a serverless compute resource offers: the one interface deployments and
jobs read compute through (validation, capacity units, prices).

Until the compute-resource catalog (GET /v1/serverless-compute-resources) is
served, the offers are derived here from the catalog's container types: each
model (`H100`, ...) in sizes 1, 2, 4 and 8 GPUs, one capacity unit per GPU,
priced at the container type's serverless (or serverless spot) price per GPU.
The compute-resource catalog replaces `find_offer` and `capacity_of` (the two
functions everything else calls) with its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from verda_server.billing.rates import exact
from verda_server.catalog.service import Catalog

SIZES = (1, 2, 4, 8)
# Units of each compute resource the whole server has, every project together.
UNITS_PER_RESOURCE = 64


@dataclass(frozen=True)
class Offer:
    name: str
    size: int
    # Capacity units one replica holds.
    units: int
    # What one replica costs per hour, on demand and as spot.
    price_per_hour: Decimal
    spot_price_per_hour: Decimal

    def price(self, is_spot: bool) -> Decimal:
        return self.spot_price_per_hour if is_spot else self.price_per_hour


def find_offer(catalog: Catalog, name: str, size: int, currency: str) -> Offer | None:
    """The offer for `{name, size}`, None when there is no such compute."""
    if size not in SIZES:
        return None
    for spec in catalog.source.container_types:
        if spec.model == name:
            on_demand = Decimal(spec.serverless_price.of(currency))  # type: ignore[arg-type]
            spot = Decimal(spec.serverless_spot_price.of(currency))  # type: ignore[arg-type]
            return Offer(name, size, size, exact(on_demand * size), exact(spot * size))
    return None


def capacity_of(catalog: Catalog, name: str) -> int:
    """Units of the compute resource `name` there are in all."""
    return UNITS_PER_RESOURCE
