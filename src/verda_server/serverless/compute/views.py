"""GET /v1/serverless-compute-resources, BEYOND.md §5.1."""

from __future__ import annotations

from fastapi import Depends
from pydantic import BaseModel, Field

from verda_server.api.context import Context
from verda_server.api.routing import lazy_router
from verda_server.api.security import require_principal
from verda_server.serverless.compute import service

router = lazy_router(
    tags=["Serverless compute resources"], dependencies=[Depends(require_principal)]
)


class ComputeResourceDto(BaseModel):
    name: str = Field(description="Compute resource name, e.g. H100 or CPUNode")
    size: int = Field(description="GPUs per replica (vCPUs for a CPU node)")
    is_available: bool = Field(
        description="Whether a replica of this size fits in the capacity left now"
    )


# Not a cached read: availability is what every project's replicas leave free.
@router.get(
    "/v1/serverless-compute-resources",
    summary="Get serverless compute resources",
    description="Every (name, size) pair a container deployment or job may name in its "
    "`compute`, in catalog order with sizes ascending. `is_available`: a replica of that "
    "size fits in the capacity every project's replicas leave free now.",
    response_model=list[ComputeResourceDto],
    response_description="Returns the offered compute resources",
)
async def list_compute_resources(context: Context) -> list[ComputeResourceDto]:
    listed = await context.db.run_read(
        lambda session: service.list_resources(session, context.catalog)
    )
    return [
        ComputeResourceDto(name=r.name, size=r.size, is_available=r.is_available) for r in listed
    ]
