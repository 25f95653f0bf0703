"""GET and PUT /_admin/v1/lifecycle: the profile and overrides in force."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from verda_server.api.context import AppContext, Context
from verda_server.api.errors import invalid
from verda_server.api.routing import lazy_router
from verda_server.control import lifecycle as stored_lifecycle
from verda_server.control.access import Admin
from verda_server.lifecycle.timings import DURATIONS, MAX_SECONDS, PROFILES, Durations

router = lazy_router(prefix="/_admin/v1/lifecycle", tags=["Lifecycle"], dependencies=[Admin])

Seconds = Field(default=None, ge=0, le=MAX_SECONDS, allow_inf_nan=False)


class LifecycleDto(BaseModel):
    profile: str = Field(description="The profile in force", examples=["fast"])
    durations: Durations = Field(
        description="Every timed transition's duration in force, seconds: the profile's, "
        "with the overrides over it"
    )
    overrides: dict[str, float] = Field(
        description="The per-transition durations set over the profile, seconds"
    )
    profiles: dict[str, Durations] = Field(description="Every profile there is, by name")


class OverridesChangeDto(BaseModel):
    # A misspelt transition must not pass for a change that did nothing.
    model_config = ConfigDict(extra="forbid")

    provisioning_seconds: float | None = Seconds
    cluster_provisioning_seconds: float | None = Seconds
    clone_seconds: float | None = Seconds
    trash_seconds: float | None = Seconds
    serverless_ready_seconds: float | None = Seconds
    serverless_inference_seconds: float | None = Seconds


class LifecycleChangeDto(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: str | None = Field(
        default=None,
        description="Switch to this profile (absent: keep the one in force)",
        json_schema_extra={"enum": list(PROFILES)},
    )
    overrides: OverridesChangeDto | None = Field(
        default=None,
        description="Merged into the overrides in force: a number sets a transition's "
        'duration, null drops its override (the profile\'s again); `"overrides": null` '
        "drops them all. Absent: the overrides stay.",
    )


def _answer(context: AppContext) -> LifecycleDto:
    active = context.lifecycle.active
    timings = active.timings
    return LifecycleDto(
        profile=active.profile,
        durations=Durations(**{name: getattr(timings, name) for name in DURATIONS}),
        overrides=dict(active.overrides),
        profiles=PROFILES,
    )


@router.get(
    "",
    summary="Read the lifecycle timing",
    description="The profile in force, every timed transition's duration, the overrides, "
    "and the profiles there are.",
    response_model=LifecycleDto,
)
def read_lifecycle(context: Context) -> LifecycleDto:
    return _answer(context)


@router.put(
    "",
    summary="Change the lifecycle timing",
    description="Switch profile and/or set or drop per-transition overrides, for every "
    "replica. A transition already scheduled keeps its due instant; only those scheduled "
    "from now on take the new durations. Answers the timing in force.",
    response_model=LifecycleDto,
)
async def change_lifecycle(context: Context, body: LifecycleChangeDto) -> LifecycleDto:
    if body.profile is not None and body.profile not in PROFILES:
        known = ", ".join(PROFILES)
        raise invalid(f"profile: unknown profile {body.profile!r} (known: {known})")
    drop_all = "overrides" in body.model_fields_set and body.overrides is None
    changes = (
        {name: getattr(body.overrides, name) for name in body.overrides.model_fields_set}
        if body.overrides is not None
        else {}
    )
    await run_in_threadpool(
        stored_lifecycle.update,
        context.shared,
        context.lifecycle,
        body.profile,
        changes,
        drop_all,
    )
    return _answer(context)
