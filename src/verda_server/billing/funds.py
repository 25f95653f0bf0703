"""Whether a project can pay for something new: a deploy or a new volume
must be covered for one hour by what the balance holds at that instant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError, invalid
from verda_server.billing import ledger, sums
from verda_server.billing.due import refresh_due
from verda_server.billing.ledger import ZERO
from verda_server.billing.rates import exact, quanta
from verda_server.projects.models import Project
from verda_server.projects.service import record_funding
from verda_server.storage.money import PLACES

# Far below what the balance column holds (18 digits before the point), so
# that no amount of charging or topping up can overflow it.
MAX_BALANCE = Decimal(10) ** 12


def balance_now(session: Session, project: Project, now: datetime) -> Decimal:
    return ledger.balance_at(project, ledger.open_terms(session, project.id), now)


def require_funds(
    session: Session, project_id: str, now: datetime, per_hour: Decimal, what: str
) -> None:
    project = session.get(Project, project_id)
    assert project is not None
    meters, rows = sums.terms(session, project)
    if rows is None:
        owed = meters.owed_between(now)
        if owed is not None and quanta(project.balance) - owed[1] >= quanta(per_hour):
            return  # however the meters' charges round, the balance pays for it
        rows = sums.open_terms(session, project.id)
    balance = ledger.balance_at(project, rows, now)
    if balance < per_hour:
        currency = project.currency.upper()
        raise ApiError(
            "insufficient_funds",
            f"Insufficient funds: {what} costs {per_hour.normalize():f} {currency} per hour "
            f"and the balance is {balance.normalize():f} {currency}; top up to deploy",
        )


def check_amount(field: str, amount: Decimal, *, positive: bool = False) -> Decimal:
    """A balance (or a top-up) as an operator gives it: a finite number from 0
    (above 0 for a top-up) to below MAX_BALANCE, with at most PLACES decimals."""
    lowest = "above 0" if positive else "from 0"
    if not amount.is_finite() or not ZERO <= amount < MAX_BALANCE or (positive and amount == ZERO):
        raise invalid(f"{field}: must be a number {lowest} to below {MAX_BALANCE}")
    if amount != exact(amount):
        raise invalid(f"{field}: has more than {PLACES} decimal places")
    return amount


def parse_amount(field: str, text: str, *, positive: bool = False) -> Decimal:
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise invalid(f"{field}: must be a number") from None
    return check_amount(field, amount, positive=positive)


def set_balance(session: Session, project: Project, now: datetime, amount: Decimal) -> Decimal:
    """Make the balance `amount` now, booking the difference as a top-up (or a
    correction downwards) so that the books still add up. Returns the change."""
    return _book(session, project, now, lambda balance: amount - balance)


def top_up(session: Session, project: Project, now: datetime, amount: Decimal) -> Decimal:
    """Add `amount` to the balance now. Returns the new balance."""
    balance = balance_now(session, project, now)
    if balance + amount >= MAX_BALANCE:
        raise invalid(
            f"top_up: the balance {balance.normalize():f} would reach {MAX_BALANCE} or more"
        )
    _book(session, project, now, lambda _: amount)
    return project.balance


def _book(
    session: Session, project: Project, now: datetime, change_of: Callable[[Decimal], Decimal]
) -> Decimal:
    # What fell due and is not applied yet (a contract's end) stays due: the
    # next request or sweep applies it, as of its instant.
    pending = project.billing_due_at
    ledger.charge_all(session, project, now)
    change = change_of(project.balance)
    if change:
        kind = "top_up" if change > 0 else "adjustment"
        record_funding(session, project, kind, change, now)
        project.balance += change
    refresh_due(session, project, now)
    if pending is not None and pending <= now:
        project.billing_due_at = pending
    return change
