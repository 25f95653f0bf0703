"""What billing makes due by the clock: the instant a project's money runs
out, and the end of a rate (a long-term contract). Each project carries the
next such instant in `billing_due_at`, so the reconciler's is-anything-due
check stays one indexed lookup."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from verda_server.billing import ledger, sums
from verda_server.billing.rates import epoch_us, from_epoch_us, from_quanta, hours_covered, quanta
from verda_server.clusters.actions import discontinue
from verda_server.clusters.models import Cluster
from verda_server.instances.models import Instance
from verda_server.instances.states import Status as InstanceStatus
from verda_server.projects.models import Project
from verda_server.serverless.deployments.models import ServerlessDeployment
from verda_server.serverless.deployments.replicas import pause as serverless_pause

# Instances shut down when the money is gone: they stop, but keep costing
# (and keep their volumes), like a shutdown the user asked for.
_STOPPED_AT_ZERO = (InstanceStatus.RUNNING.value, InstanceStatus.PROVISIONING.value)


def _running(project_id: str) -> object:
    instances = exists().where(
        Instance.project_id == project_id,
        Instance.deleted_at.is_(None),
        Instance.status.in_(_STOPPED_AT_ZERO),
    )
    clusters = exists().where(Cluster.project_id == project_id, Cluster.deleted_at.is_(None))
    serverless = exists().where(
        ServerlessDeployment.project_id == project_id,
        ServerlessDeployment.deleted_at.is_(None),
        ServerlessDeployment.replica_count > 0,
    )
    return or_(instances, clusters, serverless)


def _set_due(project: Project, at: datetime | None) -> None:
    # Only a change is set: an object set to what it holds is still flagged
    # changed, and the commit's flush works through it for nothing.
    if project.billing_due_at != at:
        project.billing_due_at = at


def refresh_due(session: Session, project: Project, now: datetime) -> None:
    summed, rows = sums.terms(session, project)
    if rows is None and _refresh_from_sums(session, project, now, summed):
        return
    meters = rows if rows is not None else sums.open_terms(session, project.id)
    balance = ledger.balance_at(project, meters, now)
    candidates = [m.rate_until for m in meters if m.rate_until is not None and m.rate_until > now]
    if balance > 0:
        rate = sum((ledger.current_rate(m, now) for m in meters), ledger.ZERO)
        covered = hours_covered(balance, rate)
        if covered is not None:
            candidates.append(now + covered)
    elif session.scalar(select(_running(project.id))):
        candidates.append(now)
    _set_due(project, min(candidates, default=None))


def _refresh_from_sums(
    session: Session, project: Project, now: datetime, summed: sums.Sums
) -> bool:
    """refresh_due for a project of many meters, from their sums: the balance is
    known to within a quantum per meter, and its least value is taken, so the
    instant the money runs out may come a few microseconds early (rates of a
    thousandth of a currency unit an hour or more), where it is settled exactly
    (settle_due) and, if money is left, computed again. False when the sums
    can't tell whether any money is left."""
    owed = summed.owed_between(now)
    if owed is None:
        return False
    held = quanta(project.balance)
    least, most = held - owed[1], held - owed[0]
    if least <= 0 < most:
        return False
    at_us = epoch_us(now)
    candidates = [
        from_epoch_us(a.until) for _, a in summed.ending if a.until is not None and a.until > at_us
    ]
    if least > 0:
        covered = hours_covered(from_quanta(least), from_quanta(summed.rate_at(now)))
        if covered is not None:
            candidates.append(now + covered)
    elif session.scalar(select(_running(project.id))):
        candidates.append(now)
    _set_due(project, min(candidates, default=None))
    return True


def end_contracts(session: Session, project_id: str, now: datetime) -> None:
    """Long-term contracts that have ended go on at pay-as-you-go prices."""
    for instance in session.scalars(
        select(Instance).where(
            Instance.project_id == project_id,
            Instance.contract == "LONG_TERM",
            Instance.contract_ends_at <= now,
        )
    ):
        instance.contract = "PAY_AS_YOU_GO"
        if instance.payg_price is not None:
            instance.price_per_hour = instance.payg_price


def settle(session: Session, project: Project, now: datetime) -> None:
    """Charge everything up to `now`, end what has ended, and stop what runs
    once the balance is exhausted."""
    ledger.charge_all(session, project, now)
    end_contracts(session, project.id, now)
    if ledger.balance_at(project, ledger.open_terms(session, project.id), now) <= 0:
        for instance in session.scalars(
            select(Instance).where(
                Instance.project_id == project.id,
                Instance.deleted_at.is_(None),
                Instance.status.in_(_STOPPED_AT_ZERO),
            )
        ):
            instance.status = InstanceStatus.OFFLINE.value
            instance.due_at = None
        # A cluster has no shut-down state (no status for it that clients know,
        # no action to boot it again): it is discontinued, and its shared
        # volumes, where its data lives, are kept detached.
        for cluster in session.scalars(
            select(Cluster).where(Cluster.project_id == project.id, Cluster.deleted_at.is_(None))
        ):
            discontinue(session, cluster, now)
        # Deployments pause: their replicas and capacity go, and they cost
        # nothing until resumed.
        for deployment in session.scalars(
            select(ServerlessDeployment).where(
                ServerlessDeployment.project_id == project.id,
                ServerlessDeployment.deleted_at.is_(None),
                ServerlessDeployment.replica_count > 0,
            )
        ):
            serverless_pause(deployment, now)
    refresh_due(session, project, now)


def settle_due(session: Session, project: Project, now: datetime) -> None:
    """Apply what fell due by `now`, each at its own instant: money that ran out
    an hour before this call stops a cluster an hour ago, not now."""
    while project.billing_due_at is not None and project.billing_due_at <= now:
        at = project.billing_due_at
        settle(session, project, at)
        if project.billing_due_at is not None and project.billing_due_at <= at:
            # Settling leaves nothing running once the money is gone, so the
            # next instant is always later; never loop on one that is not.
            break
