from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from verda_server.api.context import AppContext, Context
from verda_server.api.security import TokenClaims, admit
from verda_server.auth.access import AccessClaims
from verda_server.projects.schemas import BalanceResponseDto
from verda_server.projects.service import get_balance

router = APIRouter(tags=["Balance"])


@router.get(
    "/v1/balance",
    summary="Get project balance",
    response_model=BalanceResponseDto,
    response_description="Returns the project balance",
)
async def get_project_balance(request: Request, context: Context, claims: TokenClaims) -> Response:
    return await answer_balance(request.scope, context, claims)


async def answer_balance(scope: Scope, context: AppContext, claims: AccessClaims) -> Response:
    """The route's answer, which the read model also gives without routing."""
    now = context.clock.now()
    found = await context.db.run_read(lambda session: get_balance(session, claims.client_id, now))
    # The token is checked against the credential read with the balance.
    principal = context.tokens.principal(claims, None if found is None else found.credential)
    await admit(scope, context, principal)
    assert found is not None  # principal() refuses a missing credential
    if found.unsettled:
        # What fell due happened at its own instant (a cluster stopped then):
        # apply it, then read what it left.
        await run_in_threadpool(context.reconciler.settle, found.credential[0])
        found = await context.db.run_read(
            lambda session: get_balance(session, claims.client_id, now)
        )
        assert found is not None
    # Written exactly as the ledger holds it (a float would round it).
    amount = found.balance.normalize() if found.balance else Decimal(0)  # never "-0"
    body = f'{{"amount":{amount:f},"currency":"{found.currency}"}}'
    return Response(body, media_type="application/json")
