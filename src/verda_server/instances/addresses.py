"""Public addresses from each location's pool."""

from __future__ import annotations

from ipaddress import IPv4Network

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError
from verda_server.instances.models import Instance


def allocate_ip(session: Session, location: str, pool: IPv4Network) -> str:
    """The lowest free host address of the pool; unique per location by constraint."""
    if session.get_bind().dialect.name == "postgresql":
        # Replicas allocating in the same location take turns.
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": location})
    used = set(
        session.scalars(
            select(Instance.ip).where(Instance.location == location, Instance.ip.is_not(None))
        )
    )
    for address in pool.hosts():
        if str(address) not in used:
            return str(address)
    raise ApiError("service_unavailable", f"No public address left in {location}")
