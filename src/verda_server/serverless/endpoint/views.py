"""`endpoint_base_url`: requests to a deployment (or job), answered by the echo
responder synchronously, or asynchronously with `Prefer: respond-async` and the
status/result paths of the Python SDK's inference client."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from verda_server.api.context import AppContext, Context
from verda_server.api.errors import ApiError
from verda_server.api.responses import Responses, json_bytes, to_json
from verda_server.api.routing import lazy_router
from verda_server.api.security import CurrentPrincipal, require_principal
from verda_server.serverless.autoscale import Outcome
from verda_server.serverless.endpoint import echo, service
from verda_server.serverless.endpoint.service import Incoming, Seen

router = lazy_router(tags=["Serverless endpoints"], dependencies=[Depends(require_principal)])
PREFIX = "/serverless"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# Real seconds between two looks of a waiting synchronous request, and the
# longest it waits (the live service gives up after about a minute too).
POLL_SECONDS = 0.05
SYNC_WAIT_SECONDS = 60.0

Name = Annotated[str, Path(description="The deployment's (or job's) name")]
InferenceId = Annotated[
    str | None,
    Header(
        alias="X-Inference-Id",
        description="The `Id` of an asynchronous request. Without it, the path is a call to "
        "a deployment named `status` (or `result`).",
    ),
]


class EchoDto(BaseModel):
    """What the built-in responder answers: the request as it arrived."""

    id: str
    deployment: str
    container: str = Field(description="The deployment's first container")
    method: str
    path: str = Field(description="The path below the deployment's endpoint")
    query: dict[str, list[str]]
    headers: dict[str, str] = Field(description="Request headers, credentials left out")
    json_: Any = Field(alias="json", description="The JSON body (null when none or not JSON)")
    body: str | None = Field(description="The body when it is not JSON")
    received_at: str
    started_at: str | None
    completed_at: str | None


class AcceptedDto(BaseModel):
    Id: str = Field(description="Pass as X-Inference-Id to the status and result paths")
    Status: str = Field(description="Queue, Inference or Completed")


class StatusDto(AcceptedDto):
    Outcome: str | None = Field(description="completed, expired or purged; null while open")


UNAVAILABLE: Responses = {
    503: {"description": "Paused, or the request expired in the queue (its TTL) or was purged"}
}
UNKNOWN: Responses = {404: {"description": "No such deployment or job in the project"}}


CALL_RESPONSES: Responses = {
    202: {"model": AcceptedDto, "description": "Queued"},
    **UNKNOWN,
    **UNAVAILABLE,
}


def _as_text(text: str) -> str:
    # Stored as text, which PostgreSQL can't hold with a NUL in it: U+FFFD, as
    # for bytes that are not UTF-8.
    return text.replace("\x00", "\ufffd")


async def _incoming(request: Request, path: str) -> Incoming:
    prefer = request.headers.get("prefer", "").lower()
    body = await request.body()
    return Incoming(
        method=request.method,
        path=_as_text("/" + path),
        query=request.url.query,
        headers=echo.kept_headers(request.headers.raw),
        body=_as_text(body.decode("utf-8", errors="replace")),
        is_async="respond-async" in prefer,
    )


async def _look(context: AppContext, project_id: str, name: str, request_id: str) -> Seen:
    now = context.clock.now()
    timings = context.lifecycle.current
    return await context.db.run_read(
        lambda session: service.look(
            session, context.catalog, timings, project_id, name, request_id, now
        )
    )


async def _call(
    request: Request, context: AppContext, project_id: str, name: str, path: str
) -> Response:
    incoming = await _incoming(request, path)

    def enqueue() -> tuple[str, bool]:
        with context.work(project_id) as (session, now):
            message = service.enqueue(
                session, context.catalog, context.lifecycle.current, project_id, name, incoming, now
            )
            return message.id, message.started_at is not None

    # A write: in a worker thread, like every other, never on the event loop.
    request_id, started = await run_in_threadpool(enqueue)
    if incoming.is_async:
        body = {"Id": request_id, "Status": "Inference" if started else "Queue"}
        return json_bytes(to_json(body), 202)
    # Synchronous: wait (by the server clock) until a replica has worked on it.
    give_up = time.monotonic() + SYNC_WAIT_SECONDS
    while True:
        seen = await _look(context, project_id, name, request_id)
        outcome = seen.state.outcome
        if outcome is Outcome.COMPLETED:
            return json_bytes(to_json(service.answer_of(seen)))
        if outcome is not None:
            raise ApiError("service_unavailable", _lost(name, outcome))
        if time.monotonic() >= give_up or await request.is_disconnected():
            raise ApiError(
                "service_unavailable",
                f"No replica of {name!r} answered within {SYNC_WAIT_SECONDS:.0f} s; the "
                f"request stays queued as {request_id} (send it with Prefer: respond-async "
                "to fetch its result later)",
            )
        await asyncio.sleep(POLL_SECONDS)


def _lost(name: str, outcome: Outcome) -> str:
    if outcome is Outcome.EXPIRED:
        return f"The request expired in {name!r}'s queue (queue_message_ttl_seconds)"
    return f"The request was purged from {name!r}'s queue"


@router.get(
    PREFIX + "/status/{name}",
    summary="Status of an asynchronous request",
    description="Where a request sent with `Prefer: respond-async` stands: `Queue`, "
    "`Inference` or `Completed` (with the outcome: completed, expired or purged).",
    response_model=StatusDto,
    responses=CALL_RESPONSES,
)
async def request_status(
    request: Request,
    context: Context,
    principal: CurrentPrincipal,
    name: Name,
    inference_id: InferenceId = None,
) -> Response:
    if inference_id is None:
        return await _call(request, context, principal.project_id, "status", name)
    seen = await _look(context, principal.project_id, name, inference_id)
    outcome = seen.state.outcome
    body = {
        "Id": inference_id,
        "Status": service.async_status(seen.state),
        "Outcome": outcome.value if outcome else None,
    }
    return json_bytes(to_json(body))


@router.get(
    PREFIX + "/result/{name}",
    summary="Result of an asynchronous request",
    description="The responder's answer once the request is `Completed`.",
    response_model=EchoDto,
    responses={**CALL_RESPONSES, 409: {"description": "Not completed yet"}},
)
async def request_result(
    request: Request,
    context: Context,
    principal: CurrentPrincipal,
    name: Name,
    inference_id: InferenceId = None,
) -> Response:
    if inference_id is None:
        return await _call(request, context, principal.project_id, "result", name)
    seen = await _look(context, principal.project_id, name, inference_id)
    outcome = seen.state.outcome
    if outcome is None:
        status = service.async_status(seen.state)
        raise ApiError("conflict", f"Request {inference_id} is not completed yet ({status})")
    if outcome is not Outcome.COMPLETED:
        raise ApiError("service_unavailable", _lost(name, outcome))
    return json_bytes(to_json(service.answer_of(seen)))


CALL_DESCRIPTION = (
    "Sent to the deployment's (or job's) endpoint. No container runs: the built-in "
    "responder answers with the request itself once a replica has worked on it for the "
    "lifecycle's `serverless_inference_seconds` of the server clock. The request waits in "
    "the deployment's queue for a free replica (replicas x concurrent_requests_per_replica); "
    "its queue load drives the autoscaler (scaling_triggers.queue_load, the scale-up and "
    "scale-down delays, min and max replicas). With `Prefer: respond-async` (or "
    "`respond-async-proxy`) the answer is 202 with an `Id` at once; fetch it from "
    "/serverless/status/{name} and /serverless/result/{name} with X-Inference-Id."
)


async def call_endpoint(
    request: Request, context: Context, principal: CurrentPrincipal, name: Name
) -> Response:
    return await _call(request, context, principal.project_id, name, "")


async def call_endpoint_slash(
    request: Request, context: Context, principal: CurrentPrincipal, name: Name
) -> Response:
    # Python's InferenceClient with no path calls `<endpoint_base_url>/`.
    return await _call(request, context, principal.project_id, name, "")


async def call_endpoint_path(
    request: Request,
    context: Context,
    principal: CurrentPrincipal,
    name: Name,
    path: Annotated[str, Path(description="The path below the endpoint: any number of segments")],
) -> Response:
    return await _call(request, context, principal.project_id, name, path)


# One route per method: each its own operation in the document.
for _method in METHODS:
    for _path, _call_route, _below in (
        (PREFIX + "/{name}", call_endpoint, ""),
        (PREFIX + "/{name}/", call_endpoint_slash, " (with a trailing slash)"),
        (PREFIX + "/{name}/{path}", call_endpoint_path, " (a path below it)"),
    ):
        router.add_api_route(
            _path.replace("{path}", "{path:path}"),
            _call_route,
            methods=[_method],
            summary=f"Call a deployment's endpoint{_below}",
            description=CALL_DESCRIPTION,
            response_model=EchoDto,
            responses=CALL_RESPONSES,
            operation_id=f"{_call_route.__name__}_{_method.lower()}",
        )
