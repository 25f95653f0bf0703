"""POST /v1/clusters: validate everything, then create the cluster, its /home
volume and its attachments in one transaction, so that a refused deploy
creates nothing."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from verda_server.api.errors import ApiError, invalid
from verda_server.availability.service import cluster_usage, free_cluster_units
from verda_server.billing.billable import volume_hourly
from verda_server.billing.funds import require_funds
from verda_server.catalog.service import Catalog
from verda_server.catalog.source import ClusterTypeSource, ImageSource
from verda_server.clusters import service
from verda_server.clusters.models import Cluster
from verda_server.clusters.schemas import DeployClusterPublicDto
from verda_server.clusters.states import Status
from verda_server.instances.addresses import allocate_ip
from verda_server.lifecycle.timings import Timings
from verda_server.projects import quotas
from verda_server.projects.models import Project
from verda_server.ssh_keys.service import get_keys
from verda_server.startup_scripts.service import get_script
from verda_server.tags import service as tags
from verda_server.volumes import service as volumes
from verda_server.volumes.models import Volume
from verda_server.volumes.states import Status as VolumeStatus

SHARED_VOLUME_TYPE = "NVMe_Shared_Cluster"


def _resolve_image(catalog: Catalog, spec: ClusterTypeSource, image: str) -> ImageSource:
    """A cluster image by its type, id or name (the Go SDK's helper sends the name)."""
    found = next(
        (i for i in catalog.source.cluster_images if image in (i.image_type, i.id, i.name)),
        None,
    )
    if found is None:
        raise invalid(f"image: {image!r} is not a cluster image (see GET /v1/images/cluster)")
    if found.image_type not in spec.supported_os:
        raise invalid(
            f"image: {found.image_type} is not supported by {spec.cluster_type} "
            f"(supported: {', '.join(spec.supported_os)})"
        )
    return found


def _existing_volumes(
    session: Session, project_id: str, location: str, body: DeployClusterPublicDto
) -> list[Volume]:
    ids = [v.id for v in body.existing_volumes or []]
    found = volumes.get_volumes(session, project_id, ids)
    for volume in found:
        if not volumes.is_shared(volume.type):
            raise invalid(f"existing_volumes: {volume.id} is a {volume.type} volume, not shared")
        if volume.status != VolumeStatus.DETACHED.value:
            raise invalid(f"existing_volumes: {volume.id} is {volume.status}, not detached")
        if volume.location != location:
            raise invalid(f"existing_volumes: {volume.id} is in {volume.location}, not {location}")
    return found


def _mount_points(home: Volume, existing: list[Volume]) -> list[tuple[Volume, str]]:
    """/home first, then /mnt/<name> (the name made a directory name),
    numbered when two names would share one."""
    mounts = [(home, service.HOME)]
    taken = {service.HOME}
    for volume in existing:
        base = f"/mnt/{service.path_name(volume.name)}"
        point, n = base, 1
        while point in taken:
            n += 1
            point = f"{base}-{n}"
        taken.add(point)
        mounts.append((volume, point))
    return mounts


def deploy(
    session: Session,
    now: datetime,
    catalog: Catalog,
    lifecycle: Timings,
    project_id: str,
    body: DeployClusterPublicDto,
) -> Cluster:
    spec = catalog.cluster_types.get(body.cluster_type)
    if spec is None:
        raise invalid(f"cluster_type: unknown cluster type {body.cluster_type!r}")
    location = volumes.check_location(catalog, body.location_code)
    image = _resolve_image(catalog, spec, body.image)
    if body.contract not in (None, "PAY_AS_YOU_GO"):
        raise invalid("contract: clusters support only PAY_AS_YOU_GO contracts for now")
    key_ids = list(dict.fromkeys(body.ssh_key_ids or []))
    get_keys(session, project_id, key_ids)
    if body.startup_script_id is not None:
        get_script(session, project_id, body.startup_script_id)
    shared = body.shared_volume
    volumes.check_spec(
        catalog, SHARED_VOLUME_TYPE, shared.size, "shared_volume.size", cluster_types_too=True
    )
    existing = _existing_volumes(session, project_id, location, body)
    quotas.require(session, project_id, quotas.Kind.CLUSTERS)
    # Its /home volume is the project's like any other.
    quotas.require(session, project_id, quotas.Kind.VOLUMES)
    if free_cluster_units(catalog, location, spec.cluster_type, cluster_usage(session)) <= 0:
        raise ApiError(
            "service_unavailable",
            f"Not enough capacity for cluster type {spec.cluster_type} in {location}: "
            "unavailable at the moment, try another location or type later",
        )

    project = session.get(Project, project_id)
    assert project is not None
    price = Decimal(spec.price_per_hour.of(project.currency))  # type: ignore[arg-type]
    home_rate = volume_hourly(catalog, SHARED_VOLUME_TYPE, shared.size, project.currency)
    require_funds(
        session, project_id, now, price + home_rate, f"{spec.cluster_type} with its /home volume"
    )
    auto_rental = (
        body.auto_rental_extension
        if body.auto_rental_extension is not None
        else body.auto_rent_extension
    )
    cluster = Cluster(
        id=str(uuid.uuid4()),
        project_id=project_id,
        cluster_type=spec.cluster_type,
        location=location,
        status=Status.PROVISIONING.value,
        hostname=body.hostname,
        description=body.description,
        image=image.image_type,
        os_name=image.os_name,
        # Reserved now, so that running out of addresses refuses the deploy.
        ip=allocate_ip(session, location, catalog.locations[location].public_ip_pool),
        contract="PAY_AS_YOU_GO",
        extension_settings=body.extension_settings,
        auto_rental_extension=auto_rental,
        turn_to_pay_as_you_go=body.turn_to_pay_as_you_go,
        price_per_hour=price,
        currency=project.currency,
        startup_script_id=body.startup_script_id,
        created_at=now,
        due_at=lifecycle.cluster_provisioning_ends(now),
    )
    service.set_ssh_keys(cluster, key_ids)
    session.add(cluster)
    tags.apply_creation_tags(session, project_id, "cluster", cluster.id, body.tags)
    home = volumes.new_volume(
        session,
        volumes.volume_values(
            now,
            project_id=project_id,
            name=shared.name,
            size=shared.size,
            volume_type=SHARED_VOLUME_TYPE,
            location=location,
            status=VolumeStatus.ATTACHED,
        ),
    )
    session.flush()
    for position, (volume, mount_point) in enumerate(_mount_points(home, existing)):
        service.attach_volume(session, cluster, volume, mount_point, position)
    session.flush()
    return cluster
