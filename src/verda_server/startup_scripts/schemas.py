from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from verda_server.api.ids import SomeIds
from verda_server.api.request import RequestModel
from verda_server.validation import Name, NotBlank

MAX_SCRIPT_LENGTH = 64 * 1024
Script = Annotated[NotBlank, StringConstraints(max_length=MAX_SCRIPT_LENGTH)]


class GetScriptResponseDto(BaseModel):
    id: str = Field(description="Script ID")
    name: str = Field(description="Script name")
    script: str = Field(description="Script content")
    created_at: str = Field(description="When the script was added (RFC 3339)")


class AddScriptDto(RequestModel):
    name: Name = Field(description="Script name")
    script: Script = Field(description="Script content")


class DeleteScriptsDto(RequestModel):
    scripts: SomeIds = Field(description="IDs of the scripts to delete")
