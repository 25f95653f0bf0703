from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from verda_server.api.body import FORM, json_or_form
from verda_server.api.context import Context
from verda_server.api.errors import invalid
from verda_server.api.routing import lazy_router
from verda_server.auth.schemas import GetAccessTokenResponseDto
from verda_server.auth.secrets import digest
from verda_server.ratelimits.config import ProjectRateLimits
from verda_server.ratelimits.http import enforce
from verda_server.ratelimits.limiter import client_subject, refresh_subject

router = lazy_router(tags=["Authentication"])


def _token_request_schema() -> dict[str, Any]:
    one_of = {
        "oneOf": [
            {"$ref": "#/components/schemas/GetAccessTokenDto"},
            {"$ref": "#/components/schemas/RefreshAccessTokenPublicApiDto"},
        ]
    }
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": one_of}, FORM: {"schema": one_of}},
        }
    }


def _required_string(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if value is None or value == "":
        raise invalid(f"{field}: Field required")
    if not isinstance(value, str):
        raise invalid(f"{field}: Input should be a valid string")
    return value


@router.post(
    "/v1/oauth2/token",
    summary="Get access token",
    description=(
        "Get access token for public API using client credentials or refresh token. "
        "Accepts a JSON or a form-encoded body."
    ),
    response_model=GetAccessTokenResponseDto,
    responses={
        401: {"description": "Unauthorized"},
        503: {
            "description": (
                "Too many client secrets being checked at once; retry after the "
                "`Retry-After` seconds"
            ),
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before retrying",
                    "schema": {"type": "integer"},
                }
            },
        },
    },
    openapi_extra=_token_request_schema(),
)
async def get_access_token(request: Request, context: Context) -> GetAccessTokenResponseDto:
    body = await json_or_form(request)
    grant_type = _required_string(body, "grant_type")
    limiter = context.rate_limiter
    if grant_type == "client_credentials":
        client_id = _required_string(body, "client_id")
        client_secret = _required_string(body, "client_secret")
        if limiter is None:
            return await context.tokens.client_credentials(client_id, client_secret)

        async def gate(own: ProjectRateLimits | None) -> None:
            await enforce(request.scope, limiter, client_subject(client_id), own, "this client id")

        return await context.tokens.client_credentials(client_id, client_secret, gate)
    if grant_type == "refresh_token":
        refresh_token = _required_string(body, "refresh_token")
        if limiter is not None:
            # Counted per client id like its other token requests (one point
            # read, only on this rare grant); a token never issued here by
            # its digest.
            owner = await context.tokens.refresh_owner(refresh_token)
            if owner is None:
                subject, own = refresh_subject(digest(refresh_token)), None
            else:
                subject, own = client_subject(owner[0]), owner[1]
            await enforce(request.scope, limiter, subject, own, "this client id")
        return await run_in_threadpool(context.tokens.refresh, refresh_token)
    raise invalid(
        f"grant_type: unsupported grant type {grant_type!r}, "
        "expected 'client_credentials' or 'refresh_token'"
    )
