"""PUT /v1/instances: actions on one or many instances, one result per id.

The whole call is one transaction; each id's action either applies completely
or is reported as an error with nothing of it applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from verda_server.api.errors import STATUS_OF, ApiError, forbidden, invalid, not_found
from verda_server.billing.funds import balance_now
from verda_server.instances import eviction, service
from verda_server.instances.models import Instance
from verda_server.instances.schemas import InstanceActionResultDto
from verda_server.instances.states import (
    REFUSED,
    RULES,
    TIMED,
    Action,
    Status,
    VolumeEffect,
    refusal,
)
from verda_server.lifecycle.timings import Timings
from verda_server.projects.models import Project
from verda_server.storage.owned import is_uuid
from verda_server.volumes import service as volumes
from verda_server.volumes.models import Volume, VolumeAttachment


@dataclass(frozen=True)
class Outcome:
    results: list[InstanceActionResultDto]
    # A single action on an instance already in the requested state.
    nothing_to_do: bool


def parse_action(name: str) -> Action:
    if name in REFUSED:
        raise invalid(REFUSED[name])
    try:
        return Action(name)
    except ValueError:
        known = ", ".join(a.value for a in RULES)
        raise invalid(f"action: unknown action {name!r} (one of {known})") from None


def perform(
    session: Session,
    now: datetime,
    lifecycle: Timings,
    project_id: str,
    action: Action,
    ids: list[str],
    volume_ids: list[str] | None,
    delete_permanently: bool,
) -> Outcome:
    if volume_ids and RULES[action].volumes in (VolumeEffect.RELEASE, VolumeEffect.POLICY):
        _check_volume_ids(session, project_id, action, ids, volume_ids)
    results: list[InstanceActionResultDto] = []
    noop = False
    owned = service.owned_instances(session, project_id, ids)
    money = _Money(session, project_id, now)
    for instance_id in ids:
        try:
            with session.begin_nested():
                done = _one(
                    session,
                    now,
                    lifecycle,
                    money,
                    action,
                    owned,
                    instance_id,
                    volume_ids,
                    delete_permanently,
                )
            noop = not done
            results.append(
                InstanceActionResultDto(instanceId=instance_id, action=action, status="success")
            )
        except ApiError as exc:
            if len(ids) == 1:
                raise
            results.append(
                InstanceActionResultDto(
                    instanceId=instance_id,
                    action=action,
                    status="error",
                    error=exc.message,
                    statusCode=STATUS_OF[exc.code],
                )
            )
    return Outcome(results, nothing_to_do=len(ids) == 1 and noop)


def _check_volume_ids(
    session: Session, project_id: str, action: Action, ids: list[str], volume_ids: list[str]
) -> None:
    """Every listed volume must be on one of the instances acted on. When none
    of them can be (provisioning, already gone, not spot), each id's own refusal
    says so instead: dstack matches on those messages."""
    named = session.scalars(
        select(Instance).where(
            Instance.project_id == project_id,
            Instance.id.in_([i for i in ids if is_uuid(i)]),
        )
    ).all()
    rule = RULES[action]
    legal = [
        i.id
        for i in named
        if service.status_of(i) in rule.legal_from and (i.is_spot or not rule.spot_only)
    ]
    if not legal:
        return
    attached = set(
        session.scalars(
            select(VolumeAttachment.volume_id).where(VolumeAttachment.instance_id.in_(legal))
        )
    )
    for volume_id in volume_ids:
        if volume_id not in attached:
            raise not_found(f"Volume {volume_id} is not attached to the instance")


def _one(
    session: Session,
    now: datetime,
    lifecycle: Timings,
    money: _Money,
    action: Action,
    owned: dict[str, Instance],
    instance_id: str,
    volume_ids: list[str] | None,
    delete_permanently: bool,
) -> bool:
    """Apply the action; False when the instance already was where it was asked to be."""
    instance = service.picked(owned, instance_id)
    if instance is None:
        raise not_found(service.INVALID_ID)
    status = service.status_of(instance)
    os_volume_id = instance.os_volume_id
    rule = RULES[action]
    if status in rule.already:
        return False
    if status not in rule.legal_from:
        raise forbidden(refusal(action, status))
    if rule.spot_only and not instance.is_spot:
        raise forbidden(f"Can't {action.value} an instance that is not a spot instance")
    if rule.needs_os_volume and instance.os_volume_id is None:
        raise forbidden(f"Can't {action.value} an instance without an OS volume: attach one first")
    if rule.to is Status.PROVISIONING:
        money.require(action)
    if rule.volumes is VolumeEffect.DETACH:
        for volume in _attached(session, instance):
            volumes.detach(volume, instance.id)
    elif rule.volumes is VolumeEffect.RELEASE:
        _release_volumes(session, now, lifecycle, instance, volume_ids, delete_permanently)
    elif rule.volumes is VolumeEffect.POLICY:
        eviction.configure(session, instance, volume_ids, delete_permanently)
    if rule.to is Status.DISCONTINUED:
        service.remove(instance, now)
        # Read by id it still names the OS disk it had (to deploy again from it).
        instance.os_volume_id = os_volume_id
    elif rule.to is not None:
        instance.status = rule.to.value
        instance.due_at = lifecycle.provisioning_ends(now) if rule.to in TIMED else None
    return True


class _Money:
    """A shut-down instance costs as much as a running one, so booting costs
    nothing more; but at zero money running instances are shut down, so one
    booted then would be shut down again at once: refused instead.

    The balance is read once per call, not once per id: it sums every open
    meter of the project, and booting or starting changes no meter (shut down
    and provisioning cost the same), so it is the same for every id."""

    def __init__(self, session: Session, project_id: str, now: datetime) -> None:
        self._session = session
        self._project_id = project_id
        self._now = now
        self._balance: Decimal | None = None

    def require(self, action: Action) -> None:
        project = self._session.get(Project, self._project_id)
        assert project is not None
        if self._balance is None:
            self._balance = balance_now(self._session, project, self._now)
        if self._balance <= 0:
            currency = project.currency.upper()
            raise ApiError(
                "insufficient_funds",
                f"Insufficient funds: can't {action.value} an instance with a balance of "
                f"{self._balance.normalize():f} {currency}; top up first",
            )


def _attached(session: Session, instance: Instance) -> list[Volume]:
    return list(
        session.scalars(
            select(Volume)
            .join(VolumeAttachment, VolumeAttachment.volume_id == Volume.id)
            .where(VolumeAttachment.instance_id == instance.id)
            .order_by(VolumeAttachment.target)
        )
    )


def _release_volumes(
    session: Session,
    now: datetime,
    lifecycle: Timings,
    instance: Instance,
    volume_ids: list[str] | None,
    permanently: bool,
) -> None:
    """No list: the OS volume goes to the trash, the rest are detached. A list:
    those deleted (permanently if asked), the rest detached. An empty list:
    nothing deleted. A shared volume still on other instances is only released
    by this one; it is deleted when the last instance that should delete it goes."""
    if volume_ids is None:
        doomed = {instance.os_volume_id} if instance.os_volume_id else set()
        permanently = False  # delete_permanently applies to listed volumes only
    else:
        doomed = set(volume_ids)
    for volume in _attached(session, instance):
        volumes.detach(volume, instance.id)
        if volume.id in doomed and not volume.attachments:
            volumes.move_to_trash(volume, now, lifecycle, permanent=permanently)
