from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

GrantType = Literal["client_credentials", "refresh_token"]


class GetAccessTokenDto(BaseModel):
    grant_type: GrantType
    client_id: str
    client_secret: str


class RefreshAccessTokenPublicApiDto(BaseModel):
    grant_type: GrantType
    refresh_token: str


class GetAccessTokenResponseDto(BaseModel):
    access_token: str = Field(description="Access token value")
    token_type: str = Field(description="Token type")
    expires_in: int = Field(description="Token expiration time in seconds")
    refresh_token: str = Field(description="Refresh token value")
    scope: str = Field(description="Access scope")
