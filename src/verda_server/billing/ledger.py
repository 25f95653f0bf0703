"""Meters and the ledger: opening, charging and closing what resources cost.

Charges are written when a meter changes (a resource appears, goes, or changes
rate) and when something falls due (the balance runs out, a rate ends). In
between, what has accrued is computed, never stored: reading the balance
costs no write.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, cast

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from verda_server.billing.models import LedgerEntry, Meter
from verda_server.billing.rates import US_PER_HOUR, cost, epoch_us, from_quanta, quanta
from verda_server.projects.models import Project

ZERO = Decimal(0)


@dataclass(frozen=True)
class Rate:
    """What a resource costs now and, for a rate that ends (a long-term
    contract), when it ends and what follows."""

    per_hour: Decimal
    until: datetime | None = None
    then: Decimal | None = None


class Metered(Protocol):
    """What `owed` reads of a meter: a Meter, or a row of its columns."""

    rate_per_hour: Decimal
    opened_at: datetime
    charged: Decimal
    rate_until: datetime | None
    next_rate: Decimal | None


def owed(meter: Metered, at: datetime) -> Decimal:
    """What the meter has accrued by `at` beyond what it has charged."""
    if meter.rate_until is not None and at > meter.rate_until:
        head = cost(meter.rate_per_hour, meter.opened_at, meter.rate_until)
        tail = cost(meter.next_rate or ZERO, meter.rate_until, at)
        return head + tail - meter.charged
    return cost(meter.rate_per_hour, meter.opened_at, at) - meter.charged


def current_rate(meter: Metered, at: datetime) -> Decimal:
    if meter.rate_until is not None and at >= meter.rate_until:
        return meter.next_rate or ZERO
    return meter.rate_per_hour


def open_meters(session: Session, project_id: str) -> Sequence[Meter]:
    return session.scalars(
        select(Meter).where(Meter.project_id == project_id, Meter.closed_at.is_(None))
    ).all()


# Built once: it runs in every deploy and with every change to what a project pays.
_OPEN_TERMS = select(
    Meter.rate_per_hour, Meter.opened_at, Meter.charged, Meter.rate_until, Meter.next_rate
).where(Meter.project_id == bindparam("project_id"), Meter.closed_at.is_(None))


def open_terms(session: Session, project_id: str) -> Sequence[Metered]:
    """What the balance and the rates read of the open meters, as plain rows:
    a project's meters grow with its resources, and building an ORM object for
    each cost more than everything else a deploy does. Pending changes are
    flushed first, as for any query."""
    return cast("Sequence[Metered]", session.execute(_OPEN_TERMS, {"project_id": project_id}).all())


def meter_values(
    project_id: str, kind: str, resource_id: str, rate: Rate, at: datetime
) -> dict[str, object]:
    """A new meter's columns: open at `at`, nothing charged."""
    return {
        "id": str(uuid.uuid4()),
        "project_id": project_id,
        "resource_kind": kind,
        "resource_id": resource_id,
        "rate_per_hour": rate.per_hour,
        "opened_at": at,
        "closed_at": None,
        "charged": ZERO,
        "charged_until": at,
        "rate_until": rate.until,
        "next_rate": rate.then if rate.until is not None else None,
    }


def start(
    session: Session, project: Project, kind: str, resource_id: str, rate: Rate, at: datetime
) -> Meter:
    meter = Meter(**meter_values(project.id, kind, resource_id, rate, at))
    session.add(meter)
    return meter


def _charge(session: Session, project: Project, meter: Meter, until: datetime) -> None:
    if until <= meter.charged_until:
        return
    due = cost(meter.rate_per_hour, meter.opened_at, until)
    amount = due - meter.charged
    if amount:
        session.add(
            LedgerEntry(
                id=str(uuid.uuid4()),
                project_id=project.id,
                meter=meter,
                resource_kind=meter.resource_kind,
                resource_id=meter.resource_id,
                period_start=meter.charged_until,
                period_end=until,
                amount=amount,
            )
        )
        project.balance -= amount
    meter.charged = due
    meter.charged_until = until


def charge(session: Session, project: Project, meter: Meter, until: datetime) -> Meter:
    """Charge the meter up to `until`; a rate that ended on the way is closed
    where it ended and its successor charged from there. Returns the meter
    that runs at `until`."""
    if meter.rate_until is not None and until >= meter.rate_until:
        _charge(session, project, meter, meter.rate_until)
        meter.closed_at = meter.rate_until
        meter = start(
            session,
            project,
            meter.resource_kind,
            meter.resource_id,
            Rate(meter.next_rate or ZERO),
            meter.rate_until,
        )
    _charge(session, project, meter, until)
    return meter


def stop(session: Session, project: Project, meter: Meter, at: datetime) -> None:
    meter = charge(session, project, meter, at)
    meter.closed_at = at


def charge_all(session: Session, project: Project, at: datetime) -> None:
    for meter in open_meters(session, project.id):
        charge(session, project, meter, at)


def balance_at(project: Project, meters: Iterable[Metered], at: datetime) -> Decimal:
    """The balance at `at`, counting what has accrued but is not yet charged."""
    return project.balance - owed_by_all(map(Accrual.of, meters), at)


# ---- what many meters owe at an instant, in whole money quanta ------------------
# `owed` over integers: a rate in quanta per hour times whole microseconds,
# floored to the quantum, is exactly what `rates.cost` computes with decimals
# (its 80-digit division cannot round across a quantum), at a fraction of the
# cost. A balance read sums it over every open meter of a project.


@dataclass(frozen=True, slots=True)
class Accrual:
    """A meter's terms in quanta and epoch microseconds."""

    rate: int
    opened: int
    charged: int
    until: int | None
    then: int

    @classmethod
    def of(cls, meter: Metered) -> Accrual:
        until = meter.rate_until
        return cls(
            quanta(meter.rate_per_hour),
            epoch_us(meter.opened_at),
            quanta(meter.charged),
            None if until is None else epoch_us(until),
            quanta(meter.next_rate or ZERO),
        )

    def owed(self, at_us: int) -> int:
        if self.until is not None and at_us > self.until:
            head = self.rate * max(0, self.until - self.opened) // US_PER_HOUR
            tail = self.then * max(0, at_us - self.until) // US_PER_HOUR
            return head + tail - self.charged
        return self.rate * max(0, at_us - self.opened) // US_PER_HOUR - self.charged


def owed_by_all(accruals: Iterable[Accrual], at: datetime) -> Decimal:
    """What the meters owe together at `at`: the sum of `owed` of each."""
    at_us = epoch_us(at)
    total = sum(accrual.owed(at_us) for accrual in accruals)
    return from_quanta(total)
