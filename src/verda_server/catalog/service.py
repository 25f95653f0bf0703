"""The loaded catalog: lookups, DTOs per currency, and pre-rendered lists."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, get_args

from pydantic import BaseModel

from verda_server.api.errors import not_found
from verda_server.catalog import dtos
from verda_server.catalog.source import (
    CatalogSource,
    ClusterTypeSource,
    Currency,
    HardwareSource,
    ImageSource,
    InstanceTypeSource,
)

CURRENCIES: tuple[Currency, ...] = get_args(Currency)
# The real service prices storage per month of 730 hours.
SECONDS_PER_BILLING_MONTH = 730 * 3600


def render(models: Sequence[BaseModel]) -> bytes:
    """Compact JSON; optional fields without a value are left out, not null."""
    payload = [m.model_dump(mode="json", exclude_none=True) for m in models]
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _image(source: ImageSource, is_cluster: bool) -> dtos.Os:
    return dtos.Os(
        id=source.id,
        image_type=source.image_type,
        name=source.name,
        is_default=source.is_default,
        details=list(source.details),
        category=source.category,
        is_cluster=is_cluster,
    )


def _hardware(source: HardwareSource) -> dict[str, Any]:
    return source.model_dump(include=set(HardwareSource.model_fields))


def instance_type_dto(source: InstanceTypeSource, currency: Currency) -> dtos.InstanceType:
    price = source.price_per_hour.of(currency)
    return dtos.InstanceType(
        instance_type=source.instance_type,
        display_name=source.display_name,
        description=source.description,
        best_for=list(source.best_for),
        storage=dtos.StorageDto(description=source.storage.description),
        p2p=source.p2p,
        price_per_hour=price,
        spot_price=source.spot_price.of(currency),
        # Dynamic pricing was removed: its ceiling and current value are the fixed price.
        max_dynamic_price=price,
        dynamic_price=price,
        currency=currency,
        supported_os=list(source.supported_os),
        deploy_warning=source.deploy_warning,
        serverless_price=source.serverless_price.of(currency) if source.serverless_price else None,
        serverless_spot_price=(
            source.serverless_spot_price.of(currency) if source.serverless_spot_price else None
        ),
        **_hardware(source),
    )


def cluster_type_dto(source: ClusterTypeSource, currency: Currency) -> dtos.ClusterType:
    return dtos.ClusterType(
        cluster_type=source.cluster_type,
        price_per_hour=source.price_per_hour.of(currency),
        currency=currency,
        node_details=[dict(d) for d in source.node_details],
        supported_os=list(source.supported_os),
        **_hardware(source),
    )


class Catalog:
    def __init__(self, source: CatalogSource) -> None:
        self.source = source
        self.locations = {loc.code: loc for loc in source.locations}
        self.instance_types = {t.instance_type: t for t in source.instance_types}
        self.cluster_types = {t.cluster_type: t for t in source.cluster_types}
        self.images = {i.image_type: i for i in source.images}
        self.images_by_id = {i.id: i for i in source.images}
        self.cluster_images = {i.image_type: i for i in source.cluster_images}
        self.volume_types = {v.type: v for v in source.volume_types}
        # The capacity in force: the file's, or with the operator's overrides
        # (availability/capacity.py) once the control API sets any.
        self.capacity = source.capacity
        self.coupons = {c.code: c for c in source.coupons}
        self.long_term_periods = source.long_term_periods
        # Rendered on the first request of any of them, not while the server
        # starts (a fiftieth of the start, most of it building their models).
        self._rendered: dict[tuple[str, Currency], bytes] | None = None

    # Lookups that answer 404 exactly as the real service does.
    def instance_type(self, name: str) -> InstanceTypeSource:
        found = self.instance_types.get(name)
        if found is None:
            raise not_found(f"Instance type {name} not found")
        return found

    def cluster_type(self, name: str) -> ClusterTypeSource:
        found = self.cluster_types.get(name)
        if found is None:
            raise not_found(f"Cluster type {name} not found")
        return found

    def location_codes(self) -> list[str]:
        return list(self.locations)

    def rendered(self, name: str, currency: Currency = "usd") -> bytes:
        """A whole list response, serialised once."""
        if self._rendered is None:
            self._rendered = self._prerender()
        return self._rendered[(name, currency)]

    def os_images(self, supported: Iterable[str] | None = None) -> list[dtos.Os]:
        wanted = set(supported) if supported is not None else None
        return [
            _image(i, False) for i in self.source.images if wanted is None or i.image_type in wanted
        ]

    def cluster_os_images(self, supported: Iterable[str] | None = None) -> list[dtos.Os]:
        wanted = set(supported) if supported is not None else None
        return [
            _image(i, True)
            for i in self.source.cluster_images
            if wanted is None or i.image_type in wanted
        ]

    def volume_type_dtos(self, currency: Currency) -> list[dtos.VolumeType]:
        result = []
        for v in self.source.volume_types:
            monthly = v.price_per_month_per_gb.of(currency)
            result.append(
                dtos.VolumeType(
                    type=v.type,
                    price=dtos.VolumeTypePrice(
                        price_per_month_per_gb=monthly,
                        cps_per_gb=monthly / SECONDS_PER_BILLING_MONTH,
                        currency=currency,
                    ),
                    is_shared_fs=v.is_shared_fs,
                    burst_bandwidth=v.burst_bandwidth,
                    continuous_bandwidth=v.continuous_bandwidth,
                    internal_network_speed=v.internal_network_speed,
                    iops=v.iops,
                    throughput_gbps=v.throughput_gbps,
                )
            )
        return result

    def _prerender(self) -> dict[tuple[str, Currency], bytes]:
        source = self.source
        once: dict[str, Sequence[BaseModel]] = {
            "locations": [
                dtos.Location(code=loc.code, name=loc.name, country_code=loc.country_code)
                for loc in source.locations
            ],
            "images": self.os_images(),
            "cluster-images": self.cluster_os_images(),
            "long-term-instances": [
                dtos.LongTermPeriodResponseDto(**p.model_dump())
                for p in source.long_term_periods.instances
            ],
            "long-term-clusters": [
                dtos.LongTermPeriodResponseDto(**p.model_dump())
                for p in source.long_term_periods.clusters
            ],
        }
        out: dict[tuple[str, Currency], bytes] = {}
        for currency in CURRENCIES:
            for name, models in once.items():
                out[(name, currency)] = render(models)
            out[("instance-types", currency)] = render(
                [instance_type_dto(t, currency) for t in source.instance_types]
            )
            out[("cluster-types", currency)] = render(
                [cluster_type_dto(t, currency) for t in source.cluster_types]
            )
            out[("container-types", currency)] = render(
                [
                    dtos.ContainerType(
                        instance_type=t.instance_type,
                        serverless_price=t.serverless_price.of(currency),
                        serverless_spot_price=t.serverless_spot_price.of(currency),
                        currency=currency,
                        **_hardware(t),
                    )
                    for t in source.container_types
                ]
            )
            out[("volume-types", currency)] = render(self.volume_type_dtos(currency))
        return out
