"""The catalog data file: its schema and loading.

The catalog (locations, images, instance/cluster/container types, volume
types, long-term periods, capacity, coupons and serverless compute resources)
is data. A packaged snapshot of the real
service is the default; `--catalog FILE` replaces it. Files are validated
strictly, including every cross-reference, so a bad file fails at start-up
with a message that names the problem rather than at request time.
"""

from __future__ import annotations

import re
from datetime import datetime
from importlib import resources
from ipaddress import IPv4Network
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

Currency = Literal["usd", "eur"]
VolumeTypeName = Literal[
    "HDD",
    "NVMe",
    "HDD_Shared",
    "NVMe_Shared",
    "NVMe_Local_Storage",
    "NVMe_Shared_Cluster",
    "NVMe_OS_Cluster",
]


# Whole-string patterns (re.fullmatch): `$` would also match before a final
# newline, and Decimal() and UUID() accept surrounding whitespace, underscores,
# exponents, braces and "urn:uuid:", none of which belongs in a served value.
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _decimal_string(value: str) -> str:
    if not _DECIMAL.fullmatch(value):
        raise ValueError(f"{value!r} is not a non-negative decimal number such as 1.25")
    return value


def _uuid_string(value: str) -> str:
    if not _UUID.fullmatch(value):
        raise ValueError(f"{value!r} is not a UUID such as 2404f580-1300-1111-82b3-f199fb9b701b")
    return value.lower()


PriceString = Annotated[str, AfterValidator(_decimal_string)]
UuidString = Annotated[str, AfterValidator(_uuid_string)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prices(Strict):
    usd: PriceString
    eur: PriceString

    def of(self, currency: Currency) -> str:
        return self.usd if currency == "usd" else self.eur


class NumericPrices(Strict):
    usd: float = Field(ge=0)
    eur: float = Field(ge=0)

    def of(self, currency: Currency) -> float:
        return self.usd if currency == "usd" else self.eur


class Cpu(Strict):
    description: str
    number_of_cores: int = Field(ge=0)


class Gpu(Strict):
    description: str
    number_of_gpus: int = Field(ge=0)


class Memory(Strict):
    description: str
    size_in_gigabytes: int = Field(ge=0)


class Storage(Strict):
    description: str


class LocationSource(Strict):
    code: str
    name: str
    country_code: str
    # Instances get their public address from this pool.
    public_ip_pool: IPv4Network


class ImageSource(Strict):
    id: UuidString
    image_type: str
    name: str
    is_default: bool
    details: list[str]
    category: str
    os_name: str


class HardwareSource(Strict):
    """What instance, cluster and container types all describe."""

    id: UuidString
    model: str
    name: str
    manufacturer: str
    cpu: Cpu
    gpu: Gpu
    gpu_memory: Memory
    memory: Memory


class InstanceTypeSource(HardwareSource):
    instance_type: str
    display_name: str
    description: str
    best_for: list[str]
    storage: Storage
    p2p: str
    deploy_warning: str | None = None
    price_per_hour: Prices
    spot_price: Prices
    serverless_price: Prices | None = None
    serverless_spot_price: Prices | None = None
    supported_os: list[str]
    default_os_volume_size: int = Field(gt=0)


class ClusterTypeSource(HardwareSource):
    cluster_type: str
    price_per_hour: Prices
    node_count: int = Field(gt=0)
    node_details: list[dict[str, str]]
    supported_os: list[str]


class ContainerTypeSource(HardwareSource):
    instance_type: str
    serverless_price: Prices
    serverless_spot_price: Prices


class VolumeTypeSource(Strict):
    type: VolumeTypeName
    price_per_month_per_gb: NumericPrices
    is_shared_fs: bool
    burst_bandwidth: float
    continuous_bandwidth: float
    internal_network_speed: float
    iops: str
    throughput_gbps: float


class LongTermPeriodSource(Strict):
    code: str
    name: str
    is_enabled: bool
    unit_name: Literal["hour", "day", "week", "month", "year"]
    unit_value: int = Field(gt=0)
    discount_percentage: int = Field(ge=0, le=100)


class LongTermPeriods(Strict):
    instances: list[LongTermPeriodSource]
    clusters: list[LongTermPeriodSource]


class CouponSource(Strict):
    """A discount code: a percentage or an amount per hour off an instance's
    price, optionally until an instant and only for some instance types."""

    code: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._-]+$")
    percent_off: int | None = Field(default=None, gt=0, le=100)
    amount_off_per_hour: Prices | None = None
    expires_at: datetime | None = None
    instance_types: list[str] | None = None

    @model_validator(mode="after")
    def _one_discount(self) -> CouponSource:
        if (self.percent_off is None) == (self.amount_off_per_hour is None):
            raise ValueError(
                f"coupon {self.code}: give exactly one of percent_off, amount_off_per_hour"
            )
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError(
                f"coupon {self.code}: expires_at needs a time zone, e.g. 2027-01-01T00:00:00Z"
            )
        return self


class InstanceCapacity(Strict):
    on_demand: int = Field(ge=0)
    spot: int = Field(ge=0)


class LocationCapacity(Strict):
    instances: dict[str, InstanceCapacity] = Field(default_factory=dict)
    clusters: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    # Evictions per spot instance-hour in the location (exponentially distributed
    # lifetimes, mean 1/rate hours); 0 never evicts.
    spot_eviction_rate: float = Field(default=0.0, ge=0, allow_inf_nan=False)


class ComputeResourceSource(Strict):
    """A serverless compute resource: deployments and jobs name it with a size
    (GPUs, or vCPUs for a CPU node); a replica of size N holds N units."""

    name: str = Field(min_length=1)
    sizes: list[Annotated[int, Field(gt=0)]] = Field(min_length=1)
    # Units, shared by every project.
    capacity: int = Field(ge=0)
    # Per unit and hour: only for a resource that is not a container type's model
    # (those are priced by the type's serverless_price and serverless_spot_price).
    price_per_unit_hour: Prices | None = None
    spot_price_per_unit_hour: Prices | None = None

    @model_validator(mode="after")
    def _sizes_ascending(self) -> ComputeResourceSource:
        if self.sizes != sorted(set(self.sizes)):
            raise ValueError(f"compute resource {self.name}: sizes ascending, each once")
        if (self.price_per_unit_hour is None) != (self.spot_price_per_unit_hour is None):
            raise ValueError(
                f"compute resource {self.name}: give both price_per_unit_hour and "
                "spot_price_per_unit_hour, or neither"
            )
        return self


class ServerlessSource(Strict):
    compute_resources: list[ComputeResourceSource] = Field(default_factory=list)


def _unique(kind: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {kind} {value!r}")
        seen.add(value)


def _known(kind: str, values: list[str], known: set[str], where: str) -> None:
    for value in values:
        if value not in known:
            raise ValueError(f"{where} names unknown {kind} {value!r}")


class CatalogSource(Strict):
    locations: list[LocationSource] = Field(min_length=1)
    images: list[ImageSource]
    cluster_images: list[ImageSource]
    instance_types: list[InstanceTypeSource]
    cluster_types: list[ClusterTypeSource]
    container_types: list[ContainerTypeSource]
    volume_types: list[VolumeTypeSource]
    long_term_periods: LongTermPeriods
    capacity: dict[str, LocationCapacity]
    coupons: list[CouponSource] = Field(default_factory=list)
    serverless: ServerlessSource = Field(default_factory=ServerlessSource)

    @model_validator(mode="after")
    def _cross_references(self) -> CatalogSource:
        _unique("location", [loc.code for loc in self.locations])
        _unique("image type", [i.image_type for i in self.images + self.cluster_images])
        _unique("image id", [i.id for i in self.images + self.cluster_images])
        _unique("instance type", [t.instance_type for t in self.instance_types])
        _unique("cluster type", [t.cluster_type for t in self.cluster_types])
        _unique("container type", [t.instance_type for t in self.container_types])
        _unique("volume type", [t.type for t in self.volume_types])
        os_images = {i.image_type for i in self.images}
        cluster_images = {i.image_type for i in self.cluster_images}
        for it in self.instance_types:
            _known("image", it.supported_os, os_images, f"instance type {it.instance_type}")
        for ct in self.cluster_types:
            _known(
                "cluster image", ct.supported_os, cluster_images, f"cluster type {ct.cluster_type}"
            )
        locations = {loc.code for loc in self.locations}
        _known("location", list(self.capacity), locations, "capacity")
        instance_types = {t.instance_type for t in self.instance_types}
        cluster_types = {t.cluster_type for t in self.cluster_types}
        for code, cap in self.capacity.items():
            _known("instance type", list(cap.instances), instance_types, f"capacity of {code}")
            _known("cluster type", list(cap.clusters), cluster_types, f"capacity of {code}")
        _unique("coupon", [c.code for c in self.coupons])
        for coupon in self.coupons:
            where = f"coupon {coupon.code}"
            _known("instance type", coupon.instance_types or [], instance_types, where)
        self._serverless_prices()
        return self

    def _serverless_prices(self) -> None:
        """Each compute resource is priced once: by the container type of its
        model, or by its own prices. The first must offer size 1: the Go SDK's
        tests deploy the first available resource with size 1."""
        resources = self.serverless.compute_resources
        _unique("serverless compute resource", [r.name for r in resources])
        models = {t.model for t in self.container_types}
        for resource in resources:
            where = f"serverless compute resource {resource.name}"
            priced = resource.price_per_unit_hour is not None
            if resource.name in models and priced:
                raise ValueError(f"{where}: priced by its container type; remove its prices")
            if resource.name not in models and not priced:
                raise ValueError(
                    f"{where}: not a container type's model, so it needs price_per_unit_hour "
                    "and spot_price_per_unit_hour"
                )
        if resources and resources[0].sizes[0] != 1:
            raise ValueError(
                f"serverless compute resource {resources[0].name}: the first "
                "resource must offer size 1"
            )


MAX_REPORTED = 5
# The C loader when PyYAML has it: the packaged catalog loads in 60 ms, not 500.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CatalogError(Exception):
    """The catalog file is missing, unreadable or invalid."""


def describe(exc: ValidationError) -> str:
    """The problems on one line, each naming where it is."""
    problems = []
    for error in exc.errors()[:MAX_REPORTED]:
        where = ".".join(str(p) for p in error["loc"])
        cause = error.get("ctx", {}).get("error") if error["type"] == "value_error" else None
        message = str(cause) if cause is not None else error["msg"]
        problems.append(f"{where}: {message}" if where else message)
    more = exc.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def load_source(path: Path | None = None) -> CatalogSource:
    try:
        if path is None:
            text = resources.files("verda_server.catalog").joinpath("data/catalog.yaml").read_text()
            origin = "the packaged catalog"
        else:
            text = Path(path).read_text()
            origin = str(path)
        data = yaml.load(text, Loader=_LOADER)  # a safe loader, C or pure Python
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())  # one line, as start-up errors are
        raise CatalogError(f"cannot read catalog {path}: {detail}") from exc
    try:
        return CatalogSource.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(f"invalid catalog {origin}: {describe(exc)}") from exc
