"""/_admin/v1/faults: list, create, read and delete fault rules."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel, Field

from verda_server.api.context import AppContext, Context
from verda_server.api.errors import STATUS_OF, ErrorCode, invalid, not_found
from verda_server.api.request import RequestModel
from verda_server.api.routing import lazy_router
from verda_server.control.access import Admin
from verda_server.control.faults import ANY_METHOD, Rule, new_rule
from verda_server.projects.models import Project
from verda_server.storage.owned import canonical_id

router = lazy_router(prefix="/_admin/v1/faults", tags=["Faults"], dependencies=[Admin])

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
ERROR_STATUSES = sorted(set(STATUS_OF.values()))
MAX_LATENCY_MS = 600_000
_NOT_FOUND = {404: {"description": "No fault rule with this id"}}


class CreateFaultRuleDto(RequestModel):
    method: str = Field(
        default=ANY_METHOD,
        pattern=r"^(\*|[A-Za-z]+)$",
        description=f"An HTTP method ({', '.join(METHODS)}), or `*` for any",
    )
    path: str = Field(
        min_length=1,
        max_length=512,
        pattern=r"^[/*]",
        description="A glob matched against the whole request path, without the query "
        "string: `*` is any run of characters (`/` included), `?` one character, the rest "
        "literal. `/v1/instances*` is every instance path; `/v1/instances/*/tags` the tags "
        "of any instance. Paths under /_admin are never faulted.",
    )
    project_id: str | None = Field(
        default=None,
        description="Only requests whose bearer token names this project (its signed "
        "claim, read without confirming the credential); a request without a valid token "
        "matches no project rule",
    )
    status: int | None = Field(
        default=None,
        description=f"Answer with this HTTP status, one of the error table's "
        f"({', '.join(map(str, ERROR_STATUSES))}); the code follows from it",
    )
    code: ErrorCode | None = Field(
        default=None, description="Answer with this error code (its status follows from it)"
    )
    message: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="The answer's message (default: a short one for the code)",
    )
    latency_ms: int = Field(
        default=0,
        ge=0,
        le=MAX_LATENCY_MS,
        description="Wait this long before the request goes on (or is answered with the "
        "error, when the rule has one). A rule with only a latency lets the real "
        "handler answer.",
    )
    times: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000_000,
        description="Fire on this many matching calls, then stay listed as spent "
        "(absent: no limit). Counted in the store, so exact over every replica.",
    )
    probability: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="Fire on a matching call with this probability; the n-th matching "
        "call's draw depends only on `seed` and n, so a run replays exactly",
    )
    seed: int = Field(default=0, ge=0, le=2**53, description="Seeds the probability draws")

    schema_rules = (
        {
            "anyOf": [
                {"required": ["status"]},
                {"required": ["code"]},
                {"required": ["latency_ms"], "properties": {"latency_ms": {"minimum": 1}}},
            ]
        },
    )


class FaultRuleDto(BaseModel):
    id: str = Field(description="The rule's id")
    method: str = Field(description="The method it matches, `*` for any")
    path: str = Field(description="The path glob it matches")
    project_id: str | None = Field(description="The project it is limited to, if any")
    status: int | None = Field(description="The status it answers with (none: latency only)")
    code: ErrorCode | None = Field(description="The error code it answers with")
    message: str | None = Field(description="The error message it answers with")
    latency_ms: int = Field(description="The delay it adds, in milliseconds")
    times: int | None = Field(description="How many calls it fires on (none: no limit)")
    probability: float = Field(description="The probability it fires on a matching call")
    seed: int = Field(description="The seed of its draws")
    matched: int = Field(description="Matching calls it was consulted on")
    fired: int = Field(description="Calls it fired on (answered or delayed)")
    remaining: int | None = Field(description="Firings left (none: no limit)")
    spent: bool = Field(description="Fired `times` times: kept for its counts, inactive")
    created_at: str = Field(description="When it was created (server clock, RFC 3339)")


def _dto(rule: Rule) -> FaultRuleDto:
    fields: dict[str, Any] = rule.value()
    return FaultRuleDto(**fields, remaining=rule.remaining, spent=rule.spent)


def _check(context: AppContext, body: CreateFaultRuleDto) -> dict[str, Any]:
    method = body.method.upper()
    if method != ANY_METHOD and method not in METHODS:
        raise invalid(f"method: one of {', '.join(METHODS)} or *")
    if body.status is not None and body.status not in ERROR_STATUSES:
        raise invalid(f"status: one of {', '.join(map(str, ERROR_STATUSES))}")
    if body.status is not None and body.code is not None and STATUS_OF[body.code] != body.status:
        answered = STATUS_OF[body.code]
        raise invalid(f"code: {body.code} is answered with {answered}, not {body.status}")
    if body.status is None and body.code is None:
        if body.message is not None:
            raise invalid("message: give a status or code to answer with")
        if body.latency_ms == 0:
            raise invalid("give a status or code to answer with, or a latency_ms to add")
    project_id = body.project_id
    if project_id is not None:
        key = canonical_id(project_id)
        with context.db.read() as session:
            if key is None or session.get(Project, key) is None:
                raise invalid(f"project_id: no project {project_id}")
        project_id = key
    return {
        "method": method,
        "path": body.path,
        "project_id": project_id,
        "status": body.status,
        "code": body.code,
        "message": body.message,
        "latency_ms": body.latency_ms,
        "times": body.times,
        "probability": body.probability,
        "seed": body.seed,
    }


@router.get("", summary="List the fault rules", response_model=list[FaultRuleDto])
async def list_faults(context: Context) -> list[FaultRuleDto]:
    return [_dto(rule) for rule in context.faults.rules]


@router.post(
    "",
    summary="Create a fault rule",
    description="Matching public requests (never /_admin) are answered with the rule's "
    "error, or delayed, before they reach authentication or the store. Rules are "
    "consulted in creation order; the first that answers with an error ends the call. "
    "An injected answer carries `X-Verda-Fault: <rule id>`.",
    status_code=201,
    response_model=FaultRuleDto,
)
def create_fault(context: Context, body: CreateFaultRuleDto) -> FaultRuleDto:
    rule = new_rule(context.clock, **_check(context, body))
    return _dto(context.faults.add(rule))


@router.delete("", summary="Delete every fault rule", status_code=204)
def delete_faults(context: Context) -> Response:
    context.faults.clear()
    return Response(status_code=204)


@router.get(
    "/{fault_id}", summary="Read a fault rule", response_model=FaultRuleDto, responses=_NOT_FOUND
)
async def get_fault(context: Context, fault_id: str) -> FaultRuleDto:
    rule = context.faults.get(fault_id)
    if rule is None:
        raise not_found(f"No fault rule {fault_id}")
    return _dto(rule)


@router.delete("/{fault_id}", summary="Delete a fault rule", status_code=204, responses=_NOT_FOUND)
def delete_fault(context: Context, fault_id: str) -> Response:
    if not context.faults.delete(fault_id):
        raise not_found(f"No fault rule {fault_id}")
    return Response(status_code=204)
