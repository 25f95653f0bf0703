"""POST /v1/instances: validate everything, then create the instance and its
volumes in one transaction, so that a refused deploy creates nothing."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError, invalid, not_found
from verda_server.availability.service import UsageKey, free_instance_units
from verda_server.billing import follow, pricing
from verda_server.billing.billable import volume_hourly
from verda_server.billing.funds import require_funds
from verda_server.catalog.service import Catalog
from verda_server.catalog.source import ImageSource, InstanceTypeSource
from verda_server.instances import eviction, rows
from verda_server.instances.batch import DeployBatch
from verda_server.instances.models import Instance
from verda_server.instances.schemas import DeployInstancePublicDto
from verda_server.instances.states import Status
from verda_server.lifecycle.timings import Timings
from verda_server.projects import quotas
from verda_server.ssh_keys.service import get_keys
from verda_server.startup_scripts.service import get_script
from verda_server.storage.ip import ip_number
from verda_server.storage.owned import canonical_id, is_uuid
from verda_server.tags import service as tags
from verda_server.volumes import service as volumes
from verda_server.volumes.models import Volume
from verda_server.volumes.states import Status as VolumeStatus


@dataclass(frozen=True)
class OsSource:
    """Where the OS volume comes from: a catalog image, or an existing OS volume."""

    image: ImageSource
    volume: Volume | None = None


def _resolve_image(
    session: Session,
    catalog: Catalog,
    project_id: str,
    spec: InstanceTypeSource,
    location: str,
    image: str,
) -> OsSource:
    found = catalog.images.get(image) or catalog.images_by_id.get(image)
    if found is not None:
        if found.image_type not in spec.supported_os:
            raise invalid(
                f"image: {found.image_type} is not supported by {spec.instance_type} "
                f"(supported: {', '.join(spec.supported_os)})"
            )
        return OsSource(found)
    if not is_uuid(image):
        raise invalid(f"image: {image!r} is neither an image type, an image id nor an OS volume")
    volume = session.get(Volume, canonical_id(image))
    if volume is None or volume.project_id != project_id:
        raise not_found(f"image: OS volume {image} not found")
    if not volume.is_os_volume:
        raise invalid(f"image: volume {image} is not an OS volume")
    if volume.status != VolumeStatus.DETACHED.value:
        raise invalid(f"image: OS volume {image} must be detached, it is {volume.status}")
    if volume.location != location:
        raise invalid(f"image: OS volume {image} is in {volume.location}, not {location}")
    base = catalog.images.get(volume.image_type or "")
    if base is None:
        raise invalid(f"image: OS volume {image} holds no known OS image")
    return OsSource(base, volume)


def _contract(body: DeployInstancePublicDto) -> str:
    if body.contract == "SPOT" and not body.is_spot:
        raise invalid("contract: SPOT needs is_spot true")
    if body.is_spot and body.contract not in (None, "SPOT"):
        raise invalid(f"is_spot: a spot instance can't have a {body.contract} contract")
    return "SPOT" if body.is_spot else (body.contract or "PAY_AS_YOU_GO")


def _long_term(
    catalog: Catalog, body: DeployInstancePublicDto, price: Decimal, now: datetime
) -> pricing.LongTerm | None:
    if body.contract != "LONG_TERM":
        if body.long_term_period is not None:
            raise invalid("long_term_period: only a LONG_TERM contract has a period")
        return None
    if body.long_term_period is None:
        raise invalid(
            "long_term_period: a LONG_TERM contract needs a period "
            "(see GET /v1/long-term/periods/instances)"
        )
    return pricing.long_term(pricing.find_period(catalog, body.long_term_period), price, now)


def deploy(
    session: Session,
    now: datetime,
    catalog: Catalog,
    lifecycle: Timings,
    project_id: str,
    body: DeployInstancePublicDto,
    made: DeployBatch | None = None,
) -> str:
    """The new instance's id. `made`: the deploys of this unit before it
    (instances/batch.py), whose new rows it writes at the unit's end; without
    it, a batch of one, written before this returns."""
    alone = made is None
    if made is None:
        made = DeployBatch(session, catalog)
    spec = catalog.instance_types.get(body.instance_type)
    if spec is None:
        raise invalid(f"instance_type: unknown instance type {body.instance_type!r}")
    location = volumes.check_location(catalog, body.location_code)
    contract = _contract(body)
    os_source = _resolve_image(session, catalog, project_id, spec, location, body.image)
    key_ids = list(dict.fromkeys(body.ssh_key_ids or []))
    get_keys(session, project_id, key_ids)
    if body.startup_script_id is not None:
        get_script(session, project_id, body.startup_script_id)
    for n, extra in enumerate(body.volumes or []):
        volumes.check_spec(catalog, extra.type, extra.size, field=f"volumes.{n}.size")
    existing = volumes.get_volumes(session, project_id, list(body.existing_volumes or []))
    for volume in existing:
        if volume.is_os_volume:
            raise invalid(f"existing_volumes: {volume.id} is an OS volume; use it as the image")
        if volume.status != VolumeStatus.DETACHED.value:
            raise invalid(f"existing_volumes: {volume.id} is {volume.status}, not detached")
        if volume.location != location:
            raise invalid(f"existing_volumes: {volume.id} is in {volume.location}, not {location}")
    if body.os_volume is not None and os_source.volume is None:
        volumes.check_spec(catalog, "NVMe", body.os_volume.size, field="os_volume.size")
    new_volume_count = (os_source.volume is None) + len(body.volumes or [])
    adding = {quotas.Kind.INSTANCES: 1, quotas.Kind.VOLUMES: new_volume_count}
    project = made.require_room(project_id, adding)
    key = UsageKey(location, spec.instance_type, body.is_spot)
    held = {key: made.held(key)}
    if free_instance_units(catalog, location, spec.instance_type, body.is_spot, held) <= 0:
        kind = "spot " if body.is_spot else ""
        raise ApiError(
            "service_unavailable",
            f"Not enough {kind}capacity for {spec.instance_type} in {location}: "
            "unavailable at the moment, try another location or type later",
        )

    listed = Decimal(
        (spec.spot_price if body.is_spot else spec.price_per_hour).of(project.currency)
    )  # type: ignore[arg-type]
    price = pricing.with_coupon(
        catalog, body.coupon, spec.instance_type, listed, project.currency, now
    )
    term = _long_term(catalog, body, price, now)
    new_volumes = [
        ("NVMe", body.os_volume.size if body.os_volume else spec.default_os_volume_size)
    ] * (os_source.volume is None) + [(v.type, v.size) for v in body.volumes or []]
    require_funds(
        session,
        project_id,
        now,
        (term.price if term else price)
        + sum(
            (volume_hourly(catalog, t, size, project.currency) for t, size in new_volumes),
            Decimal(0),
        ),
        f"{spec.instance_type} with its new volumes",
    )
    instance_id = str(uuid.uuid4())
    # Reserved now, so that running out of addresses refuses the deploy.
    ip = made.address(location, catalog.locations[location].public_ip_pool)
    # Nothing below refuses: a refused deploy has written nothing, so the
    # others of its unit (instances/batch.py) go on without it.
    os_volume = (
        _new_os_volume(now, project_id, spec, location, os_source.image, body)
        if os_source.volume is None
        else None
    )
    instance = SimpleNamespace(
        id=instance_id,
        project_id=project_id,
        instance_type=spec.instance_type,
        location=location,
        status=Status.PROVISIONING.value,
        hostname=body.hostname,
        description=body.description,
        image=os_source.image.image_type,
        os_name=os_source.image.os_name,
        ip=ip,
        ip_number=ip_number(ip),
        jupyter_token=secrets.token_hex(16),
        is_spot=body.is_spot,
        contract=contract,
        pricing="FIXED_PRICE",
        price_per_hour=term.price if term else price,
        currency=project.currency,
        coupon=body.coupon,
        long_term_period=term.period.code if term else None,
        discount_percentage=term.period.discount_percentage if term else None,
        contract_ends_at=term.ends_at if term else None,
        payg_price=term.payg_price if term else None,
        startup_script_id=body.startup_script_id,
        os_volume_id=os_volume.id if os_volume else os_source.volume.id,  # type: ignore[union-attr]
        created_at=now,
        deleted_at=None,
        due_at=lifecycle.provisioning_ends(now),
        evict_at=eviction.evict_at(catalog, lifecycle, now, instance_id, location, body.is_spot),
        powered_off=None,
    )
    extras = [
        SimpleNamespace(
            **volumes.volume_values(
                now,
                project_id=project_id,
                name=extra.name,
                size=extra.size,
                volume_type=extra.type,
                location=location,
                on_spot_discontinue=extra.on_spot_discontinue or "keep_detached",
                status=VolumeStatus.ATTACHED,
            )
        )
        for extra in body.volumes or []
    ]
    created = [*([os_volume] if os_volume else []), *extras]
    new_rows = rows.deploy_rows(
        session,
        instance,
        created,
        # The new OS volume is the OS disk; the new others follow in order.
        [
            (volume.id, target)
            for volume, target in zip(
                created,
                ("vda",) * (os_volume is not None) + tuple(volumes.free_targets({"vda"})),
                strict=False,
            )
        ],
        key_ids,
        os_volume.id if os_volume else None,
    )
    if os_source.volume is not None or existing:
        # The attachments below are ORM objects, flushed before the batch's
        # rows would be: this instance's row must be there first.
        rows.write(session.connection(), new_rows)
        new_rows = {}
    if os_source.volume is not None:
        volumes.copy_ssh_keys(os_source.volume, key_ids)
        volumes.attach_to(session, os_source.volume, instance_id, target="vda")
    tags.apply_creation_tags(session, project_id, "instance", instance_id, body.tags)
    if body.os_volume is not None and os_volume is not None:
        tags.apply_creation_tags(session, project_id, "volume", os_volume.id, body.os_volume.tags)
    for extra, volume in zip(body.volumes or [], extras, strict=True):
        tags.apply_creation_tags(session, project_id, "volume", volume.id, extra.tags)
    for volume in existing:
        volumes.attach_to(session, volume, instance_id)
    # What a flush does for new objects: the meters of what costs.
    follow.open_new(session, project, [*((Volume, v) for v in created), (Instance, instance)])
    session.flush()
    # Last: only a deploy that went through counts for the next ones.
    made.take(project_id, adding, key, new_rows)
    if alone:
        made.write()
    return instance_id


def _new_os_volume(
    now: datetime,
    project_id: str,
    spec: InstanceTypeSource,
    location: str,
    image: ImageSource,
    body: DeployInstancePublicDto,
) -> SimpleNamespace:
    """A new OS volume's columns: made attached, as the new instance's OS disk."""
    suffix = volumes.new_suffix()
    requested = body.os_volume
    return SimpleNamespace(
        **volumes.volume_values(
            now,
            project_id=project_id,
            name=requested.name if requested else f"OS-NVMe-{suffix}",
            size=requested.size if requested else spec.default_os_volume_size,
            volume_type="NVMe",
            location=location,
            is_os_volume=True,
            image_type=image.image_type,
            on_spot_discontinue=(requested.on_spot_discontinue if requested else None)
            or "keep_detached",
            suffix=suffix,
            status=VolumeStatus.ATTACHED,
        )
    )
