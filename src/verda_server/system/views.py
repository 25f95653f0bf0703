from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from verda_server.api.context import Context
from verda_server.api.errors import ApiError
from verda_server.api.routing import lazy_router

router = lazy_router(tags=["Health"])


class HealthResponseDto(BaseModel):
    status: str


@router.get(
    "/healthz",
    summary="Readiness probe",
    description="200 once migrations ran and the store answers; 503 when it does not.",
    response_model=HealthResponseDto,
    responses={503: {"description": "The store is unreachable"}},
)
async def healthz(context: Context) -> HealthResponseDto:
    try:
        await context.db.run_read(lambda session: session.execute(text("SELECT 1")))
    except SQLAlchemyError as exc:
        raise ApiError("service_unavailable", "The store is unreachable") from exc
    return HealthResponseDto(status="ok")
