"""Bearer-token authentication for every non-public endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import Scope

from verda_server.api.context import AppContext, Context
from verda_server.api.errors import unauthorized
from verda_server.auth.access import AccessClaims
from verda_server.auth.service import Principal
from verda_server.ratelimits.http import enforce
from verda_server.ratelimits.limiter import project_subject

SCHEME_NAME = "bearerAuth"

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name=SCHEME_NAME,
    bearerFormat="JWT",
    description="Access token from POST /v1/oauth2/token",
)


async def access_claims(
    request: Request,
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessClaims:
    if credentials is None:
        if request.headers.get("authorization"):
            raise unauthorized("Malformed Authorization header, expected 'Bearer <token>'")
        raise unauthorized("Missing access token")
    return context.tokens.claims(credentials.credentials)


# A token's signed, unexpired claims, NOT yet checked against its credential:
# only for a handler that reads the credential in its own read and passes it to
# `TokenService.principal` before it answers (the balance). Everything else
# takes a CurrentPrincipal.
TokenClaims = Annotated[AccessClaims, Depends(access_claims)]


# Where the read model (readmodel/) leaves the principal it confirmed and
# counted, so that a request it hands on is neither read nor counted twice.
CONFIRMED = "verda.principal"


async def admit(scope: Scope, context: AppContext, principal: Principal) -> None:
    """Record who the request acts for (for its log line and its project's
    journal) and count it against the project's limits (a 429 when one is
    exceeded). Every authenticated request passes here exactly once, once its
    token is confirmed."""
    scope.setdefault("state", {})["project_id"] = principal.project_id
    if context.rate_limiter is not None:
        subject = project_subject(principal.project_id)
        await enforce(scope, context.rate_limiter, subject, principal.rate_limits)


async def require_principal(request: Request, context: Context, claims: TokenClaims) -> Principal:
    confirmed: Principal | None = request.scope.get(CONFIRMED)
    if confirmed is not None:
        return confirmed
    principal = await context.tokens.confirm(claims)
    await admit(request.scope, context, principal)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(require_principal)]


async def settled_principal(context: Context, principal: CurrentPrincipal) -> Principal:
    """The principal of a read, after the project's due transitions were applied."""
    await context.reconciler.settle_before_read(principal.project_id)
    return principal


SettledPrincipal = Annotated[Principal, Depends(settled_principal)]
