from __future__ import annotations

from pydantic import BaseModel, Field

from verda_server.api.ids import IdOrIds


class GetScriptResponseDto(BaseModel):
    id: str = Field(description="Script ID")
    name: str = Field(description="Script name")
    script: str = Field(description="Script content")
    created_at: str = Field(description="When the script was added (RFC 3339)")


class AddScriptDto(BaseModel):
    name: str = Field(description="Script name")
    script: str = Field(description="Script content")


class DeleteScriptsDto(BaseModel):
    scripts: IdOrIds = Field(description="IDs of the scripts to delete")
