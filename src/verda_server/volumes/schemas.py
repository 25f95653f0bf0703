from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, StrictBool, WithJsonSchema

from verda_server.api.catalog_enums import LocationCode, of_catalog
from verda_server.api.ids import Id, IdList, SizeGb, SomeIds
from verda_server.api.request import RequestModel
from verda_server.catalog.source import Currency, VolumeTypeName
from verda_server.tags.schemas import CreationTags, TagDto
from verda_server.validation import Name
from verda_server.volumes.states import REFUSED, Action

OnSpotDiscontinue = Literal["keep_detached", "move_to_trash", "delete_permanently"]
VolumeStatusName = Literal[
    "ordered", "attached", "attaching", "detached", "deleted", "cloning", "detaching",
    "deleting", "restoring", "created", "exported", "canceled", "canceling",
]  # fmt: skip


class VolumeInstanceDto(BaseModel):
    id: str
    auto_rental_extension: bool | None = None
    ip: str | None
    instance_type: str
    status: str
    os_volume_id: str | None
    hostname: str


class LongTermDto(BaseModel):
    end_date: str | None
    long_term_period: str
    discount_percentage: int
    auto_rental_extension: bool
    next_period_price: float
    current_period_price: float


class _VolumeCommon(BaseModel):
    id: str = Field(description="Volume ID")
    instance_id: str | None = Field(description="Instance ID")
    instances: list[VolumeInstanceDto] = Field(description="Instances the volume is attached to")
    name: str = Field(description="Volume name")
    created_at: str = Field(description="Volume creation date")
    status: VolumeStatusName = Field(description="Volume status")
    size: int = Field(description="Volume size in GB")
    is_os_volume: bool = Field(description="Is OS volume")
    target: str | None = Field(description="Volume target")
    type: VolumeTypeName = Field(description="Volume type")
    location: str = Field(description="Volume location")
    ssh_key_ids: list[str] = Field(description="SSH key IDs linked to an OS volume")
    contract: str = Field(description="Volume contract type")
    base_hourly_cost: float = Field(description="Volume base hourly cost")
    monthly_price: float = Field(description="Volume monthly price")
    currency: Currency = Field(description="Volume currency")
    on_spot_discontinue: OnSpotDiscontinue = Field(
        description="What happens to the volume when a spot instance it is attached to is "
        "evicted: keep_detached, move_to_trash (restorable for 96 h) or delete_permanently; "
        "set at creation or by the instance action configure_spot"
    )
    tags: list[TagDto] = Field(description="Volume tags, [] when none")


class GetVolumePublicResponseDto(_VolumeCommon):
    pseudo_path: str = Field(description="Volume pseudo path, unique for your filesystem")
    create_directory_command: str = Field(description="Create directory command")
    mount_command: str = Field(description="Mount command")
    filesystem_to_fstab_command: str = Field(description="Filesystem to fstab command")
    long_term: LongTermDto | None = Field(description="Long term contract details")


class GetVolumeInTrashPublicResponseDto(_VolumeCommon):
    deleted_at: str = Field(description="Volume deletion date")
    is_permanently_deleted: bool = Field(description="Is volume permanently deleted")


# A type volumes can be created with: one of the catalog's, not a cluster's.
NewVolumeType = Annotated[VolumeTypeName, WithJsonSchema(of_catalog("volume_type"))]


class CreateVolumePublicDto(RequestModel):
    type: NewVolumeType
    name: Name
    size: SizeGb
    location_code: LocationCode
    instance_id: Id | None = None
    instance_ids: IdList | None = None
    tags: CreationTags | None = Field(default=None, description="Tags of the volume")


# What clients put in a clone's `type`: Python a volume type, Go the target location.
CloneTypeOrLocation = Annotated[
    str,
    WithJsonSchema(
        {
            "anyOf": [
                {**of_catalog("volume_type"), "description": "A volume type: the clone's type"},
                {
                    **of_catalog("location"),
                    "description": "A location code, e.g. FIN-03: the clone's location "
                    "(the clone keeps the source's type)",
                },
            ]
        }
    ),
]


_NOT_NULL: dict[str, Any] = {"not": {"type": "null"}}


def _needs(action: Action, *alternatives: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """`action` needs one of these fields, with a value of that schema."""
    present = [{"required": [f], "properties": {f: schema}} for f, schema in alternatives]
    return {
        "if": {"required": ["action"], "properties": {"action": {"const": action.value}}},
        "then": present[0] if len(present) == 1 else {"anyOf": present},
    }


class PerformVolumeActionPublicDto(RequestModel):
    schema_rules: ClassVar[tuple[dict[str, Any], ...]] = (
        _needs(
            Action.ATTACH,
            ("instance_id", _NOT_NULL),
            ("instance_ids", {"type": "array", "minItems": 1}),
        ),
        _needs(Action.RENAME, ("name", _NOT_NULL)),
        _needs(Action.RESIZE, ("size", _NOT_NULL)),
    )

    # Checked by the service, which answers a clearer 400 than a schema error would.
    action: str = Field(json_schema_extra={"enum": [a.value for a in Action if a not in REFUSED]})
    id: SomeIds
    instance_id: Id | None = None
    instance_ids: IdList | None = None
    is_permanent: StrictBool = False
    location_code: LocationCode | None = None
    name: Name | None = None
    size: SizeGb | None = None
    type: CloneTypeOrLocation | None = Field(
        default=None,
        description="clone: a volume type (the clone's type) or a location code (the clone's "
        "location, keeping the source's type); null keeps the source's type (and its "
        "location unless location_code names one)",
    )


class DeleteVolumePublicDto(RequestModel):
    is_permanent: StrictBool = False
