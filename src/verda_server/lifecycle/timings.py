"""How long the timed transitions take: named profiles (packaged data) plus
per-transition overrides, switchable at run time.

The durations in force are read at the moment a transition is scheduled (its
`due_at` is computed then and stored), so a change applies to what is
scheduled after it; what was scheduled before keeps its due instant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_PROFILE = "fast"
# Each transition's duration, in the order they are shown.
DURATIONS = (
    "provisioning_seconds",
    "cluster_provisioning_seconds",
    "clone_seconds",
    "trash_seconds",
    "serverless_ready_seconds",
    "serverless_inference_seconds",
)
# Far enough for any test of a long wait; near enough that no date overflows.
MAX_SECONDS = 100 * 366 * 24 * 3600


class Durations(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provisioning_seconds: float = Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)
    cluster_provisioning_seconds: float = Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)
    clone_seconds: float = Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)
    trash_seconds: float = Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)
    serverless_ready_seconds: float = Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)
    serverless_inference_seconds: float = Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)


class _ProfilesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    profiles: dict[str, Durations] = Field(min_length=1)


def load_profiles() -> dict[str, Durations]:
    text = resources.files("verda_server.lifecycle").joinpath("data/profiles.yaml").read_text()
    try:
        profiles = _ProfilesFile.model_validate(yaml.safe_load(text)).profiles
    except ValidationError as exc:  # a packaging mistake, caught by the tests
        raise RuntimeError(f"invalid packaged lifecycle profiles: {exc}") from exc
    assert DEFAULT_PROFILE in profiles
    return profiles


PROFILES = load_profiles()


@dataclass(frozen=True)
class Timings:
    """What the domain reads when it schedules a transition: the durations in
    force, and the seed of spot evictions (a start-up setting, not a profile's)."""

    provisioning_seconds: float
    cluster_provisioning_seconds: float
    clone_seconds: float
    trash_seconds: float
    serverless_ready_seconds: float
    serverless_inference_seconds: float
    spot_seed: int = 0
    # Instances are real machines (machines/): provisioning ends when the
    # machine answers, not after a duration.
    machines: bool = False

    def provisioning_ends(self, now: datetime) -> datetime | None:
        """When a deployed or started instance's provisioning is due to end;
        None: its machine ends it (machines/controller.py)."""
        return None if self.machines else now + timedelta(seconds=self.provisioning_seconds)

    def cluster_provisioning_ends(self, now: datetime) -> datetime | None:
        """The same for a new cluster: None when its machines end it."""
        if self.machines:
            return None
        return now + timedelta(seconds=self.cluster_provisioning_seconds)


@dataclass(frozen=True)
class Active:
    profile: str
    overrides: Mapping[str, float]
    timings: Timings


def check(profile: str, overrides: Mapping[str, float]) -> None:
    """ValueError naming the problem, for a profile or override that does not exist."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})")
    for name in overrides:
        if name not in DURATIONS:
            raise ValueError(f"unknown transition {name!r} (known: {', '.join(DURATIONS)})")


class ActiveLifecycle:
    """The profile and overrides in force in this process, replaced as a whole
    (one reference) so that a reader never sees half a change."""

    def __init__(self, spot_seed: int = 0, machines: bool = False) -> None:
        self._spot_seed = spot_seed
        self._machines = machines
        self._active = self._build(DEFAULT_PROFILE, {})

    def _build(self, profile: str, overrides: Mapping[str, float]) -> Active:
        check(profile, overrides)
        durations = PROFILES[profile].model_dump() | dict(overrides)
        return Active(
            profile,
            dict(overrides),
            Timings(**durations, spot_seed=self._spot_seed, machines=self._machines),
        )

    @property
    def active(self) -> Active:
        return self._active

    @property
    def current(self) -> Timings:
        return self._active.timings

    def set(self, profile: str, overrides: Mapping[str, float]) -> None:
        self._active = self._build(profile, overrides)
