from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from verda_server.api.request import RequestModel


class GetAccessTokenDto(RequestModel):
    grant_type: Literal["client_credentials"]
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)


class RefreshAccessTokenPublicApiDto(RequestModel):
    grant_type: Literal["refresh_token"]
    refresh_token: str = Field(min_length=1)


class GetAccessTokenResponseDto(BaseModel):
    access_token: str = Field(description="Access token value")
    token_type: str = Field(description="Token type")
    expires_in: int = Field(description="Token expiration time in seconds")
    refresh_token: str = Field(description="Refresh token value")
    scope: str = Field(description="Access scope")
