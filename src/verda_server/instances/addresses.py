"""Public addresses from each location's pool, shared by instances and cluster
jump hosts."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from sqlalchemy import BigInteger, Select, and_, bindparam, func, select, union_all
from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError
from verda_server.clusters.models import Cluster
from verda_server.instances.models import Instance

_HOLDERS = (Instance, Cluster)


def _first_and_last(pool: IPv4Network) -> tuple[int, int]:
    """The pool's lowest and highest host addresses (`IPv4Network.hosts`)."""
    first, last = int(pool.network_address), int(pool.broadcast_address)
    return (first, last) if pool.prefixlen >= 31 else (first + 1, last - 1)


def _lowest_free() -> Select[tuple[int]]:
    """The lowest free address after :before (the pool's first less one) and
    below :last in :location.

    Built once (its construction and cache key cost more than running it): the
    candidates are the pool's first and every used address just below a free
    one, read off the (location, ip_number) indexes in address order."""
    location = bindparam("location")
    before = bindparam("before", type_=BigInteger())
    last = bindparam("last", type_=BigInteger())
    candidate = union_all(
        select(before.label("after")),
        *(
            select(model.ip_number.label("after")).where(
                model.location == location,
                model.ip_number > before,
                model.ip_number < last,
            )
            for model in _HOLDERS
        ),
    ).subquery("candidate")
    free = and_(
        *(
            ~select(model.ip_number)
            .where(model.location == location, model.ip_number == candidate.c.after + 1)
            .exists()
            for model in _HOLDERS
        )
    )
    return (
        select((candidate.c.after + 1).label("free"))
        .where(free)
        .order_by(candidate.c.after)
        .limit(1)
    )


def _free_run() -> Select[tuple[int, int | None, int | None]]:
    """The lowest free address (as `_lowest_free`) and, of each holder, the
    lowest used one above it: every address between is free too."""
    found = _lowest_free().subquery("found")
    location = bindparam("location")
    above = (
        select(func.min(model.ip_number))
        .where(model.location == location, model.ip_number > found.c.free)
        .scalar_subquery()
        for model in _HOLDERS
    )
    return select(found.c.free, *above)


_FREE_RUN = _free_run()


def allocate_ip(session: Session, location: str, pool: IPv4Network) -> str:
    """The lowest free host address of the pool; unique per location and table by
    constraint, and across the two by the writers' turn-taking (two deploys never
    pick at once)."""
    return str(IPv4Address(free_run(session, location, pool)[0]))


def free_run(
    session: Session, location: str, pool: IPv4Network, above: int | None = None
) -> tuple[int, int]:
    """The lowest free host address of the pool (above the one numbered
    `above`: given in this unit, not yet written) and the end of the run of
    free addresses it starts (the next one used, or past the pool's last).

    One statement, off the (location, ip_number) indexes: the lowest free address
    is the pool's first, or one just after a used one; the candidates are read in
    address order and the first one free is the answer, so the work is the used
    addresses of the pool below it, whatever the store or the location hold."""
    first, last = _first_and_last(pool)
    before = first - 1 if above is None else max(first - 1, above)
    row = session.execute(_FREE_RUN, {"location": location, "before": before, "last": last}).first()
    if row is None:
        raise ApiError(
            "service_unavailable",
            f"No public address available in {location} at the moment (insufficient capacity)",
        )
    free, *used_above = row
    return free, min([last + 1, *(n for n in used_above if n is not None)])
