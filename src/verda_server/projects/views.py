from __future__ import annotations

from fastapi import Request, Response
from starlette.types import Scope

from verda_server.api.context import AppContext, Context
from verda_server.api.routing import lazy_router
from verda_server.api.security import TokenClaims, admit
from verda_server.auth.access import AccessClaims
from verda_server.projects.schemas import BalanceResponseDto
from verda_server.projects.service import balance_body, get_balance

router = lazy_router(tags=["Balance"])


@router.get(
    "/v1/balance",
    summary="Get project balance",
    response_model=BalanceResponseDto,
    response_description="Returns the project balance",
)
async def get_project_balance(request: Request, context: Context, claims: TokenClaims) -> Response:
    return await answer_balance(request.scope, context, claims)


async def answer_balance(scope: Scope, context: AppContext, claims: AccessClaims) -> Response:
    """The route's answer; the read model computes the same from remembered parts."""
    now = context.clock.now()
    found = await context.db.run_read(lambda session: get_balance(session, claims.client_id, now))
    # The token is checked against the credential read with the balance.
    principal = context.tokens.principal(claims, None if found is None else found.credential)
    await admit(scope, context, principal)
    assert found is not None  # principal() refuses a missing credential
    # What fell due happened at its own instant (a cluster stopped, a boot
    # opened a meter, the money ran out): applied, as before any read, then
    # the balance is read again.
    if await context.reconciler.settle_before_read(principal.project_id):
        found = await context.db.run_read(
            lambda session: get_balance(session, claims.client_id, now)
        )
        assert found is not None
    return Response(balance_body(found.balance, found.currency), media_type="application/json")
