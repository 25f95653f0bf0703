"""POST /_admin/v1/reset, and GET / POST /_admin/v1/snapshot."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from verda_server.api.context import Context
from verda_server.api.request import RequestModel
from verda_server.api.routing import lazy_router
from verda_server.control import reset as resets
from verda_server.control import snapshot as snapshots
from verda_server.control.access import Admin

router = lazy_router(prefix="/_admin/v1", tags=["Reset and snapshots"], dependencies=[Admin])


class ResetDto(RequestModel):
    project_id: str | None = Field(
        default=None,
        description="Reset this project only; without it, every project",
    )
    drop_projects: bool = Field(
        default=False,
        description="Drop the projects too, with their credentials (their tokens stop "
        "working at once); the default project is the server's own and never dropped",
    )


class ResetResultDto(BaseModel):
    projects_reset: int = Field(description="Projects whose resources went (dropped ones too)")
    projects_dropped: int = Field(description="Projects dropped with their credentials")
    deleted: dict[str, int] = Field(
        description="Rows deleted per kind (store table), every kind named: instances, "
        "volumes, clusters, ssh_keys, startup_scripts, tags, secrets, secret_files, "
        "registry_credentials, meters, ledger_entries, fundings "
        "(top-ups and corrections: a reset project is back at its opening balance), …; with "
        "drop_projects also credentials and refresh_tokens"
    )


class SnapshotDto(BaseModel):
    # Strict and closed: a snapshot is read back exactly as it was written.
    model_config = ConfigDict(extra="forbid", strict=True)

    format: str = Field(description=f"Always `{snapshots.FORMAT}`")
    version: int = Field(description=f"The snapshot format's version: {snapshots.VERSION}")
    revision: str | None = Field(
        description="The store's schema (Alembic) revision; an import needs the same"
    )
    server_version: str = Field(description="The verda-server that exported it (informative)")
    exported_at: str = Field(description="The server's now at export, RFC 3339")
    control: dict[str, Any] = Field(
        description="Operator-set state by name (the clock, …); never the admin token"
    )
    tables: dict[str, list[dict[str, Any]]] = Field(
        description="Every store table's rows, by table name, in primary-key order: amounts "
        "as decimal strings, instants as RFC 3339 with microseconds. Credentials hold only "
        "their secrets' hashes, but the signing keys, serverless secret values, file secret "
        "contents and registry credentials' fields are here in full: a snapshot is as "
        "sensitive as the store"
    )


class ImportResultDto(BaseModel):
    imported: dict[str, int] = Field(description="Rows imported per table")


@router.post(
    "/reset",
    summary="Delete every resource of one project or of every project",
    description="Instances, volumes (the trash too), clusters, SSH keys, startup scripts, "
    "tags, serverless secrets and registry credentials, meters and ledger entries go; "
    "capacity and addresses are free again. Projects and credentials stay unless "
    "`drop_projects`. A reset project is back at its opening balance, with an empty ledger.",
    response_model=ResetResultDto,
    responses={
        404: {"description": "No such project"},
        409: {"description": "The default project cannot be dropped"},
    },
)
def reset(context: Context, body: Annotated[ResetDto | None, Body()] = None) -> ResetResultDto:
    body = body or ResetDto()
    with context.db.write() as session:
        result = resets.reset(session, body.project_id, body.drop_projects)
    return ResetResultDto(
        projects_reset=result.projects_reset,
        projects_dropped=result.projects_dropped,
        deleted=result.deleted,
    )


@router.get(
    "/snapshot",
    summary="Export the whole state as one JSON document",
    description="Every table of the store, the control state and the clock. As sensitive "
    "as the store itself: it holds the signing keys (tokens issued before the export work "
    "again after an import), the credentials' secret hashes, and serverless secret values, "
    "file secret contents and registry credentials' fields in full.",
    response_model=SnapshotDto,
)
def export_snapshot(context: Context) -> JSONResponse:
    return JSONResponse(snapshots.export(context.db, context.clock))


@router.post(
    "/snapshot",
    summary="Import a snapshot into an empty server",
    description="Empty: no project but the default one, and no resources (a fresh server, "
    "or one reset with `drop_projects`). The whole store becomes the snapshot's, the "
    "default project and the clock included; the admin token stays. All or nothing: one "
    "transaction.",
    response_model=ImportResultDto,
    responses={409: {"description": "The server is not empty (and `replace` was not given)"}},
)
def import_snapshot(
    context: Context,
    document: SnapshotDto,
    replace: bool = Query(default=False, description="Wipe whatever the server holds first"),
) -> ImportResultDto:
    imported = snapshots.import_(context.db, context.shared, document.model_dump(), replace)
    return ImportResultDto(imported=imported)
