"""The lifecycle profile and overrides as the store keeps them, so every replica
(and a restart) schedules transitions with the same durations."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from verda_server.control.shared import SharedState, read_value, write_value
from verda_server.lifecycle.timings import (
    DEFAULT_PROFILE,
    DURATIONS,
    PROFILES,
    ActiveLifecycle,
    check,
)

NAME = "lifecycle"
log = logging.getLogger(__name__)


def encode(profile: str, overrides: Mapping[str, float]) -> dict[str, Any]:
    return {"profile": profile, "overrides": dict(overrides)}


def decode(value: Any) -> tuple[str, dict[str, float]]:
    """The stored profile and overrides; what this version does not know (a
    store written by another one) is left out, not fatal."""
    if not isinstance(value, dict):  # never set: the default
        return DEFAULT_PROFILE, {}
    profile = value.get("profile")
    if profile not in PROFILES:
        log.warning(
            "stored lifecycle profile %r is unknown here: using %s", profile, DEFAULT_PROFILE
        )
        profile = DEFAULT_PROFILE
    stored = value.get("overrides") or {}
    overrides = {k: float(v) for k, v in stored.items() if k in DURATIONS}
    return str(profile), overrides


def follow(shared: SharedState, lifecycle: ActiveLifecycle) -> None:
    """Keep `lifecycle` at the stored state: now and whenever an operator changes it."""

    def apply(value: Any) -> None:
        lifecycle.set(*decode(value))

    shared.on(NAME, apply)


def update(
    shared: SharedState,
    lifecycle: ActiveLifecycle,
    profile: str | None,
    overrides: Mapping[str, float | None] | None,
    drop_overrides: bool,
) -> None:
    """Change the profile (None: keep it) and merge `overrides` (a None value
    drops that one; `drop_overrides` drops them all first), from the stored
    state, in one write: two operators changing different overrides at once
    both count."""
    with shared.db.write() as session:
        current_profile, current = decode(read_value(session, NAME))
        merged = {} if drop_overrides else current
        for name, seconds in (overrides or {}).items():
            if seconds is None:
                merged.pop(name, None)
            else:
                merged[name] = seconds
        chosen = profile if profile is not None else current_profile
        check(chosen, merged)  # before anything is stored
        generation = write_value(session, NAME, encode(chosen, merged))
    lifecycle.set(chosen, merged)
    shared.written(generation)


def start(shared: SharedState, profile: str | None, overrides: Mapping[str, float]) -> None:
    """The profile and overrides a start names, for every replica (after the
    stored state is loaded). Overrides alone are over the default profile."""
    chosen = profile if profile is not None else DEFAULT_PROFILE
    check(chosen, overrides)
    shared.put(NAME, encode(chosen, overrides))
