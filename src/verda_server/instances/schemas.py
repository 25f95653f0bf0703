from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from annotated_types import MaxLen
from pydantic import BaseModel, BeforeValidator, Field, StrictBool

from verda_server.api.catalog_enums import (
    COUPON_TYPES,
    SUPPORTED_IMAGES,
    CouponCode,
    ImageRef,
    InstanceTypeName,
    LocationCode,
    LongTermPeriodRef,
)
from verda_server.api.ids import Id, IdList, IdOrIds, SizeGb, SomeIds
from verda_server.api.patterns import explained
from verda_server.api.request import RequestModel
from verda_server.catalog.dtos import CpuDto, GpuDto, MemoryDto, StorageDto
from verda_server.instances.states import RULES
from verda_server.tags.schemas import CreationTags, TagDto
from verda_server.validation import Name
from verda_server.volumes.schemas import LongTermDto, NewVolumeType, OnSpotDiscontinue

Contract = Literal["LONG_TERM", "PAY_AS_YOU_GO", "SPOT"]
Pricing = Literal["DYNAMIC_PRICE", "FIXED_PRICE"]
InstanceStatusName = Literal[
    "running", "provisioning", "offline", "discontinued", "unknown", "ordered", "notfound",
    "new", "error", "deleting", "validating", "no_capacity", "installation_failed",
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
    long_term: LongTermDto | None = Field(
        default=None, description="Long-term contract details; null for other contracts"
    )
    coupon: str | None = Field(default=None, description="The coupon applied to the price")
    tags: list[TagDto] = Field(description="Tags of the instance, [] when none")


class OsVolumeDto(RequestModel):
    name: Name
    size: SizeGb
    on_spot_discontinue: OnSpotDiscontinue | None = None
    tags: CreationTags | None = Field(
        default=None, description="Tags of the new OS volume (ignored when the image is a volume)"
    )


class VolumeDto(RequestModel):
    name: Name
    size: SizeGb
    type: NewVolumeType
    on_spot_discontinue: OnSpotDiscontinue | None = None
    tags: CreationTags | None = Field(default=None, description="Tags of the new volume")


# Labels of 1 to 63 letters, digits and hyphens, neither starting nor ending
# with a hyphen, joined by dots.
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME_PATTERN = explained(
    rf"^{_LABEL}(?:\.{_LABEL})*$",
    "must be a valid host name (letters, digits and hyphens, labels of 1 to 63 "
    "characters that neither start nor end with a hyphen)",
)
MAX_HOSTNAME = 253


def _fixed_price_only(value: Any) -> Any:
    if value == "DYNAMIC_PRICE":
        raise ValueError("DYNAMIC_PRICE was removed; only FIXED_PRICE is supported")
    return value


# A spot instance has the SPOT contract (or none); any other has another one.
_CONTRACT_RULE: dict[str, Any] = {
    "if": {"properties": {"is_spot": {"const": True}}, "required": ["is_spot"]},
    "then": {"properties": {"contract": {"enum": ["SPOT", None]}}},
    "else": {"properties": {"contract": {"enum": ["LONG_TERM", "PAY_AS_YOU_GO", None]}}},
}


# A long-term contract names its period; no other contract has one.
_PERIOD_RULE: dict[str, Any] = {
    "if": {"properties": {"contract": {"const": "LONG_TERM"}}, "required": ["contract"]},
    "then": {
        "required": ["long_term_period"],
        "properties": {"long_term_period": {"type": "string"}},
    },
    "else": {"properties": {"long_term_period": {"type": "null"}}},
}


class DeployInstancePublicDto(RequestModel):
    schema_rules: ClassVar[tuple[dict[str, Any], ...]] = (
        SUPPORTED_IMAGES,
        COUPON_TYPES,
        _CONTRACT_RULE,
        _PERIOD_RULE,
    )

    instance_type: InstanceTypeName
    image: ImageRef = Field(
        description="An image type or id the instance type supports, or the id of a "
        "detached OS volume of the project in the same location"
    )
    hostname: str = Field(min_length=1, max_length=MAX_HOSTNAME, pattern=HOSTNAME_PATTERN)
    description: str = Field(max_length=1024)
    location_code: LocationCode = Field(
        description="Location code for the instance and its volumes"
    )
    ssh_key_ids: IdOrIds | None = None
    startup_script_id: Id | None = None
    os_volume: OsVolumeDto | None = None
    volumes: Annotated[list[VolumeDto], MaxLen(24)] | None = None
    existing_volumes: IdList | None = None
    is_spot: StrictBool = False
    contract: Contract | None = None
    pricing: Annotated[Literal["FIXED_PRICE"], BeforeValidator(_fixed_price_only)] | None = None
    coupon: CouponCode | None = Field(
        default=None,
        description="A coupon code of the catalog, not expired, for this instance type; its "
        "discount applies to the price the instance reports and is billed",
    )
    long_term_period: LongTermPeriodRef | None = Field(
        default=None,
        description="With contract LONG_TERM: a period of GET /v1/long-term/periods/instances, "
        "by code (3_MONTHS) or name (3 months)",
    )
    tags: CreationTags | None = Field(default=None, description="Tags of the instance")


class PerformInstanceActionPublicDto(RequestModel):
    # Checked by the service, which answers a clearer 400 than a schema error would.
    action: str = Field(json_schema_extra={"enum": [a.value for a in RULES]})
    id: SomeIds
    volume_ids: IdList | None = None
    delete_permanently: StrictBool = False


class InstanceActionResultDto(BaseModel):
    instanceId: str
    action: str
    status: Literal["success", "error"]
    error: str | None = None
    statusCode: int | None = None
