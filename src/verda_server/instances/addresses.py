"""Public addresses from each location's pool, shared by instances and cluster
jump hosts."""

from __future__ import annotations

from ipaddress import IPv4Network

from sqlalchemy import select
from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError
from verda_server.clusters.models import Cluster
from verda_server.instances.models import Instance


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
    for address in pool.hosts():
        if str(address) not in used:
            return str(address)
    raise ApiError(
        "service_unavailable",
        f"No public address available in {location} at the moment (insufficient capacity)",
    )
