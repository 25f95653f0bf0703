"""GET /_admin/v1/clock and the moves: forward by a duration or to an instant, freeze, unfreeze."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from verda_server.api.context import AppContext, Context
from verda_server.api.errors import invalid
from verda_server.api.request import RequestModel
from verda_server.api.routing import lazy_router
from verda_server.clock import Clock, isoformat
from verda_server.control import clock as stored_clock
from verda_server.control.access import Admin

router = lazy_router(prefix="/_admin/v1/clock", tags=["Clock"], dependencies=[Admin])

# Far enough for any test of a long-term contract; near enough that no date overflows.
MAX_SECONDS = 100 * 366 * 24 * 3600


class ClockDto(BaseModel):
    now: str = Field(description="The server's now, RFC 3339 (UTC, milliseconds)")
    frozen: bool = Field(description="Whether the clock stands still until moved")
    offset_seconds: float = Field(
        description="How far the server's time is ahead of the wall clock (when running) "
        "or of the wall-clock instant it was frozen at"
    )


class AdvanceClockDto(RequestModel):
    seconds: float | None = Field(
        default=None, ge=0, le=MAX_SECONDS, description="Move forward by this many seconds"
    )
    to: datetime | None = Field(
        default=None, description="Move forward to this instant (RFC 3339 with a zone)"
    )

    schema_rules = ({"oneOf": [{"required": ["seconds"]}, {"required": ["to"]}]},)


def _answer(clock: Clock) -> ClockDto:
    return ClockDto(
        now=isoformat(clock.now()),
        frozen=clock.is_frozen,
        offset_seconds=clock.offset.total_seconds(),
    )


def _move(context: AppContext, how: Callable[[Clock], object]) -> ClockDto:
    stored_clock.move(context.shared, context.clock, how)
    return _answer(context.clock)


@router.get("", summary="Read the server clock", response_model=ClockDto)
async def read_clock(context: Context) -> ClockDto:
    return _answer(context.clock)


@router.post(
    "/advance",
    summary="Move the clock forward",
    description="By `seconds`, or to the instant `to`. Every timer follows: transitions, "
    "trash expiry, token expiry, rate-limit windows, billing. Time never moves backwards.",
    response_model=ClockDto,
)
def advance_clock(context: Context, body: AdvanceClockDto) -> ClockDto:
    if (body.seconds is None) == (body.to is None):
        raise invalid("give exactly one of seconds and to")
    if body.to is not None and body.to.tzinfo is None:
        raise invalid("to: give a time zone (e.g. 2026-01-01T00:00:00Z)")
    target = body.to

    def forward(clock: Clock) -> None:
        if target is None:
            clock.advance(timedelta(seconds=body.seconds or 0))
            return
        now = clock.now()
        if target < now:
            raise invalid(f"to: {isoformat(target)} is before the server's now {isoformat(now)}")
        if target - now > timedelta(seconds=MAX_SECONDS):
            raise invalid(f"to: at most {MAX_SECONDS} seconds ahead")
        clock.advance(target - now)

    return _move(context, forward)


@router.post("/freeze", summary="Stop the clock where it is", response_model=ClockDto)
def freeze_clock(context: Context) -> ClockDto:
    return _move(context, Clock.freeze)


@router.post(
    "/unfreeze", summary="Let the clock run on from where it stands", response_model=ClockDto
)
def unfreeze_clock(context: Context) -> ClockDto:
    return _move(context, Clock.unfreeze)
