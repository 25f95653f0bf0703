"""/_admin/v1/projects/{id}/balance: read it with the latest movements; set it or top it up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from verda_server.api.context import Context
from verda_server.api.errors import invalid
from verda_server.api.routing import lazy_router
from verda_server.billing import funds
from verda_server.billing.models import Funding, LedgerEntry
from verda_server.clock import isoformat
from verda_server.control.access import Admin
from verda_server.control.project_schemas import BalanceDto, ChangeBalanceDto, FundingDto
from verda_server.control.project_views import amount_of, exact_body, money, settled
from verda_server.projects import service as projects
from verda_server.projects.models import Project

router = lazy_router(
    prefix="/_admin/v1/projects/{project_id}/balance", tags=["Money"], dependencies=[Admin]
)

# How many of the latest movements a read shows.
RECENT = 20
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such project"}}


def _entries(session: Session, project_id: str) -> list[FundingDto]:
    fundings = session.scalars(
        select(Funding)
        .where(Funding.project_id == project_id)
        .order_by(Funding.created_at.desc(), Funding.id.desc())
        .limit(RECENT)
    )
    charges = session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.project_id == project_id)
        .order_by(LedgerEntry.period_end.desc(), LedgerEntry.id.desc())
        .limit(RECENT)
    )
    moves: list[tuple[datetime, FundingDto]] = [
        (
            f.created_at,
            FundingDto(
                at=isoformat(f.created_at),
                kind=f.kind,  # type: ignore[arg-type]
                amount=money(f.amount),
                resource_kind=None,
                resource_id=None,
            ),
        )
        for f in fundings
    ] + [
        (
            c.period_end,
            FundingDto(
                at=isoformat(c.period_end),
                kind="charge",
                amount=money(-c.amount),
                resource_kind=c.resource_kind,
                resource_id=c.resource_id,
            ),
        )
        for c in charges
    ]
    moves.sort(key=lambda move: move[0], reverse=True)
    return [dto for _, dto in moves[:RECENT]]


def _answer(session: Session, project: Project, now: datetime) -> BalanceDto:
    return BalanceDto(
        project_id=project.id,
        amount=money(funds.balance_now(session, project, now)),
        currency=project.currency,  # type: ignore[arg-type]
        entries=_entries(session, project.id),
    )


@router.get(
    "",
    summary="Read a project's balance",
    description=f"Exact, as of now, with its latest {RECENT} money movements.",
    response_model=BalanceDto,
    responses=NOT_FOUND,
)
def read_balance(context: Context, project_id: str) -> BalanceDto:
    with settled(context, project_id) as (session, now):
        return _answer(session, projects.get_project(session, project_id), now)


@router.post(
    "",
    summary="Set a project's balance, or top it up",
    description="`amount` sets the balance (the difference is booked in the ledger as a "
    "top-up or an adjustment); `top_up` adds to it. What has accrued until now is charged "
    "first. A project whose money ran out can deploy again at once.",
    response_model=BalanceDto,
    responses=NOT_FOUND,
)
async def change_balance(
    context: Context, project_id: str, body: ChangeBalanceDto, request: Request
) -> BalanceDto:
    if (body.amount is None) == (body.top_up is None):
        raise invalid("give exactly one of amount and top_up")
    raw = await exact_body(request)
    field = "amount" if body.amount is not None else "top_up"
    value = amount_of(field, raw[field], positive=field == "top_up")

    def change() -> BalanceDto:
        with settled(context, project_id) as (session, now):
            project = projects.get_project(session, project_id)
            if field == "amount":
                funds.set_balance(session, project, now, value)
            else:
                funds.top_up(session, project, now, value)
            return _answer(session, project, now)

    return await run_in_threadpool(change)
