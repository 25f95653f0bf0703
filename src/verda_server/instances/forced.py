"""Outcomes an operator forces on an instance (the control API), as the real
service reaches them on its own: a machine that breaks (`error`), and a
deploy that finds no capacity or fails to install (`no_capacity`,
`installation_failed`).

An instance in `error` still has its machine: it keeps its capacity, address,
volumes and price, like one shut down, until deleted (or force-shut-down). One
that never got its machine gives its capacity and address back and stops
costing at once (billing follows the status through billing/billable.py); its
volumes stay attached until it is deleted, which releases them as any delete.
Neither moves on by itself, and a spot instance without a machine has nothing
left to evict.
"""

from __future__ import annotations

from verda_server.api.errors import ApiError
from verda_server.instances.models import Instance
from verda_server.instances.service import status_of
from verda_server.instances.states import FORCED_FROM, UNPLACED, Status


def force(instance: Instance, outcome: Status) -> bool:
    """Put the instance into `outcome`; False when it already was there."""
    status = status_of(instance)
    if status is outcome:
        return False
    if status not in FORCED_FROM[outcome]:
        legal = ", ".join(sorted(s.value for s in FORCED_FROM[outcome]))
        article = "an" if status.value[0] in "aeiou" else "a"
        raise ApiError(
            "conflict",
            f"Can't force {outcome.value} on {article} {status.value} instance (only from {legal})",
        )
    instance.status = outcome.value
    instance.due_at = None  # no timed transition leaves a forced outcome
    if outcome in UNPLACED:
        instance.ip = None  # back to the location's pool
        instance.evict_at = None
    return True
