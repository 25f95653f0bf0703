from __future__ import annotations

from pydantic import BaseModel, Field

from verda_server.api.ids import IdOrIds


class GetKeysResponseDto(BaseModel):
    id: str = Field(description="SSH key id")
    name: str = Field(description="Name of the SSH key")
    key: str = Field(description="Public SSH key")


class AddKeyDto(BaseModel):
    name: str = Field(description="Name of the SSH key")
    key: str = Field(description="Public SSH key")


class DeleteKeysPublicDto(BaseModel):
    keys: IdOrIds = Field(description="IDs of the SSH keys to delete")
