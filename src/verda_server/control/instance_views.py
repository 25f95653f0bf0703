"""/_admin/v1/instances/{id}/force and /evict: outcomes the real service
reaches on its own, on demand."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sqlalchemy.orm import Session
from starlette.responses import Response

from verda_server.api.context import AppContext, Context
from verda_server.api.errors import ApiError, invalid, not_found
from verda_server.api.request import RequestModel
from verda_server.api.responses import json_bytes
from verda_server.api.routing import lazy_router
from verda_server.control.access import Admin
from verda_server.instances import eviction, forced, render, service
from verda_server.instances.models import Instance
from verda_server.instances.schemas import GetInstanceResponsePublicApiDto
from verda_server.instances.states import Status
from verda_server.storage.owned import canonical_id

router = lazy_router(prefix="/_admin/v1/instances", tags=["Instances"], dependencies=[Admin])

_NOT_FOUND = {"description": "No instance with this id, in any project"}


class ForceInstanceDto(RequestModel):
    status: Literal["error", "installation_failed", "no_capacity"] = Field(
        description="`error`: the machine broke; it keeps its capacity, address, volumes "
        "and price until deleted (from provisioning, running or offline). "
        "`no_capacity`, `installation_failed`: the deploy failed; capacity and address go "
        "back and it stops costing, its volumes stay attached until it is deleted (from "
        "provisioning only). Deleting is what the public API allows from there."
    )


def _project_of(context: AppContext, instance_id: str) -> str:
    key = canonical_id(instance_id)
    with context.db.read() as session:
        instance = session.get(Instance, key) if key is not None else None
        if instance is None:
            raise not_found(f"No instance {instance_id}")
        return instance.project_id


def _answer(context: AppContext, session: Session, instance: Instance) -> Response:
    session.flush()
    return json_bytes(render.one_json(session, context.catalog, instance.project_id, instance.id))


@router.post(
    "/{instance_id}/force",
    summary="Force an outcome on an instance",
    description="Puts the instance into `error`, `installation_failed` or `no_capacity` "
    "as the real service would (forcing the status it has changes nothing). Answers the "
    "instance as its project sees it.",
    response_model=GetInstanceResponsePublicApiDto,
    responses={
        404: _NOT_FOUND,
        409: {"description": "The instance's status does not lead to that outcome"},
    },
)
def force_instance(context: Context, instance_id: str, body: ForceInstanceDto) -> Response:
    project_id = _project_of(context, instance_id)
    with context.work(project_id) as (session, _now):
        instance = service.get_instance(session, project_id, instance_id)
        forced.force(instance, Status(body.status))
        return _answer(context, session, instance)


@router.post(
    "/{instance_id}/evict",
    summary="Evict a spot instance now",
    description="As the clock's own eviction: the instance is discontinued, its capacity "
    "and address go back, and each attached volume follows its `on_spot_discontinue` "
    "policy (set by the public `configure_spot` action).",
    response_model=GetInstanceResponsePublicApiDto,
    responses={
        400: {"description": "Not a spot instance"},
        404: _NOT_FOUND,
        409: {"description": "The instance is already discontinued"},
    },
)
def evict_instance(context: Context, instance_id: str) -> Response:
    project_id = _project_of(context, instance_id)
    with context.work(project_id) as (session, now):
        instance = service.get_instance(session, project_id, instance_id)
        if not instance.is_spot:
            raise invalid(f"Instance {instance.id} is not a spot instance")
        if instance.deleted_at is not None:
            raise ApiError("conflict", f"Instance {instance.id} is already discontinued")
        eviction.evict(session, now, context.lifecycle.current, instance)
        return _answer(context, session, instance)
