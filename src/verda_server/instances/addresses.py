"""Public addresses from each location's pool, shared by instances and cluster
jump hosts."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from ipaddress import IPv4Network

from sqlalchemy import select
from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError
from verda_server.clusters.models import Cluster
from verda_server.instances.models import Instance

# Pools up to this size keep their addresses as text (a /16: about 4 MB).
_KEPT_UP_TO = 1 << 16


@cache
def _kept_hosts(pool: IPv4Network) -> tuple[str, ...]:
    return tuple(str(address) for address in pool.hosts())


def _hosts(pool: IPv4Network) -> Iterable[str]:
    """A pool's host addresses as text, lowest first: made once per pool, not
    once per deploy (a /20 has 4094)."""
    if pool.num_addresses > _KEPT_UP_TO:
        return (str(address) for address in pool.hosts())
    return _kept_hosts(pool)


def allocate_ip(session: Session, location: str, pool: IPv4Network) -> str:
    """The lowest free host address of the pool; unique per location and table by
    constraint, and across the two by the writers' turn-taking (two deploys never
    pick at once)."""
    used = {
        ip
        for model in (Instance, Cluster)
        for ip in session.scalars(
            select(model.ip).where(model.location == location, model.ip.is_not(None))
        )
    }
    for address in _hosts(pool):
        if address not in used:
            return address
    raise ApiError(
        "service_unavailable",
        f"No public address available in {location} at the moment (insufficient capacity)",
    )
