"""Spot eviction: Verda takes a spot instance back.

`evict` is the single path every eviction takes (the clock's, applied by
lifecycle/reconcile.py, and any direct call): whatever must happen when a spot
instance is evicted belongs there. Each attached volume then follows its
`on_spot_discontinue` policy, which `configure_spot` sets.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from verda_server.catalog.service import Catalog
from verda_server.instances import service
from verda_server.instances.models import Instance
from verda_server.lifecycle.timings import Timings
from verda_server.volumes import service as volumes
from verda_server.volumes.models import Volume, VolumeAttachment


class Policy(StrEnum):
    """What an eviction does to a volume attached to the evicted instance."""

    KEEP_DETACHED = "keep_detached"
    MOVE_TO_TRASH = "move_to_trash"  # restorable for the trash's 96 h
    DELETE_PERMANENTLY = "delete_permanently"


# A drawn instant further away than this is never reached: none is stored
# (and the datetime arithmetic stays far from its year-9999 limit).
HORIZON = timedelta(days=100 * 365)


def eviction_rate(catalog: Catalog, location: str) -> float:
    """Evictions per spot instance-hour in the location (0 without a capacity entry)."""
    capacity = catalog.capacity.get(location)
    return capacity.spot_eviction_rate if capacity is not None else 0.0


def draw_delay(seed: int, instance_id: str, rate: float) -> timedelta | None:
    """How long the instance lives before its eviction: exponential with `rate`
    per hour, the same for the same seed and id; None for never."""
    if rate <= 0:
        return None
    hours = random.Random(f"{seed}:{instance_id}").expovariate(rate)
    if hours >= HORIZON / timedelta(hours=1):
        return None
    return timedelta(hours=hours)


def schedule(instance: Instance, catalog: Catalog, lifecycle: Timings, now: datetime) -> None:
    """Set a new instance's eviction instant (`evict_at`)."""
    instance.evict_at = evict_at(
        catalog, lifecycle, now, instance.id, instance.location, instance.is_spot
    )


def evict_at(
    catalog: Catalog,
    lifecycle: Timings,
    now: datetime,
    instance_id: str,
    location: str,
    is_spot: bool,
) -> datetime | None:
    """A new instance's eviction instant: drawn once for its whole life, shut
    down or not, since it holds its spot capacity all along (an exponential
    lifetime has no memory, so a later redraw would change nothing)."""
    rate = eviction_rate(catalog, location) if is_spot else 0.0
    delay = draw_delay(lifecycle.spot_seed, instance_id, rate)
    return None if delay is None else now + delay


def evict(session: Session, now: datetime, lifecycle: Timings, instance: Instance) -> None:
    """Discontinue a live spot instance at `now`: its capacity and address go
    back, and each attached volume follows its policy. A shared volume still on
    other instances is only detached from this one."""
    if not instance.is_spot or instance.deleted_at is not None:
        raise ValueError(f"instance {instance.id} is not a live spot instance")
    os_volume_id = instance.os_volume_id
    for volume in _attached(session, instance.id):
        volumes.detach(volume, instance.id)
        policy = Policy(volume.on_spot_discontinue)
        if policy is not Policy.KEEP_DETACHED and not volume.attachments:
            permanent = policy is Policy.DELETE_PERMANENTLY
            volumes.move_to_trash(volume, now, lifecycle, permanent=permanent)
    service.remove(instance, now)
    # Read by id it still names the OS disk it had, as after a delete.
    instance.os_volume_id = os_volume_id


def configure(
    session: Session, instance: Instance, volume_ids: Sequence[str] | None, permanently: bool
) -> None:
    """`configure_spot`, in the words of delete: the listed attached volumes are
    deleted at eviction (permanently if asked, else to the trash), every other
    attached one kept detached; no list: the OS volume goes to the trash and the
    rest are kept; an empty list keeps them all. The caller checked that every
    listed volume is attached."""
    if volume_ids is None:
        doomed = {instance.os_volume_id} if instance.os_volume_id else set()
        permanently = False  # delete_permanently applies to listed volumes only
    else:
        doomed = set(volume_ids)
    deleting = Policy.DELETE_PERMANENTLY if permanently else Policy.MOVE_TO_TRASH
    for volume in _attached(session, instance.id):
        policy = deleting if volume.id in doomed else Policy.KEEP_DETACHED
        volume.on_spot_discontinue = policy.value


_ATTACHED = (
    select(Volume)
    .join(VolumeAttachment, VolumeAttachment.volume_id == Volume.id)
    .where(VolumeAttachment.instance_id == bindparam("instance_id"))
    .order_by(VolumeAttachment.target)
)


def _attached(session: Session, instance_id: str) -> list[Volume]:
    return list(session.scalars(_ATTACHED, {"instance_id": instance_id}))
