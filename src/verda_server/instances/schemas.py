from __future__ import annotations

from typing import Annotated, Literal, get_args

from annotated_types import MaxLen
from pydantic import BaseModel, Field, StrictBool

from verda_server.api.ids import IdList, IdOrIds, SizeGb
from verda_server.catalog.dtos import CpuDto, GpuDto, MemoryDto, StorageDto
from verda_server.volumes.schemas import OnSpotDiscontinue

Contract = Literal["LONG_TERM", "PAY_AS_YOU_GO", "SPOT"]
Pricing = Literal["DYNAMIC_PRICE", "FIXED_PRICE"]
InstanceStatusName = Literal[
    "running", "provisioning", "offline", "discontinued", "unknown", "ordered", "notfound",
    "new", "error", "deleting", "validating", "no_capacity", "installation_failed",
]  # fmt: skip
ActionName = Literal[
    "boot", "start", "shutdown", "delete", "discontinue", "hibernate", "configure_spot",
    "force_shutdown", "delete_stuck", "deploy", "transfer",
]  # fmt: skip
VolumeTypeField = Literal[
    "HDD", "NVMe", "HDD_Shared", "NVMe_Shared", "NVMe_Local_Storage", "NVMe_Shared_Cluster",
    "NVMe_OS_Cluster",
]  # fmt: skip


class GetInstanceResponsePublicApiDto(BaseModel):
    id: str
    ip: str | None
    status: InstanceStatusName
    created_at: str
    cpu: CpuDto
    gpu: GpuDto
    gpu_memory: MemoryDto
    memory: MemoryDto
    storage: StorageDto
    hostname: str
    description: str
    location: str
    price_per_hour: float
    is_spot: bool
    instance_type: str
    image: str
    os_name: str
    startup_script_id: str | None
    ssh_key_ids: list[str]
    os_volume_id: str | None
    jupyter_token: str
    contract: Contract
    pricing: Pricing
    volume_ids: list[str]


class OsVolumeDto(BaseModel):
    name: str
    size: SizeGb = Field(gt=0)
    on_spot_discontinue: OnSpotDiscontinue | None = None


class VolumeDto(BaseModel):
    name: str
    size: SizeGb = Field(gt=0)
    type: VolumeTypeField
    on_spot_discontinue: OnSpotDiscontinue | None = None


class DeployInstancePublicDto(BaseModel):
    instance_type: str
    image: str
    hostname: str
    description: str = Field(max_length=1024)
    location_code: str = Field(description="Location code for the instance and its volumes")
    ssh_key_ids: IdOrIds | None = None
    startup_script_id: str | None = None
    os_volume: OsVolumeDto | None = None
    volumes: Annotated[list[VolumeDto], MaxLen(24)] | None = None
    existing_volumes: IdList | None = None
    is_spot: StrictBool = False
    contract: Contract | None = None
    pricing: Pricing | None = None
    coupon: str | None = Field(default=None, max_length=128)


class PerformInstanceActionPublicDto(BaseModel):
    # Checked by the service, which answers a clearer 400 than a schema error would.
    action: str = Field(json_schema_extra={"enum": list(get_args(ActionName))})
    id: IdOrIds
    volume_ids: IdList | None = None
    delete_permanently: StrictBool = False


class InstanceActionResultDto(BaseModel):
    instanceId: str
    action: str
    status: Literal["success", "error"]
    error: str | None = None
    statusCode: int | None = None
