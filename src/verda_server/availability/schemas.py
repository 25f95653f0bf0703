from __future__ import annotations

from pydantic import BaseModel, Field


class InstanceAvailabilityResponseDto(BaseModel):
    location_code: str = Field(description="Location code")
    availabilities: list[str] = Field(description="Array of available instance types")


class ClusterAvailabilityResponseDto(BaseModel):
    location_code: str = Field(description="Location code")
    availabilities: list[str] = Field(description="Array of available cluster types")
