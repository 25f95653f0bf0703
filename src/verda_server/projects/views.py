from __future__ import annotations

from fastapi import APIRouter

from verda_server.api.context import Context
from verda_server.api.security import CurrentPrincipal
from verda_server.projects.schemas import BalanceResponseDto
from verda_server.projects.service import get_balance

router = APIRouter(tags=["Balance"])


@router.get(
    "/v1/balance",
    summary="Get project balance",
    response_model=BalanceResponseDto,
    response_description="Returns the project balance",
)
async def get_project_balance(context: Context, principal: CurrentPrincipal) -> BalanceResponseDto:
    amount, currency = await context.db.run_read(
        lambda session: get_balance(session, principal.project_id)
    )
    return BalanceResponseDto.model_validate({"amount": float(amount), "currency": currency})
