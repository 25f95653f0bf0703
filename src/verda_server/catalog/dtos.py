"""Response shapes of the catalog endpoints, named as in the API document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from verda_server.catalog.source import Currency, VolumeTypeName


class CpuDto(BaseModel):
    description: str
    number_of_cores: int


class GpuDto(BaseModel):
    description: str
    number_of_gpus: int


class MemoryDto(BaseModel):
    description: str
    size_in_gigabytes: int


class StorageDto(BaseModel):
    description: str


class Os(BaseModel):
    id: str = Field(description="Image id")
    image_type: str = Field(description="Image type")
    name: str = Field(description="Image name")
    is_default: bool = Field(description="Is default image")
    details: list[str] = Field(description="Image details")
    category: str = Field(description="Image category")
    is_cluster: bool = Field(description="Is cluster")


class HardwareDto(BaseModel):
    """Fields shared by instance, cluster and container types."""

    id: str = Field(description="Instance type ID")
    model: str = Field(description="GPU model")
    name: str = Field(description="GPU model name")
    manufacturer: str = Field(description="Manufacturer")
    cpu: CpuDto = Field(description="CPU details")
    gpu: GpuDto = Field(description="GPU details")
    gpu_memory: MemoryDto = Field(description="GPU memory details")
    memory: MemoryDto = Field(description="Memory details")


class InstanceType(HardwareDto):
    instance_type: str = Field(description="Instance type")
    display_name: str = Field(description="Display name")
    description: str = Field(description="Instance type description")
    best_for: list[str] = Field(description="Use cases for instance type")
    storage: StorageDto = Field(description="Storage details")
    p2p: str = Field(description="P2P details")
    price_per_hour: str = Field(description="Price per hour")
    spot_price: str = Field(description="Spot price per hour")
    max_dynamic_price: str = Field(description="Ceiling value for dynamic price")
    dynamic_price: str = Field(description="Current dynamic price")
    currency: Currency = Field(description="Currency type")
    supported_os: list[str] = Field(description="Supported OS image types")
    deploy_warning: str | None = Field(default=None, description="Deploy warning")
    serverless_price: str | None = Field(default=None, description="Current serverless price")
    serverless_spot_price: str | None = Field(
        default=None, description="Current serverless spot price"
    )


class ClusterType(HardwareDto):
    cluster_type: str = Field(description="Instance type")
    price_per_hour: str = Field(description="Price per hour")
    currency: Currency = Field(description="Currency type")
    node_details: list[dict[str, str]] = Field(description="Node details")
    supported_os: list[str] = Field(description="Supported OS image types")


class ContainerType(HardwareDto):
    instance_type: str = Field(description="Instance type")
    serverless_price: str = Field(description="Current serverless price")
    serverless_spot_price: str = Field(description="Current serverless spot price")
    currency: Currency = Field(description="Currency type")


class VolumeTypePrice(BaseModel):
    price_per_month_per_gb: float
    cps_per_gb: float = Field(description="Cost per second per GB")
    currency: Currency


class VolumeType(BaseModel):
    type: VolumeTypeName = Field(description="Volume type")
    price: VolumeTypePrice = Field(description="Price details")
    is_shared_fs: bool = Field(description="Is shared file system")
    burst_bandwidth: float = Field(description="Burst bandwidth")
    continuous_bandwidth: float = Field(description="Continuous bandwidth")
    internal_network_speed: float = Field(description="Internal network speed")
    iops: str = Field(description="IOPS")
    throughput_gbps: float = Field(description="Throughput in GB/s")


class Location(BaseModel):
    code: str = Field(description="Datacenter location code")
    name: str = Field(description="Location name")
    country_code: str = Field(description="Country code")


class LongTermPeriodResponseDto(BaseModel):
    code: str = Field(description="Long term period code")
    name: str = Field(description="Long term period name")
    is_enabled: bool = Field(description="Is long term period enabled")
    unit_name: Literal["hour", "day", "week", "month", "year"] = Field(description="Time unit name")
    unit_value: int = Field(description="Time unit value")
    discount_percentage: int = Field(description="Discount percentage")


class PriceHistoryRecord(BaseModel):
    date: str
    fixed_price_per_hour: float
    dynamic_price_per_hour: float
    currency: Currency
