"""POST and DELETE …/{id}/tags for each kind of resource, made by one factory."""
# No `from __future__ import annotations`: the routes made in tag_router are
# annotated with a type built there, which FastAPI must see as an object.

from collections.abc import Callable
from typing import Annotated
from urllib.parse import unquote_to_bytes

from annotated_types import MinLen
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import WithJsonSchema
from sqlalchemy.orm import Session
from starlette.responses import Response

from verda_server.api.context import Context
from verda_server.api.errors import not_found
from verda_server.api.routing import lazy_router
from verda_server.api.security import CurrentPrincipal, require_principal
from verda_server.clusters import service as clusters
from verda_server.instances import service as instances
from verda_server.tags import service
from verda_server.tags.schemas import MAX_KEY, MAX_TAGS, MAX_VALUE, CreateTagDto, TagDto
from verda_server.volumes import service as volumes

# `?tag=key` or `?tag=key=value`, repeatable: for any list of taggable resources.
TagFilter = Annotated[
    list[Annotated[str, MinLen(1)]] | None,
    # A query parameter is never null: say just what is sent.
    WithJsonSchema({"type": "array", "items": {"type": "string", "minLength": 1}}),
    Query(
        description=(
            "Only resources carrying this tag: `key` (any value) or `key=value` (split at the "
            "first `=`; keys compare lowercased). Repeat it to require several tags."
        ),
    ),
]

# (session, project_id, resource id as sent) -> the resource's id; raises the
# resource's own 404 when the project has no such (live) resource.
Lookup = Callable[[Session, str, str], str]


def _segment(request: Request, depth: int) -> str | None:
    """The tag segment as sent, unescaped once (Go's url.PathEscape). The router
    matched the decoded path, where an escaped `/` in a key splits it; the raw
    path says what the client meant. None when the raw path has extra segments."""
    raw: bytes | None = request.scope.get("raw_path")
    if raw is None:
        return str(request.path_params["tag"])
    parts = raw.split(b"?", 1)[0].split(b"/")
    if len(parts) != depth:
        return None
    return unquote_to_bytes(parts[-1]).decode("utf-8", errors="replace")


def tag_router(
    *, kind: service.Kind, prefix: str, lookup: Lookup, param: str, openapi_tag: str, missing: str
) -> APIRouter:
    """The tag routes of one kind of resource: `prefix` is its collection path
    (e.g. /v1/clusters), `param` the name of its id in the path (cluster_id),
    `missing` the description of its 404."""
    router = lazy_router(tags=[openapi_tag], dependencies=[Depends(require_principal)])
    what = kind.capitalize()
    resource_id = Annotated[
        str, Path(alias=param, json_schema_extra={"format": "uuid"}, description=f"{what} ID")
    ]
    depth = prefix.count("/") + 4  # "", prefix…, id, "tags", tag

    @router.post(
        f"{prefix}/{{{param}}}/tags",
        summary=f"Add a tag to a {kind}",
        description=(
            f"Keys are lowercased (1 to {MAX_KEY} characters), values at most {MAX_VALUE} "
            f'characters, `""` when absent. A tag of the project with the same key and value '
            f"is reused (same id). At most {MAX_TAGS} tags per {kind}."
        ),
        status_code=201,
        response_model=TagDto,
        responses={
            403: {"description": f"The {kind} already has {MAX_TAGS} tags"},
            404: {"description": missing},
            409: {"description": f"The {kind} already has a tag with this key"},
        },
        operation_id=f"add_{kind}_tag",
    )
    def add(
        context: Context, principal: CurrentPrincipal, rid: resource_id, body: CreateTagDto
    ) -> TagDto:
        with context.work(principal.project_id) as (session, _now):
            found = lookup(session, principal.project_id, rid)
            return service.add_tag(session, principal.project_id, kind, found, body.key, body.value)

    @router.delete(
        f"{prefix}/{{{param}}}/tags/{{tag:path}}",
        summary=f"Remove a tag from a {kind}",
        description=(
            "The last segment is the tag's key, path-escaped (`team%2Fplatform` for "
            "`team/platform`) and compared case-insensitively, or the tag's id."
        ),
        status_code=204,
        response_class=Response,
        responses={
            204: {"description": "Removed"},
            404: {"description": f"{missing}, or the {kind} has no such tag"},
        },
        operation_id=f"remove_{kind}_tag",
    )
    def remove(
        request: Request,
        context: Context,
        principal: CurrentPrincipal,
        rid: resource_id,
        tag: Annotated[str, Path(description="Tag key (path-escaped) or tag ID")],
    ) -> Response:
        del tag  # declared for the document; the raw path says what was sent
        key_or_id = _segment(request, depth)
        with context.work(principal.project_id) as (session, _now):
            found = lookup(session, principal.project_id, rid)
            if key_or_id is None or "\x00" in key_or_id:
                raise not_found(service.TAG_NOT_FOUND)
            service.remove_tag(session, kind, found, key_or_id)
        return Response(status_code=204)

    return router


instance_tags = tag_router(
    kind="instance",
    prefix="/v1/instances",
    lookup=instances.taggable_id,
    param="instance_id",
    openapi_tag="Instances",
    missing=instances.INVALID_ID,
)
volume_tags = tag_router(
    kind="volume",
    prefix="/v1/volumes",
    lookup=volumes.taggable_id,
    param="volume_id",
    openapi_tag="Volumes",
    missing="Volume not found",
)
cluster_tags = tag_router(
    kind="cluster",
    prefix="/v1/clusters",
    lookup=clusters.taggable_id,
    param="cluster_id",
    openapi_tag="Clusters",
    missing=clusters.NOT_FOUND,
)
ROUTERS = (instance_tags, volume_tags, cluster_tags)
