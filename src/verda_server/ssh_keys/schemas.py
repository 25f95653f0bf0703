from __future__ import annotations

from pydantic import BaseModel, Field

from verda_server.api.ids import SomeIds
from verda_server.api.request import RequestModel
from verda_server.ssh_keys.form import KEY_PATTERN, MAX_KEY_LENGTH
from verda_server.validation import Name


class GetKeysResponseDto(BaseModel):
    id: str = Field(description="SSH key id")
    name: str = Field(description="Name of the SSH key")
    key: str = Field(description="Public SSH key")
    fingerprint: str | None = Field(
        description="MD5 fingerprint of the key, colon-separated lowercase hex "
        "(e.g. 16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48); null when it can't be computed"
    )
    created_at: str = Field(description="When the key was added (RFC 3339)")


class AddKeyDto(RequestModel):
    name: Name = Field(description="Name of the SSH key")
    key: str = Field(
        description="Public SSH key: one OpenSSH line, `<type> <base64> [comment]`",
        max_length=MAX_KEY_LENGTH,
        pattern=KEY_PATTERN,
    )


class DeleteKeysPublicDto(RequestModel):
    keys: SomeIds = Field(description="IDs of the SSH keys to delete")
