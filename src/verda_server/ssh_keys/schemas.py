from __future__ import annotations

from pydantic import BaseModel, Field


class GetKeysResponseDto(BaseModel):
    id: str = Field(description="SSH key id")
    name: str = Field(description="Name of the SSH key")
    key: str = Field(description="Public SSH key")


class AddKeyDto(BaseModel):
    name: str = Field(description="Name of the SSH key")
    key: str = Field(description="Public SSH key")


class DeleteKeysPublicDto(BaseModel):
    keys: list[str] = Field(description="IDs of the SSH keys to delete")
