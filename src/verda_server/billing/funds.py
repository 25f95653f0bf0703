"""Whether a project can pay for something new: a deploy or a new volume
must be covered for one hour by what the balance holds at that instant."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError
from verda_server.billing import ledger
from verda_server.billing.due import refresh_due
from verda_server.projects.models import Project
from verda_server.projects.service import record_funding


def balance_now(session: Session, project: Project, now: datetime) -> Decimal:
    return ledger.balance_at(project, ledger.open_meters(session, project.id), now)


def require_funds(
    session: Session, project_id: str, now: datetime, per_hour: Decimal, what: str
) -> None:
    project = session.get(Project, project_id)
    assert project is not None
    balance = balance_now(session, project, now)
    if balance < per_hour:
        currency = project.currency.upper()
        raise ApiError(
            "insufficient_funds",
            f"Insufficient funds: {what} costs {per_hour.normalize():f} {currency} per hour "
            f"and the balance is {balance.normalize():f} {currency}; top up to deploy",
        )


def set_balance(session: Session, project: Project, now: datetime, amount: Decimal) -> Decimal:
    """Make the balance `amount` now, booking the difference as a top-up (or a
    correction downwards) so that the books still add up. Returns the change."""
    # What fell due and is not applied yet (a contract's end) stays due: the
    # next request or sweep applies it, as of its instant.
    pending = project.billing_due_at
    ledger.charge_all(session, project, now)
    change = amount - project.balance
    if change:
        kind = "top_up" if change > 0 else "adjustment"
        record_funding(session, project, kind, change, now)
        project.balance = amount
    refresh_due(session, project, now)
    if pending is not None and pending <= now:
        project.billing_due_at = pending
    return change
