"""Public addresses from each location's pool."""

from __future__ import annotations

from ipaddress import IPv4Network

from sqlalchemy import select
from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError
from verda_server.instances.models import Instance


def allocate_ip(session: Session, location: str, pool: IPv4Network) -> str:
    """The lowest free host address of the pool; unique per location by constraint
    (and the writers' turn-taking means two deploys never pick the same one)."""
    used = set(
        session.scalars(
            select(Instance.ip).where(Instance.location == location, Instance.ip.is_not(None))
        )
    )
    for address in pool.hosts():
        if str(address) not in used:
            return str(address)
    raise ApiError(
        "service_unavailable",
        f"No public address available in {location} at the moment (insufficient capacity)",
    )
