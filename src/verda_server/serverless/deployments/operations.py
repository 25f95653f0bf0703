"""What each deployment operation of BEYOND.md §3.3 does, by the state table."""

from __future__ import annotations

from verda_server.api.errors import not_found
from verda_server.serverless.deployments import containers as stored
from verda_server.serverless.deployments import replicas
from verda_server.serverless.deployments import scaling as scalings
from verda_server.serverless.deployments.models import DEPLOYMENT, ServerlessDeployment
from verda_server.serverless.deployments.schemas import (
    ComputeDto,
    CreateDeploymentDto,
    EnvVarDto,
    PatchDeploymentDto,
    ScalingDto,
)
from verda_server.serverless.deployments.service import (
    Work,
    get,
    new_row,
    offer_for,
    require_free_name,
    require_funds,
    require_units,
    set_compute,
    set_registry,
    settle,
)
from verda_server.serverless.deployments.states import RULES, Action, Status, legal
from verda_server.serverless.endpoint import fleet


def create(work: Work, body: CreateDeploymentDto, created_by: str) -> ServerlessDeployment:
    require_free_name(work.session, work.project_id, body.name)
    containers = stored.new_containers(body.containers, work.now)
    stored.check_references(
        work.session, work.project_id, containers, body.container_registry_settings
    )
    offer = offer_for(work, body.compute)
    scaling = scalings.applied(scalings.DEFAULTS, body.scaling)
    row = new_row(work, DEPLOYMENT, body.name, created_by, containers)
    row.is_spot = bool(body.is_spot)
    row.scaling = scalings.dump(scaling)
    set_compute(row, offer)
    set_registry(row, body.container_registry_settings)
    count = scaling["min_replica_count"]
    require_units(work, row, offer.name, offer.units, count, on_create=True)
    require_funds(
        work,
        row.price_per_replica_hour * count,
        f"{count} replica(s) of {offer.name} x{offer.size}",
    )
    replicas.begin(row, Status.INITIALIZING, work.now, work.ready_seconds)
    replicas.replace_all(row, count, work.now, work.ready_seconds)
    replicas.reschedule(row, work.now)
    work.session.add(row)
    work.session.flush()
    return row


def _act(work: Work, row: ServerlessDeployment, action: Action) -> None:
    """Apply `action` if its rule allows it from the current status; a no-op
    otherwise (every action is idempotent for the clients)."""
    status = Status(row.status)
    if not legal(action, status):
        return
    rule = RULES[action]
    if rule.to is not None:
        replicas.begin(row, rule.to, work.now, work.ready_seconds)
    # None while paused, else what its queue asks for within min..max.
    count = fleet.wanted_now(work.session, row)
    if count > row.replica_count:
        require_units(work, row, row.compute_name, row.units_per_replica, count, on_create=False)
    if action is Action.RESUME:
        # As a create: paused when the money ran out, it can't run on without it.
        require_funds(
            work,
            row.price_per_replica_hour * count,
            f"{count} replica(s) of {row.compute_name} x{row.compute_size}",
        )
    if rule.replaces_replicas:
        replicas.replace_all(row, count, work.now, work.ready_seconds)
    else:
        replicas.resize(row, count, work.now, work.ready_seconds)
    row.updated_at = work.now
    settle(row, work.now)


def act(work: Work, name: str, action: Action) -> ServerlessDeployment:
    row = get(work.session, work.project_id, DEPLOYMENT, name)
    _act(work, row, action)
    return row


def patch_scaling(
    work: Work, row: ServerlessDeployment, change: ScalingDto | None, where: str = "scaling"
) -> None:
    scaling = scalings.applied(scalings.load(row.scaling), change, where)
    if scaling != scalings.load(row.scaling):
        row.scaling = scalings.dump(scaling)
        _act(work, row, Action.SCALE)


def patch(work: Work, name: str, body: PatchDeploymentDto) -> ServerlessDeployment:
    row = get(work.session, work.project_id, DEPLOYMENT, name)
    before = (row.containers, row.compute_name, row.compute_size, row.registry_is_private,
              row.registry_credentials, row.is_spot)  # fmt: skip
    containers = stored.load(row.containers)
    if body.containers:
        containers = stored.patched_containers(containers, body.containers, work.now)
        stored.check_references(work.session, work.project_id, containers, None)
        row.containers = stored.dump(containers)
    if body.container_registry_settings is not None:
        stored.check_registry(work.session, work.project_id, body.container_registry_settings)
        set_registry(row, body.container_registry_settings)
    if body.is_spot is not None:
        row.is_spot = body.is_spot
    offer = offer_for(work, body.compute) if body.compute is not None else None
    if offer is None and body.is_spot is not None:
        offer = offer_for(work, ComputeDto(name=row.compute_name, size=row.compute_size))
    if offer is not None:
        if (offer.name, offer.size) != (row.compute_name, row.compute_size):
            require_units(work, row, offer.name, offer.units, row.replica_count, on_create=True)
        set_compute(row, offer)
    after = (row.containers, row.compute_name, row.compute_size, row.registry_is_private,
             row.registry_credentials, row.is_spot)  # fmt: skip
    if after != before:
        _act(work, row, Action.NEW_VERSION)
        row.updated_at = work.now
    if body.scaling is not None:
        patch_scaling(work, row, body.scaling)
    return row


# ---- environment variables ----------------------------------------------------


def _container(containers: list[stored.Stored], name: str) -> stored.Stored:
    for container in containers:
        if container["name"] == name:
            return container
    raise not_found(f"No container {name!r} in the deployment")


def _new_env(work: Work, row: ServerlessDeployment, containers: list[stored.Stored]) -> None:
    """Changed env vars are a new version, as a container patch is."""
    dumped = stored.dump(containers)
    if dumped != row.containers:
        stored.check_references(work.session, work.project_id, containers, None)
        row.containers = dumped
        _act(work, row, Action.NEW_VERSION)
        row.updated_at = work.now


def add_env(
    work: Work, name: str, container_name: str, env: list[EnvVarDto]
) -> list[stored.Stored]:
    row = get(work.session, work.project_id, DEPLOYMENT, name)
    containers = stored.load(row.containers)
    target = _container(containers, container_name)
    for item in env:
        value = stored.env_var(item)
        slot = next((n for n, e in enumerate(target["env"]) if e["name"] == item.name), None)
        if slot is None:
            target["env"].append(value)
        else:
            target["env"][slot] = value
    _new_env(work, row, containers)
    return containers


def update_env(work: Work, name: str, container_name: str, env: list[EnvVarDto]) -> stored.Stored:
    row = get(work.session, work.project_id, DEPLOYMENT, name)
    containers = stored.load(row.containers)
    target = _container(containers, container_name)
    for item in env:
        slot = next((n for n, e in enumerate(target["env"]) if e["name"] == item.name), None)
        if slot is None:
            raise not_found(f"No environment variable {item.name!r} in {container_name!r}")
        target["env"][slot] = stored.env_var(item)
    _new_env(work, row, containers)
    return target


def delete_env(work: Work, name: str, container_name: str, names: list[str]) -> list[stored.Stored]:
    row = get(work.session, work.project_id, DEPLOYMENT, name)
    containers = stored.load(row.containers)
    target = _container(containers, container_name)
    gone = set(names)
    target["env"] = [e for e in target["env"] if e["name"] not in gone]
    _new_env(work, row, containers)
    return containers
