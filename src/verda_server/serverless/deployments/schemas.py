"""Request and response shapes of container deployments (BEYOND.md §3.1-3.2);
jobs (§4) share the containers, compute and registry settings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from annotated_types import MaxLen, MinLen
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)

from verda_server.api.patterns import explained
from verda_server.api.request import RequestModel
from verda_server.serverless.deployments.states import ReplicaStatus, Status
from verda_server.validation import SchemaExtra

NAME_PATTERN = explained(
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    "must be a DNS label: lowercase letters, digits and '-', starting and ending with a "
    "letter or digit",
)
MAX_NAME = 63
# A tag in the last path segment, or a digest; `:latest` is refused (the Go SDK
# states the API refuses it and untagged images).
TAGGED = explained(
    "(^|/)[^/:@]+(@[^@/]+|:[^:/@]+)$",
    "must name a repository and a tag (`repository:tag`) or a digest (`repository@sha256:...`)",
)
LATEST = ":latest$"
MAX_CONTAINERS = 10
MAX_ITEMS = 100
MAX_TEXT = 4096
MAX_SECONDS = 365 * 24 * 3600
MAX_REPLICAS = 100
MAX_CONCURRENCY = 1000
MEMORY_SIZES = (64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
MEMORY_PATH = "/dev/shm"
SHARED_ID_MISSING = "should not be null or undefined"


def _json_integer(value: object) -> object:
    # JSON true is not 1, nor is "80" (pydantic would take both).
    if isinstance(value, (bool, str)):
        raise ValueError("must be an integer")
    return value


def JsonInt(low: int, high: int) -> Any:
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(_json_integer)]


def _json_number(value: object) -> object:
    if isinstance(value, (bool, str)):
        raise ValueError("must be a number")
    return value


def _not_latest(image: str) -> str:
    if image.endswith(":latest"):
        raise ValueError("`:latest` is refused: name a fixed tag or a digest")
    return image


Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
SomeText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)]
DeploymentName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_NAME, pattern=NAME_PATTERN)
]
ImageReference = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TEXT, pattern=TAGGED),
    AfterValidator(_not_latest),
    SchemaExtra({"not": {"pattern": LATEST}}),
]
Port = JsonInt(1, 65535)
Seconds = JsonInt(0, MAX_SECONDS)
PositiveSeconds = JsonInt(1, MAX_SECONDS)


# ---- requests -------------------------------------------------------------


class ImageObjectDto(RequestModel):
    """An image as a response shows it: clients send it back on update."""

    image: ImageReference
    last_updated_at: str | None = Field(default=None, description="Ignored")


class ComputeDto(RequestModel):
    name: SomeText = Field(
        description="A serverless compute resource (GET /v1/serverless-compute-resources)"
    )
    size: JsonInt(1, 1024) = Field(  # type: ignore[valid-type]
        description="GPUs (vCPUs for a CPU node); the pair must be offered (400 otherwise)"
    )


class CredentialsRefDto(RequestModel):
    name: SomeText = Field(
        description="Registry credentials (GET /v1/container-registry-credentials)"
    )


class RegistrySettingsDto(RequestModel):
    is_private: StrictBool = Field(default=False, description="Absent: a public registry")
    credentials: CredentialsRefDto | None = Field(
        default=None, description="Required when `is_private`: existing credentials (400 otherwise)"
    )


class HealthcheckDto(RequestModel):
    enabled: StrictBool = False
    port: Port | None = None  # type: ignore[valid-type]
    path: Text | None = None


class EntrypointOverridesDto(RequestModel):
    enabled: StrictBool = False
    entrypoint: Annotated[list[Text], MaxLen(MAX_ITEMS)] | None = None
    cmd: Annotated[list[Text], MaxLen(MAX_ITEMS)] | None = None


class EnvVarDto(RequestModel):
    name: SomeText
    value_or_reference_to_secret: Text = Field(
        description="The value, or for `secret` the name of an existing generic secret "
        "(400 otherwise)"
    )
    type: Literal["plain", "secret"]


class AutoupdateDto(RequestModel):
    enabled: StrictBool
    mode: Text = Field(default="latest", description="`latest` or `semantic`; stored and echoed")
    tag_filter: Text | None = None


MountPath = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT, pattern="^/")]


class ScratchMountDto(RequestModel):
    type: Literal["scratch"]
    mount_path: MountPath = Field(description="General storage, sized by the server")


class SecretMountDto(RequestModel):
    type: Literal["secret"]
    mount_path: MountPath
    secret_name: SomeText = Field(description="An existing file secret (400 otherwise)")
    file_names: Annotated[list[Text], MaxLen(MAX_ITEMS)] | None = None


class MemoryMountDto(RequestModel):
    type: Literal["memory"]
    mount_path: Literal["/dev/shm"] = Field(default=MEMORY_PATH, description="Always /dev/shm")
    size_in_mb: Literal[MEMORY_SIZES] = Field(description="MiB")  # type: ignore[valid-type]


def _shared_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    RequestModel.model_config["json_schema_extra"](schema, model)  # type: ignore[misc,operator]
    # Required, though checked by the service: its refusal has the wording clients match.
    schema["properties"]["volume_id"] = {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_TEXT,
        "description": "An existing shared filesystem volume of the project (NVMe_Shared or "
        "HDD_Shared); `volumeId` is accepted too",
    }
    schema["required"] = [*schema.get("required", ()), "volume_id"]


class SharedMountDto(RequestModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra=_shared_schema)

    type: Literal["shared"]
    mount_path: MountPath
    volume_id: Text | None = None

    @model_validator(mode="before")
    @classmethod
    def _camel_case_alias(cls, data: Any) -> Any:
        # The live job schema spells it volumeId (BEYOND.md Open point 12).
        if isinstance(data, dict) and data.get("volume_id") is None and "volumeId" in data:
            return {**data, "volume_id": data["volumeId"]}
        return data


def _without_nulls(value: Any) -> Any:
    # Before the discriminator reads `type`: a null one is an absent one.
    if isinstance(value, dict):
        return {key: item for key, item in value.items() if item is not None}
    return value


VolumeMountDto = Annotated[
    ScratchMountDto | SecretMountDto | MemoryMountDto | SharedMountDto,
    Field(discriminator="type"),
    BeforeValidator(_without_nulls),
]


class ContainerDto(RequestModel):
    image: ImageReference | ImageObjectDto = Field(
        description="A full reference with a tag or digest, echoed exactly; not `:latest`"
    )
    exposed_port: Port  # type: ignore[valid-type]
    name: Text | None = Field(default=None, description="Ignored: the server names containers")
    healthcheck: HealthcheckDto | None = None
    entrypoint_overrides: EntrypointOverridesDto | None = None
    env: Annotated[list[EnvVarDto], MaxLen(MAX_ITEMS)] | None = None
    volume_mounts: Annotated[list[VolumeMountDto], MaxLen(MAX_ITEMS)] | None = None
    autoupdate: AutoupdateDto | None = None
    should_use_cached_image: StrictBool | None = Field(default=None, description="Default false")


def _patched_container_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    RequestModel.model_config["json_schema_extra"](schema, model)  # type: ignore[misc,operator]
    schema["properties"]["name"] = {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_TEXT,
        "description": "The container to change (its generated name)",
    }
    schema["required"] = [*schema.get("required", ()), "name"]


class ContainerPatchDto(RequestModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra=_patched_container_schema)

    name: Text | None = None
    image: ImageReference | ImageObjectDto | None = None
    exposed_port: Port | None = None  # type: ignore[valid-type]
    healthcheck: HealthcheckDto | None = None
    entrypoint_overrides: EntrypointOverridesDto | None = None
    env: Annotated[list[EnvVarDto], MaxLen(MAX_ITEMS)] | None = None
    volume_mounts: Annotated[list[VolumeMountDto], MaxLen(MAX_ITEMS)] | None = None
    autoupdate: AutoupdateDto | None = None
    should_use_cached_image: StrictBool | None = None


class DelayDto(RequestModel):
    delay_seconds: Seconds  # type: ignore[valid-type]


Threshold = Annotated[
    int | float,
    BeforeValidator(_json_number),
    Field(gt=0, le=1000, allow_inf_nan=False),
]


class QueueLoadDto(RequestModel):
    threshold: Threshold = Field(description="Queued messages per replica; echoed as sent")


_ENABLED_NEEDS_THRESHOLD = {
    "if": {"required": ["enabled"], "properties": {"enabled": {"const": True}}},
    "then": {"required": ["threshold"], "properties": {"threshold": {"minimum": 1}}},
}


class UtilizationDto(RequestModel):
    schema_rules = (_ENABLED_NEEDS_THRESHOLD,)

    enabled: StrictBool
    threshold: JsonInt(0, 100) | None = Field(  # type: ignore[valid-type]
        default=None, description="Percent, 1-100 when enabled (0 or null when disabled)"
    )


class TriggersDto(RequestModel):
    queue_load: QueueLoadDto | None = None
    cpu_utilization: UtilizationDto | None = None
    gpu_utilization: UtilizationDto | None = None


class ScalingDto(RequestModel):
    """Every field optional: absent ones keep their value (PATCH) or take the
    default (create: min 0, max 3, scale-up 0 s, scale-down 300 s, TTL 300 s,
    concurrency 1, queue load 3, utilisation triggers off). The result must have
    max_replica_count >= min_replica_count (400 otherwise)."""

    min_replica_count: JsonInt(0, MAX_REPLICAS) | None = None  # type: ignore[valid-type]
    max_replica_count: JsonInt(1, MAX_REPLICAS) | None = Field(  # type: ignore[valid-type]
        default=None, description="At least min_replica_count (400 otherwise)"
    )
    scale_down_policy: DelayDto | None = None
    scale_up_policy: DelayDto | None = None
    queue_message_ttl_seconds: PositiveSeconds | None = None  # type: ignore[valid-type]
    concurrent_requests_per_replica: JsonInt(1, MAX_CONCURRENCY) | None = None  # type: ignore[valid-type]
    scaling_triggers: TriggersDto | None = Field(
        default=None, description="Partial: only the triggers sent change"
    )


class CreateDeploymentDto(RequestModel):
    name: DeploymentName = Field(
        description="DNS label, at most 63 characters; unique in the project across "
        "deployments and jobs (409 otherwise)"
    )
    containers: Annotated[list[ContainerDto], MinLen(1), MaxLen(MAX_CONTAINERS)]
    compute: ComputeDto
    container_registry_settings: RegistrySettingsDto | None = Field(
        default=None, description="Absent: a public registry"
    )
    scaling: ScalingDto | None = Field(default=None, description="Absent: the defaults")
    is_spot: StrictBool | None = Field(default=None, description="Default false")


class PatchDeploymentDto(RequestModel):
    """Absent or null fields stay; read-only fields (name, endpoint_base_url,
    created_at) are ignored."""

    containers: Annotated[list[ContainerPatchDto], MaxLen(MAX_CONTAINERS)] | None = Field(
        default=None, description="Each names an existing container; its fields sent replace"
    )
    compute: ComputeDto | None = None
    container_registry_settings: RegistrySettingsDto | None = None
    is_spot: StrictBool | None = None
    scaling: ScalingDto | None = Field(default=None, description="As PATCH .../scaling")


class EnvVarsChangeDto(RequestModel):
    container_name: SomeText
    env: Annotated[list[EnvVarDto], MaxLen(MAX_ITEMS)]


class EnvVarsDeleteDto(RequestModel):
    container_name: SomeText
    env: Annotated[list[Text], MaxLen(MAX_ITEMS)] = Field(
        description="Names to remove; unknown ones are ignored"
    )


# ---- responses (documentation: the service renders the same shapes) --------


class ImageDto(BaseModel):
    image: str = Field(description="Exactly as sent")
    last_updated_at: str


class HealthcheckOutDto(BaseModel):
    enabled: bool
    port: int | None
    path: str | None


class EntrypointOverridesOutDto(BaseModel):
    enabled: bool
    entrypoint: list[str] | None
    cmd: list[str] | None


class EnvVarOutDto(BaseModel):
    name: str
    value_or_reference_to_secret: str
    type: Literal["plain", "secret"]


class ScratchMountOutDto(BaseModel):
    type: Literal["scratch"]
    mount_path: str


class SecretMountOutDto(BaseModel):
    type: Literal["secret"]
    mount_path: str
    secret_name: str
    file_names: list[str] | None = Field(default=None, description="When sent")


class MemoryMountOutDto(BaseModel):
    type: Literal["memory"]
    mount_path: str
    size_in_mb: int


class SharedMountOutDto(BaseModel):
    type: Literal["shared"]
    mount_path: str
    volume_id: str


class AutoupdateOutDto(BaseModel):
    enabled: bool
    mode: str
    tag_filter: str | None


class ContainerOutDto(BaseModel):
    name: str = Field(description="Generated: `<image base name>-<index>`")
    image: ImageDto
    exposed_port: int
    healthcheck: HealthcheckOutDto | None = Field(default=None, description="When one was given")
    entrypoint_overrides: EntrypointOverridesOutDto | None = Field(
        default=None, description="When given"
    )
    env: list[EnvVarOutDto]
    volume_mounts: list[
        Annotated[
            ScratchMountOutDto | SecretMountOutDto | MemoryMountOutDto | SharedMountOutDto,
            Field(discriminator="type"),
        ]
    ] = Field(description="In request order, each with only its type's fields")
    should_use_cached_image: bool
    autoupdate: AutoupdateOutDto | None = Field(default=None, description="When set")


class ComputeOutDto(BaseModel):
    name: str
    size: int


class CredentialsOutDto(BaseModel):
    name: str


class RegistrySettingsOutDto(BaseModel):
    is_private: bool
    credentials: CredentialsOutDto | None


class DelayOutDto(BaseModel):
    delay_seconds: int


class QueueLoadOutDto(BaseModel):
    threshold: float


class UtilizationOutDto(BaseModel):
    enabled: bool
    threshold: int | None


class TriggersOutDto(BaseModel):
    queue_load: QueueLoadOutDto
    cpu_utilization: UtilizationOutDto
    gpu_utilization: UtilizationOutDto


class ScalingOutDto(BaseModel):
    min_replica_count: int
    max_replica_count: int
    scale_down_policy: DelayOutDto
    scale_up_policy: DelayOutDto
    queue_message_ttl_seconds: int
    concurrent_requests_per_replica: int
    scaling_triggers: TriggersOutDto


class DeploymentDto(BaseModel):
    name: str
    containers: list[ContainerOutDto]
    endpoint_base_url: str = Field(description="Absolute; its last path segment is the name")
    created_at: str
    compute: ComputeOutDto
    container_registry_settings: RegistrySettingsOutDto
    is_spot: bool
    scaling: ScalingOutDto


class DeploymentStatusDto(BaseModel):
    status: Status


class ReplicaDto(BaseModel):
    id: str
    status: ReplicaStatus
    started_at: str


class ReplicasDto(BaseModel):
    list: list[ReplicaDto]


class ContainerEnvDto(BaseModel):
    container_name: str
    env: list[EnvVarOutDto]
