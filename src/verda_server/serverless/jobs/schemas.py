"""Request and response shapes of jobs (BEYOND.md §4): the deployments'
containers, compute and registry settings, with the job's own scaling."""

from __future__ import annotations

from typing import Annotated

from annotated_types import MaxLen, MinLen
from pydantic import BaseModel, Field

from verda_server.api.request import RequestModel
from verda_server.serverless.deployments.schemas import (
    MAX_CONTAINERS,
    MAX_REPLICAS,
    MAX_SECONDS,
    ComputeDto,
    ComputeOutDto,
    ContainerDto,
    ContainerOutDto,
    ContainerPatchDto,
    DeploymentName,
    JsonInt,
    RegistrySettingsDto,
    RegistrySettingsOutDto,
)
from verda_server.serverless.deployments.states import JobStatus

DEFAULT_TTL = 300
DEFAULT_DEADLINE = 3600


class JobScalingDto(RequestModel):
    """Absent fields keep their value (PATCH) or take the default (create: max 1,
    TTL 300 s, deadline 3600 s: the Go SDK leaves out those it holds as 0)."""

    max_replica_count: JsonInt(1, MAX_REPLICAS) | None = None  # type: ignore[valid-type]
    queue_message_ttl_seconds: JsonInt(1, MAX_SECONDS) | None = None  # type: ignore[valid-type]
    deadline_seconds: JsonInt(1, MAX_SECONDS) | None = Field(  # type: ignore[valid-type]
        default=None, description="How long a job may run before it is terminated"
    )


class CreateJobDto(RequestModel):
    name: DeploymentName = Field(
        description="DNS label, at most 63 characters; unique in the project across "
        "deployments and jobs (409 otherwise)"
    )
    containers: Annotated[list[ContainerDto], MinLen(1), MaxLen(MAX_CONTAINERS)]
    compute: ComputeDto
    scaling: JobScalingDto
    container_registry_settings: RegistrySettingsDto | None = Field(
        default=None, description="Absent: a public registry"
    )


class PatchJobDto(RequestModel):
    containers: Annotated[list[ContainerPatchDto], MaxLen(MAX_CONTAINERS)] | None = Field(
        default=None, description="Each names an existing container; its fields sent replace"
    )
    compute: ComputeDto | None = None
    container_registry_settings: RegistrySettingsDto | None = None
    scaling: JobScalingDto | None = Field(default=None, description="Partial")


class JobScalingOutDto(BaseModel):
    max_replica_count: int
    queue_message_ttl_seconds: int
    deadline_seconds: int


class JobDto(BaseModel):
    name: str
    containers: list[ContainerOutDto]
    endpoint_base_url: str = Field(description="Absolute; its last path segment is the name")
    created_at: str
    created_by_user_id: str = Field(description="The API client that created it")
    compute: ComputeOutDto
    container_registry_settings: RegistrySettingsOutDto
    scaling: JobScalingOutDto


class JobShortDto(BaseModel):
    name: str
    created_at: str
    created_by_user_id: str
    compute: ComputeOutDto


class JobStatusDto(BaseModel):
    status: JobStatus
