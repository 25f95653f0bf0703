from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from annotated_types import MaxLen, MinLen
from pydantic import BaseModel, BeforeValidator, Field, StrictBool

from verda_server.api.catalog_enums import (
    SUPPORTED_CLUSTER_IMAGES,
    ClusterImageRef,
    ClusterTypeName,
    LocationCode,
)
from verda_server.api.ids import MAX_IDS, Id, IdOrIds, SizeGb
from verda_server.api.request import RequestModel
from verda_server.catalog.dtos import CpuDto, GpuDto, MemoryDto
from verda_server.clusters.states import ALIASES, Action
from verda_server.instances.schemas import HOSTNAME_PATTERN, MAX_HOSTNAME
from verda_server.tags.schemas import CreationTags, TagDto
from verda_server.validation import Name

ClusterStatusName = Literal[
    "running", "provisioning", "offline", "discontinued", "unknown", "ordered", "notfound",
    "new", "error", "deleting", "validating", "no_capacity", "installation_failed",
]  # fmt: skip
Contract = Literal["LONG_TERM", "PAY_AS_YOU_GO"]
ExtensionSettings = Literal["auto_renew", "pay_as_you_go", "end_contract"]


class ClusterWorkerNodeDto(BaseModel):
    id: str
    hostname: str = Field(description="`<cluster hostname>-N`, reachable from the jump host")
    public_ip: str | None = Field(description="Worker nodes have no public address")
    private_ip: str
    status: ClusterStatusName = Field(description="The cluster's status")


class ClusterSharedVolumeDto(BaseModel):
    id: str = Field(description="Volume ID (see GET /v1/volumes/{volume_id})")
    name: str
    mount_point: str = Field(description="`/home` for the cluster's own shared volume")
    size_in_gigabytes: int


class GetClusterResponsePublicApiDto(BaseModel):
    id: str
    ip: str | None = Field(description="Jump host IP address; null while provisioning")
    status: ClusterStatusName
    created_at: str
    cpu: CpuDto
    gpu: GpuDto
    gpu_memory: MemoryDto
    memory: MemoryDto
    hostname: str
    description: str
    tags: list[TagDto] = Field(description="Tags of the cluster, [] when none")
    location: str
    price_per_hour: float
    cluster_type: str
    image: str = Field(description="OS image used to deploy the cluster nodes")
    os_name: str
    startup_script_id: str | None
    ssh_key_ids: list[str] = Field(description="SSH key IDs used to access the cluster jump host")
    contract: Contract
    auto_rental_extension: bool | None = Field(
        description="Deprecated: use extension_settings instead."
    )
    turn_to_pay_as_you_go: bool | None = Field(
        description="Deprecated: use extension_settings instead."
    )
    extension_settings: ExtensionSettings | None
    long_term_period: str | None = Field(
        description="Long-term rental period (none: pay as you go)"
    )
    worker_nodes: list[ClusterWorkerNodeDto] = Field(
        description="Worker nodes of this cluster, one per 8 GPUs. You can access them from "
        "the jump host by executing `ssh <hostname>`"
    )
    shared_volumes: list[ClusterSharedVolumeDto] = Field(
        description="Shared volumes attached to this cluster: the /home volume first, then "
        "the existing volumes attached at deploy. Empty once discontinued (they are detached)."
    )


class SharedVolumeDto(RequestModel):
    name: Name = Field(description="Name of the shared cluster volume")
    size: SizeGb = Field(description="Size of the shared cluster volume in GB")


class ExistingSharedVolumeDto(RequestModel):
    id: Id = Field(description="Existing shared volume ID")


def _pay_as_you_go_only(value: Any) -> Any:
    if value == "LONG_TERM":
        raise ValueError("clusters support only PAY_AS_YOU_GO contracts for now")
    return value


class DeployClusterPublicDto(RequestModel):
    schema_rules: ClassVar[tuple[dict[str, Any], ...]] = (SUPPORTED_CLUSTER_IMAGES,)

    cluster_type: ClusterTypeName = Field(
        description="Cluster instance type. Can be listed using the `GET /v1/cluster-types` "
        "endpoint."
    )
    image: ClusterImageRef = Field(
        description="A cluster image the cluster type supports (`GET /v1/images/cluster`): "
        "its `image_type`, `id` or `name`"
    )
    hostname: str = Field(min_length=1, max_length=MAX_HOSTNAME, pattern=HOSTNAME_PATTERN)
    description: str = Field(default="", max_length=1024)
    location_code: LocationCode = Field(
        description="Location code for the cluster and its shared volume"
    )
    shared_volume: SharedVolumeDto = Field(
        description="Shared cluster volume (SFS) specification. Clusters have one shared "
        "volume mounted as /home. The OS volume is ephemeral and created automatically."
    )
    ssh_key_ids: IdOrIds | None = None
    startup_script_id: Id | None = None
    contract: Annotated[Literal["PAY_AS_YOU_GO"], BeforeValidator(_pay_as_you_go_only)] | None = (
        Field(default=None, description="Only PAY_AS_YOU_GO is supported for clusters")
    )
    extension_settings: ExtensionSettings | None = None
    auto_rental_extension: StrictBool | None = Field(
        default=None, description="Deprecated: use extension_settings instead."
    )
    auto_rent_extension: StrictBool | None = Field(
        default=None, description="The Go SDK's spelling of auto_rental_extension."
    )
    turn_to_pay_as_you_go: StrictBool | None = Field(
        default=None, description="Deprecated: use extension_settings instead."
    )
    existing_volumes: Annotated[list[ExistingSharedVolumeDto], MaxLen(MAX_IDS)] | None = Field(
        default=None,
        description="Existing detached shared volumes of the project in the same location, "
        "attached to the cluster (mounted at /mnt/<name>)",
    )
    tags: CreationTags | None = Field(default=None, description="Tags of the cluster")


class DeployClusterResponsePublicApiDto(BaseModel):
    id: str


_ACTIONS = [*(a.value for a in Action), *ALIASES]


class PerformClusterActionPublicDto(RequestModel):
    # Checked by the service, which answers a clearer 400 than a schema error would.
    action: str = Field(
        description="`discontinue` (`delete` is an alias)", json_schema_extra={"enum": _ACTIONS}
    )
    id: Id = Field(description="Cluster ID")


class PerformClusterActionsBulkDto(RequestModel):
    actions: Annotated[list[PerformClusterActionPublicDto], MinLen(1), MaxLen(MAX_IDS)] = Field(
        description="Array of cluster actions, one per each cluster"
    )
